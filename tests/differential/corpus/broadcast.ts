import type { Program } from '../harness.ts';

export const broadcast: Program = {
  name: 'broadcast',
  about: 'ws broadcast to the others over wss.clients (client !== ws, readyState === OPEN)',
  server: `
const WebSocket = require('ws');
const wss = new WebSocket.Server({ port: 8080 });
wss.on('connection', (ws) => {
  ws.send('bienvenue, ' + wss.clients.size + ' connecté(s)');
  ws.on('message', (data, isBinary) => {
    wss.clients.forEach((client) => {
      if (client !== ws && client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
  });
});
`,
  async client(c) {
    const a = await c.ws('/');
    await a.next();
    const b = await c.ws('/');
    await b.next();
    const d = await c.ws('/');
    await d.next();
    a.send('de A');
    await b.next();
    await d.next();
    b.send(Buffer.from('de B'));
    await a.next();
    await d.next();
    await d.close();
    a.send('A après le départ de D');
    await b.next();
    await a.close();
    await b.close();
  },
};
