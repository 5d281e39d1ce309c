import { describe, expect, test } from 'vitest';
import { daemonConfig, settingsOf } from '../../src/daemon/config.js';
import { ConfigError } from '../../src/errors.js';

describe('daemon config', () => {
  test('defaults around the least a config needs: one input and a journal', () => {
    const config = daemonConfig({ inputs: { dgram: '/run/kw.sock' }, journal: '/var/lib/kw' });
    expect(config).toEqual({
      inputs: { dgram: '/run/kw.sock' },
      http: undefined,
      journal: '/var/lib/kw',
      sync: 'interval',
      maxMessageBytes: 1 << 20,
      discardReportIntervalMs: 600_000,
      rateLimits: {},
      topicDefaults: { lingerMs: 5, batchSize: 256 * 1024, compression: 'none' },
      topics: {},
    });
  });

  test('per-topic settings over the defaults; rate limits with a default and exemptions', () => {
    const config = daemonConfig({
      inputs: { stream: '/run/kw.stream', tcp: 9400 },
      http: 9401,
      journal: 'q',
      topicDefaults: { compression: 'lz4' },
      topics: { clicks: { lingerMs: 50, compression: 'zstd' } },
      rateLimits: { default: { intervalMs: 1000, maxCount: 1000 }, topics: { audit: null, noisy: { intervalMs: 10_000, maxCount: 5 } } },
    });
    expect(settingsOf(config, 'clicks')).toEqual({ lingerMs: 50, batchSize: 256 * 1024, compression: 'zstd' });
    expect(settingsOf(config, 'other')).toEqual({ lingerMs: 5, batchSize: 256 * 1024, compression: 'lz4' });
    expect(config.rateLimits.topics).toEqual({ audit: null, noisy: { intervalMs: 10_000, maxCount: 5 } });
  });

  test.each([
    [{ journal: 'q' }, /at least one input/],
    [{ inputs: { tcp: 9400 } }, /needs a journal directory/],
    [{ inputs: { tcp: -1 }, journal: 'q' }, /option inputs.tcp must be an integer from 0 to 65535, not the number -1/],
    [{ inputs: { dgram: 'same', stream: 'same' }, journal: 'q' }, /each socket needs a path of its own/],
    [{ inputs: { tcp: 1 }, journal: 'q', bogus: 1 }, /config has no field "bogus"/],
    [{ inputs: { tcp: 1 }, journal: 'q', topics: { t: { linger: 5 } } }, /topics\["t"\] has no field "linger"/],
    [{ inputs: { tcp: 1 }, journal: 'q', topicDefaults: { compression: 'brotli' } }, /topicDefaults.compression must be one of/],
    [{ inputs: { tcp: 1 }, journal: 'q', rateLimits: { default: { intervalMs: 1000 } } }, /rateLimits.default.maxCount is required/],
    ['not an object', /option config must be an object/],
  ])('%j: ConfigError', (raw, message) => {
    expect(() => daemonConfig(raw)).toThrow(ConfigError);
    expect(() => daemonConfig(raw)).toThrow(message);
  });
});
