// main.ts as a real process: SIGTERM closes learner sockets with 1001, monitors get `end`, exit 0.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { closed, openWs, within } from './test-helpers.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('main.ts', () => {
  it('stops gracefully on SIGTERM', async () => {
    const child = spawn(`${root}node_modules/.bin/node`, ['sandbox-server/main.ts'], {
      cwd: root,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const port = await within(
        new Promise<number>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d) => {
            out += d;
            const m = /127\.0\.0\.1:(\d+)\//.exec(out);
            if (m) resolve(Number(m[1]));
          });
          child.once('exit', (code) => reject(new Error(`exited early (${code})`)));
        }),
        10_000,
        'server start',
      );
      const res = await fetch(`http://127.0.0.1:${port}/api/sessions`, { method: 'POST' });
      const { id } = (await res.json()) as { id: string };
      const events: any[] = [];
      const monitor = new WebSocket(`ws://127.0.0.1:${port}/api/sessions/${id}/monitor`);
      monitor.on('message', (d) => events.push(JSON.parse(d.toString())));
      const monitorClosed = closed(monitor, 10_000);
      const ws = await openWs(`ws://127.0.0.1:${port}/s/${id}/echo`);
      const learnerClosed = closed(ws, 10_000);
      const exited = within(new Promise<number | null>((r) => child.once('exit', r)), 10_000, 'exit');
      child.kill('SIGTERM');
      expect((await learnerClosed).code).toBe(1001);
      expect((await monitorClosed).code).toBe(1001);
      expect(events.at(-1)).toMatchObject({ type: 'end', reason: 'shutdown' });
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
