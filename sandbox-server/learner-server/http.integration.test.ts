// Plain HTTP to the learner's server end to end on loopback: a real sandbox, a host channel driven
// by the façade runtime the browser Worker loads (run in Node here: http and express façades),
// real HTTP clients (fetch, raw TCP) and real socket.io-client clients. The response bytes are
// written by the sandbox's real Node http server, as the monitor shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io as connectIo } from 'socket.io-client';
import { HTTP_MAX_CONCURRENT_REQUESTS, HTTP_MAX_REQUEST_BODY } from '#protocol/host';
import type { HostHttpRequest } from '#protocol/host';
import { runServerCode } from '../../site/scripts/playground/server-runtime/run.ts';
import { Monitor, rawConnection, receivedUntil, sleep, startApp, within } from '../test-helpers.ts';
import type { TestApp } from '../test-helpers.ts';
import { learnerSession as learnerSessionOf, openHost, until } from './test-host.ts';
import type { Host } from './test-host.ts';
import { httpRelayTimes } from './http-relay.ts';
import { NO_HOST_MESSAGE } from './learner-server.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t.close());

const learnerSession = (app = t) => learnerSessionOf(app);

/** Opens the host channel, authenticates, runs `code` once `ready` came, and waits for its server to listen. */
async function host(id: string, secret: string, code?: string, app = t): Promise<Host> {
  const h = await openHost(app, id, secret);
  if (code) {
    runServerCode(code, h.link);
    await until(() => h.link.listening.length > 0, 'listen');
  }
  return h;
}

const errorsOf = (h: Host) => h.received.flatMap((m) => (m.t === 'error' ? [m.id] : []));

describe('learner server: HTTP relay and http façade', () => {
  it('answers a GET with JSON through http.createServer; the bytes are Node’s (chunked after writeHead, Content-Length for a lone end)', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const http = require('http');
      const server = http.createServer((req, res) => {
        if (req.url.startsWith('/seul')) { res.end('bonjour'); return; }
        res.setHeader('X-Atelier', 'oui');
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url: req.url, agent: req.headers['user-agent'], ip: typeof req.socket.remoteAddress }));
      });
      server.listen(3000);
      `,
    );
    const res = await fetch(`${t.http}/s/${id}/api/salons?x=1&x=2`, {
      headers: { 'User-Agent': 'test' },
      signal: AbortSignal.timeout(5000),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('x-atelier')).toBe('oui');
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    // The sandbox's CORS headers stay (lesson clients are cross-origin only because of the sandbox).
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.json()).toEqual({ method: 'GET', url: '/api/salons?x=1&x=2', agent: 'test', ip: 'string' });
    const lone = await fetch(`${t.http}/s/${id}/seul`, { signal: AbortSignal.timeout(5000) });
    expect(lone.headers.get('content-length')).toBe('7');
    expect(await lone.text()).toBe('bonjour');
    h.ws.close();
  });

  it('express: POST with a JSON body through express.json(), params, query, status().json(), send(), sendStatus(), set()/type()', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const express = require('express');
      const app = express();
      app.use(express.json());
      const salons = [];
      app.post('/salons', (req, res) => {
        salons.push(req.body.nom);
        res.status(201).json({ ok: true, nom: req.body.nom, total: salons.length });
      });
      app.get('/salons/:id/messages', (req, res) => res.json({ id: req.params.id, page: req.query.page }));
      app.get('/texte', (req, res) => res.set('X-Essai', '1').type('text').send('é'));
      app.delete('/salons/:id', (req, res) => res.sendStatus(204));
      app.get('/teapot', (req, res) => res.sendStatus(418));
      app.listen(3000, () => console.log('prêt'));
      `,
    );
    const post = await fetch(`${t.http}/s/${id}/salons`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ nom: 'général' }),
      signal: AbortSignal.timeout(5000),
    });
    expect(post.status).toBe(201);
    expect(post.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(post.headers.get('x-powered-by')).toBe('Express');
    expect(await post.json()).toEqual({ ok: true, nom: 'général', total: 1 });
    const get = await fetch(`${t.http}/s/${id}/salons/g%C3%A9n%C3%A9ral/messages?page=2`, { signal: AbortSignal.timeout(5000) });
    expect(await get.json()).toEqual({ id: 'général', page: '2' });
    const text = await fetch(`${t.http}/s/${id}/texte`, { signal: AbortSignal.timeout(5000) });
    expect(text.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(text.headers.get('content-length')).toBe('2');
    expect(text.headers.get('x-essai')).toBe('1');
    expect(await text.text()).toBe('é');
    const head = await fetch(`${t.http}/s/${id}/texte`, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    expect([head.status, head.headers.get('content-length'), await head.text()]).toEqual([200, '2', '']);
    const del = await fetch(`${t.http}/s/${id}/salons/1`, { method: 'DELETE', signal: AbortSignal.timeout(5000) });
    expect(del.status).toBe(204);
    const teapot = await fetch(`${t.http}/s/${id}/teapot`, { signal: AbortSignal.timeout(5000) });
    expect([teapot.status, await teapot.text()]).toEqual([418, "I'm a Teapot"]);
    expect(h.logs).toContain('log: prêt');
    h.ws.close();
  });

  it('express: 404 « Cannot GET /x » as express’s default page, next(err) → 500 with the error in the server console, bad JSON → 400', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const express = require('express');
      const app = express();
      app.use(express.json());
      app.use('/api', (req, res, next) => { req.vu = req.baseUrl + ' ' + req.url; next(); });
      app.get('/api/vu', (req, res) => res.send(req.vu));
      app.get('/panne', (req, res, next) => next(new Error('base indisponible')));
      app.get('/jette', () => { throw new Error('oups'); });
      app.post('/json', (req, res) => res.json(req.body));
      express.static('public');
      app.listen(3000);
      `,
    );
    const missing = await fetch(`${t.http}/s/${id}/rien?x=1`, { signal: AbortSignal.timeout(5000) });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-security-policy')).toBe("default-src 'none'");
    expect(missing.headers.get('x-content-type-options')).toBe('nosniff');
    expect(missing.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await missing.text()).toContain('<pre>Cannot GET /rien</pre>');
    expect(await (await fetch(`${t.http}/s/${id}/api/vu`, { signal: AbortSignal.timeout(5000) })).text()).toBe('/api /vu');
    const broken = await fetch(`${t.http}/s/${id}/panne`, { signal: AbortSignal.timeout(5000) });
    expect(broken.status).toBe(500);
    expect(await broken.text()).toContain('Error: base indisponible');
    const thrown = await fetch(`${t.http}/s/${id}/jette`, { signal: AbortSignal.timeout(5000) });
    expect(thrown.status).toBe(500);
    const bad = await fetch(`${t.http}/s/${id}/json`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"a":',
      signal: AbortSignal.timeout(5000),
    });
    expect(bad.status).toBe(400);
    expect(h.logs.some((l) => l.startsWith('error: Error: base indisponible'))).toBe(true);
    expect(h.logs.some((l) => l.startsWith('error: Error: oups'))).toBe(true);
    expect(h.logs.some((l) => l.includes('express.static(') && l.includes('n’est pas pris en charge'))).toBe(true);
    h.ws.close();
  });

  it('streams a chunked response as it is written (no buffering)', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      require('http').createServer((req, res) => {
        res.write('premier;');
        setTimeout(() => res.write('deuxième;'), 300);
        setTimeout(() => res.end('fin'), 600);
      }).listen(3000);
      `,
    );
    const started = Date.now();
    const res = await fetch(`${t.http}/s/${id}/flux`, { signal: AbortSignal.timeout(5000) });
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const pieces: { text: string; at: number }[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pieces.push({ text: decoder.decode(value, { stream: true }), at: Date.now() - started });
    }
    expect(pieces.map((p) => p.text).join('')).toBe('premier;deuxième;fin');
    // The first piece came before the others were even written.
    expect(pieces[0].text).toBe('premier;');
    expect(pieces[0].at).toBeLessThan(300);
    h.ws.close();
  });

  it('Server-Sent Events: 3 events read as they come, then the client aborts and the server code sees close', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const express = require('express');
      const app = express();
      app.get('/evenements', (req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
        let n = 0;
        const timer = setInterval(() => res.write('data: ' + JSON.stringify({ n: ++n }) + '\\n\\n'), 150);
        req.on('close', () => { clearInterval(timer); console.log('client parti', n, res.writableEnded, res.write('x')); });
      });
      app.listen(3000);
      `,
    );
    const abort = new AbortController();
    const res = await fetch(`${t.http}/s/${id}/evenements`, { signal: abort.signal, headers: { Accept: 'text/event-stream' } });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    const events: unknown[] = [];
    await within(
      (async () => {
        while (events.length < 3) {
          const { value, done } = await reader.read();
          if (done) throw new Error('stream ended');
          buffer += decoder.decode(value, { stream: true });
          let at: number;
          while ((at = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, at);
            buffer = buffer.slice(at + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (data) events.push(JSON.parse(data.slice(6)));
          }
        }
      })(),
      5000,
      '3 events',
    );
    expect(events.slice(0, 3)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    abort.abort();
    await until(() => h.logs.some((l) => l.startsWith('log: client parti')), 'close seen by the server code');
    // After 'close', writes return false, and the response did not end.
    expect(h.logs.find((l) => l.startsWith('log: client parti'))).toMatch(/^log: client parti \d+ false false$/);
    h.ws.close();
  });

  it('answers 413 to an oversized body (declared or chunked) without bothering the host', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(id, secret, `require('http').createServer((req, res) => res.end('vu')).listen(3000);`);
    const big = 'x'.repeat(HTTP_MAX_REQUEST_BODY + 1);
    const declared = await fetch(`${t.http}/s/${id}/`, { method: 'POST', body: big, signal: AbortSignal.timeout(5000) });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: string }).error).toContain('Corps de requête trop grand');
    // Chunked: no length announced, the sandbox counts while reading.
    const { socket, received } = await rawConnection(t.port);
    socket.write(`POST /s/${id}/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const piece = 'y'.repeat(16 * 1024);
    for (let i = 0; i < 5; i++) socket.write(`${piece.length.toString(16)}\r\n${piece}\r\n`);
    const answer = (await receivedUntil(received, (b) => b.includes('\r\n\r\n'), '413')).toString();
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    socket.destroy();
    expect(h.received.some((m) => m.t === 'http-request')).toBe(false);
    h.ws.close();
  });

  it('answers 504 when the server code never answers, and the façade sees close', async () => {
    const { id, secret } = await learnerSession();
    const saved = httpRelayTimes.headMs;
    httpRelayTimes.headMs = 300;
    try {
      const h = await host(
        id,
        secret,
        `require('http').createServer((req, res) => { res.on('close', () => console.log('fermée', res.writableEnded)); }).listen(3000);`,
      );
      const started = Date.now();
      const res = await fetch(`${t.http}/s/${id}/lent`, { signal: AbortSignal.timeout(5000) });
      expect(res.status).toBe(504);
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(((await res.json()) as { error: string }).error).toContain('ne répond pas');
      await until(() => h.logs.includes('log: fermée false'), 'close on the façade response');
      h.ws.close();
    } finally {
      httpRelayTimes.headMs = saved;
    }
  });

  it('answers 503 in French while no host runs, and when the host leaves before answering', async () => {
    const { id, secret } = await learnerSession();
    const none = await fetch(`${t.http}/s/${id}/`, { signal: AbortSignal.timeout(5000) });
    expect(none.status).toBe(503);
    expect(((await none.json()) as { error: string }).error).toBe(NO_HOST_MESSAGE);
    const h = await host(id, secret, `require('http').createServer(() => {}).listen(3000);`);
    const pending = fetch(`${t.http}/s/${id}/attente`, { signal: AbortSignal.timeout(5000) });
    await until(() => h.received.some((m) => m.t === 'http-request'), 'request relayed');
    h.ws.terminate();
    const gone = await pending;
    expect(gone.status).toBe(503);
    expect(((await gone.json()) as { error: string }).error).toContain('arrêté');
  });

  it('answers malformed HTTP commands with errors (stable ids), without a crash', async () => {
    const { id, secret } = await learnerSession();
    // The server code leaves /manuel to the test, which writes the commands by hand.
    const h = await host(
      id,
      secret,
      `require('http').createServer((req, res) => { if (req.url !== '/manuel') res.end('ok'); }).listen(3000);`,
    );
    const outcome = fetch(`${t.http}/s/${id}/manuel`, { signal: AbortSignal.timeout(5000) })
      .then((res) => res.text())
      .then(
        () => 'complete',
        () => 'cut',
      );
    await until(() => h.received.some((m) => m.t === 'http-request'), 'request relayed');
    const { r } = h.received.find((m): m is HostHttpRequest => m.t === 'http-request') as HostHttpRequest;
    const send = (o: unknown) => h.ws.send(typeof o === 'string' ? o : JSON.stringify(o));
    send({ t: 'http-head', r: 999_999, status: 200, headers: {} });
    send({ t: 'http-head', r, status: 101, headers: {} });
    send({ t: 'http-head', r, status: 200, headers: { 'X-A': 'a\r\nSet-Cookie: x=1' } });
    send({ t: 'http-head', r, status: 200, headers: { Upgrade: 'websocket' } });
    send({ t: 'http-write', r, data: 'A*==', b64: true });
    send('{"t":"http-end","r":');
    send({ t: 'http-head', r, status: 200, headers: { 'Content-Length': '3', 'Content-Type': 'text/plain' } });
    send({ t: 'http-head', r, status: 201, headers: {} });
    send({ t: 'http-write', r, data: 'abcd' });
    await until(() => errorsOf(h).length >= 8, 'eight errors');
    expect(errorsOf(h)).toEqual([
      'HOST_ERR_UNKNOWN_REQUEST',
      'HOST_ERR_BAD_STATUS',
      'HOST_ERR_BAD_HEADER',
      'HOST_ERR_BAD_HEADER',
      'HOST_ERR_BAD_FIELD',
      'HOST_ERR_BAD_JSON',
      'HOST_ERR_HEADERS_SENT',
      'HOST_ERR_CONTENT_LENGTH',
    ]);
    // More bytes than Content-Length: the response is cut, not sent broken.
    expect(await outcome).toBe('cut');
    expect(h.logs.filter((l) => l.startsWith('error: [bac à sable]'))).toHaveLength(8);
    // The server goes on serving.
    expect(await (await fetch(`${t.http}/s/${id}/encore`, { signal: AbortSignal.timeout(5000) })).text()).toBe('ok');
    h.ws.close();
  });

  it('the monitor shows the HTTP request and response of a learner request', async () => {
    const { id, secret } = await learnerSession();
    const monitor = await Monitor.open(t, id);
    const h = await host(
      id,
      secret,
      `require('http').createServer((req, res) => { res.setHeader('Content-Type', 'text/plain'); res.end('vu : ' + req.url); }).listen(3000);`,
    );
    const res = await fetch(`${t.http}/s/${id}/bonjour?client=A`, { signal: AbortSignal.timeout(5000) });
    expect(await res.text()).toBe('vu : /bonjour?client=A');
    const request = await monitor.waitFor((e) => e.type === 'http' && e.from === 'client' && e.head.startsWith(`GET /s/${id}/bonjour`));
    const response = await monitor.waitFor((e) => e.type === 'http' && e.from === 'server' && e.conn === request.conn);
    expect(response.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(response.head).toContain('Content-Type: text/plain');
    expect(response.body).toBe('vu : /bonjour?client=A');
    monitor.close();
    h.ws.close();
  });

  it('cuts a response written faster than the session’s byte budget, with a limit event and an error for the server code', async () => {
    const { id, secret } = await learnerSession();
    const monitor = await Monitor.open(t, id);
    const h = await host(
      id,
      secret,
      `require('http').createServer((req, res) => { res.write('a'.repeat(3 * 1024 * 1024)); res.end(); }).listen(3000);`,
    );
    const outcome = await fetch(`${t.http}/s/${id}/gros`, { signal: AbortSignal.timeout(5000) })
      .then((res) => res.arrayBuffer())
      .then(
        (body) => `complete ${body.byteLength}`,
        () => 'cut',
      );
    expect(outcome).toBe('cut');
    await monitor.waitFor((e) => e.type === 'limit' && e.limit === 'rate' && e.action === 'http cut');
    await until(() => errorsOf(h).includes('HOST_ERR_RATE'), 'rate error');
    monitor.close();
    h.ws.close();
  });

  it(`refuses more than ${HTTP_MAX_CONCURRENT_REQUESTS} requests at once per session with 429`, async () => {
    const wide = await startApp({ maxConnectionsPerSession: 100, connectionBurst: 100, connectionsPerSecond: 100 });
    try {
      const { id, secret } = await learnerSession(wide);
      const h = await host(id, secret, `require('http').createServer(() => {}).listen(3000);`, wide);
      const pending = Array.from({ length: HTTP_MAX_CONCURRENT_REQUESTS }, () =>
        fetch(`${wide.http}/s/${id}/attente`, { signal: AbortSignal.timeout(10_000) }).then((r) => r.status),
      );
      await until(() => h.received.filter((m) => m.t === 'http-request').length === HTTP_MAX_CONCURRENT_REQUESTS, 'all relayed');
      const extra = await fetch(`${wide.http}/s/${id}/encore`, { signal: AbortSignal.timeout(5000) });
      expect(extra.status).toBe(429);
      h.ws.terminate();
      expect(new Set(await Promise.all(pending))).toEqual(new Set([503]));
    } finally {
      await wide.close();
    }
  });
});

describe('the guide’s express + Socket.IO code', () => {
  const GUIDE = (listen: string) => `
const express = require('express');
const http = require('http');
const app = express();
const server = http.createServer(app);
const io = require('socket.io')(server);
app.get('/', (req, res) => res.send('accueil'));
io.on('connection', (socket) => console.log('connecté', socket.id));
${listen};
`;

  function connectError(id: string): Promise<Error> {
    const s = connectIo(t.http, { path: `/s/${id}/socket.io/`, reconnection: false, forceNew: true });
    return within(
      new Promise<Error>((resolve, reject) => {
        s.once('connect', () => reject(new Error('connected')));
        s.once('connect_error', (err) => {
          s.close();
          resolve(err);
        });
      }),
      5000,
      'connect_error',
    );
  }

  it('as written (app.listen): Socket.IO requests get express’s 404, the client connect_error, the console says why once', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(id, secret, GUIDE('app.listen(80)'));
    const polling = await fetch(`${t.http}/s/${id}/socket.io/?EIO=4&transport=polling`, { signal: AbortSignal.timeout(5000) });
    expect(polling.status).toBe(404);
    expect(polling.headers.get('x-powered-by')).toBe('Express');
    expect(await polling.text()).toContain('<pre>Cannot GET /socket.io/</pre>');
    const err = await connectError(id);
    expect(err.message).toBe('xhr poll error');
    expect((err as Error & { description?: number }).description).toBe(404);
    await connectError(id);
    const warnings = h.logs.filter((l) => l.includes('Socket.IO est attaché à un serveur http qui n’écoute pas'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('app.listen() a créé un autre serveur');
    expect(warnings[0]).toContain('server.listen(…)');
    // Express itself works: it is the listening server.
    expect(await (await fetch(`${t.http}/s/${id}/`, { signal: AbortSignal.timeout(5000) })).text()).toBe('accueil');
    expect(h.received.some((m) => m.t === 'io-auth')).toBe(false);
    h.ws.close();
  });

  it('corrected (server.listen): the client connects, and express still answers the other paths', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(id, secret, GUIDE('server.listen(80)'));
    // The real Socket.IO server exists once the sandbox ran io-attach (before: the façade's 503).
    await within(
      (async () => {
        for (;;) {
          const res = await fetch(`${t.http}/s/${id}/socket.io/?EIO=4&transport=polling`, { signal: AbortSignal.timeout(5000) });
          await res.arrayBuffer();
          if (res.status !== 503) return;
          await sleep(10);
        }
      })(),
      5000,
      'real Socket.IO server',
    );
    const s = connectIo(t.http, { path: `/s/${id}/socket.io/`, reconnection: false, forceNew: true });
    await within(
      new Promise<void>((resolve, reject) => {
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      }),
      5000,
      'connect',
    );
    await until(() => h.logs.some((l) => l.startsWith('log: connecté')), 'connection seen by the server code');
    expect(await (await fetch(`${t.http}/s/${id}/`, { signal: AbortSignal.timeout(5000) })).text()).toBe('accueil');
    expect(h.logs.some((l) => l.includes('n’écoute pas'))).toBe(false);
    s.close();
    h.ws.close();
  });
});
