import type { Program } from '../harness.ts';
import { replaceLines } from '../trace.ts';

export const headersEvent: Program = {
  name: 'headers-event',
  about: "ws's 'headers' event: a Set-Cookie header added to the 101 response",
  server: `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 8080 });
wss.on('headers', (headers, req) => {
  headers.push('Set-Cookie: session=' + (req.url === '/a' ? 'aaa' : 'bbb'));
  console.log('en-têtes', headers.length);
});
wss.on('connection', (ws) => ws.send('connecté'));
`,
  known: [
    {
      what:
        "WebSocketServer's 'headers' event is never emitted by the ws façade (ws.ts), and the host channel's `accept` " +
        'command carries no extra headers: real ws sends `Set-Cookie: session=aaa` in the 101 and the listener logs ' +
        "« en-têtes 5 »; the sandbox's 101 has no Set-Cookie and the listener never runs",
      apply: (trace) => ({
        connections: replaceLines(
          trace,
          ['server HTTP/1.1 101 Switching Protocols [connection: Upgrade | upgrade: websocket]'],
          ['server HTTP/1.1 101 Switching Protocols [connection: Upgrade | upgrade: websocket | set-cookie: session=aaa]'],
        ).connections,
        console: ['log: en-têtes 5', ...trace.console],
      }),
    },
  ],
  async client(c) {
    const a = await c.ws('/a');
    await a.next();
    await a.close();
  },
};
