import type { Program } from '../harness.ts';

export const binary: Program = {
  name: 'binary',
  about: 'Buffers both ways: reversed copy, Uint8Array, ArrayBuffer, Buffer sent as text, byte count',
  server: `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 8080 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary) return ws.send('texte de ' + Buffer.byteLength(data) + ' octets');
    ws.send(Buffer.from(data).reverse());
    ws.send(new Uint8Array([data.length, 0xff]));
    ws.send(new Uint16Array([1, 256]).buffer);
    ws.send(Buffer.from('du texte dans un Buffer'), { binary: false });
    ws.send(data.length);
  });
});
`,
  async client(c) {
    const ws = await c.ws('/');
    ws.send(Buffer.from([1, 2, 3, 0, 255]));
    for (let i = 0; i < 5; i++) await ws.next();
    ws.send(Buffer.alloc(300, 7));
    for (let i = 0; i < 5; i++) await ws.next();
    ws.send(Buffer.from('ok'), { binary: false });
    await ws.next();
    await ws.close();
  },
};
