// Keeps the test tiers honest (CONTRIBUTING.md, « Les tests »): a unit test file imports no socket,
// child process or site build API, neither directly nor through a helper that listens or spawns.
// Static check of the import lines; a file that needs any of these is named `*.integration.test.ts`.
import { existsSync, globSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INTEGRATION_FILES, LONG_FIRST, TEST_ROOTS, UNIT_FILES } from '../vitest.config.ts';

const root = new URL('..', import.meta.url).pathname;
const IGNORED = ['**/node_modules/**', 'dist/**', '.tmp/**', '.astro/**'];

/** Modules that open sockets, start processes or build the site (`node:` prefix removed). */
const FORBIDDEN = new Set([
  'net',
  'http',
  'https',
  'http2',
  'dgram',
  'tls',
  'child_process',
  'cluster',
  'ws',
  'socket.io',
  'socket.io-client',
  'engine.io',
  'engine.io-client',
  'astro',
  'vite',
  'playwright',
  '@playwright/test',
]);

/** A local module that calls one of these listens, connects a process or spawns one. */
const LISTENS_OR_SPAWNS = /\.listen\(|(?<![.\w])(spawn|spawnSync|fork|exec|execSync|execFile|execFileSync)\(/;

/**
 * Whether `index` is in a string or a comment, judged from its line: an odd count of a quote before
 * it, or `//` or a leading `*`. Learner code in a string (`'require("ws")'`) is not an import.
 */
function quoted(source: string, index: number): boolean {
  const before = source.slice(source.lastIndexOf('\n', index - 1) + 1, index).replace(/\\./g, '');
  if (before.includes('//') || /^\s*\/?\*/.test(before)) return true;
  return ['"', "'", '`'].some((q) => before.split(q).length % 2 === 0);
}

/** Module specifiers a source imports at run time (type-only imports are erased, so skipped). */
function runtimeImports(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /^\s*import\s*()['"]([^'"]+)['"]/gm,
    /\b(?:import|require)\s*\(\s*()['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const m of source.matchAll(pattern)) if (!m[1] && !quoted(source, m.index)) found.push(m[2]);
  }
  return found;
}

/** Why a test file does not belong to the unit tier (empty: it does). */
function tierViolations(file: string, source: string, readLocal: (path: string) => string | null): string[] {
  const reasons: string[] = [];
  for (const spec of runtimeImports(source)) {
    const bare = spec.replace(/^node:/, '');
    if (FORBIDDEN.has(bare)) reasons.push(`importe « ${spec} »`);
    if (spec.startsWith('.')) {
      const local = join(dirname(file), spec);
      const text = readLocal(local);
      if (text !== null && LISTENS_OR_SPAWNS.test(text)) reasons.push(`importe « ${spec} », qui écoute ou lance un processus`);
    }
  }
  return reasons;
}

const readLocal = (path: string) => (existsSync(join(root, path)) ? readFileSync(join(root, path), 'utf8') : null);
const glob = (patterns: string[], exclude: string[] = []) => globSync(patterns, { cwd: root, exclude: [...IGNORED, ...exclude] }).sort();

describe('test tiers', () => {
  const unitFiles = glob(UNIT_FILES, INTEGRATION_FILES);

  it('no unit test file imports sockets, child processes or the site build', () => {
    expect(unitFiles.length).toBeGreaterThan(10);
    const offenders = unitFiles.flatMap((file) =>
      tierViolations(file, readFileSync(join(root, file), 'utf8'), readLocal).map((reason) => `${file} ${reason}`),
    );
    expect(offenders, 'à renommer en *.integration.test.ts').toEqual([]);
  });

  it('every test file is under a test root, so one of the tiers runs it', () => {
    const outside = glob(['**/*.test.ts']).filter((file) => !TEST_ROOTS.some((r) => file.startsWith(`${r}/`)));
    expect(outside).toEqual([]);
    expect(glob(INTEGRATION_FILES).length).toBeGreaterThan(5);
  });

  it('the files started first are integration files that exist (a renamed one would lose its place)', () => {
    const integration = glob(INTEGRATION_FILES);
    expect(LONG_FIRST.filter((file) => !integration.includes(file))).toEqual([]);
  });

  it('the check sees value imports, dynamic imports and helpers that listen, not type imports', () => {
    const helper = (path: string) => (path === 'x/helpers.ts' ? 'server.listen(0);' : 'export const a = 1;');
    expect(tierViolations('x/a.test.ts', "import type { Server } from 'node:http';\nimport { a } from './pure.ts';", helper)).toEqual([]);
    expect(tierViolations('x/a.test.ts', "import {\n  connect,\n} from 'node:net';", helper)).toHaveLength(1);
    expect(tierViolations('x/a.test.ts', "const { spawn } = await import('node:child_process');", helper)).toHaveLength(1);
    expect(tierViolations('x/a.test.ts', "import WebSocket from 'ws';", helper)).toHaveLength(1);
    expect(tierViolations('x/a.test.ts', "import { build } from 'astro';", helper)).toHaveLength(1);
    expect(tierViolations('x/a.test.ts', "import { startApp } from './helpers.ts';", helper)).toHaveLength(1);
    // Code in strings (a learner's server) and comments is not imported.
    expect(
      tierViolations('x/a.test.ts', "const server = 'require(\"ws\")';\nconst client = `import { io } from 'socket.io-client'`;", helper),
    ).toEqual([]);
    expect(
      tierViolations('x/a.test.ts', "// import WebSocket from 'ws';\n/* import('node:net') */\n * require('node:http')", helper),
    ).toEqual([]);
  });
});
