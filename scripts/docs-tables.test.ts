// The README's field tables are generated from schema.ts: this fails when someone edited a
// `.describe()` text (or the README) without running `npm run docs:tables`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { README, block, updateTables } from './docs-tables.ts';

describe('docs:tables', () => {
  it('README.md of the Playground is up to date with schema.ts (else run npm run docs:tables)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(updateTables(readme), 'README.md out of date: run npm run docs:tables').toBe(readme);
  });
  it('escapes pipes inside table cells and keeps code spans intact', () => {
    const table = block('matcher');
    expect(table).toContain("| `from` | `'client' \\| 'server'` | non |");
    expect(table).toContain('Sens des octets\u00a0: `client`');
  });
  it('refuses a README without the markers', () => {
    expect(() => updateTables('# README\n')).toThrow('<!-- schema:props:start -->');
  });
});
