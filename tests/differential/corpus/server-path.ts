import type { Program } from '../harness.ts';

export const serverPath: Program = {
  name: 'server-path',
  about: 'ws on an http server with path: the right path (query kept in req.url), another path (400), ws.protocol',
  server: `
const http = require('http');
const { WebSocketServer } = require('ws');
const server = http.createServer();
const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (ws, req) => {
  ws.send(req.url + ' ' + req.headers['sec-websocket-version'] + ' ' + wss.clients.size);
  ws.on('close', (code) => console.log('fermé', code));
});
server.listen(3000, () => console.log('à l’écoute'));
`,
  async client(c) {
    const ws = await c.ws('/ws?x=1&y=%C3%A9');
    await ws.next();
    await c.wsRefused('/ailleurs');
    await c.wsRefused('/ws/');
    await ws.close(1001, 'départ');
  },
};
