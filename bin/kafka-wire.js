#!/usr/bin/env node
// In a development checkout (sources and tsx present) run the TypeScript sources, so the CLI
// is never a stale build; an installed package runs its compiled dist/ instead.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
let cli;
let tsx;
try {
  tsx = existsSync(source) ? await import('tsx/esm/api') : undefined;
} catch {
  tsx = undefined;
}
if (tsx) {
  cli = await tsx.tsImport(source.href, import.meta.url);
} else {
  cli = await import(new URL('../dist/cli/main.js', import.meta.url).href);
}
process.exitCode = await cli.main(process.argv.slice(2));
