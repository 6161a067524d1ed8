// Load client of the memory benchmark (its own process): opens N idle WebSockets (plain: to the
// ws server; sandbox: `perSession` echo clients per session plus that session's monitor), reports
// {type:'connected'}, then holds them until told {type:'close'}.
import type WebSocket from 'ws';
import { createSessions, monitorUrl, openWs, pool } from './lib.ts';

const opts = JSON.parse(process.argv[2]) as {
  mode: 'plain' | 'sandbox';
  port: number;
  connections: number;
  perSession: number;
  batch?: boolean;
};
const base = `127.0.0.1:${opts.port}`;

const open = (url: string) => openWs(url, 15_000);

const sockets: WebSocket[] = [];
let monitorEvents = 0;
if (opts.mode === 'plain') {
  await pool(
    Array.from({ length: opts.connections }, () => `ws://${base}/`),
    50,
    async (url) => {
      sockets.push(await open(url));
    },
  );
} else {
  const sessions = Math.ceil(opts.connections / opts.perSession);
  const ids = await createSessions(base, sessions);
  const urls = ids.map((id) => monitorUrl(base, id, opts.batch));
  for (let i = 0; i < opts.connections; i++)
    urls.push(`ws://${base}/s/${ids[Math.floor(i / opts.perSession)]}/echo?client=${String.fromCharCode(65 + (i % opts.perSession))}`);
  await pool(urls, 50, async (url) => {
    const ws = await open(url);
    if (url.includes('/monitor')) ws.on('message', () => monitorEvents++);
    sockets.push(ws);
  });
}
// Let monitors receive the handshake events of every connection before the measurement.
await new Promise((r) => setTimeout(r, 500));
process.send?.({ type: 'connected', sockets: sockets.length, monitorEvents });
process.on('message', (m: { type: string }) => {
  if (m.type !== 'close') return;
  for (const ws of sockets) ws.terminate();
  setTimeout(() => process.exit(0), 200);
});
process.on('disconnect', () => process.exit(0));
