import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { request } from 'node:http';
import { Server } from 'socket.io';
import { io } from 'socket.io-client';
import { ConnectionDecoder, parseDeflate } from './connection-decoder.ts';
import { FrameDecoder } from './frame-decoder.ts';
import { HEAD_LIMIT } from './http-head.ts';
import { messageOfFrame } from '#protocol';
import type { MonitorEvent } from '#protocol';
import type { DecodedEvent } from './connection-decoder.ts';
import { tappedServer } from './tap-harness.ts';
import { concatAll, cutsArb, feed, UPGRADE_REQ, UPGRADE_RES } from './test-util.ts';
import { Sender } from './test-util.ts';

const enc = (s: string) => Uint8Array.from(Buffer.from(s));
const frame = (data: string | Uint8Array, mask: boolean, opcode = 1) =>
  concatAll(Sender.frame(Buffer.from(data), { fin: true, opcode, mask, readOnly: false, rsv1: false }));

const summary = (events: DecodedEvent[]) =>
  events.map(
    (e) =>
      `${e.from ?? '-'}:${e.type}${e.type === 'frame' ? `:${e.opcodeName}${e.wholeMessage ? '=message' : ''}` : e.type === 'message' ? `:${e.text ?? e.data}` : e.type === 'http' ? `:${e.head.split('\r\n')[0]}` : ''}`,
  );

describe('ConnectionDecoder on hand-made traffic', () => {
  const client = concatAll([enc(UPGRADE_REQ), frame('bonjour', true), frame('', true, 0x9)]);
  const server = concatAll([
    enc(UPGRADE_RES),
    frame('bonjour', false),
    frame('', false, 0xa),
    frame(Uint8Array.of(0x03, 0xe8), false, 0x8),
  ]);
  const expected = [
    'client:http:GET /s/x/echo HTTP/1.1',
    'server:http:HTTP/1.1 101 Switching Protocols',
    'client:frame:text=message',
    'client:frame:ping',
    'server:frame:text=message',
    'server:frame:pong',
    'server:frame:close',
  ];

  it('switches each direction to frames at the right byte', () => {
    const d = new ConnectionDecoder();
    const events = [
      ...d.push('client', enc(UPGRADE_REQ)),
      ...d.push('server', server),
      ...d.push('client', client.subarray(UPGRADE_REQ.length)),
    ];
    expect(summary(events)).toEqual([expected[0], expected[1], ...expected.slice(4), ...expected.slice(2, 4)]);
  });

  it('property: any chunking gives the same events', () => {
    fc.assert(
      fc.property(cutsArb, cutsArb, (cc, sc) => {
        const d = new ConnectionDecoder();
        // The request is complete before the server answers, as on a real connection.
        const events = [
          ...feed((c) => d.push('client', c), enc(UPGRADE_REQ), cc),
          ...feed((c) => d.push('server', c), server, sc),
          ...feed((c) => d.push('client', c), client.subarray(UPGRADE_REQ.length), cc),
        ];
        expect(summary(events)).toEqual([expected[0], expected[1], ...expected.slice(4), ...expected.slice(2, 4)]);
      }),
      { numRuns: 200 },
    );
  });

  it('client frames sent before the 101 is seen are decoded once it arrives', () => {
    const d = new ConnectionDecoder();
    const early = d.push('client', client);
    expect(summary(early)).toEqual([expected[0]]);
    expect(summary(d.push('server', server))).toEqual([expected[1], ...expected.slice(2, 4), ...expected.slice(4)]);
  });

  it('a client that sends over 16 KiB before the 101: HANDSHAKE_ERR_EARLY_DATA, its direction stops', () => {
    const d = new ConnectionDecoder();
    d.push('client', enc(UPGRADE_REQ));
    expect(d.push('client', new Uint8Array(HEAD_LIMIT))).toEqual([]);
    expect(d.push('client', new Uint8Array(1))).toEqual([
      { type: 'violation', id: 'HANDSHAKE_ERR_EARLY_DATA', code: 1002, message: expect.any(String), from: 'client' },
    ]);
    expect(d.push('client', frame('x', true))).toEqual([]);
  });

  it('a refused upgrade leaves the client speaking HTTP', () => {
    const d = new ConnectionDecoder();
    d.push('client', enc(UPGRADE_REQ));
    const refused = d.push('server', enc('HTTP/1.1 426 Upgrade Required\r\nContent-Length: 3\r\n\r\nnon'));
    expect(refused).toMatchObject([{ type: 'http', body: 'non' }]);
    expect(summary(d.push('client', enc('GET /again HTTP/1.1\r\n\r\n')))).toEqual(['client:http:GET /again HTTP/1.1']);
  });

  it('pairs pipelined responses with their requests (HEAD has no body)', () => {
    const d = new ConnectionDecoder();
    d.push('client', enc('HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n'));
    const events = d.push('server', enc('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    expect(events).toHaveLength(2);
    expect(events[0]).not.toHaveProperty('body');
    expect(events[1]).toMatchObject({ from: 'server', body: 'ok' });
  });

  it('a WebSocket violation stops that direction only', () => {
    const d = new ConnectionDecoder();
    d.push('client', enc(UPGRADE_REQ));
    d.push('server', enc(UPGRADE_RES));
    // The unmasked frame itself, marked as the violating one, then the violation.
    expect(d.push('client', frame('x', false))).toMatchObject([
      { type: 'frame', from: 'client', masked: false, payload: '78', text: 'x', violating: true },
      { type: 'violation', from: 'client', id: 'WS_ERR_UNMASKED_CLIENT_FRAME', code: 1002 },
    ]);
    expect(d.push('client', frame('x', true))).toEqual([]);
    expect(summary(d.push('server', frame('encore', false)))).toEqual(['server:frame:text=message']);
  });

  it('an HTTP error on one direction does not stop the other', () => {
    const d = new ConnectionDecoder();
    d.push('client', enc('GET / HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n'));
    expect(d.push('server', enc('HTTP/1.1 nope\r\n\r\n'))).toMatchObject([
      { type: 'violation', from: 'server', id: 'HTTP_ERR_STATUS_LINE', code: 1002 },
    ]);
    expect(summary(d.push('client', enc('GET /3 HTTP/1.1\r\n\r\n')))).toEqual(['client:http:GET /3 HTTP/1.1']);
  });

  it('property: the frames marked wholeMessage stand for exactly the message items they replace', () => {
    const frames = fc.integer({ min: 1, max: 3 });
    const message = fc.oneof(
      fc.record({ binary: fc.constant(true), data: fc.uint8Array({ maxLength: 300 }), frames }),
      fc.record({ binary: fc.constant(false), data: fc.string({ unit: 'grapheme', maxLength: 100 }).map((t) => enc(t)), frames }),
    );
    fc.assert(
      fc.property(fc.array(message, { maxLength: 5 }), fc.integer({ min: 0, max: 300 }), cutsArb, (messages, captureLimit, cuts) => {
        const wire = concatAll(
          messages.flatMap(({ binary, data, frames }) => {
            const size = Math.ceil(data.length / frames);
            return Array.from({ length: frames }, (_, i) =>
              concatAll(
                Sender.frame(Buffer.from(data.subarray(i * size, (i + 1) * size)), {
                  fin: i === frames - 1,
                  opcode: i > 0 ? 0 : binary ? 2 : 1,
                  mask: false,
                  readOnly: false,
                  rsv1: false,
                }),
              ),
            );
          }),
        );
        // The frame decoder alone gives a message item after every message's last frame.
        const items = new FrameDecoder({ role: 'server', captureLimit }).push(wire);
        const expected = items.filter((i) => i.type === 'message').map((i) => ({ ...i, from: 'server', conn: 'c1' }));
        const d = new ConnectionDecoder({ captureLimit });
        d.push('client', enc(UPGRADE_REQ));
        d.push('server', enc(UPGRADE_RES));
        const events = feed((c) => d.push('server', c), wire, cuts).map((e, i) => ({ ...e, seq: i + 2, t: 5, conn: 'c1' }) as MonitorEvent);
        const rebuilt = events.flatMap((e) => {
          const m = e.type === 'message' ? e : e.type === 'frame' ? messageOfFrame(e) : null;
          return m ? [m] : [];
        });
        expect(rebuilt.map(({ seq, t, ...rest }) => rest)).toEqual(expected);
        // Only one-frame messages are folded; the others keep their `message` event.
        expect(events.filter((e) => e.type === 'message').length).toBe(messages.filter((m) => m.frames > 1).length);
        expect(events.filter((e) => e.type === 'frame' && e.wholeMessage).length).toBe(messages.filter((m) => m.frames === 1).length);
      }),
      { numRuns: 300 },
    );
  });

  it('negotiated permessage-deflate parameters', () => {
    expect(parseDeflate('permessage-deflate; server_no_context_takeover; client_max_window_bits=10')).toEqual({
      server: true,
      client: false,
    });
    expect(parseDeflate('x-other, permessage-deflate;client_no_context_takeover')).toEqual({ server: false, client: true });
    expect(parseDeflate('x-other')).toBeNull();
    expect(parseDeflate(undefined)).toBeNull();
  });

  it('never throws on random traffic', () => {
    const pieces = fc.oneof(
      fc.uint8Array({ maxLength: 60 }),
      fc.constantFrom(
        enc(UPGRADE_REQ),
        enc(UPGRADE_RES),
        frame('a', true),
        frame('b', false),
        enc('GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n\r\n'),
        enc('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n0{x}'),
      ),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), pieces), { maxLength: 12 }), (steps) => {
        const d = new ConnectionDecoder({ captureLimit: 16 });
        for (const [client, bytes] of steps) d.push(client ? 'client' : 'server', bytes);
      }),
      { numRuns: 500 },
    );
  });
});

describe('ConnectionDecoder on real traffic', () => {
  it('Socket.IO over polling then WebSocket, with binary attachments', async () => {
    const tap = await tappedServer();
    const ioServer = new Server(tap.server);
    ioServer.on('connection', (socket) => {
      socket.on('hello', (name: string, ack: (r: string) => void) => ack(`salut ${name}`));
      socket.on('photo', (_b: Buffer, ack: (r: Buffer) => void) => ack(Buffer.from([9, 8])));
    });
    const socket = io(`http://127.0.0.1:${tap.port}`, { transports: ['polling', 'websocket'], forceNew: true });
    const upgraded = new Promise<void>((resolve) => socket.io.on('open', () => socket.io.engine.once('upgrade', () => resolve())));
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    await upgraded;
    expect(await socket.emitWithAck('hello', 'Ada')).toBe('salut Ada');
    expect(Buffer.from(await socket.emitWithAck('photo', Buffer.from([1, 2, 3])))).toEqual(Buffer.from([9, 8]));
    socket.close();
    await new Promise((r) => setTimeout(r, 50));
    await tap.close();
    ioServer.close();

    const events = tap.connections.flatMap((log) => {
      const d = new ConnectionDecoder();
      return log.flatMap(([from, chunk]) => d.push(from, chunk));
    });
    expect(events.filter((e) => e.type === 'violation')).toEqual([]);
    const eio = events.filter((e) => e.type === 'eio');
    const open = eio.find((e) => e.packet === 'open');
    expect(open).toMatchObject({ transport: 'polling', from: 'server' });
    const sid = open?.type === 'eio' ? open.sid : undefined;
    expect(sid).toMatch(/^[\w-]+$/);
    expect(eio.some((e) => e.transport === 'polling' && e.from === 'client' && e.sio?.typeName === 'CONNECT')).toBe(true);
    expect(eio.filter((e) => e.transport === 'websocket').map((e) => e.sid)).toContain(sid);
    expect(eio.some((e) => e.transport === 'websocket' && e.packet === 'ping' && e.data === 'probe')).toBe(true);
    const hello = eio.find((e) => e.type === 'eio' && e.sio?.event === 'hello');
    expect(hello).toMatchObject({ from: 'client', transport: 'websocket', sid, sio: { type: 2, nsp: '/', data: ['hello', 'Ada'] } });
    expect(eio.find((e) => e.sio?.type === 3 && e.from === 'server')).toMatchObject({ sio: { id: hello?.sio?.id, data: ['salut Ada'] } });
    const photo = eio.findIndex((e) => e.sio?.event === 'photo');
    expect(eio[photo]).toMatchObject({ sio: { typeName: 'BINARY_EVENT', attachments: 1 } });
    expect(eio[photo + 1]).toMatchObject({ binary: true, data: '010203', attachment: { num: 0, of: 1 } });
    const ack = eio.findIndex((e) => e.sio?.typeName === 'BINARY_ACK');
    expect(eio[ack + 1]).toMatchObject({ from: 'server', binary: true, data: '0908', attachment: { num: 0, of: 1 } });
  });

  it('Server-Sent Events from a Node http server show up as http-body events', async () => {
    const tap = await tappedServer();
    tap.server.on('request', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write('data: un\n\n');
      setTimeout(() => res.end('data: deux €\n\n'), 20);
    });
    const text = await new Promise<string>((resolve) => {
      request({ port: tap.port, host: '127.0.0.1', path: '/sse' }, (res) => {
        let all = '';
        res
          .setEncoding('utf8')
          .on('data', (d: string) => (all += d))
          .on('end', () => resolve(all));
      }).end();
    });
    expect(text).toBe('data: un\n\ndata: deux €\n\n');
    await tap.close();
    const d = new ConnectionDecoder();
    const events = tap.connections[0].flatMap(([from, chunk]) => d.push(from, chunk));
    const bodies = events.filter((e) => e.type === 'http-body');
    expect(bodies.map((b) => (b.type === 'http-body' ? b.text : '')).join('')).toBe(text);
    expect(bodies.length).toBeGreaterThanOrEqual(2);
    const head = events.find((e) => e.type === 'http' && e.from === 'server');
    expect(head).not.toHaveProperty('body');
  });
});
