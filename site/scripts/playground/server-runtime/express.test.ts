// The express and http façades without a sandbox: requests given to a HostLink as the sandbox
// would send them, responses read back from the commands the façade issues.
import { describe, expect, it } from 'vitest';
import { recordingLink } from './recording-link.test-data.ts';
import { runServerCode } from './run.ts';

/** The learner code's require('http'), kept on one line (scripts/test-tiers.test.ts reads it as a string, not an import). */
const HTTP = "require('http')";

interface Answer {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  implicit: boolean;
}

function serve(code: string) {
  const { link, commands, logs } = recordingLink();
  runServerCode(code, link);
  let r = 0;
  async function ask(method: string, url: string, body = '', headers: Record<string, string> = {}): Promise<Answer> {
    const id = ++r;
    const bytes = Buffer.from(body);
    const all = bytes.length ? { 'content-length': String(bytes.length), ...headers } : headers;
    link.receive({
      t: 'http-request',
      r: id,
      method,
      url,
      httpVersion: '1.1',
      headers: all,
      remoteAddress: '127.0.0.1',
      body: bytes.toString('base64'),
      conn: null,
    });
    for (let i = 0; i < 50 && !commands.some((c) => c.t === 'http-end' && c.r === id); i++) await new Promise((res) => setTimeout(res, 0));
    const mine = commands.filter((c) => 'r' in c && c.r === id);
    const head = mine.find((c) => c.t === 'http-head');
    if (head?.t !== 'http-head') throw new Error(`no head for ${method} ${url}`);
    const text = mine
      .flatMap((c) =>
        (c.t === 'http-write' || c.t === 'http-end') && c.data !== undefined
          ? [c.b64 ? Buffer.from(c.data, 'base64') : Buffer.from(c.data)]
          : [],
      )
      .map((b) => b.toString())
      .join('');
    return { status: head.status, headers: head.headers, body: text, implicit: !!head.implicit };
  }
  return { ask, logs, commands, link };
}

describe('express façade', () => {
  it('routes exact paths, :params, *, mounts (url and baseUrl put back), next(), next("route"), HEAD as GET', async () => {
    const { ask } = serve(`
      const express = require('express');
      const app = express();
      const api = express.Router();
      api.get('/salons/:id', (req, res) => res.json({ id: req.params.id, url: req.url, base: req.baseUrl, original: req.originalUrl }));
      app.use('/api', api);
      app.use('/api', (req, res, next) => { res.set('X-Apres', req.url); next(); });
      app.get('/api/suite', (req, res) => res.send(res.get('X-Apres') + ' ' + req.url));
      app.get('/route', (req, res, next) => next('route'), (req, res) => res.send('sauté'));
      app.get('/route', (req, res) => res.send('suivant'));
      app.get('/fichiers/*', (req, res) => res.send(req.params[0]));
      app.get('/MAJ', (req, res) => res.send('insensible'));
      app.get('/q', (req, res) => res.json(req.query));
      ${HTTP}.createServer(app).listen(1);
    `);
    expect(JSON.parse((await ask('GET', '/api/salons/a%20b?x=1')).body)).toEqual({
      id: 'a b',
      url: '/salons/a%20b?x=1',
      base: '/api',
      original: '/api/salons/a%20b?x=1',
    });
    expect((await ask('GET', '/api/suite')).body).toBe('/suite /api/suite');
    expect((await ask('GET', '/route')).body).toBe('suivant');
    expect((await ask('GET', '/fichiers/a/b.txt')).body).toBe('a/b.txt');
    expect((await ask('GET', '/maj/')).body).toBe('insensible');
    expect(JSON.parse((await ask('GET', '/q?a=1&a=2&b=')).body)).toEqual({ a: ['1', '2'], b: '' });
    const head = await ask('HEAD', '/maj');
    expect([head.status, head.headers['Content-Length'], head.body]).toEqual([200, '10', '']);
    expect((await ask('POST', '/maj')).status).toBe(404);
  });

  it('refuses path patterns it does not support, in French', () => {
    expect(() => serve(`require('express')().get('/a?', () => {})`)).toThrow(/non pris en charge/);
    expect(() => serve(`require('express')().get(/a/, () => {})`)).toThrow(/RegExp/);
  });

  it('express.json() in strict mode, limits, and errors with their status; error handlers get them', async () => {
    const { ask, logs } = serve(`
      const express = require('express');
      const app = express();
      app.use(express.json({ limit: '10b' }));
      app.post('/', (req, res) => res.json({ body: req.body }));
      app.post('/gere', (req, res) => res.json(req.body));
      app.use((err, req, res, next) => { if (req.url === '/gere') res.status(err.status).json({ type: err.type }); else next(err); });
      app.listen(1);
    `);
    const json = { 'content-type': 'application/json' };
    expect(JSON.parse((await ask('POST', '/', '[1]', json)).body)).toEqual({ body: [1] });
    expect(JSON.parse((await ask('POST', '/', '', json)).body)).toEqual({ body: {} });
    expect(JSON.parse((await ask('POST', '/', '[1]', { 'content-type': 'text/plain' })).body)).toEqual({ body: {} });
    expect((await ask('POST', '/', '"texte"', json)).status).toBe(400);
    expect((await ask('POST', '/', '[1,2,3,4,5,6]', json)).status).toBe(413);
    expect(JSON.parse((await ask('POST', '/gere', '{', json)).body)).toEqual({ type: 'entity.parse.failed' });
    expect(logs.filter((l) => l.startsWith('error: '))).toHaveLength(2);
  });

  it('res helpers: redirect, send(Buffer), send(object), 204 without body, res.destroy() after headers on an error', async () => {
    const { ask, commands } = serve(`
      const express = require('express');
      const app = express();
      app.disable('x-powered-by');
      app.get('/vers', (req, res) => res.redirect(301, '/là'));
      app.get('/octets', (req, res) => res.send(Buffer.from([104, 105])));
      app.get('/objet', (req, res) => res.send({ a: 1 }));
      app.get('/vide', (req, res) => res.status(204).send('ignoré'));
      app.get('/tard', (req, res, next) => { res.write('début'); next(new Error('trop tard')); });
      app.listen(1);
    `);
    const moved = await ask('GET', '/vers');
    expect([moved.status, moved.headers.Location, moved.body]).toEqual([301, '/l%C3%A0', 'Moved Permanently. Redirecting to /l%C3%A0']);
    expect(moved.headers['X-Powered-By']).toBeUndefined();
    const bytes = await ask('GET', '/octets');
    expect([bytes.headers['Content-Type'], bytes.body]).toEqual(['application/octet-stream', 'hi']);
    expect((await ask('GET', '/objet')).headers['Content-Type']).toBe('application/json; charset=utf-8');
    const empty = await ask('GET', '/vide');
    expect([empty.status, empty.body, empty.headers['Content-Length']]).toEqual([204, '', undefined]);
    await ask('GET', '/tard');
    expect(commands.filter((c) => c.t === 'http-end' && c.destroy)).toHaveLength(1);
  });
});

describe('http façade', () => {
  it('Node semantics: implicit head, headers sent, end twice ignored, write after end errors, bad header throws', async () => {
    const { ask, logs } = serve(`
      ${HTTP}.createServer((req, res) => {
        if (req.url === '/implicite') {
          res.statusCode = 201;
          res.setHeader('X-Un', ['a', 'b']);
          res.write('x');
          try { res.setHeader('X-Tard', '1'); } catch (e) { console.log(e.code); }
          res.end('y');
          res.end('z');
          res.on('error', (e) => console.log('erreur', e.code));
          res.write('après');
          return;
        }
        if (req.url === '/entete') {
          try { res.setHeader('X-A', 'a\\nb'); } catch (e) { console.log(e.code); }
          try { res.setHeader('mauvais nom', 'a'); } catch (e) { console.log(e.code); }
          try { res.writeHead(1000); } catch (e) { console.log(e.code); }
          res.writeHead(200, 'Très bien', { 'Content-Type': 'text/plain', Upgrade: 'h2c' });
          res.end();
          return;
        }
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (c) => { body += c; });
        req.on('end', () => res.end(req.method + ' ' + body + ' ' + req.headers['content-length']));
      }).listen(1);
    `);
    const implicit = await ask('GET', '/implicite');
    expect([implicit.status, implicit.implicit, implicit.headers['X-Un'], implicit.body]).toEqual([201, true, ['a', 'b'], 'xy']);
    await new Promise((r) => setTimeout(r, 10));
    expect(logs).toContain('log: ERR_HTTP_HEADERS_SENT');
    expect(logs).toContain('log: erreur ERR_STREAM_WRITE_AFTER_END');
    const head = await ask('GET', '/entete');
    expect([head.status, head.implicit, head.headers]).toEqual([200, false, { 'Content-Type': 'text/plain' }]);
    expect(logs).toEqual(
      expect.arrayContaining(['log: ERR_INVALID_CHAR', 'log: ERR_INVALID_HTTP_TOKEN', 'log: ERR_HTTP_INVALID_STATUS_CODE']),
    );
    expect(logs.some((l) => l.startsWith('warn: [bac à sable] En-tête «\u00a0Upgrade'))).toBe(true);
    expect((await ask('POST', '/corps', 'été')).body).toBe('POST été 5');
  });

  it('a large end() travels in pieces with its Content-Length, as Node would send it', async () => {
    const { ask, commands } = serve(`${HTTP}.createServer((req, res) => res.end('a'.repeat(100000))).listen(1);`);
    const answer = await ask('GET', '/');
    expect(answer.body.length).toBe(100000);
    expect(answer.headers['Content-Length']).toBe('100000');
    expect(commands.filter((c) => c.t === 'http-write').length).toBeGreaterThan(1);
  });
});

describe('listen on a symbolic port', () => {
  function start(code: string) {
    const { link, logs } = recordingLink();
    runServerCode(code, link);
    link.receive({ t: 'ready', ws: 'ws://h/s/x/', http: 'http://h/s/x/', maxPayload: 65536, frameMax: 229376 });
    return { link, logs };
  }
  const settle = () => new Promise((r) => setTimeout(r, 5));

  it('a second server on the same port fails with EADDRINUSE, as in Node', async () => {
    const { link, logs } = start(
      `const http = ${HTTP};\nhttp.createServer().listen(80);\nhttp.createServer().on('error', (e) => console.log(e.code, e.port)).listen(80);`,
    );
    await settle();
    expect(logs).toContain('log: EADDRINUSE 80');
    expect(link.listening).toHaveLength(1);
  });

  it('a second server on another port is told that no client reaches it', async () => {
    const { link, logs } = start(`const http = ${HTTP};\nhttp.createServer().listen(80);\nhttp.createServer().listen(3000);`);
    await settle();
    expect(link.listening).toHaveLength(2);
    expect(logs.some((l) => l.startsWith('warn: [bac à sable] Un deuxième serveur écoute (port 3000)'))).toBe(true);
  });
});
