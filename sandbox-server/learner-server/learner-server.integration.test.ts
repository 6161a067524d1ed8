// The learner's server end to end on loopback: a real sandbox, a host channel driven by the same
// façade runtime the browser Worker loads (run in Node here), real ws clients.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HOST_AUTH_FAILED, HOST_BATCH_MAX_COMMANDS, HOST_GONE_CLOSE_CODE, HOST_TAKEN, hostFrameMessages } from '#protocol/host';
import { runServerCode } from '../../site/scripts/playground/server-runtime/run.ts';
import { closed, Monitor, nextMessage, openWs, rawUpgrade, receivedUntil, startApp, within } from '../test-helpers.ts';
import type { TestApp } from '../test-helpers.ts';
import { MAX_WAITING_HOSTS } from './learner-server.ts';
import { learnerSession as learnerSessionOf, openHost, until } from './test-host.ts';
import type { Host } from './test-host.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startApp();
});
afterAll(() => t.close());

const learnerSession = () => learnerSessionOf(t);

/** Opens the host channel, authenticates, and runs `code` once `ready` came. */
async function host(id: string, secret: string, code?: string): Promise<Host> {
  const h = await openHost(t, id, secret);
  if (code) runServerCode(code, h.link);
  return h;
}

const ECHO = `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 8080 });
wss.on('connection', (ws, req) => {
  console.log('connexion', req.url);
  ws.on('message', (data, isBinary) => ws.send(isBinary ? data : 'écho : ' + data, { binary: isBinary }));
});
`;

describe('learner server (host channel + ws façade)', () => {
  it('echoes through the learner code, and the monitor shows the real frames', async () => {
    const { id, secret } = await learnerSession();
    const monitor = await Monitor.open(t, id);
    const h = await host(id, secret, ECHO);
    const client = await openWs(`${t.ws}/s/${id}/chat?x=1`);
    client.send('bonjour');
    expect((await nextMessage(client)).data.toString()).toBe('écho : bonjour');
    client.send(Buffer.from([1, 2, 3]));
    const bin = await nextMessage(client);
    expect(bin.isBinary).toBe(true);
    expect([...bin.data]).toEqual([1, 2, 3]);
    await monitor.waitFor((e) => e.type === 'frame' && e.from === 'server' && e.text === 'écho : bonjour');
    expect(h.logs).toContain('log: connexion /chat?x=1');
    client.close();
    monitor.close();
    h.ws.close();
  });

  it('a 101 written by hand: the client checks its Accept, and the frames it sends next are read and shown', async () => {
    const { id, secret } = await learnerSession();
    const monitor = await Monitor.open(t, id);
    const h = await host(
      id,
      secret,
      `
const http = require('http');
async function accept(key) {
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'));
  return btoa(String.fromCharCode(...new Uint8Array(digest)));
}
const server = http.createServer();
server.on('upgrade', async (req, socket) => {
  const value = await accept(req.headers['sec-websocket-key']);
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nX-Poignee: faite-main\\r\\nSec-WebSocket-Accept: ' + value + '\\r\\n\\r\\n');
});
server.listen(8080);
`,
    );
    // ws (the client) checks Sec-WebSocket-Accept as a browser does: it opens only if it is right.
    const client = await openWs(`${t.ws}/s/${id}/poignee`);
    client.send('bonjour');
    // Nobody reads those bytes for the server code, yet the monitor decodes them.
    await monitor.waitFor((e) => e.type === 'frame' && e.from === 'client' && e.text === 'bonjour');
    expect(monitor.events.some((e) => e.type === 'http' && e.from === 'server' && e.head.includes('X-Poignee: faite-main'))).toBe(true);
    client.terminate();
    monitor.close();
    h.ws.close();
  });

  it('refuses clients with 503 and a French message while no host runs', async () => {
    const { id } = await learnerSession();
    const { received } = await rawUpgrade(t.port, `/s/${id}/chat`);
    const answer = (await receivedUntil(received, (b) => b.includes('\r\n\r\n') && b.toString().includes('Exécuter'), '503')).toString();
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toContain('Le serveur de la leçon n’est pas lancé');
  });

  it('authenticates the host with the secret, and only one host at a time', async () => {
    const { id, secret } = await learnerSession();
    const wrong = await openWs(`${t.ws}/api/sessions/${id}/host`);
    wrong.send(JSON.stringify({ t: 'auth', secret: 'A'.repeat(32) }));
    expect((await closed(wrong)).code).toBe(HOST_AUTH_FAILED);
    const silent = await openWs(`${t.ws}/api/sessions/${id}/host`);
    silent.send(JSON.stringify({ t: 'send', c: 1, binary: false, data: 'x' }));
    expect((await closed(silent)).code).toBe(HOST_AUTH_FAILED);
    const h = await host(id, secret);
    const second = await openWs(`${t.ws}/api/sessions/${id}/host`);
    second.send(JSON.stringify({ t: 'auth', secret }));
    expect((await closed(second)).code).toBe(HOST_TAKEN);
    h.ws.close();
  });

  it('bounds the channels waiting for their secret: a stranger holding them cannot keep the page out', async () => {
    const { id, secret } = await learnerSession();
    const strangers = await Promise.all(Array.from({ length: MAX_WAITING_HOSTS + 2 }, () => openWs(`${t.ws}/api/sessions/${id}/host`)));
    // The oldest two were ended to make room: they never sent anything.
    for (const ws of strangers.slice(0, 2)) await closed(ws).catch(() => {});
    expect(strangers.map((ws) => ws.readyState)).toEqual([
      ...Array(2).fill(WebSocket.CLOSED),
      ...Array(MAX_WAITING_HOSTS).fill(WebSocket.OPEN),
    ]);
    const h = await host(id, secret, ECHO);
    const client = await openWs(`${t.ws}/s/${id}/`);
    client.send('toujours là');
    expect((await nextMessage(client)).data.toString()).toBe('écho : toujours là');
    for (const ws of strangers) ws.terminate();
    client.close();
    h.ws.close();
  });

  it('closes the learner connections with 1012 when the host leaves', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(id, secret, ECHO);
    const client = await openWs(`${t.ws}/s/${id}/`);
    const gone = closed(client);
    h.ws.terminate();
    expect((await gone).code).toBe(HOST_GONE_CLOSE_CODE);
  });

  it('answers a malformed command with an error, not a crash', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(id, secret);
    h.ws.send('{"t":"send"');
    h.ws.send(JSON.stringify({ t: 'send', c: 99, binary: false, data: 'x' }));
    h.ws.send(JSON.stringify({ t: 'close', c: 1, code: 1005 }));
    h.ws.send(JSON.stringify({ t: 'launch', c: 1 }));
    await within(
      (async () => {
        while (h.received.filter((m) => m.t === 'error').length < 4) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      'four errors',
    );
    const ids = h.received.flatMap((m) => (m.t === 'error' ? [m.id] : []));
    expect(ids).toEqual(['HOST_ERR_BAD_JSON', 'HOST_ERR_UNKNOWN_CONNECTION', 'HOST_ERR_BAD_CLOSE_CODE', 'HOST_ERR_UNKNOWN_COMMAND']);
    expect(h.logs.filter((l) => l.startsWith('error: [bac à sable]'))).toHaveLength(4);
    h.ws.close();
  });

  it('runs verifyClient (Origin check), path and handleProtocols as ws does', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const http = require('http');
      const WebSocket = require('ws');
      const server = http.createServer();
      const wss = new WebSocket.Server({
        server,
        path: '/chat',
        verifyClient: ({ origin }) => origin === 'https://ecole.example',
        handleProtocols: (protocols) => (protocols.has('v2') ? 'v2' : false),
      });
      wss.on('connection', (ws) => ws.send('protocole=' + ws.protocol + ' clients=' + wss.clients.size));
      server.listen(3000);
      `,
    );
    const bad = new WebSocket(`${t.ws}/s/${id}/chat`, { origin: 'https://pirate.example' });
    const badStatus = await within(
      new Promise<number>((r) => bad.once('unexpected-response', (_q, res) => r(res.statusCode ?? 0))),
      5000,
      '401',
    );
    expect(badStatus).toBe(401);
    const elsewhere = new WebSocket(`${t.ws}/s/${id}/autre`, { origin: 'https://ecole.example' });
    expect(
      await within(new Promise<number>((r) => elsewhere.once('unexpected-response', (_q, res) => r(res.statusCode ?? 0))), 5000, '400'),
    ).toBe(400);
    let first = '';
    const good = await openWs(`${t.ws}/s/${id}/chat`, ['v1', 'v2'], { origin: 'https://ecole.example' }, (data) => {
      first ||= data.toString();
    });
    expect(good.protocol).toBe('v2');
    await within(
      (async () => {
        while (!first) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      'greeting',
    );
    expect(first).toBe('protocole=v2 clients=1');
    good.close();
    h.ws.close();
  });

  it("applies the server code's maxPayload on the real ws server: a bigger message gets ws's 1009, unseen by the code", async () => {
    const { id, secret } = await learnerSession();
    const monitor = await Monitor.open(t, id);
    const h = await host(
      id,
      secret,
      `
      const { WebSocketServer } = require('ws');
      const wss = new WebSocketServer({ port: 8080, maxPayload: 1024 });
      wss.on('connection', (ws) => {
        ws.on('message', (data) => ws.send('reçu ' + data.length));
        ws.on('error', (err) => console.log('erreur', err instanceof RangeError, err.code, err.message));
        ws.on('close', (code) => console.log('fermé', code));
      });
      `,
    );
    const client = await openWs(`${t.ws}/s/${id}/`);
    client.send('x'.repeat(1024));
    expect((await nextMessage(client)).data.toString()).toBe('reçu 1024');
    const done = closed(client);
    client.send('x'.repeat(1025));
    expect((await done).code).toBe(1009);
    // The close frame is the real library's, and the limit event names the server code's limit.
    await monitor.waitFor((e) => e.type === 'frame' && e.from === 'server' && e.opcode === 8 && e.code === 1009);
    const limit = await monitor.waitFor((e) => e.type === 'limit');
    expect(limit.type === 'limit' && limit.message).toContain('1024');
    // ws stops reading after the error, so it never reads the client's close frame: 1006 for the code.
    await until(() => h.logs.includes('log: fermé 1006'), 'close seen by the server code');
    // ws's 'error' came first, as ws emits it: a RangeError with its code.
    expect(h.logs.filter((l) => /^log: (erreur|fermé)/.test(l))).toEqual([
      'log: erreur true WS_ERR_UNSUPPORTED_MESSAGE_LENGTH Max payload size exceeded',
      'log: fermé 1006',
    ]);
    expect(h.logs.filter((l) => l.startsWith('log: reçu'))).toEqual([]);
    expect(h.received.filter((m) => m.t === 'message')).toHaveLength(1);
    monitor.close();
    h.ws.close();
  });

  it("never lets the server code's maxPayload raise the sandbox's own limit (ws's default, 100 MiB, and 0 alike)", async () => {
    const small = await startApp({ maxPayload: 2000 });
    try {
      for (const option of ['', 'maxPayload: 0,', 'maxPayload: 1e6,']) {
        const { id, secret } = await learnerSessionOf(small);
        const h = await openHost(small, id, secret);
        runServerCode(
          `
          const { WebSocketServer } = require('ws');
          new WebSocketServer({ port: 8080, ${option} }).on('connection', (ws) => {
            ws.on('message', (data) => ws.send('reçu ' + data.length));
          });
          `,
          h.link,
        );
        const client = await openWs(`${small.ws}/s/${id}/`);
        client.send('x'.repeat(2000));
        expect((await nextMessage(client)).data.toString(), option).toBe('reçu 2000');
        const done = closed(client);
        client.send('x'.repeat(2001));
        expect((await done).code, option).toBe(1009);
        // No 'error' listener: Node would stop; the sandbox says so in the server console.
        await until(() => h.logs.some((l) => l.startsWith('error: [bac à sable] Évènement') && l.includes('sans écouteur')), 'warning');
        h.ws.close();
      }
    } finally {
      await small.close();
    }
  });

  it('relays close codes and reasons both ways', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const { WebSocketServer } = require('ws');
      new WebSocketServer({ port: 1 }).on('connection', (ws) => {
        ws.on('message', (m) => ws.close(4000, 'fin : ' + m));
        ws.on('close', (code, reason) => console.log('fermé', code, reason.toString()));
      });
      `,
    );
    const client = await openWs(`${t.ws}/s/${id}/`);
    const done = closed(client);
    client.send('stop');
    expect(await done).toEqual({ code: 4000, reason: 'fin : stop' });
    await within(
      (async () => {
        while (!h.logs.some((l) => l.startsWith('log: fermé'))) await new Promise((r) => setTimeout(r, 10));
      })(),
      5000,
      'close seen by the server code',
    );
    expect(h.logs).toContain('log: fermé 4000 fin : stop');
    h.ws.close();
  });

  it('batches the host channel both ways: one frame per tick, each command checked as if alone', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(id, secret);
    // What the façade writes on the channel, frame by frame.
    const framesOut: string[] = [];
    const send = h.ws.send.bind(h.ws);
    h.ws.send = ((text: string) => {
      framesOut.push(text);
      send(text);
    }) as typeof h.ws.send;
    const framesIn: unknown[][] = [];
    h.ws.on('message', (data) => framesIn.push(hostFrameMessages(data.toString())));
    runServerCode(
      `
      const { WebSocketServer } = require('ws');
      new WebSocketServer({ port: 1 }).on('connection', (ws) => {
        ws.on('message', (m) => { for (let i = 1; i <= 5; i++) ws.send(m + i); });
      });
      `,
      h.link,
    );
    const client = await openWs(`${t.ws}/s/${id}/`);
    const got: string[] = [];
    client.on('message', (d) => got.push(d.toString()));
    // Page → sandbox: the five sends of one run of the server code leave in one frame.
    framesOut.length = 0;
    client.send('a');
    await until(() => got.length === 5, 'five replies');
    expect(got).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    const sends = framesOut.filter((f) => f.includes('"t":"send"'));
    expect(sends).toHaveLength(1);
    expect(hostFrameMessages(sends[0] as string)).toHaveLength(5);
    // Sandbox → page: messages that arrive together leave in one frame, in order.
    const socket = (client as unknown as { _socket: import('node:net').Socket })._socket;
    socket.cork();
    for (const m of ['b', 'c', 'd']) client.send(m);
    socket.uncork();
    await until(() => got.length === 20, 'fifteen more replies');
    expect(got.slice(5)).toEqual(['b1', 'b2', 'b3', 'b4', 'b5', 'c1', 'c2', 'c3', 'c4', 'c5', 'd1', 'd2', 'd3', 'd4', 'd5']);
    const withMessages = framesIn.filter((f) => f.some((m) => (m as { t: string }).t === 'message'));
    const last = withMessages[withMessages.length - 1] as { t: string; data?: string }[];
    expect(last.map((m) => m.data)).toEqual(['b', 'c', 'd']);

    // A hand-made batch: executed in order, a bad command refused alone, the others run.
    const c = (h.received.find((m) => m.t === 'upgrade') as { c: number }).c;
    const errorsBefore = h.received.filter((m) => m.t === 'error').length;
    h.ws.send(
      JSON.stringify([{ t: 'send', c, binary: false, data: 'x1' }, { t: 'launch', c }, [1], { t: 'send', c, binary: false, data: 'x2' }]),
    );
    await until(() => got.length === 22, 'the batch’s two sends');
    expect(got.slice(20)).toEqual(['x1', 'x2']);
    await until(() => h.received.filter((m) => m.t === 'error').length === errorsBefore + 2, 'two refusals');
    expect(h.received.flatMap((m) => (m.t === 'error' ? [m.id] : [])).slice(-2)).toEqual(['HOST_ERR_UNKNOWN_COMMAND', 'HOST_ERR_BAD_JSON']);
    // Over the batch bound: refused whole, nothing sent.
    h.ws.send(JSON.stringify(Array.from({ length: HOST_BATCH_MAX_COMMANDS + 1 }, () => ({ t: 'send', c, binary: false, data: 'y' }))));
    await until(() => h.received.filter((m) => m.t === 'error').length === errorsBefore + 3, 'the batch refused');
    expect(h.received.flatMap((m) => (m.t === 'error' ? [m.id] : [])).at(-1)).toBe('HOST_ERR_TOO_BIG');
    // The command rate counts commands, not frames: a batch cannot pass more than the rate allows.
    // (Default limits: 2 × 50 commands per second, bursts of 2 × 100; 28 were taken above.)
    h.ws.send(JSON.stringify(Array.from({ length: 250 }, (_, i) => ({ t: 'send', c, binary: false, data: `z${i}` }))));
    await until(() => h.received.filter((m) => m.t === 'error' && m.id === 'HOST_ERR_RATE').length >= 50, 'rate refusals');
    await new Promise((r) => setTimeout(r, 200));
    const zs = got.filter((m) => m.startsWith('z'));
    expect(zs.length).toBeLessThanOrEqual(200);
    expect(zs.length).toBeGreaterThan(100);
    // In order (the bucket may refill a token while the batch runs: a later one can pass after a refusal).
    const order = zs.map((z) => Number(z.slice(1)));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order.slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(got).not.toContain('y');
    client.close();
    h.ws.close();
  });

  it('relays a text whose JSON is much longer than its bytes (quotes, control characters), refuses one past any frame, without closing the host channel', async () => {
    const { id, secret } = await learnerSession();
    const h = await host(
      id,
      secret,
      `
      const { WebSocketServer } = require('ws');
      new WebSocketServer({ port: 1 }).on('connection', (ws) => {
        ws.on('message', (m) => {
          if (m.toString() === 'huge') ws.send('x'.repeat(1000000));
          ws.send(m.toString() === 'q' ? '"'.repeat(60000) : '\\u0001'.repeat(60000));
        });
      });
      `,
    );
    const client = await openWs(`${t.ws}/s/${id}/`);
    client.send('q');
    const quotes = await nextMessage(client);
    expect(quotes.data.toString()).toBe('"'.repeat(60000));
    client.send('c');
    const controls = await nextMessage(client);
    expect(controls.data.toString()).toBe('\u0001'.repeat(60000));
    // 1 MB: past any host frame (the sandbox would close the channel): refused by the façade, in
    // the server console; the next send goes out.
    client.send('huge');
    const after = await nextMessage(client);
    expect(after.data.toString()).toBe('\u0001'.repeat(60000));
    expect(h.logs.filter((l) => l.includes('n’est pas envoyé'))).toEqual([
      expect.stringMatching(
        /^error: \[bac à sable\] Charge utile trop grande \(1[\s\u202f]000[\s\u202f]0\d\d\u00a0octets une fois encodé\)\u00a0: au plus 65[\s\u202f]536\u00a0octets\. Le message n’est pas envoyé\.$/,
      ),
    ]);
    expect(h.ws.readyState).toBe(WebSocket.OPEN);
    client.close();
    h.ws.close();
  });
});
