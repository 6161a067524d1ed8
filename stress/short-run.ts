// The short stress run of `npm test` (1.2 s per attack, more for those that need it: `minMs`;
// `npm run stress -- --short` gives each 2.5 s, the full run 15 s) against real server processes:
// every attack of `npm run stress`, none may break the server (die, pass 1 GiB of RSS, or show its
// defect). "degraded" rows (bystander p99 ≥ 50 ms, new session refused) are printed, not failed:
// other test files share the two cores while this runs, so latency here says little.
//
// The attacks are dealt into two halves (every other one, so the long ones spread), each against
// its own server, in two test files that Vitest runs side by side: most of an attack's time is its
// fixed duration, so two at a time halve the run's wall time (54 s → about 30 s).
import { expect, it } from 'vitest';
import { ATTACKS } from './attacks/index.ts';
import { runSuite } from './suite.ts';

export const HALVES = 2;

export function shortRun(half: number): void {
  const only = ATTACKS.filter((_, i) => i % HALVES === half).map((a) => a.name);
  it(`no attack breaks the server (short stress run, half ${half + 1} of ${HALVES}: ${only.length} attacks)`, async () => {
    const lines: string[] = [];
    // 1.2 s per attack keeps `npm test` short; every attack still runs against a server.
    const suite = await runSuite({
      short: true,
      durationMs: 1200,
      only,
      command: 'npx vitest run stress',
      log: (line) => lines.push(line),
    });
    console.log(`${suite.table}\n`);
    expect(suite.broke.map((r) => `${r.name}: ${r.notes.join('; ')}`)).toEqual([]);
  }, 180_000);
}
