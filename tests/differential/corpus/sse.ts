import type { Program } from '../harness.ts';

export const sse: Program = {
  name: 'sse',
  about: 'Server-Sent Events with http.createServer: text/event-stream written in pieces, a JSON answer, a 404',
  server: `
const http = require('http');
const server = http.createServer((req, res) => {
  if (req.url === '/events') {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    let n = 0;
    const timer = setInterval(() => {
      n++;
      res.write('id: ' + n + '\\nevent: tic\\ndata: ' + JSON.stringify({ n }) + '\\n\\n');
      if (n === 3) {
        clearInterval(timer);
        res.end('data: fin\\n\\n');
      }
    }, 50);
    req.on('close', () => clearInterval(timer));
  } else if (req.url === '/etat') {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ ok: true, méthode: req.method }));
  } else {
    res.statusCode = 404;
    res.end('introuvable : ' + req.url);
  }
});
server.listen(3000);
`,
  async client(c) {
    await c.http('/etat');
    await c.http('/nulle-part?x=1');
    await c.http('/events', { headers: { accept: 'text/event-stream' } });
  },
};
