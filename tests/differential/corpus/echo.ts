import type { Program } from '../harness.ts';

export const echo: Program = {
  name: 'echo',
  about: 'ws echo on { port }: text and binary messages sent back as they came',
  server: `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 8080 });
wss.on('connection', (ws, req) => {
  console.log('connexion', req.url);
  ws.on('message', (data, isBinary) => ws.send(isBinary ? data : 'écho : ' + data, { binary: isBinary }));
  ws.on('ping', (data) => console.log('ping', data.toString()));
});
`,
  async client(c) {
    const ws = await c.ws('/chat?salle=1');
    ws.send('bonjour');
    await ws.next();
    ws.send('');
    await ws.next();
    ws.send(Buffer.from([0, 1, 2, 254, 255]));
    await ws.next();
    ws.send('é'.repeat(100));
    await ws.next();
    // ws answers a ping by itself (autoPong), with the same payload.
    const pong = new Promise<void>((resolve) => ws.ws.once('pong', () => resolve()));
    ws.ws.ping('hé');
    await pong;
    await ws.close(1000, 'fini');
  },
};
