import type { Program } from '../harness.ts';

export const sioRecovery: Program = {
  name: 'sio-recovery',
  about:
    'Socket.IO connection state recovery: a transport cut, a room broadcast missed meanwhile, the client back with its pid and offset, its id, rooms and the missed packet restored',
  server: `
const io = require('socket.io')(3000, { connectionStateRecovery: { maxDisconnectionDuration: 5000 } });
io.on('connection', (socket) => {
  console.log('connection', socket.recovered, [...socket.rooms].filter((r) => r !== socket.id).join(','));
  if (!socket.recovered) socket.join('salon');
  socket.on('echo', (n, ack) => ack(n));
  socket.on('watch', (ack) => ack(socket.join('veille')));
  socket.on('tell', (text) => io.to('salon').emit('news', text));
  socket.on('disconnect', (reason) => {
    console.log('disconnect', reason);
    io.to('veille').emit('left', reason);
  });
});
`,
  async client(c) {
    const a = c.io();
    await c.connected(a);
    const b = c.io();
    await c.connected(b);
    // b watches the others leave (a room of its own: not one a's state holds).
    await b.emitWithAck('watch');
    // A first room broadcast: both get it with its offset.
    const first = [c.next(a, 'news'), c.next(b, 'news')];
    b.emit('tell', 'premier');
    await Promise.all(first);
    await a.emitWithAck('echo', 1);
    // A cut of a's transport (not a disconnect() of its own): the server keeps its state.
    const gone = [c.next(a, 'disconnect'), c.next(b, 'left')];
    a.io.engine.close();
    await Promise.all(gone);
    // Once the server has seen it gone, a broadcast a misses.
    const missed = c.next(b, 'news');
    b.emit('tell', 'pendant l’absence');
    await missed;
    // a comes back with its pid and last offset: same id, its room, and the missed packet replayed.
    const replayed = c.next(a, 'news');
    a.connect();
    await c.connected(a);
    await replayed;
    await a.emitWithAck('echo', 2);
    const last = [c.next(a, 'news'), c.next(b, 'news')];
    a.emit('tell', 'de retour');
    await Promise.all(last);
    const left = c.next(b, 'left');
    a.disconnect();
    await left;
    b.disconnect();
  },
};
