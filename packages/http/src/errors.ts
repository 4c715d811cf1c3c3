/** An error with the HTTP answer it deserves; `details` lists field-level problems. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly details?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get retriable(): boolean {
    return this.status === 429 || this.status >= 500;
  }
}
