// main.ts as a real process: SIGINT closes at once (1001, `end`, exit 0); SIGTERM drains (the
// monitors are told, new sessions and /readyz get 503, sessions keep working for
// DRAIN_GRACE_MS, then 1001 and exit 0); a second signal exits at once; the JSON log lines.
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { closed, nextMessage, openWs, within } from './test-helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Server {
  child: ChildProcessByStdio<null, Readable, Readable>;
  port: number;
  /** Everything written to stdout so far. */
  out: () => string;
  exited: Promise<number | null>;
}

/** `node sandbox-server/main.ts` as a child process, its stdout kept. */
function spawnMain(env: Record<string, string>): Omit<Server, 'port'> {
  const child = spawn(`${root}node_modules/.bin/node`, ['sandbox-server/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  return { child, out: () => out, exited };
}

async function startMain(env: Record<string, string>): Promise<Server> {
  const { child, out: output, exited } = spawnMain(env);
  const port = await within(
    new Promise<number>((resolve, reject) => {
      const look = () => {
        const m = /127\.0\.0\.1:(\d+)\//.exec(output());
        if (m) resolve(Number(m[1]));
      };
      child.stdout.on('data', look);
      child.once('exit', (code) => reject(new Error(`exited early (${code}): ${output()}`)));
    }),
    10_000,
    'server start',
  ).catch((err) => {
    // A start that timed out (a loaded machine) must not leave the server running after the test.
    child.kill('SIGKILL');
    throw err;
  });
  return { child, port, out: output, exited };
}

async function openSession(port: number): Promise<{ id: string; events: any[]; monitor: WebSocket }> {
  const res = await fetch(`http://127.0.0.1:${port}/api/sessions`, { method: 'POST' });
  const { id } = (await res.json()) as { id: string };
  const events: any[] = [];
  const monitor = new WebSocket(`ws://127.0.0.1:${port}/api/sessions/${id}/monitor`);
  monitor.on('message', (d) => events.push(JSON.parse(d.toString())));
  await within(new Promise((r) => monitor.once('open', r)), 5000, 'monitor open');
  return { id, events, monitor };
}

async function waitFor<T>(get: () => T | undefined, what: string, ms = 5000): Promise<T> {
  return within(
    (async () => {
      for (;;) {
        const v = get();
        if (v !== undefined) return v;
        await new Promise((r) => setTimeout(r, 10));
      }
    })(),
    ms,
    what,
  );
}

describe('main.ts', () => {
  it('stops at once on SIGINT: 1001, end, exit 0', async () => {
    const s = await startMain({ DRAIN_GRACE_MS: '60000' });
    try {
      const { id, events, monitor } = await openSession(s.port);
      const monitorClosed = closed(monitor, 10_000);
      const ws = await openWs(`ws://127.0.0.1:${s.port}/s/${id}/echo`);
      const learnerClosed = closed(ws, 10_000);
      s.child.kill('SIGINT');
      expect((await learnerClosed).code).toBe(1001);
      expect((await monitorClosed).code).toBe(1001);
      expect(events.at(-1)).toMatchObject({ type: 'end', reason: 'shutdown' });
      expect(events.some((e) => e.type === 'draining')).toBe(false);
      expect(await within(s.exited, 10_000, 'exit')).toBe(0);
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  });

  it('drains on SIGTERM, then closes with 1001 and exits 0; logs JSON lines without ids or contents', async () => {
    const GRACE = 1500;
    const s = await startMain({
      DRAIN_GRACE_MS: String(GRACE),
      LOG_FORMAT: 'json',
      SANDBOX_MAX_SESSIONS_PER_IP: '1',
      SANDBOX_MAX_PAYLOAD: '1024',
    });
    const base = `http://127.0.0.1:${s.port}`;
    try {
      const { id, events, monitor } = await openSession(s.port);
      const ws = await openWs(`ws://127.0.0.1:${s.port}/s/${id}/echo`);
      ws.send('contenu-secret-42');
      expect((await nextMessage(ws)).data.toString()).toBe('contenu-secret-42');
      // Limit hits: a payload over SANDBOX_MAX_PAYLOAD (per session), and a flood of refused sessions (per IP).
      const big = await openWs(`ws://127.0.0.1:${s.port}/s/${id}/echo`);
      const bigClosed = closed(big);
      big.send(`secret-trop-long-${'x'.repeat(2000)}`);
      expect((await bigClosed).code).toBe(1009);
      for (let i = 0; i < 40; i++) expect((await fetch(`${base}/api/sessions`, { method: 'POST' })).status).toBe(429);

      const learnerClosed = closed(ws, 10_000);
      const monitorClosed = closed(monitor, 10_000);
      const signalled = Date.now();
      s.child.kill('SIGTERM');
      const notice = await waitFor(() => events.find((e) => e.type === 'draining'), 'draining event');
      expect(notice.graceMs).toBe(GRACE);
      const refused = await fetch(`${base}/api/sessions`, { method: 'POST' });
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: string }).error).toMatch(/redémarre/);
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      // The session keeps working during the grace period.
      ws.send('pendant la vidange');
      expect((await nextMessage(ws)).data.toString()).toBe('pendant la vidange');
      expect(ws.readyState).toBe(WebSocket.OPEN);

      expect((await learnerClosed).code).toBe(1001);
      expect(Date.now() - signalled).toBeGreaterThanOrEqual(GRACE - 100);
      expect((await monitorClosed).code).toBe(1001);
      expect(events.at(-1)).toMatchObject({ type: 'end', reason: 'shutdown' });
      expect(await within(s.exited, 10_000, 'exit')).toBe(0);

      const out = s.out();
      const lines = out.trimEnd().split('\n');
      const logs = lines.map((l) => JSON.parse(l));
      for (const l of logs) {
        expect(Object.keys(l).slice(0, 3)).toEqual(['time', 'level', 'event']);
        expect(['info', 'warn', 'error']).toContain(l.level);
      }
      const kinds = logs.map((l) => l.event);
      expect(kinds[0]).toBe('start');
      expect(logs[0]).toMatchObject({ drainGraceMs: GRACE, pid: s.child.pid });
      expect(kinds.indexOf('drain')).toBeGreaterThan(0);
      expect(logs.find((l) => l.event === 'drain')).toMatchObject({ signal: 'SIGTERM', sessions: 1, graceMs: GRACE });
      expect(logs.find((l) => l.event === 'drain-end')).toMatchObject({ ended: 'grace' });
      expect(kinds.at(-1)).toBe('stop');
      expect(logs.at(-1)).toMatchObject({ signal: 'SIGTERM', sessions: 1 });
      // Limit hits: the session's by its short tag, the refusals rate-limited with a count of the rest.
      const payload = logs.find((l) => l.event === 'limit' && l.limit === 'payload');
      expect(payload).toMatchObject({ level: 'warn', action: 'close 1009', session: id.slice(0, 6) });
      const sessionsLines = logs.filter((l) => l.event === 'limit' && l.limit === 'sessions');
      expect(sessionsLines.length).toBeGreaterThan(0);
      expect(sessionsLines.length).toBeLessThan(20);
      const suppressed = logs.find((l) => l.event === 'limit-suppressed');
      expect(sessionsLines.length + suppressed.counts.sessions).toBe(40);
      // Never the full id, never what was sent.
      expect(out).not.toContain(id);
      expect(out).not.toContain(id.slice(0, 12));
      expect(out).not.toContain('secret');
      expect(out).not.toContain('vidange');
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  });

  it('exits at once on a second signal during the drain', async () => {
    const s = await startMain({ DRAIN_GRACE_MS: '60000', LOG_FORMAT: 'json' });
    try {
      const { events } = await openSession(s.port);
      s.child.kill('SIGTERM');
      await waitFor(() => events.find((e) => e.type === 'draining'), 'draining event');
      const second = Date.now();
      s.child.kill('SIGTERM');
      expect(await within(s.exited, 5000, 'exit')).toBe(1);
      expect(Date.now() - second).toBeLessThan(2000);
      expect(s.out()).toContain('"immediate":true');
    } finally {
      if (s.child.exitCode === null) s.child.kill('SIGKILL');
    }
  });

  it('refuses a bad configuration at start', async () => {
    const bad: Record<string, string>[] = [
      { TRUST_PROXY: 'proxy.example' },
      { DRAIN_GRACE_MS: String(16 * 60_000) },
      { SESSION_SECRET: 'too-short-to-be-a-secret' },
    ];
    for (const env of bad) {
      const { out, exited } = spawnMain({ LOG_FORMAT: 'json', ...env });
      const code = await within(exited, 10_000, 'exit');
      expect(code, JSON.stringify(env)).toBe(1);
      expect(JSON.parse(out().trim().split('\n').at(-1) as string)).toMatchObject({ level: 'error', event: 'fatal' });
      // A secret is never written to the logs, even a refused one.
      if (env.SESSION_SECRET) expect(out()).not.toContain(env.SESSION_SECRET);
    }
  });
});
