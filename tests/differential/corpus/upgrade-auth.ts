import type { Program } from '../harness.ts';
import { replaceConsole, replaceLines } from '../trace.ts';

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
  known: [
    {
      what:
        "socket.write() on an upgrade's socket throws in the façade (http.ts UpgradeSocket.write, « Écrire directement " +
        "sur le socket… n’est pas pris en charge »), so the ws README's `socket.write('HTTP/1.1 401 Unauthorized\\r\\n\\r\\n'); " +
        'socket.destroy()` never reaches destroy(): real Node sends the bare 401 status line and closes; the sandbox ' +
        'holds the upgrade until its 5 s decision timeout, then answers 503 « Le serveur de la leçon ne répond pas. », ' +
        'and the server console shows the error',
      apply: (trace) =>
        replaceConsole(
          replaceLines(
            trace,
            [
              'server HTTP/1.1 503 Service Unavailable [content-type: text/html | content-length: 39 | connection: close] ' +
                'body="Le serveur de la leçon ne répond pas."',
            ],
            ['server HTTP/1.1 401 Unauthorized'],
          ),
          /^uncaught: Écrire directement sur le socket/,
        ),
    },
  ],
  async client(c) {
    const ok = await c.ws('/?utilisateur=ada');
    ok.send('salut');
    await ok.next();
    await ok.close();
    // In the sandbox the refusal may take the sandbox's 5 s decision timeout.
    await c.wsRefused('/', undefined, undefined, 7000);
  },
};
