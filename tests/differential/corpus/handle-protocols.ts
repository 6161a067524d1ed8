import type { Program } from '../harness.ts';

export const handleProtocols: Program = {
  name: 'handle-protocols',
  about: 'handleProtocols choosing a subprotocol (v2 over v1), none offered, none acceptable (client aborts)',
  server: `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({
  port: 8080,
  handleProtocols: (protocols, req) => {
    console.log('proposés', [...protocols].join(','));
    if (protocols.has('chat.v2')) return 'chat.v2';
    if (protocols.has('chat.v1')) return 'chat.v1';
    return false;
  },
});
wss.on('connection', (ws) => ws.on('message', () => ws.send('protocole=' + JSON.stringify(ws.protocol))));
`,
  async client(c) {
    const both = await c.ws('/', ['chat.v1', 'chat.v2']);
    both.send('?');
    await both.next();
    await both.close();
    const old = await c.ws('/', 'chat.v1');
    old.send('?');
    await old.next();
    await old.close();
    const none = await c.ws('/');
    none.send('?');
    await none.next();
    await none.close();
    // ws (the client) fails a handshake whose 101 names no subprotocol when it offered some.
    await c.wsRefused('/', ['xmpp']);
  },
};
