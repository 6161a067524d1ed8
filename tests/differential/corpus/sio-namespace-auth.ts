import type { Program } from '../harness.ts';

export const sioNamespaceAuth: Program = {
  name: 'sio-namespace-auth',
  about: 'a namespace with io.use refusing a bad token (CONNECT_ERROR with data), an unknown namespace, a good token',
  server: `
const io = require('socket.io')(3000);
const admin = io.of('/admin');
admin.use((socket, next) => {
  if (socket.handshake.auth.token === 'bon') return next();
  const err = new Error('jeton refusé');
  err.data = { code: 403, aide: 'donnez auth.token' };
  next(err);
});
admin.on('connection', (socket) => {
  socket.emit('bienvenue', socket.nsp.name, socket.handshake.auth.token);
  socket.on('qui', (ack) => ack({ nsp: socket.nsp.name, salles: socket.rooms.size }));
});
io.on('connection', (socket) => socket.emit('principal'));
`,
  async client(c) {
    const bad = c.io('/admin', { auth: { token: 'mauvais' } });
    await c.connectError(bad);
    bad.io.engine.close();
    const unknown = c.io('/inconnu');
    await c.connectError(unknown);
    unknown.io.engine.close();
    const good = c.io('/admin', { auth: { token: 'bon' } });
    const hello = c.next(good, 'bienvenue');
    await c.connected(good);
    await hello;
    await good.emitWithAck('qui');
    good.disconnect();
    const main = c.io('/');
    const principal = c.next(main, 'principal');
    await c.connected(main);
    await principal;
    main.disconnect();
  },
};
