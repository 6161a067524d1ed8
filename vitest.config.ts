import { configDefaults, defineConfig } from 'vitest/config';

// Two tiers (CONTRIBUTING.md, « Les tests ») run as Vitest projects:
// - unit (`npm run test:unit`): pure code, no socket, no child process, no site build;
// - integration (`npm run test:integration`): real sockets on loopback, servers, builds, stress and fuzz.
// The rule: a test file named `*.integration.test.ts` is integration, every other one is unit.
// scripts/test-tiers.test.ts checks that no unit file imports a socket, process or build API.

/** Where test files live. */
export const TEST_ROOTS = ['sandbox-server', 'site', 'tests', 'scripts', 'stress'];

/** Integration files: by their name alone (`*.integration.test.ts`). */
export const INTEGRATION_FILES = TEST_ROOTS.map((root) => `${root}/**/*.integration.test.ts`);

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
