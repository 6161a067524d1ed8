import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

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

/**
 * The longest integration files (measured 2026-12-07, 20 to 30 s each, mostly waiting), started
 * first, longest first. Vitest's own order puts the files it has no timings for (a fresh clone, as
 * in CI) by size, largest first: the two 4-line halves of the stress run came last and alone made
 * the tier's tail. A file missing here only keeps Vitest's order.
 */
export const LONG_FIRST = [
  'stress/stress-1.integration.test.ts',
  'stress/stress-2.integration.test.ts',
  'sandbox-server/network.integration.test.ts',
  'stress/fuzz.integration.test.ts',
  'sandbox-server/reliability.integration.test.ts',
  'tests/differential/differential.integration.test.ts',
  'tests/integration/dev-server.integration.test.ts',
];

class LongFirstSequencer extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const at = LONG_FIRST.findIndex((path) => spec.moduleId.endsWith(`/${path}`));
      return at < 0 ? LONG_FIRST.length : at;
    };
    // Array.prototype.sort is stable: the other files keep Vitest's order.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    testTimeout: 20_000,
    sequence: { sequencer: LongFirstSequencer },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: UNIT_FILES,
          exclude: [...configDefaults.exclude, ...INTEGRATION_FILES],
          // Pure CPU work, mostly importing modules: one file per core (Vitest's default leaves one idle).
          maxWorkers: '100%',
          // Files share a worker's module cache (pure code keeps no global state between files):
          // 13.4 s and 24 CPU-s isolated, 5.9 s and 10 CPU-s not (2026-12-07, every test passing).
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: INTEGRATION_FILES,
          // Four files at a time (INTEG_WORKERS overrides): these tests mostly wait (sockets, timers,
          // child processes: alone they keep 1.2 of 2 cores busy), and the longest file, a half of
          // the short stress run, takes 30 s. Measured on 2 cores: 101.6 s with 2 at a time, 80.0 s
          // with 4 (2026-12-07), every test passing.
          maxWorkers: Number(process.env.INTEG_WORKERS ?? 4),
          // After the unit files when both tiers run together (a tier with its own maxWorkers needs its own group).
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
