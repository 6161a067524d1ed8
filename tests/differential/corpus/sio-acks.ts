import type { Program } from '../harness.ts';

export const sioAcks: Program = {
  name: 'sio-acks',
  about: 'Socket.IO acks both ways (client→server, server→client), and a server emit timing out (timeout(300))',
  server: `
const http = require('http');
const server = http.createServer();
const io = require('socket.io')(server);
io.on('connection', (socket) => {
  socket.on('add', (a, b, ack) => ack({ sum: a + b }));
  socket.on('ask', async () => {
    const answer = await socket.emitWithAck('question', 'combien ?');
    socket.emit('answered', answer);
  });
  socket.on('ask-late', () => {
    socket.timeout(300).emit('slow', 'réponds vite', (err, answer) => {
      socket.emit('late', err ? err.message : answer);
    });
  });
});
server.listen(3000);
`,
  async client(c) {
    const s = c.io();
    await c.connected(s);
    await s.emitWithAck('add', 2, 3);
    s.on('question', (_text: string, ack: (n: number) => void) => ack(42));
    const answered = c.next(s, 'answered');
    s.emit('ask');
    await answered;
    // The client never acks 'slow'.
    s.on('slow', () => {});
    const late = c.next(s, 'late');
    s.emit('ask-late');
    await late;
    s.disconnect();
  },
};
