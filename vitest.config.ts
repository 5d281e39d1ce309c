import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // A bound against hangs, not a speed check: the seeded fuzz and recovery tests take 4 s on a quiet
          // 2-core machine and passed vitest's 5 s default when it ran 2x slower (CI, 2026-12-03, Node 22).
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'conformance',
          include: ['test/conformance/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/setup/kafka-global-setup.ts'],
          // Released pooled memory is overwritten with poison, so any use after release corrupts what reaches the broker.
          env: { KAFKA_WIRE_POOL_POISON: '1' },
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
