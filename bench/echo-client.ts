// Load client of the echo benchmark (its own process). N connections, each keeping `window`
// 32-byte text messages in flight (a new one is sent per echo received), for warm-up + measure
// seconds. Sandbox mode: sessions of 2 clients each (…/echo?client=A|B), with one monitor per
// session that reads every event. Server CPU is read from /proc/<serverPid>/stat at both ends of
// the measured window. Reports {type:'result', …} over IPC.
import type WebSocket from 'ws';
import { createSessions, monitorUrl, openWs, procCpuSeconds, pool, sleep } from './lib.ts';

const opts = JSON.parse(process.argv[2]) as {
  mode: 'plain' | 'sandbox';
  port: number;
  serverPid: number;
  connections: number;
  window: number;
  warmupMs: number;
  measureMs: number;
  /** Monitors opt in to ?batch=1 (JSON arrays of events). */
  batch?: boolean;
};
const base = `127.0.0.1:${opts.port}`;
const PAYLOAD = 'bench-echo-32-bytes-payload-0000'; // 32 bytes
if (Buffer.byteLength(PAYLOAD) !== 32) throw new Error('payload must be 32 bytes');

const open = (url: string) => openWs(url, 10_000);

let echoes = 0;
let monitorEvents = 0;
let dropped = 0;
let limitEvents = 0;
let closedEarly = 0;
const urls: string[] = [];
const monitors: WebSocket[] = [];

if (opts.mode === 'plain') {
  for (let i = 0; i < opts.connections; i++) urls.push(`ws://${base}/`);
} else {
  const sessions = Math.ceil(opts.connections / 2);
  const ids = await createSessions(base, sessions);
  for (const id of ids) {
    const m = await open(monitorUrl(base, id, opts.batch));
    m.on('message', (data) => {
      const s = data.toString();
      if (!opts.batch) {
        monitorEvents++;
        if (s.includes('"type":"dropped"')) dropped += JSON.parse(s).count;
        else if (s.includes('"type":"limit"')) limitEvents++;
        return;
      }
      for (const e of JSON.parse(s) as { type: string; count?: number }[]) {
        monitorEvents++;
        if (e.type === 'dropped') dropped += e.count ?? 0;
        else if (e.type === 'limit') limitEvents++;
      }
    });
    monitors.push(m);
  }
  for (let i = 0; i < opts.connections; i++) urls.push(`ws://${base}/s/${ids[i >> 1]}/echo?client=${i % 2 ? 'B' : 'A'}`);
}

const clients: WebSocket[] = [];
await pool(urls, 50, async (url) => {
  clients.push(await open(url));
});
let running = true;
for (const ws of clients) {
  ws.on('message', () => {
    echoes++;
    if (running) ws.send(PAYLOAD);
  });
  ws.on('close', () => running && closedEarly++);
  for (let i = 0; i < opts.window; i++) ws.send(PAYLOAD);
}

await sleep(opts.warmupMs);
const e0 = echoes,
  m0 = monitorEvents,
  s0 = procCpuSeconds(opts.serverPid),
  c0 = process.cpuUsage(),
  t0 = performance.now();
await sleep(opts.measureMs);
const e1 = echoes,
  m1 = monitorEvents,
  s1 = procCpuSeconds(opts.serverPid),
  c1 = process.cpuUsage(c0),
  t1 = performance.now();
running = false;
// Let the monitors catch up with what was sent, then report whether they lost anything.
await sleep(1500);
const seconds = (t1 - t0) / 1000;
process.send?.({
  type: 'result',
  seconds,
  echoes: e1 - e0,
  echoesPerSecond: (e1 - e0) / seconds,
  serverCpuSeconds: s1 - s0,
  echoesPerServerCpuSecond: (e1 - e0) / (s1 - s0),
  clientCpuSeconds: (c1.user + c1.system) / 1e6,
  monitorEventsPerSecond: (m1 - m0) / seconds,
  monitorEventsTotal: monitorEvents,
  echoesTotal: echoes,
  dropped,
  limitEvents,
  closedEarly,
});
for (const ws of [...clients, ...monitors]) ws.terminate();
await sleep(200);
process.exit(0);
