import type { Program } from '../harness.ts';

export const sioBinary: Program = {
  name: 'sio-binary',
  about: 'Socket.IO binary both ways: BINARY_EVENT with attachments, a Buffer in an ack (BINARY_ACK), nested',
  server: `
const io = new (require('socket.io').Server)(3000);
io.on('connection', (socket) => {
  socket.on('octets', (buf, ack) => {
    ack(Buffer.from(buf).reverse());
    socket.emit('imbriqué', { nom: 'deux', parties: [Buffer.from([1, 2]), Buffer.from('trois')] }, buf.length);
  });
});
`,
  async client(c) {
    const s = c.io();
    await c.connected(s);
    const nested = c.next(s, 'imbriqué');
    await s.emitWithAck('octets', Buffer.from([9, 8, 7, 0, 255]));
    await nested;
    s.disconnect();
  },
};
