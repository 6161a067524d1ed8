import type { Program } from '../harness.ts';

export const sioUpgrade: Program = {
  name: 'sio-upgrade',
  about: 'Socket.IO with default transports: polling handshake, then the upgrade to WebSocket (2probe/3probe/5)',
  server: `
const http = require('http');
const server = http.createServer();
const io = require('socket.io')(server);
io.on('connection', (socket) => {
  socket.conn.on('upgrade', () => socket.emit('upgraded', socket.conn.transport.name));
  socket.on('echo', (text, ack) => ack(text + ' via ' + socket.conn.transport.name));
});
server.listen(3000);
`,
  async client(c) {
    const s = c.io('/', { transports: ['polling', 'websocket'] });
    const upgraded = c.next(s, 'upgraded');
    await c.connected(s);
    await upgraded;
    await s.emitWithAck('echo', 'bonjour');
    s.disconnect();
  },
};
