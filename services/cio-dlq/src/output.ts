/** A stream the CLI writes to, and whether it is a terminal. */
export interface OutputStream {
  write(chunk: string, callback?: (error?: Error | null) => void): boolean;
  once(event: 'drain' | 'error', listener: (...args: unknown[]) => void): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Buffered line output: many lines leave in few writes, and writing waits when
 * the reader is slower (a pipe into `less`). A closed pipe (`| head`) ends the
 * output quietly instead of failing the command.
 */
export class LineWriter {
  private buffer: string[] = [];
  private size = 0;
  closed = false;

  constructor(private readonly stream: OutputStream) {
    stream.once('error', (error) => {
      if ((error as NodeJS.ErrnoException)?.code === 'EPIPE') this.closed = true;
    });
  }

  async line(text: string): Promise<void> {
    this.push(text);
    await this.flushIfFull();
  }

  /** Adds a line without writing yet; `flushIfFull` or `flush` writes. */
  push(text: string): void {
    if (this.closed) return;
    this.buffer.push(text);
    this.size += text.length + 1;
  }

  async flushIfFull(): Promise<void> {
    if (this.size >= 64 * 1024) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.buffer.length === 0 || this.closed) return;
    const chunk = `${this.buffer.join('\n')}\n`;
    this.buffer = [];
    this.size = 0;
    const more = this.stream.write(chunk);
    if (!more) await new Promise<void>((resolve) => this.stream.once('drain', () => resolve()));
  }
}
