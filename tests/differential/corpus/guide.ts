// The course guide's Socket.IO server (lessons/socket-io/socket-io-et-engine-io.mdx, « L’exemple du
// guide, corrigé »), as the guide wrote it and as the lesson corrects it.
import type { Program } from '../harness.ts';

export const guideAsWritten: Program = {
  name: 'guide-as-written',
  about: "the guide's express + Socket.IO server as written: app.listen(80), so Socket.IO never listens (express 404)",
  requires: ['express'],
  server: `
const express = require('express');
const app = express();
const http = require('http');
const server = http.createServer(app);
const io = require('socket.io')(server);

app.listen(80);

io.on('connection', (socket) => {
  socket.on('comment', (data) => {
    console.log(data);
    socket.emit('thanks', 'Thank you for your comment.');
  });
});
`,
  async client(c) {
    // The guide's client: io.connect('http://localhost/comment'), default transports (polling first).
    const s = c.io('/comment', { transports: ['polling', 'websocket'] });
    await c.connectError(s);
    await c.http('/');
  },
};

export const guideCorrected: Program = {
  name: 'guide-corrected',
  about: 'the same, corrected by the lesson: server.listen(80), namespace /comments on both sides',
  requires: ['express'],
  server: `
const express = require('express');
const { createServer } = require('node:http');
const { Server } = require('socket.io');

const app = express();
const server = createServer(app);
const io = new Server(server);

io.of('/comments').on('connection', (socket) => {
  socket.on('comment', (text) => {
    console.log(text);
    socket.emit('thanks', 'Merci pour votre commentaire.');
  });
});

server.listen(80); // le serveur HTTP auquel Socket.IO est attaché
`,
  async client(c) {
    const s = c.io('/comments', { transports: ['polling', 'websocket'] });
    const thanks = c.next(s, 'thanks');
    const upgraded = c.upgraded(s);
    await c.connected(s);
    // Over WebSocket in both runs (whether the upgrade ends before the CONNECT answer is timing).
    await upgraded;
    s.emit('comment', 'Super cours !');
    await thanks;
    s.disconnect();
    await c.http('/');
  },
};
