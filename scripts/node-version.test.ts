// One Node version for the project: package.json `engines`, the `node` devDependency (the binary
// npm scripts run), .nvmrc and the README must name the same major version.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; devDependencies: Record<string, string> };
const major = (range: string) => Number(/(\d+)/.exec(range)?.[1]);

describe('Node version', () => {
  const pinned = major(pkg.devDependencies.node);

  it('is pinned by the `node` devDependency', () => {
    expect(pinned).toBeGreaterThanOrEqual(22);
  });

  it('is the one engines, .nvmrc and the README state', () => {
    expect(pkg.engines.node).toBe(`>=${pkg.devDependencies.node.replace(/^\^/, '')}`);
    expect(major(read('.nvmrc'))).toBe(pinned);
    expect(read('README.md')).toContain(`**Node ${pinned}**`);
  });

  it('is the one the test runner runs under', () => {
    expect(major(process.versions.node)).toBe(pinned);
  });
});
