import type { Program } from '../harness.ts';

export const sioPolling: Program = {
  name: 'sio-polling',
  about: 'Socket.IO over HTTP long-polling only (no upgrade): handshake, events and acks in polling bodies',
  server: `
const http = require('http');
const server = http.createServer();
const io = require('socket.io')(server);
io.on('connection', (socket) => {
  console.log('transport', socket.conn.transport.name);
  socket.on('ping?', (n, ack) => ack('pong ' + n));
});
server.listen(3000);
`,
  async client(c) {
    const s = c.io('/', { transports: ['polling'] });
    await c.connected(s);
    await s.emitWithAck('ping?', 1);
    await s.emitWithAck('ping?', 2);
    s.disconnect();
  },
};
