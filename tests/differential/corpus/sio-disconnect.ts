import type { Program } from '../harness.ts';

export const sioDisconnect: Program = {
  name: 'sio-disconnect',
  about: 'Socket.IO broadcast variants (socket.broadcast, io.except, a namespace emit) and server-side disconnect(), disconnect(true)',
  server: `
const io = require('socket.io')(3000);
const news = io.of('/news');
io.on('connection', (socket) => {
  socket.join(socket.handshake.auth.room);
  socket.on('tell-others', (text) => socket.broadcast.emit('others', text));
  socket.on('except', (room, text) => io.except(room).emit('not-in-' + room, text));
  socket.on('news', (text) => news.emit('news', text));
  socket.on('kick', (close) => {
    socket.emit('bye', close ? 'coupé' : 'déconnecté');
    socket.disconnect(close);
  });
  socket.on('disconnecting', (reason) => console.log('disconnecting', reason, socket.rooms.size));
  socket.on('disconnect', (reason) => console.log('disconnect', reason));
});
news.on('connection', (socket) => socket.emit('news', 'bienvenue'));
`,
  async client(c) {
    const a = c.io('/', { auth: { room: 'rouge' } });
    await c.connected(a);
    const b = c.io('/', { auth: { room: 'bleu' } });
    await c.connected(b);
    const n = c.io('/news');
    const welcome = c.next(n, 'news');
    await c.connected(n);
    await welcome;
    const others = c.next(b, 'others');
    a.emit('tell-others', 'de A');
    await others;
    const notRed = c.next(b, 'not-in-rouge');
    a.emit('except', 'rouge', 'pas pour rouge');
    await notRed;
    const news = c.next(n, 'news');
    b.emit('news', 'dernière heure');
    await news;
    const byeA = c.next(a, 'disconnect');
    a.emit('kick', false);
    await byeA;
    const byeB = c.next(b, 'disconnect');
    b.emit('kick', true);
    await byeB;
    n.disconnect();
    a.io.engine.close();
  },
};
