// The cio-dlq commands, from the CLI's own help (commander).
import { runCli } from '@cio-bridge/cio-dlq/cli';
import { code, table } from './markdown';

class Text {
  text = '';
  isTTY = false;
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
}

/** `cio-dlq --help`'s command list: `  name [options] [args]   description` (wrapped lines indented further). */
export async function cliCommandsTable(): Promise<string> {
  const stdout = new Text();
  await runCli(['--help'], { env: {}, stdout, stderr: new Text() } as unknown as Parameters<
    typeof runCli
  >[1]);
  const section = stdout.text.split(/^Commands:\n/m)[1]?.split(/\n\n/)[0];
  if (!section) throw new Error('cio-dlq --help printed no "Commands:" section');
  const rows: { usage: string; description: string }[] = [];
  for (const line of section.split('\n')) {
    const entry = /^ {2}(\S.*?)\s{2,}(.*)$/.exec(line);
    const last = rows.at(-1);
    if (entry) rows.push({ usage: entry[1] ?? '', description: entry[2] ?? '' });
    else if (last) last.description += ` ${line.trim()}`;
  }
  const commands = rows.filter(({ usage }) => !usage.startsWith('help'));
  return table(
    ['command', 'what it does'],
    commands.map(({ usage, description }) => [code(`npx cio-dlq ${usage}`), description]),
  );
}
