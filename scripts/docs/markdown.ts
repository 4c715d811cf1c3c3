// Markdown pieces for the generated sections of docs/ and the READMEs.

/** A markdown table; `|` inside a cell is escaped so a cell never splits. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

export const code = (text: string): string => `\`${text}\``;

export const codeList = (items: readonly string[]): string => items.map(code).join(', ');

const begin = (name: string) => `<!-- generated:${name} (npm run docs; do not edit by hand) -->`;
const end = (name: string) => `<!-- /generated:${name} -->`;

/**
 * Replaces what lies between a section's markers with `content`. A file without the
 * markers is an error naming them, so a section is never silently left out.
 */
export function replaceSection(markdown: string, name: string, content: string, file: string): string {
  const start = markdown.indexOf(begin(name));
  const stop = markdown.indexOf(end(name));
  if (start < 0 || stop < start)
    throw new Error(
      `${file}: the markers of the generated section "${name}" are missing: ${begin(name)} ... ${end(name)}`,
    );
  return `${markdown.slice(0, start + begin(name).length)}\n${content}\n${markdown.slice(stop)}`;
}
