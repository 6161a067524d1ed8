import type { Program } from '../harness.ts';

export const backpressure: Program = {
  name: 'backpressure',
  about:
    'ws sends paced on bufferedAmount (send while under 64 KiB, check again 10 ms later), then « vide » once bufferedAmount is back to 0: same frames, in the same order',
  server: `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 8080 });
wss.on('connection', (ws) => {
  let sent = 0;
  function pump() {
    while (sent < 24 && ws.bufferedAmount < 64 * 1024) ws.send(Buffer.alloc(16 * 1024, sent++));
    if (sent < 24) setTimeout(pump, 10);
    else waitEmpty();
  }
  function waitEmpty() {
    if (ws.bufferedAmount === 0) ws.send('vide');
    else setTimeout(waitEmpty, 10);
  }
  pump();
});
`,
  async client(c) {
    const ws = await c.ws('/flux');
    for (let i = 0; i < 24; i++) {
      const m = await ws.next();
      if (m.data.length !== 16 * 1024 || m.data[0] !== i) throw new Error(`chunk ${i}: ${m.data.length} bytes, first ${m.data[0]}`);
    }
    if ((await ws.next()).text !== 'vide') throw new Error('no « vide »');
    await ws.close(1000, 'fini');
  },
};
