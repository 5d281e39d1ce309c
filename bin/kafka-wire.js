#!/usr/bin/env node
// The installed package runs its compiled CLI, bundled (dist/bundle/cli.js). Only a development
// checkout (the sources and the repository's own node_modules/tsx beside this file) runs the
// TypeScript sources, so the CLI there is never a stale build. A tsx in the user's project is never used: the package
// ships no sources, and 'tsx/esm/api' resolves from here to ../node_modules/tsx first.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const developing = existsSync(source) && existsSync(new URL('../node_modules/tsx/package.json', import.meta.url));
const cli = developing ? await (await import('tsx/esm/api')).tsImport(source.href, import.meta.url) : await import('../dist/bundle/cli.js');
process.exitCode = await cli.main(process.argv.slice(2));
