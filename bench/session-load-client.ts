// Load client of the per-session CPU/memory benchmark (its own process): one echo client per
// session, each sending one 32-byte text message every 1/rate s (random phase) and timing its
// reply. Built-in mode creates K normal sessions and connects to their `echo` scenario; relay mode
// receives the ids of K learner sessions ({type:'ids'} over IPC) and connects to the learner's
// server. Server CPU (and the host process's, when given) is read from /proc/<pid>/stat at both
// ends of the measured window. Reports {type:'connected'}, then {type:'result', …}; terminates its
// sockets on {type:'close'}.
import WebSocket from 'ws';
import { createSessions, openWs, percentile, pool, procCpuSeconds, sleep } from './lib.ts';

const opts = JSON.parse(process.argv[2]) as {
  mode: 'builtin' | 'relay';
  port: number;
  serverPid: number;
  hostPid?: number;
  sessions: number;
  /** Messages per second per client. */
  rate: number;
  warmupSeconds: number;
  seconds: number;
};
const base = `127.0.0.1:${opts.port}`;
const setupStart = performance.now();
const ids =
  opts.mode === 'builtin'
    ? await createSessions(base, opts.sessions)
    : await new Promise<string[]>((resolve) =>
        process.on('message', (m: { type: string; ids?: string[] }) => m.type === 'ids' && resolve(m.ids!)),
      );
const urls = ids.map((id) => (opts.mode === 'builtin' ? `ws://${base}/s/${id}/echo` : `ws://${base}/s/${id}/bench`));

let counter = 0;
let sent = 0;
let replies = 0;
let unknown = 0;
let closedEarly = 0;
let measuring = false;
let sending = true;
const sentAt = new Map<string, { t: number; measured: boolean }>();
const latencies: number[] = [];
const clients: WebSocket[] = [];
await pool(urls, 50, async (url) => {
  const ws = await openWs(url, 20_000);
  ws.on('message', (data) => {
    const now = performance.now();
    const key = data.toString();
    const s = sentAt.get(key);
    if (!s) {
      unknown++;
      return;
    }
    sentAt.delete(key);
    if (s.measured) {
      replies++;
      latencies.push(now - s.t);
    }
  });
  ws.on('close', () => sending && closedEarly++);
  clients.push(ws);
});
const setupSeconds = (performance.now() - setupStart) / 1000;
process.send?.({ type: 'connected', sockets: clients.length, setupSeconds });

const timers: NodeJS.Timeout[] = [];
const period = 1000 / opts.rate;
for (const ws of clients) {
  const fire = () => {
    if (!sending || ws.readyState !== WebSocket.OPEN) return;
    const key = `s:${++counter}:`.padEnd(32, '.'); // 32 bytes
    sentAt.set(key, { t: performance.now(), measured: measuring });
    if (measuring) sent++;
    ws.send(key);
  };
  timers.push(
    setTimeout(() => {
      fire();
      timers.push(setInterval(fire, period));
    }, Math.random() * period),
  );
}
await sleep(opts.warmupSeconds * 1000);
const s0 = procCpuSeconds(opts.serverPid);
const h0 = opts.hostPid ? procCpuSeconds(opts.hostPid) : 0;
const c0 = process.cpuUsage();
const t0 = performance.now();
measuring = true;
await sleep(opts.seconds * 1000);
measuring = false;
const s1 = procCpuSeconds(opts.serverPid);
const h1 = opts.hostPid ? procCpuSeconds(opts.hostPid) : 0;
const c1 = process.cpuUsage(c0);
const seconds = (performance.now() - t0) / 1000;
sending = false;
for (const t of timers) clearTimeout(t);
// Stragglers: up to 5 s for the replies of what was sent in the window.
for (let i = 0; i < 50 && replies < sent; i++) await sleep(100);
latencies.sort((a, b) => a - b);
process.send?.({
  type: 'result',
  sockets: clients.length,
  setupSeconds,
  seconds,
  sent,
  replies,
  lost: sent - replies,
  unknown,
  closedEarly,
  serverCpuSeconds: s1 - s0,
  hostCpuSeconds: h1 - h0,
  clientCpuSeconds: (c1.user + c1.system) / 1e6,
  p50: percentile(latencies, 50),
  p99: percentile(latencies, 99),
  max: latencies[latencies.length - 1] ?? NaN,
});
process.on('message', (m: { type: string }) => {
  if (m.type !== 'close') return;
  for (const ws of clients) ws.terminate();
  setTimeout(() => process.exit(0), 300);
});
process.on('disconnect', () => process.exit(0));
