// Host process of the relay CPU/memory benchmark (its own process, so that the sandbox's CPU and
// memory are measured alone): K learner sessions, each with a host channel running the learner's
// echo server through the same façade runtime the browser Worker loads (relay-host.ts).
// Reports {type:'hosts', ids, setupSeconds, pid} over IPC, then keeps the hosts until stopped.
import type WebSocket from 'ws';
import { pool } from './lib.ts';
import { ECHO_SERVER_CODE, openRelayHost } from './relay-host.ts';

const opts = JSON.parse(process.argv[2]) as { port: number; sessions: number };
const base = `127.0.0.1:${opts.port}`;
let errors = 0;
let firstError = '';
const console = {
  log() {},
  info() {},
  warn() {},
  error: (...a: unknown[]) => {
    errors++;
    firstError ||= a.map(String).join(' ');
  },
};
const t0 = performance.now();
const ids: string[] = new Array(opts.sessions);
const channels: WebSocket[] = [];
let closedEarly = 0;
let stopping = false;
await pool(
  Array.from(ids, (_, i) => i),
  20,
  async (i) => {
    const h = await openRelayHost(base, ECHO_SERVER_CODE, console);
    h.ws.on('close', () => stopping || closedEarly++);
    channels.push(h.ws);
    ids[i] = h.id;
  },
);
process.send?.({ type: 'hosts', ids, setupSeconds: (performance.now() - t0) / 1000, pid: process.pid });
process.on('message', (m: { type: string }) => {
  if (m.type === 'stats') process.send?.({ type: 'stats-result', errors, firstError, closedEarly });
});
const stop = () => {
  stopping = true;
  for (const ws of channels) ws.terminate();
  setTimeout(() => process.exit(0), 200);
};
process.on('SIGTERM', stop);
process.on('disconnect', stop);
