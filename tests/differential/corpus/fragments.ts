import type { Program } from '../harness.ts';
import { replaceLines } from '../trace.ts';

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
  known: [
    {
      what:
        'ws.send(data, { fin: false }) is not supported by the ws façade (ws.ts send reads only `binary`, and the host ' +
        "channel's `send` command has no `fin`): real ws sends one message in three frames (text !FIN, continuation " +
        '!FIN, continuation FIN), the sandbox three whole text messages',
      apply: (trace) =>
        replaceLines(
          trace,
          ['server text "pre"', 'server text "mier"', 'server text " message"'],
          [
            'server text !FIN "pre"',
            'server continuation !FIN "mier"',
            'server continuation " message"',
            'server message(text, 3 frames) "premier message"',
          ],
        ),
    },
  ],
  async client(c) {
    const ws = await c.ws('/');
    ws.send('go');
    await ws.next();
    await ws.next();
    await ws.close();
  },
};
