// Bundles tsc's output (dist/) into one file per package entry point, with the code they share in
// common chunks, under dist/bundle/. Why: Node's ESM loader allocates per module (package.json
// lookups, URLs, module records), and importing 115 modules grew V8's young generation to twice
// the size one file needs; see the commit that added this script for the figures. The sources
// stay small modules; only what runs is one file. Every entry is one directory below dist/, as
// each module tsc writes is, so paths a module builds from its own URL (native/*.c, the
// repository root) lead to the same place.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const entryPoints = {
  index: 'dist/index.js',
  protocol: 'dist/protocol/index.js',
  records: 'dist/records/index.js',
  testing: 'dist/testing/index.js',
  cli: 'dist/cli/main.js',
};

await build({
  entryPoints,
  outdir: 'dist/bundle',
  bundle: true,
  // One copy of each class however many entries a program imports: a KafkaWireError thrown under
  // 'kafka-wire/testing' is an instance of the one 'kafka-wire' exports.
  splitting: true,
  chunkNames: 'shared-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node22.12',
  // Dependencies (the native CRC-32C, lz4, snappy modules) are loaded from node_modules as before.
  packages: 'external',
  // None, as the package ships none: a process with source maps on (tsx turns them on, so the
  // benchmark's runners have them) would otherwise parse them at import and keep them.
  sourcemap: false,
  logLevel: 'warning',
});

// esbuild escapes non-ASCII characters in code but leaves the comments as written, and a single
// one (an em dash, a minus sign) makes V8 hold that file's whole source as two bytes per
// character: 0.53 MB more heap for the chunks a producer imports. In a comment the escape reads
// as well.
for (const file of readdirSync('dist/bundle')) {
  const path = `dist/bundle/${file}`;
  const source = readFileSync(path, 'utf8');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is every ASCII character.
  const ascii = source.replace(/[^\u0000-\u007f]/gu, (char) => `\\u{${char.codePointAt(0).toString(16)}}`);
  if (ascii !== source) writeFileSync(path, ascii);
}
