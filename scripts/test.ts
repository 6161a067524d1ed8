// `npm test`: lint and format, type check, unit tests, integration tests, production build, then
// end-to-end tests in Chromium. Stops at the first failing step; a table of what each step cost
// ends the output.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

interface Step {
  name: string;
  cmd: string[];
  /** Why the step does not run (null: it runs). */
  skip?: string | null;
}

const scripts: Record<string, string> = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts ?? {};

const steps: Step[] = [
  // The `lint` script came with Biome; a checkout without it (an older branch) skips the step.
  { name: 'Lint et format (Biome)', cmd: ['npm', 'run', 'lint'], skip: scripts.lint ? null : 'pas de script « lint » dans package.json' },
  { name: 'Vérification des types (astro check)', cmd: ['npx', 'astro', 'check'] },
  { name: 'Tests unitaires (Vitest, projet unit)', cmd: ['npm', 'run', 'test:unit'] },
  { name: 'Tests d’intégration (Vitest, projet integration)', cmd: ['npm', 'run', 'test:integration'] },
  { name: 'Construction du site (astro build)', cmd: ['npx', 'astro', 'build'] },
  { name: 'Tests de bout en bout (Playwright, Chromium)', cmd: ['npm', 'run', 'test:e2e'] },
];

const rows: { name: string; mark: string; cost: string }[] = [];
let total = 0;

/** The table of every step and its cost, the last lines of the output. */
function summary(): void {
  const width = Math.max(...steps.map((s) => s.name.length));
  console.log('\nRécapitulatif de npm test\u00a0:\n');
  for (const row of rows) console.log(`  ${row.mark} ${row.name.padEnd(width)}  ${row.cost.padStart(9)}`);
  for (const step of steps.slice(rows.length)) console.log(`  · ${step.name.padEnd(width)}  ${'non lancée'.padStart(9)}`);
  console.log(`    ${'Total'.padEnd(width)}  ${`${total.toFixed(1)} s`.padStart(9)}`);
}

for (const step of steps) {
  if (step.skip) {
    console.log(`\n▷ ${step.name}\u00a0: sautée (${step.skip})`);
    rows.push({ name: step.name, mark: '–', cost: 'sautée' });
    continue;
  }
  console.log(`\n▶ ${step.name}\n`);
  const started = Date.now();
  const result = spawnSync(step.cmd[0], step.cmd.slice(1), { stdio: 'inherit', env: process.env });
  const seconds = (Date.now() - started) / 1000;
  total += seconds;
  const ok = result.status === 0;
  rows.push({ name: step.name, mark: ok ? '✓' : '✗', cost: `${seconds.toFixed(1)} s` });
  if (!ok) {
    console.error(`\n✗ Échec\u00a0: ${step.name} (${seconds.toFixed(1)} s)`);
    summary();
    process.exit(result.status ?? 1);
  }
  console.log(`\n✓ ${step.name} (${seconds.toFixed(1)} s)`);
}
summary();
