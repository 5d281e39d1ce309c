// Fails when a .ts/.js/.mjs file of the repository has a line longer than the formatter's
// width: Biome wraps code at 140 columns but cannot break a long string, template or comment,
// so those are caught here (part of npm run lint).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const MAX_COLUMNS = 140;

/** The 1-based numbers and widths (in characters, not bytes) of the lines longer than `max`. */
export function longLines(text, max = MAX_COLUMNS) {
  const found = [];
  text.split('\n').forEach((line, index) => {
    const columns = [...line].length;
    if (columns > max) found.push({ line: index + 1, columns });
  });
  return found;
}

/** Files git tracks, or would (new ones not ignored), with the extensions checked. */
export function filesToCheck() {
  const args = ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '*.ts', '*.js', '*.mjs'];
  return [...new Set(execFileSync('git', args, { encoding: 'utf8' }).split('\0'))].filter((path) => path !== '' && existsSync(path));
}

function main() {
  const files = filesToCheck();
  const tooLong = files.flatMap((path) =>
    longLines(readFileSync(path, 'utf8')).map(({ line, columns }) => `${path}:${line}: ${columns} characters`),
  );
  if (tooLong.length > 0) {
    console.error(`${tooLong.length} line(s) longer than ${MAX_COLUMNS} characters (split long strings, templates and comments):`);
    for (const entry of tooLong) console.error(`  ${entry}`);
    process.exit(1);
  }
  console.log(`line length: ${files.length} files, no line over ${MAX_COLUMNS} characters`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
