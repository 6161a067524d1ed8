import type { Program } from '../harness.ts';

export const heartbeat: Program = {
  name: 'heartbeat',
  about: 'ws heartbeat (ping every 300 ms, terminate() a peer that missed a pong): a silent raw client is cut',
  server: `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 8080 });
function heartbeat() {
  this.isAlive = true;
}
wss.on('connection', (ws, req) => {
  ws.isAlive = true;
  ws.on('pong', heartbeat);
  ws.on('close', (code) => console.log('fermé', req.url, code));
});
const interval = setInterval(() => {
  wss.clients.forEach((ws) => {
    if (ws.isAlive === false) return ws.terminate();
    ws.isAlive = false;
    ws.ping();
  });
}, 300);
wss.on('close', () => clearInterval(interval));
`,
  async client(c) {
    // The ws client answers pings by itself; the first ping tells where the ticks are.
    const alive = await c.ws('/vivant');
    const pinged = new Promise<void>((resolve) => alive.ws.once('ping', () => resolve()));
    await pinged;
    // Right after a tick: the silent client gets one ping at the next tick, is cut at the one after.
    const silent = await c.deaf('/muet');
    await silent.closed;
    await alive.close(1000, 'au revoir');
  },
};
