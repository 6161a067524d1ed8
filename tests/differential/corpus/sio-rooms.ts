import type { Program } from '../harness.ts';

export const sioRooms: Program = {
  name: 'sio-rooms',
  about: 'Socket.IO rooms: socket.to(room) reaches the others only, io.to(room) everyone in it, never C',
  server: `
const { createServer } = require('http');
const { Server } = require('socket.io');
const server = createServer();
const io = new Server(server);
io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    socket.join(room);
    ack([...socket.rooms].length);
  });
  socket.on('say', (room, text) => socket.to(room).emit('said', text));
  socket.on('shout', (room, text) => io.to(room).emit('all', text, socket.id));
  socket.on('leave', (room, ack) => {
    socket.leave(room);
    ack(io.of('/').adapter.rooms.get(room)?.size ?? 0);
  });
  socket.on('disconnect', (reason) => console.log('parti', reason));
});
server.listen(3000);
`,
  async client(c) {
    const a = c.io();
    await c.connected(a);
    const b = c.io();
    await c.connected(b);
    const d = c.io();
    await c.connected(d);
    await a.emitWithAck('join', 'salle');
    await b.emitWithAck('join', 'salle');
    const said = c.next(b, 'said');
    a.emit('say', 'salle', 'bonjour B');
    await said;
    const allA = c.next(a, 'all');
    const allB = c.next(b, 'all');
    a.emit('shout', 'salle', 'bonjour tous');
    await allA;
    await allB;
    await b.emitWithAck('leave', 'salle');
    const again = c.next(a, 'all');
    b.emit('shout', 'salle', 'B n’y est plus');
    await again;
    a.disconnect();
    b.disconnect();
    d.disconnect();
  },
};
