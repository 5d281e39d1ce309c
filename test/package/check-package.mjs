// npm run check:package [-- --node /path/to/another/node …] [--keep]
//
// The package as a user meets it: `npm pack` from this checkout, install the tarball into a new,
// empty project, and use it from there as a user would. Checks the tarball's contents and
// manifest, imports every subpath from TypeScript (node16, nodenext and bundler resolution), plain ESM and
// CommonJS, runs the installed CLI (which must load dist/ only), and produces to an embedded
// broker started through kafka-wire/testing. The import and CLI checks run once per Node given
// with --node as well. Needs the npm registry (for the tarball's dependencies), Java and the
// cached Kafka jars (or Maven to fetch them). Prints one line per check; exits 1 if any failed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const keep = argv.includes('--keep');
const otherNodes = argv.flatMap((arg, i) => (argv[i - 1] === '--node' ? [arg] : []));
const SUBPATHS = ['kafka-wire', 'kafka-wire/protocol', 'kafka-wire/records', 'kafka-wire/testing'];
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

const work = mkdtempSync(join(tmpdir(), 'kafka-wire-package-'));
const project = join(work, 'project');
let failures = 0;

function check(name, body) {
  try {
    const detail = body();
    console.log(`ok   ${name}${detail ? ` (${detail})` : ''}`);
    return true;
  } catch (error) {
    failures++;
    console.log(`FAIL ${name}\n     ${String(error instanceof Error ? error.message : error).replaceAll('\n', '\n     ')}`);
    return false;
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** Runs a command to completion (bounded) and returns its output; throws with the output when it fails. */
function run(command, args, { cwd = project, timeoutMs = 120_000, env = process.env } = {}) {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) throw new Error(`${command} ${args.join(' ')}: ${result.error.message}\n${output.slice(-3000)}`);
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited with ${result.status ?? result.signal}:\n${output.slice(-3000)}`);
  return result;
}

/** The environment for running `node` (and bins whose shebang says `env node`) as the given Node binary. */
function envFor(node) {
  return { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}` };
}

// 1. Pack, exactly as `npm pack` / `npm publish` would from this checkout (prepack builds dist/).
let pack;
const packed = check('npm pack builds and packs the library', () => {
  const result = run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, timeoutMs: 300_000 });
  [pack] = JSON.parse(result.stdout);
  const kB = (bytes) => `${(bytes / 1024).toFixed(0)} kB`;
  return `${pack.filename}: ${pack.files.length} files, ${kB(pack.size)} packed, ${kB(pack.unpackedSize)} unpacked`;
});
if (!packed) finish();
const files = pack.files.map((file) => file.path);
const fromTarball = (path) => run('tar', ['-xzOf', join(work, pack.filename), `package/${path}`], { cwd: work }).stdout;
const manifest = JSON.parse(fromTarball('package.json'));

check("the tarball holds the compiled library, the CLI, the daemon's datagram relay source, README and LICENSE", () => {
  const targets = Object.values(manifest.exports ?? {}).flatMap((target) =>
    typeof target === 'string' ? [target] : Object.values(target),
  );
  // native/*.c ship as source: the daemon and DaemonClient compile them with the user's cc on first use.
  const needed = [
    'LICENSE',
    'README.md',
    'package.json',
    manifest.bin?.['kafka-wire'],
    'dist/bundle/cli.js',
    'native/dgram-relay.c',
    'native/dgram-send.c',
    ...targets,
  ].map((path) => String(path).replace(/^\.\//, ''));
  const missing = needed.filter((path) => !files.includes(path));
  assert(missing.length === 0, `missing from the tarball: ${missing.join(', ')}`);
});

check('the tarball holds no sources (but the two C helpers), tests, benchmarks, source maps or unbundled modules', () => {
  const shipped =
    /^(dist\/bundle\/[^/]+\.js|dist\/.*\.d\.ts|bin\/kafka-wire\.js|native\/dgram-(relay|send)\.c|LICENSE|README\.md|package\.json)$/;
  const extra = files.filter((path) => !shipped.test(path));
  assert(extra.length === 0, `unexpected files: ${extra.slice(0, 20).join(', ')}${extra.length > 20 ? ', …' : ''}`);
});

check('the license is the Apache License 2.0, in LICENSE', () => {
  assert(manifest.license === 'Apache-2.0', `package.json license is ${manifest.license}`);
  const text = fromTarball('LICENSE');
  assert(
    /^\s*Apache License\s+Version 2\.0, January 2004/.test(text) && text.includes('END OF TERMS AND CONDITIONS'),
    'LICENSE is not the Apache License 2.0 text',
  );
});

check('installing the package runs no scripts of its own', () => {
  const scripts = INSTALL_SCRIPTS.filter((name) => manifest.scripts?.[name]);
  assert(
    scripts.length === 0,
    `the published manifest has install-time scripts: ${scripts.map((name) => `${name}: ${manifest.scripts[name]}`).join('; ')}`,
  );
});

check('engines: Node >= 22.12', () => {
  assert(manifest.engines?.node === '>=22.12', `engines.node is ${manifest.engines?.node}`);
});

// 2. A new, empty project that installs the tarball (dependencies from the npm registry).
mkdirSync(project);
writeFileSync(join(project, 'package.json'), `${JSON.stringify({ name: 'package-check', private: true, type: 'module' }, null, 2)}\n`);
// The project also has a tsx of its own, as many do: the installed CLI must not run through it.
const devVersion = (name) => JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
const installed = check('the tarball installs into an empty project', () => {
  const result = run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      join(work, pack.filename),
      `@types/node@${devVersion('@types/node')}`,
      `tsx@${devVersion('tsx')}`,
    ],
    {
      timeoutMs: 300_000,
    },
  );
  const warning = `${result.stdout}${result.stderr}`.split('\n').find((line) => /install-scripts.*kafka-wire/.test(line));
  assert(!warning, `npm warned: ${warning}`);
});
if (!installed) finish();
const packageDir = join(project, 'node_modules', 'kafka-wire');

check('dist/ loads exactly the declared dependencies (and node: builtins)', () => {
  const used = new Set();
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.js')) {
        const code = readFileSync(path, 'utf8');
        // Either quote (the bundler writes double ones), and require renamed (require2) where the bundle joined two scopes.
        for (const match of code.matchAll(
          /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\d*\s*\(\s*|\)\s*\(\s*)(['"])([a-z0-9@][a-z0-9@/._-]*)\1/g,
        )) {
          const specifier = match[2];
          if (specifier.startsWith('node:')) continue;
          used.add(specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]);
        }
      }
    }
  };
  walk(join(packageDir, 'dist'));
  const declared = Object.keys(manifest.dependencies ?? {});
  const unused = declared.filter((name) => !used.has(name));
  const undeclared = [...used].filter((name) => !declared.includes(name));
  assert(unused.length === 0, `dependencies that dist/ never loads: ${unused.join(', ')}`);
  assert(undeclared.length === 0, `packages dist/ loads without declaring them: ${undeclared.join(', ')}`);
  return [...used].sort().join(', ');
});

// 3. TypeScript: every subpath, with node16 (ESM) and bundler resolution, against the shipped
// declarations (skipLibCheck off, so the .d.ts files themselves are checked too).
writeFileSync(
  join(project, 'imports.ts'),
  `import { Admin, Cluster, KafkaProtocolError, PartitionReader, Producer, type ProducerOptions, readPartition } from 'kafka-wire';
import { decodeResponse, encodeRequest, Metadata } from 'kafka-wire/protocol';
import { crc32c, parseRecordBatches, RecordBatchBuilder } from 'kafka-wire/records';
import { type EmbeddedKafka, startKafka } from 'kafka-wire/testing';
// @ts-expect-error the client's entry point does not carry the generated codecs
import { Produce } from 'kafka-wire';

const options: ProducerOptions = { bootstrap: '127.0.0.1:9092', compression: 'lz4', acks: 'all' };
const frame: Buffer = encodeRequest(Metadata, 12, 1, 'check', Metadata.request.create({ topics: null }));
const builder = new RecordBatchBuilder({ compression: 'none', producerId: -1n, producerEpoch: -1, baseSequence: -1 }, 1024);
const checksum: number = crc32c(frame);
const start: () => Promise<EmbeddedKafka> = () => startKafka({ brokers: 1 });
export const used = [Admin, Cluster, KafkaProtocolError, PartitionReader, Producer, readPartition, decodeResponse, parseRecordBatches];
export const made = [options, builder, checksum, start, Produce];
`,
);
const compilerOptions = {
  strict: true,
  noEmit: true,
  skipLibCheck: false,
  target: 'es2023',
  lib: ['es2023'],
  types: ['node'],
};
const resolutions = {
  node16: { module: 'node16', moduleResolution: 'node16' },
  bundler: { module: 'esnext', moduleResolution: 'bundler' },
  nodenext: { module: 'nodenext', moduleResolution: 'nodenext' },
};
const tsc = join(root, 'node_modules', '.bin', 'tsc');
for (const [name, resolution] of Object.entries(resolutions)) {
  const config = join(project, `tsconfig.${name}.json`);
  writeFileSync(config, JSON.stringify({ compilerOptions: { ...compilerOptions, ...resolution }, files: ['imports.ts'] }, null, 2));
  check(`TypeScript (${run(tsc, ['--version']).stdout.trim()}, moduleResolution ${name}) type-checks imports of every subpath`, () => {
    run(tsc, ['-p', config]);
  });
}

// 4. Plain JavaScript: ESM import and CommonJS require of every subpath, and the installed CLI.
const expected = {
  'kafka-wire': [
    'Producer',
    'Cluster',
    'Admin',
    'PartitionReader',
    'readPartition',
    'KafkaProtocolError',
    'ProducerError',
    'ConnectionError',
  ],
  'kafka-wire/protocol': ['Metadata', 'Produce', 'encodeRequest', 'decodeResponse', 'ProtocolError'],
  'kafka-wire/records': ['RecordBatchBuilder', 'parseRecordBatches', 'compress', 'crc32c'],
  'kafka-wire/testing': ['startKafka', 'stopKafka', 'EmbeddedKafkaError'],
};
const verify = `const expected = ${JSON.stringify(expected)};
for (const [specifier, names] of Object.entries(expected)) {
  const module = modules[specifier];
  const missing = names.filter((name) => module[name] === undefined);
  if (missing.length > 0) throw new Error(specifier + ' lacks ' + missing.join(', '));
}
if ('Metadata' in modules['kafka-wire']) throw new Error("kafka-wire's entry point carries the generated codecs");
// Each entry is a bundle: a name two of them export must be the one object (one class for instanceof).
for (const [specifier, module] of Object.entries(modules)) {
  for (const [name, value] of Object.entries(module)) {
    if (name in modules['kafka-wire'] && modules['kafka-wire'][name] !== value) throw new Error(specifier + ' has a copy of ' + name);
  }
}
console.log(Object.entries(modules).map(([specifier, module]) => specifier + ': ' + Object.keys(module).length + ' exports').join(', '));
`;
writeFileSync(
  join(project, 'imports.mjs'),
  `const modules = {};\nfor (const specifier of ${JSON.stringify(SUBPATHS)}) modules[specifier] = await import(specifier);\n${verify}`,
);
writeFileSync(
  join(project, 'requires.cjs'),
  `const modules = {};\nfor (const specifier of ${JSON.stringify(SUBPATHS)}) modules[specifier] = require(specifier);\n${verify}`,
);
// Records every module URL the ESM loader resolves, to see what the CLI really runs.
writeFileSync(
  join(project, 'trace-hooks.mjs'),
  `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(process.env.TRACE_FILE, result.url + '\\n');
  return result;
}
`,
);
// What importing the main entry loads: the modules a producer may never use stay unloaded until it
// does (node:crypto alone adds about 5 MB of RSS; see src/node-crypto.ts and src/records/crc32c.ts).
writeFileSync(
  join(project, 'light.mjs'),
  `import { createRequire } from 'node:module';
await import('kafka-wire');
const builtins = ['crypto', 'child_process'].filter((name) => process.moduleLoadList.includes('NativeModule ' + name));
const addons = Object.keys(createRequire(import.meta.url).cache).filter((path) => /@node-rs|lz4-napi|snappy/.test(path));
if (builtins.length + addons.length > 0) throw new Error('importing kafka-wire loaded ' + [...builtins, ...addons].join(', '));
const loaded = process.moduleLoadList.filter((name) => name.startsWith('NativeModule ') && !name.includes('internal/'));
console.log(loaded.length + ' public built-in modules');
`,
);
writeFileSync(join(project, 'trace.mjs'), `import { register } from 'node:module';\nregister('./trace-hooks.mjs', import.meta.url);\n`);

for (const node of [process.execPath, ...otherNodes]) {
  const version = run(node, ['--version']).stdout.trim();
  const env = envFor(node);
  check(`Node ${version}: import() of every subpath from an ES module`, () => run(node, ['imports.mjs'], { env }).stdout.trim());
  check(`Node ${version}: require() of every subpath from CommonJS`, () => run(node, ['requires.cjs'], { env }).stdout.trim());
  check(`Node ${version}: importing kafka-wire loads neither node:crypto, node:child_process nor a native addon`, () =>
    run(node, ['light.mjs'], { env }).stdout.trim(),
  );
  check(`Node ${version}: npx kafka-wire runs the compiled dist/ and nothing else`, () => {
    const traceFile = join(work, `trace-${version}.txt`);
    writeFileSync(traceFile, '');
    const result = run('npx', ['--no-install', 'kafka-wire', 'help'], {
      env: { ...env, TRACE_FILE: traceFile, NODE_OPTIONS: `--import ${join(project, 'trace.mjs')}` },
    });
    assert(/kafka-wire/.test(result.stdout), `no help text in:\n${result.stdout.slice(0, 500)}`);
    const loaded = readFileSync(traceFile, 'utf8').split('\n').filter(Boolean);
    const ours = loaded
      .filter((url) => url.startsWith('file:'))
      .map((url) => relative(packageDir, fileURLToPath(url)))
      .filter((path) => !path.startsWith('..'));
    const tsx = loaded.filter((url) => /\/tsx\//.test(url));
    const foreign = ours.filter((path) => !/^(dist\/bundle\/[^/]+\.js|bin\/kafka-wire\.js)$/.test(path));
    assert(
      ours.includes(join('dist', 'bundle', 'cli.js')),
      `dist/bundle/cli.js was not loaded; from the package: ${[...new Set(ours)].join(', ')}`,
    );
    assert(foreign.length === 0 && tsx.length === 0, `loaded besides dist/: ${[...new Set([...foreign, ...tsx])].join(', ')}`);
    return `${ours.filter((path) => path.startsWith('dist')).length} modules from dist/`;
  });
}

// 5. A produce against a real broker started through kafka-wire/testing, then stopped.
writeFileSync(
  join(project, 'produce.mjs'),
  `import { readFileSync } from 'node:fs';
import { Admin, Cluster, Producer, readPartition } from 'kafka-wire';
import { startKafka } from 'kafka-wire/testing';

const kafka = await startKafka({ name: 'package-check' });
try {
  const cluster = await Cluster.connect({ bootstrap: kafka.bootstrap });
  await new Admin(cluster).createTopics([{ name: 'package-check', partitions: 1, replicationFactor: 1 }]);
  const producer = new Producer({ bootstrap: kafka.bootstrap, compression: 'lz4' });
  const first = await producer.send({ topic: 'package-check', key: 'k', value: 'first' });
  const second = await producer.send({ topic: 'package-check', key: 'k', value: 'second' });
  await producer.close();
  if (first.offset !== 0n || second.offset !== 1n) throw new Error('offsets ' + first.offset + ', ' + second.offset + ', expected 0 and 1');
  const values = (await readPartition(cluster, 'package-check', 0)).map((record) => record.value?.toString());
  cluster.close();
  if (values.join() !== 'first,second') throw new Error('read back ' + JSON.stringify(values));
  console.log('Kafka ' + kafka.kafkaVersion + ' at ' + kafka.bootstrap + ': offsets 0 and 1, read back');
} finally {
  await kafka.stop();
}
// Exited means gone, or a zombie that this process (the JVM's parent) has not reaped yet.
for (const node of kafka.nodes) {
  let state = 'gone';
  try {
    const stat = readFileSync('/proc/' + node.pid + '/stat', 'utf8');
    state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {}
  if (state !== 'gone' && state !== 'Z') throw new Error('node ' + node.id + ' (pid ' + node.pid + ') still runs after stop()');
}
`,
);
const brokerEnv = { ...process.env, KAFKA_WIRE_STATE_DIR: join(work, 'state') };
check('a produce to an embedded broker started and stopped through kafka-wire/testing', () => {
  return run(process.execPath, ['produce.mjs'], { env: brokerEnv, timeoutMs: 300_000 }).stdout.trim();
});
// Whatever happened above, leave no JVM behind (the installed CLI, on this check's own state dir).
run('npx', ['--no-install', 'kafka-wire', 'broker', 'stop', '--all'], { env: brokerEnv, timeoutMs: 120_000 });

finish();

function finish() {
  if (keep || failures > 0) console.log(`(the tarball and the project are in ${work})`);
  else rmSync(work, { recursive: true, force: true });
  if (failures > 0) console.log(`${failures} check(s) failed`);
  process.exit(failures > 0 ? 1 : 0);
}
