// Server child of the benchmark, one of:
//   node bench/server.ts plain     → ws 8.23 WebSocketServer (perMessageDeflate off) echoing every message
//   node bench/server.ts plain-coalesced → the same, with the sandbox's write coalescing (one socket
//                                    write per TCP read: cork until the end of the tick)
//   node bench/server.ts sandbox   → createAppServer (tap, decoders, monitors) with the bench's limits
// Listens on 127.0.0.1:0, reports {type:'ready', port, pid, limits}; answers IPC requests:
//   {type:'mem', reduce?} → GC (if --expose-gc; reduce: then a memory-reducing GC) then {rss, heapUsed, external, arrayBuffers, newSpace, oldSpace (physical sizes)}
//   {type:'cpu'} → process.cpuUsage() in seconds
//   {type:'eld-reset'} / {type:'eld'} → event-loop delay (ms) since the reset, heap and RSS
import { once } from 'node:events';
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { createAppServer } from '../sandbox-server/http-server.ts';
import { coalesceWrites } from '../sandbox-server/scenarios/common.ts';
import { BENCH_LIMITS } from './limits.ts';

const kind = process.argv[2];
const send = (m: object) => process.send?.(m);

let close: () => Promise<void>;
let port: number;
if (kind === 'plain' || kind === 'plain-coalesced') {
  const server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, perMessageDeflate: false, clientTracking: true });
  wss.on('connection', (ws, req) => {
    // plain-coalesced: the sandbox's own write coalescing (scenarios/common.ts), for a like-for-like ratio.
    if (kind === 'plain-coalesced') ws.on('message', () => coalesceWrites(req.socket));
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    ws.on('error', () => ws.terminate());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as { port: number }).port;
  close = async () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
} else if (kind === 'sandbox') {
  const distDir = mkdtempSync(join(tmpdir(), 'atelier-bench-dist-'));
  writeFileSync(join(distDir, 'index.html'), '<!doctype html><title>bench</title>');
  const app = createAppServer({ distDir, limits: BENCH_LIMITS });
  app.server.listen(0, '127.0.0.1');
  await once(app.server, 'listening');
  port = (app.server.address() as { port: number }).port;
  close = () => app.close();
} else {
  throw new Error(`unknown server kind ${kind}`);
}

const eld = monitorEventLoopDelay({ resolution: 5 });
eld.enable();
const gc = (globalThis as { gc?: (options?: object) => void }).gc;
process.on('message', async (m: { type: string }) => {
  if (m.type === 'mem') {
    if (gc)
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
      }
    // reduce: then V8's memory-reducing collection, which also gives back the young generation
    // grown during the setup and free pages.
    if (gc && (m as { reduce?: boolean }).reduce) gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    const u = process.memoryUsage();
    const space = (name: string) => getHeapSpaceStatistics().find((s) => s.space_name === name)?.physical_space_size ?? 0;
    send({
      type: 'mem-result',
      rss: u.rss,
      heapUsed: u.heapUsed,
      external: u.external,
      arrayBuffers: u.arrayBuffers,
      newSpace: space('new_space'),
      oldSpace: space('old_space'),
      gc: !!gc,
    });
  } else if (m.type === 'eld-reset') {
    eld.reset();
    send({ type: 'eld-reset-result' });
  } else if (m.type === 'eld') {
    send({
      type: 'eld-result',
      p50: eld.percentile(50) / 1e6,
      p99: eld.percentile(99) / 1e6,
      max: eld.max / 1e6,
      heapUsed: process.memoryUsage().heapUsed,
      rss: process.memoryUsage().rss,
    });
  } else if (m.type === 'cpu') {
    const c = process.cpuUsage();
    send({ type: 'cpu-result', seconds: (c.user + c.system) / 1e6 });
  }
});
let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  const t = setTimeout(() => process.exit(0), 3000);
  close().finally(() => {
    clearTimeout(t);
    process.exit(0);
  });
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', port, pid: process.pid, limits: kind === 'sandbox' ? BENCH_LIMITS : null });
