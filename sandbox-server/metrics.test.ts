// The /metrics text against the rules of the Prometheus text format (metrics-parse.ts), the
// reader's own rules (it must refuse what breaks them), and the figures following the counters.
import type { Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { escapeLabelValue, Exposition, formatValue, renderMetrics } from './metrics.ts';
import { parseExposition, sampleValue } from './metrics-parse.ts';
import type { Sandbox } from './sandbox.ts';
import { LIMIT_HITS, LIMIT_KINDS, recordLimit, STATS } from './stats.ts';

describe('the format reader', () => {
  const good = [
    '# HELP a_total Things.\\nSecond line \\\\ here.',
    '# TYPE a_total counter',
    'a_total{kind="x\\"y\\\\z\\nw"} 1',
    'a_total{kind="b",other="c",} 2.5e-3 1700000000000',
    '# a plain comment',
    '# TYPE s summary',
    's{quantile="0.5"} NaN',
    's_sum 3',
    's_count 2',
    'untyped_one +Inf',
    '',
  ].join('\n');
  it('reads a valid exposition', () => {
    const f = parseExposition(good);
    expect(f.get('a_total')?.help).toBe('Things.\nSecond line \\ here.');
    expect(sampleValue(f, 'a_total', { kind: 'x"y\\z\nw' })).toBe(1);
    expect(sampleValue(f, 'a_total', { kind: 'b', other: 'c' })).toBe(0.0025);
    expect(f.get('s')?.samples.map((s) => s.name)).toEqual(['s', 's_sum', 's_count']);
    expect(sampleValue(f, 'untyped_one')).toBe(Infinity);
  });
  it.each([
    ['no final line feed', 'a 1'],
    ['a name starting with a digit', '1a 1\n'],
    ['a bad label name', 'a{1x="v"} 1\n'],
    ['an unknown escape in a label value', 'a{k="\\t"} 1\n'],
    ['an unquoted label value', 'a{k=v} 1\n'],
    ['a value that is not a float', 'a one\n'],
    ['a second TYPE', '# TYPE a gauge\n# TYPE a gauge\na 1\n'],
    ['a second HELP', '# HELP a x\n# HELP a y\na 1\n'],
    ['a TYPE after the samples', 'a 1\n# TYPE a gauge\n'],
    ['an unknown type', '# TYPE a meter\na 1\n'],
    ['a family in two groups', 'a{k="1"} 1\nb 1\na{k="2"} 1\n'],
    ['a repeated sample', 'a{k="1",j="2"} 1\na{j="2",k="1"} 2\n'],
    ['no blank before the value', 'a{k="1"}1\n'],
  ])('refuses %s', (_, text) => {
    expect(() => parseExposition(text)).toThrow();
  });
});

describe('Exposition', () => {
  it('escapes label values and HELP texts so that they read back the same', () => {
    const tricky = 'a\\b"c\nd';
    const text = new Exposition().family('t_total', 'counter', 'Help with \\ and\nnewline.', [[{ kind: tricky }, 1]]).toString();
    expect(text).toContain(`{kind="${escapeLabelValue(tricky)}"}`);
    const f = parseExposition(text);
    expect(sampleValue(f, 't_total', { kind: tricky })).toBe(1);
    expect(f.get('t_total')?.help).toBe('Help with \\ and\nnewline.');
  });
  it('writes special values the way the format spells them', () => {
    expect([NaN, Infinity, -Infinity, 0.5, 3].map(formatValue)).toEqual(['NaN', '+Inf', '-Inf', '0.5', '3']);
  });
  it('refuses bad names and repeated families', () => {
    expect(() => new Exposition().one('bad-name', 'gauge', 'x', 1)).toThrow();
    expect(() => new Exposition().family('a', 'gauge', 'x', [[{ 'bad-label': 'v' }, 1]])).toThrow();
    expect(() => new Exposition().one('a', 'gauge', 'x', 1).one('a', 'gauge', 'x', 1)).toThrow();
  });
});

/** A sandbox as renderMetrics reads it: `n` sessions with 2 sockets, 1 WebSocket each. */
function fakeSandbox(n: number, draining = false): Sandbox {
  const sessions = Array.from({ length: n }, () => ({ sockets: new Set([1, 2]), websockets: new Set([1]) }));
  return {
    registry: { values: () => sessions.values(), budget: { used: 1234 } },
    limits: { memoryBudget: 512 * 1024 * 1024 },
    notReady: () => (draining ? 'draining' : null),
    draining,
    monitorCount: n,
  } as unknown as Sandbox;
}
const fakeServer = { getConnections: (cb: (err: Error | null, n: number) => void) => cb(null, 7) } as unknown as Server;

describe('renderMetrics', () => {
  it('follows the format, with HELP and TYPE for every family', async () => {
    const f = parseExposition(await renderMetrics(fakeServer, fakeSandbox(3)));
    expect(f.size).toBeGreaterThan(15);
    for (const family of f.values()) {
      expect(family.help, family.name).toBeTruthy();
      expect(family.type, family.name).not.toBe('untyped');
      expect(family.name).toMatch(/^(atelier|process)_/);
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
      expect(family.samples.length, family.name).toBeGreaterThan(0);
    }
  });
  it('reads the sandbox and the counters', async () => {
    const before = parseExposition(await renderMetrics(fakeServer, fakeSandbox(3)));
    expect(sampleValue(before, 'atelier_sessions')).toBe(3);
    expect(sampleValue(before, 'atelier_connections', { kind: 'tcp' })).toBe(7);
    expect(sampleValue(before, 'atelier_connections', { kind: 'learner' })).toBe(6);
    expect(sampleValue(before, 'atelier_connections', { kind: 'websocket' })).toBe(3);
    expect(sampleValue(before, 'atelier_connections', { kind: 'monitor' })).toBe(3);
    expect(sampleValue(before, 'atelier_ready')).toBe(1);
    expect(sampleValue(before, 'atelier_backlog_chars')).toBe(1234);
    for (const k of LIMIT_KINDS) expect(sampleValue(before, 'atelier_limit_hits_total', { limit: k })).toBe(LIMIT_HITS[k]);
    expect(sampleValue(before, 'process_resident_memory_bytes')).toBeGreaterThan(1e6);

    recordLimit('rate', { session: 'abcdef' });
    recordLimit('rate', { session: 'abcdef' });
    STATS.events += 5;
    const after = parseExposition(await renderMetrics(fakeServer, fakeSandbox(5, true)));
    expect(sampleValue(after, 'atelier_limit_hits_total', { limit: 'rate' })).toBe(
      (sampleValue(before, 'atelier_limit_hits_total', { limit: 'rate' }) ?? Number.NaN) + 2,
    );
    expect(sampleValue(after, 'atelier_monitor_events_total')).toBe(
      (sampleValue(before, 'atelier_monitor_events_total') ?? Number.NaN) + 5,
    );
    expect(sampleValue(after, 'atelier_sessions')).toBe(5);
    expect(sampleValue(after, 'atelier_draining')).toBe(1);
    expect(sampleValue(after, 'atelier_ready')).toBe(0);
  });
});
