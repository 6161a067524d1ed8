import type { Program } from '../harness.ts';

export const verifyClient: Program = {
  name: 'verify-client',
  about: 'verifyClient: Origin check (sync, 401), async form refusing with 403 + message + header, path',
  server: `
const http = require('http');
const WebSocket = require('ws');
const server = http.createServer();
const strict = new WebSocket.Server({
  noServer: true,
  verifyClient: ({ origin }) => origin === 'https://ecole.example',
});
const polite = new WebSocket.Server({
  noServer: true,
  verifyClient: (info, done) => {
    if (info.req.headers['x-jeton'] === 'ok') done(true);
    else done(false, 403, 'Jeton refusé', { 'X-Raison': 'jeton' });
  },
});
for (const wss of [strict, polite]) {
  wss.on('connection', (ws, req) => ws.send('bienvenue sur ' + req.url + ', origine ' + req.headers.origin));
}
server.on('upgrade', (req, socket, head) => {
  const target = req.url.startsWith('/poli') ? polite : strict;
  target.handleUpgrade(req, socket, head, (ws) => target.emit('connection', ws, req));
});
server.listen(3000);
`,
  async client(c) {
    await c.wsRefused('/strict', undefined, { origin: 'https://pirate.example' });
    await c.wsRefused('/strict');
    const good = await c.ws('/strict', undefined, { origin: 'https://ecole.example' });
    await good.next();
    await good.close();
    await c.wsRefused('/poli', undefined, { headers: { 'x-jeton': 'non' } });
    const ok = await c.ws('/poli', undefined, { headers: { 'x-jeton': 'ok' }, origin: 'https://ailleurs.example' });
    await ok.next();
    await ok.close();
  },
};
