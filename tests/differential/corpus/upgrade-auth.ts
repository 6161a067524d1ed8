import type { Program } from '../harness.ts';

export const upgradeAuth: Program = {
  name: 'upgrade-auth',
  about: 'ws README\'s "client authentication": noServer, the http upgrade event, 401 written on the socket by hand',
  server: `
const { createServer } = require('http');
const { WebSocketServer } = require('ws');
function onSocketError(err) {
  console.error(err);
}
const wss = new WebSocketServer({ noServer: true });
wss.on('connection', (ws, request, client) => {
  ws.on('message', (data) => ws.send('message de ' + client + ' : ' + data));
});
const server = createServer();
server.on('upgrade', (request, socket, head) => {
  socket.on('error', onSocketError);
  const client = new URL(request.url, 'http://localhost').searchParams.get('utilisateur');
  if (!client) {
    socket.write('HTTP/1.1 401 Unauthorized\\r\\n\\r\\n');
    socket.destroy();
    return;
  }
  socket.removeListener('error', onSocketError);
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request, client));
});
server.listen(8080);
`,
  async client(c) {
    const ok = await c.ws('/?utilisateur=ada');
    ok.send('salut');
    await ok.next();
    await ok.close();
    // In the sandbox the refusal may take the sandbox's 5 s decision timeout.
    await c.wsRefused('/', undefined, undefined, 7000);
  },
};
