// `npm test`: type check, unit tests, production build, then end-to-end tests in Chromium.
// Stops at the first failing step; the runners' own summaries end the output.
import { spawnSync } from 'node:child_process';

const steps: { name: string; cmd: string[] }[] = [
  { name: 'Vérification des types (astro check)', cmd: ['npx', 'astro', 'check'] },
  { name: 'Tests unitaires et d’intégration (Vitest)', cmd: ['npx', 'vitest', 'run'] },
  { name: 'Construction du site (astro build)', cmd: ['npx', 'astro', 'build'] },
  { name: 'Tests de bout en bout (Playwright, Chromium)', cmd: ['npx', 'playwright', 'test'] },
];

for (const step of steps) {
  console.log(`\n▶ ${step.name}\n`);
  const started = Date.now();
  const result = spawnSync(step.cmd[0], step.cmd.slice(1), { stdio: 'inherit', env: process.env });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (result.status !== 0) {
    console.error(`\n✗ Échec\u00a0: ${step.name} (${seconds} s)`);
    process.exit(result.status ?? 1);
  }
  // Nothing after the last step: Playwright's summary closes the output.
  if (step !== steps.at(-1)) console.log(`\n✓ ${step.name} (${seconds} s)`);
}
