// A throwaway copy of the project for tests that run real commands (build, new-lesson) on it.
// It lives inside the project (.tmp/, ignored): node_modules resolves from the parent folder,
// without the symlink that confuses Vite's module ids. Call it inside a test: the copy is removed when that test ends.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const ENTRIES = ['astro.config.mjs', 'tsconfig.json', 'package.json', 'site', 'lessons', 'sandbox-server', 'scripts', 'protocol'];

/** Copies the project's sources into a fresh folder (deleted when the calling test ends) and returns its path. */
export function copyProject(name: string): string {
  mkdirSync(join(root, '.tmp'), { recursive: true });
  const work = mkdtempSync(join(root, '.tmp', `atelier-${name}-`));
  onTestFinished(() => rmSync(work, { recursive: true, force: true }));
  for (const entry of ENTRIES) cpSync(join(root, entry), join(work, entry), { recursive: true });
  return work;
}
