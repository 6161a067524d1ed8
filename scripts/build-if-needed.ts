// Builds the site (astro build) if dist/ is missing or older than its sources: `npm start` and
// `npm run cluster` serve the built site.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stamp = join(root, 'dist', 'index.html');
const sources = ['site', 'lessons', 'astro.config.mjs', 'package.json', 'package-lock.json', 'protocol'];

function newestMtime(path: string): number {
  if (!existsSync(path)) return 0;
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

/** Builds when needed; exits the process with astro's status if the build fails. */
export function buildSiteIfNeeded(): void {
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  const newestSource = Math.max(...sources.map((s) => newestMtime(join(root, s))));
  if (built >= newestSource) return;
  console.log(built ? 'Le site a changé\u00a0: reconstruction…' : 'Première construction du site…');
  const result = spawnSync('npx', ['astro', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
