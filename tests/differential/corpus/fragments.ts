import type { Program } from '../harness.ts';

export const fragments: Program = {
  name: 'fragments',
  about: 'ws send options: a message in fragments ({ fin: false }), a ping payload, an unsolicited pong',
  server: `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 8080 });
wss.on('connection', (ws) => {
  ws.on('message', () => {
    ws.send('pre', { fin: false });
    ws.send('mier', { fin: false });
    ws.send(' message', { fin: true });
    ws.ping('ping ?');
    ws.pong(Buffer.from([1, 2]));
    ws.send('fin');
  });
  ws.on('pong', (data) => console.log('pong', data.toString()));
});
`,
  async client(c) {
    const ws = await c.ws('/');
    ws.send('go');
    await ws.next();
    await ws.next();
    await ws.close();
  },
};
