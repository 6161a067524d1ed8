import { afterEach, describe, expect, it } from 'vitest';
import { flushSuppressed, LIMIT_LOG_BURST, logError, logEvent, logLimit, redactMessage, sessionTag, setLogOutput } from './log.ts';

function collect(format: 'json' | 'text' = 'json'): string[] {
  const lines: string[] = [];
  setLogOutput((line) => lines.push(line), format);
  return lines;
}

afterEach(() => setLogOutput(null));

describe('structured logs', () => {
  it('writes one JSON object per line with time, level and event first', () => {
    const lines = collect();
    logEvent('start', { url: 'http://127.0.0.1:1/', pid: 1 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain('\n');
    const parsed = JSON.parse(lines[0]);
    expect(Object.keys(parsed).slice(0, 3)).toEqual(['time', 'level', 'event']);
    expect(parsed).toMatchObject({ level: 'info', event: 'start', url: 'http://127.0.0.1:1/', pid: 1 });
    expect(new Date(parsed.time).toISOString()).toBe(parsed.time);
  });
  it('writes a readable line in text mode, or the given one', () => {
    const lines = collect('text');
    logEvent('drain', { sessions: 2, note: 'deux mots' }, 'warn');
    logEvent('start', { url: 'x' }, 'info', 'Atelier WebSocket\u00a0: x');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} WARN drain sessions=2 note="deux mots"$/);
    expect(lines[1]).toBe('Atelier WebSocket\u00a0: x');
  });
  it('writes nothing before an output is set', () => {
    const lines: string[] = [];
    logEvent('start');
    logLimit('rate', {});
    expect(lines).toEqual([]);
  });
  it('rate-limits limit hits per kind and reports what it left out', () => {
    const lines = collect();
    for (let i = 0; i < 200; i++) logLimit('rate', { session: 'abcdef' });
    logLimit('payload', { session: 'abcdef' });
    const limitLines = lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'limit');
    expect(limitLines.filter((l) => l.limit === 'rate').length).toBeGreaterThanOrEqual(LIMIT_LOG_BURST);
    expect(limitLines.filter((l) => l.limit === 'rate').length).toBeLessThanOrEqual(LIMIT_LOG_BURST + 1);
    expect(limitLines.filter((l) => l.limit === 'payload')).toHaveLength(1);
    const logged = limitLines.filter((l) => l.limit === 'rate').length;
    flushSuppressed();
    const summary = JSON.parse(lines.at(-1) as string);
    expect(summary).toMatchObject({ event: 'limit-suppressed', level: 'warn', counts: { rate: 200 - logged } });
    flushSuppressed();
    expect(lines.filter((l) => l.includes('limit-suppressed'))).toHaveLength(1);
  });
  it('logs errors without what their message quotes', () => {
    const lines = collect();
    let err: unknown;
    try {
      JSON.parse('{"motdepasse": secret-du-learner}');
    } catch (e) {
      err = e;
    }
    // V8 quotes the input in its message: the log must not.
    expect((err as Error).message).toContain('secret-du-');
    logError('request', err);
    const parsed = JSON.parse(lines[0]);
    expect(parsed).toMatchObject({ event: 'error', level: 'error', where: 'request', name: 'SyntaxError' });
    expect(parsed.stack.length).toBeGreaterThan(0);
    expect(lines[0]).not.toContain('secret');
    expect(lines[0]).not.toContain('depasse');
    expect(redactMessage(`Unexpected token 's', "abc" is not valid`)).toBe('Unexpected token …');
    expect(redactMessage('read ECONNRESET')).toBe('read ECONNRESET');
  });
  it('shortens session ids', () => {
    expect(sessionTag('ABCDEFGHIJKLMNOPQRSTUVWXYZ012345')).toBe('ABCDEF');
  });
});
