import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';

test('tests run on Node 22 or newer (the pinned devDependency puts Node 24 on the PATH)', () => {
  const major = Number(process.versions.node.split('.')[0]);
  expect(major).toBeGreaterThanOrEqual(22);
});

// CI's Node 22 leg sets KAFKA_WIRE_EXPECT_NODE=22, so a leg that silently ran on another Node fails here.
test.runIf(process.env.KAFKA_WIRE_EXPECT_NODE)('tests run on the Node major CI asked for', () => {
  expect(process.versions.node.split('.')[0]).toBe(process.env.KAFKA_WIRE_EXPECT_NODE);
});

test('package.json declares the engines range the library supports', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { engines: { node: string } };
  expect(pkg.engines.node).toBe('>=22.12');
});

test('the version sent to brokers is the package version', async () => {
  const { KAFKA_WIRE_VERSION } = await import('../../src/version.js');
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  expect(KAFKA_WIRE_VERSION).toBe(pkg.version);
});
