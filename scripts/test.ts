// `npm test`: lint and format, unit tests, then the integration tests with the production build
// beside them, then end-to-end tests in Chromium with the type check beside them. Stops at the
// first failing step; a table of what each step cost ends the output.
//
// Why side by side: the integration and end-to-end tests wait a lot (sockets, timers, network
// cuts, child processes), while the build and the type check are pure CPU work that read what no
// test writes (integration tests that build or serve the site do it in a copy of the project).
// The build must end before the end-to-end tests (they serve dist/); the type check goes beside
// the end-to-end tests, which wait for real timers and network cuts while the check computes.
// Measured on fresh clones, the placement made no difference (283.3 s beside the integration tests,
// 284.3 s beside the end-to-end tests); it stays where it does not lengthen the integration stage. Beside the unit tests, which keep both cores busy, the type
// check gained nothing (measured: 27 s against 26.5 s one after the other).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface Step {
  name: string;
  cmd: string[];
  /** Why the step does not run (null: it runs). */
  skip?: string | null;
}

/** Steps run one after the other; the steps of a lane's `beside` run meanwhile, one after the other. */
interface Stage {
  main: Step;
  /** Steps run during `main`, their output printed whole once `main` has ended. */
  beside?: Step[];
}

const scripts: Record<string, string> = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts ?? {};

const stages: Stage[] = [
  // The `lint` script came with Biome; a checkout without it (an older branch) skips the step.
  {
    main: {
      name: 'Lint et format (Biome)',
      cmd: ['npm', 'run', 'lint'],
      skip: scripts.lint ? null : 'pas de script « lint » dans package.json',
    },
  },
  { main: { name: 'Tests unitaires (Vitest, projet unit)', cmd: ['npm', 'run', 'test:unit'] } },
  {
    main: { name: 'Tests d’intégration (Vitest, projet integration)', cmd: ['npm', 'run', 'test:integration'] },
    beside: [{ name: '  ∥ Construction du site (astro build)', cmd: ['npx', 'astro', 'build'] }],
  },
  {
    main: { name: 'Tests de bout en bout (Playwright, Chromium)', cmd: ['npm', 'run', 'test:e2e'] },
    beside: [{ name: '  ∥ Vérification des types (astro check)', cmd: ['npx', 'astro', 'check'] }],
  },
];

const allSteps = stages.flatMap((s) => [s.main, ...(s.beside ?? [])]);
const rows: { name: string; mark: string; cost: string }[] = [];
const started = Date.now();

/** The table of every step and its cost, the last lines of the output. */
function summary(): void {
  const width = Math.max(...allSteps.map((s) => s.name.length), 'Total (durée réelle)'.length);
  console.log('\nRécapitulatif de npm test\u00a0:\n');
  for (const row of rows) console.log(`  ${row.mark} ${row.name.padEnd(width)}  ${row.cost.padStart(9)}`);
  const done = new Set(rows.map((r) => r.name));
  for (const step of allSteps.filter((s) => !done.has(s.name))) console.log(`  · ${step.name.padEnd(width)}  ${'non lancée'.padStart(9)}`);
  // Wall time: steps run side by side count once.
  const total = (Date.now() - started) / 1000;
  console.log(`    ${'Total (durée réelle)'.padEnd(width)}  ${`${total.toFixed(1)} s`.padStart(9)}`);
}

interface Result {
  step: Step;
  status: number | null;
  seconds: number;
  /** The output, when kept for later (steps run beside another). */
  output?: Buffer;
}

/** Runs one step, its output shown live, or kept whole when `quiet`. */
function run(step: Step, quiet: boolean): Promise<Result> {
  const begun = Date.now();
  return new Promise((resolve) => {
    const child = spawn(step.cmd[0], step.cmd.slice(1), { env: process.env, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    const out: Buffer[] = [];
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => out.push(d));
    child.on('close', (status) =>
      resolve({ step, status, seconds: (Date.now() - begun) / 1000, output: quiet ? Buffer.concat(out) : undefined }),
    );
  });
}

/** The steps of a lane, one after the other; stops at the first failure. */
async function lane(steps: Step[]): Promise<Result[]> {
  const results: Result[] = [];
  for (const step of steps) {
    const result = await run(step, true);
    results.push(result);
    if (result.status !== 0) break;
  }
  return results;
}

function record(result: Result): boolean {
  const ok = result.status === 0;
  rows.push({ name: result.step.name, mark: ok ? '✓' : '✗', cost: `${result.seconds.toFixed(1)} s` });
  console.log(
    ok
      ? `\n✓ ${result.step.name.trim()} (${result.seconds.toFixed(1)} s)`
      : `\n✗ Échec\u00a0: ${result.step.name.trim()} (${result.seconds.toFixed(1)} s)`,
  );
  return ok;
}

function fail(status: number | null): never {
  summary();
  process.exit(status || 1);
}

for (const stage of stages) {
  const { main } = stage;
  if (main.skip) {
    console.log(`\n▷ ${main.name}\u00a0: sautée (${main.skip})`);
    rows.push({ name: main.name, mark: '–', cost: 'sautée' });
    continue;
  }
  const beside = stage.beside ?? [];
  console.log(
    `\n▶ ${main.name}${beside.length ? ` (à côté\u00a0: ${beside.map((s) => s.name.replace(/^\s*∥\s*/, '')).join(', ')})` : ''}\n`,
  );
  const [mainResult, besideResults] = await Promise.all([run(main, false), lane(beside)]);
  const mainOk = record(mainResult);
  let besideOk = true;
  for (const result of besideResults) {
    console.log(`\n▶ ${result.step.name.trim()}\n`);
    process.stdout.write(result.output ?? Buffer.alloc(0));
    besideOk = record(result) && besideOk;
  }
  if (!mainOk) fail(mainResult.status);
  if (!besideOk) fail(besideResults.find((r) => r.status !== 0)?.status ?? 1);
}
summary();
