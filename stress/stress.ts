// `npm run stress`: the abuse suite against a real server process (see suite.ts and attacks/).
//   npm run stress                          every attack, 15 s each
//   npm run stress -- --short               a few seconds each (also STRESS_SHORT=1)
//   npm run stress -- --seconds=20          per-attack duration (also STRESS_SECONDS)
//   npm run stress -- --only=ping-flood,pipelining
//   npm run stress -- --fresh                a new server process for every attack
//   npm run stress -- --list
// Prints one markdown table (ready for sandbox-server/README.md); exits 1 if any attack broke.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ATTACKS } from './attacks/index.ts';
import { ROOT } from './server.ts';
import { runSuite } from './suite.ts';

const args = process.argv.slice(2);
const flag = (name: string) => args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const value = (name: string) => flag(name)?.split('=')[1];

if (flag('list')) {
  for (const a of ATTACKS) console.log(`${a.name.padEnd(24)} ${a.title}`);
  process.exit(0);
}
const short = Boolean(flag('short')) || process.env.STRESS_SHORT === '1';
const seconds = Number(value('seconds') ?? process.env.STRESS_SECONDS ?? NaN);
const only = value('only')?.split(',').filter(Boolean);

// The static-site attack needs the built site; build it as `npm start` would (unless asked not to).
if (!existsSync(join(ROOT, 'dist', 'index.html')) && !flag('no-build')) {
  console.error('dist/ missing: building the site (npx astro build) for the static-site attack…');
  const built = spawnSync('npx', ['astro', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (built.status !== 0) console.error('build failed: the static-site attack will be skipped');
}

const suite = await runSuite({
  short,
  fresh: Boolean(flag('fresh')),
  durationMs: Number.isFinite(seconds) ? seconds * 1000 : undefined,
  only,
  command: `npm run stress${args.length ? ` -- ${args.join(' ')}` : ''}`,
});
console.log(`\n${suite.table}\n`);
if (suite.broke.length) console.error(`broke: ${suite.broke.map((r) => r.name).join(', ')}`);
process.exit(suite.broke.length ? 1 : 0);
