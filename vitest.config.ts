import { configDefaults, defineConfig } from 'vitest/config';

// Two tiers (CONTRIBUTING.md, « Les tests ») run as Vitest projects:
// - unit (`npm run test:unit`): pure code, no socket, no child process, no site build;
// - integration (`npm run test:integration`): real sockets on loopback, servers, builds, stress and fuzz.
// The rule: a test file named `*.integration.test.ts` is integration, every other one is unit.
// scripts/test-tiers.test.ts checks that no unit file imports a socket, process or build API.

/** Where test files live. */
export const TEST_ROOTS = ['sandbox-server', 'site', 'tests', 'scripts', 'stress'];

/**
 * Integration files: the naming rule, plus files that open sockets but still carry the plain
 * `.test.ts` name (each to be renamed `*.integration.test.ts`, then dropped from this list).
 */
export const INTEGRATION_FILES = [
  ...TEST_ROOTS.map((root) => `${root}/**/*.integration.test.ts`),
  'sandbox-server/reliability.test.ts',
  'sandbox-server/perf-rules.test.ts',
  'sandbox-server/tap/connection-tap.test.ts',
  'sandbox-server/wire/connection-decoder.test.ts',
  'sandbox-server/wire/deflate.test.ts',
];

export const UNIT_FILES = TEST_ROOTS.map((root) => `${root}/**/*.test.ts`);

export default defineConfig({
  test: {
    testTimeout: 20_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT_FILES,
          exclude: [...configDefaults.exclude, ...INTEGRATION_FILES],
          // Pure CPU work, mostly importing modules: one file per core (Vitest's default leaves one idle).
          maxWorkers: '100%',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION_FILES,
          // Two files at a time whatever the machine: these tests mostly wait (sockets, timers, child
          // processes), so the long stress run overlaps the rest; more would starve the servers they test.
          maxWorkers: 2,
          // After the unit files when both tiers run together (a tier with its own maxWorkers needs its own group).
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
