import type { Program } from '../harness.ts';

export const closeCodes: Program = {
  name: 'close-codes',
  about: 'close codes and reasons both ways (4001/4002 with reasons, no code, a code alone), and terminate()',
  server: `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 8080 });
wss.on('connection', (ws) => {
  ws.on('message', (m) => {
    if (String(m) === 'au revoir') ws.close(4001, 'fermé par le serveur : ' + m);
    else if (String(m) === 'normal') ws.close();
    else if (String(m) === 'code seul') ws.close(1001);
    else if (String(m) === 'coupe') ws.terminate();
    else ws.send('reçu ' + m);
  });
  ws.on('close', (code, reason) => console.log('fermé', code, reason.toString()));
});
`,
  async client(c) {
    const a = await c.ws('/');
    a.send('au revoir');
    await a.closed;
    const b = await c.ws('/');
    b.send('x');
    await b.next();
    await b.close(4002, 'le client part');
    const d = await c.ws('/');
    await d.close();
    const e = await c.ws('/');
    e.send('normal');
    await e.closed;
    const f = await c.ws('/');
    f.send('code seul');
    await f.closed;
    const g = await c.ws('/');
    g.send('coupe');
    await g.closed;
  },
};
