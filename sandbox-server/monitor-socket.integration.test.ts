// The monitor's own WebSocket end on real sockets: handshake, control frames, closing, violations.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { acceptMonitor, MonitorSocket } from './monitor-socket.ts';
import { refuseUpgrade } from './scenarios/common.ts';
import { RFC_ACCEPT, rawConnection, receivedUntil, sleep, upgradeRequest, within } from './test-helpers.ts';

let server: Server | null = null;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = null;
});

/** A server whose upgrades become MonitorSockets; `opened` gets each one, `closed` each closed one. */
async function start(): Promise<{ port: number; opened: MonitorSocket[]; closed: MonitorSocket[] }> {
  const opened: MonitorSocket[] = [];
  const closed: MonitorSocket[] = [];
  server = createServer();
  server.on('upgrade', (req, socket, head) => {
    const m = acceptMonitor(req, socket, head, (c) => closed.push(c));
    if (m instanceof MonitorSocket) opened.push(m);
    else refuseUpgrade(socket, m.status, m.message, m.headers);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server?.once('listening', r));
  return { port: (server.address() as { port: number }).port, opened, closed };
}

function open(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  return within(new Promise((resolve, reject) => (ws.once('open', () => resolve(ws)), ws.once('error', reject))), 5000, 'open');
}

/** A raw TCP client after a valid handshake, with everything it receives after the 101. */
async function rawClient(port: number): Promise<{ socket: Socket; received: () => Buffer }> {
  const { socket, received: all } = await rawConnection(port);
  socket.write(upgradeRequest('/'));
  await receivedUntil(all, (b) => b.includes('\r\n\r\n'), '101');
  const headEnd = all().indexOf('\r\n\r\n') + 4;
  expect(all().subarray(0, headEnd).toString()).toContain(`Sec-WebSocket-Accept: ${RFC_ACCEPT}`);
  return { socket, received: () => all().subarray(headEnd) };
}

const masked = (b0: number, payload: Buffer, mask = Buffer.from([1, 2, 3, 4])) =>
  Buffer.concat([Buffer.from([b0, 0x80 | payload.length]), mask, Buffer.from(payload.map((x, i) => x ^ mask[i & 3]))]);

describe('MonitorSocket', () => {
  it('answers the RFC 6455 handshake and sends text frames the ws client reads', async () => {
    const { port, opened } = await start();
    const ws = await open(port);
    const got = within(new Promise<string>((r) => ws.once('message', (d) => r(d.toString()))), 5000, 'message');
    opened[0].send('{"é":1}');
    expect(await got).toBe('{"é":1}');
    ws.terminate();
  });

  it('refuses a request that is not a version 13 WebSocket handshake with 400', async () => {
    const { port } = await start();
    const res = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () => s.write(upgradeRequest('/').replace('Version: 13', 'Version: 8')));
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('close', () => resolve(text));
    });
    expect(res).toMatch(/^HTTP\/1.1 400/);
    expect(res).toContain('Sec-WebSocket-Version: 13');
  });

  it('answers a ping with a pong carrying the same payload', async () => {
    const { port } = await start();
    const ws = await open(port);
    const pong = within(new Promise<Buffer>((r) => ws.once('pong', r)), 5000, 'pong');
    ws.ping('abc');
    expect((await pong).toString()).toBe('abc');
    ws.terminate();
  });

  it('a client close is echoed with its code, then the connection closes', async () => {
    const { port, closed } = await start();
    const ws = await open(port);
    const done = within(new Promise<number>((r) => ws.once('close', (code) => r(code))), 5000, 'close');
    ws.close(4001, 'fini');
    expect(await done).toBe(4001);
    await within(
      (async () => {
        while (closed.length === 0) await sleep(5);
      })(),
      5000,
      'server side closed',
    );
    expect(closed[0].readyState).toBe(3);
  });

  it('close(code, reason) from the server reaches the client', async () => {
    const { port, opened } = await start();
    const ws = await open(port);
    const done = within(
      new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, reason.toString()]))),
      5000,
      'close',
    );
    opened[0].close(1001, 'Arrêt du serveur');
    expect(await done).toEqual([1001, 'Arrêt du serveur']);
  });

  it('frames split across TCP chunks are put back together', async () => {
    const { port } = await start();
    const { socket, received } = await rawClient(port);
    const ping = masked(0x89, Buffer.from('coupé'));
    for (const byte of ping) {
      socket.write(Buffer.from([byte]));
      await sleep(2);
    }
    await within(
      (async () => {
        while (received().length < 2 + 6) await sleep(5);
      })(),
      5000,
      'pong',
    );
    expect(received()[0]).toBe(0x8a);
    expect(
      received()
        .subarray(2, 2 + received()[1])
        .toString(),
    ).toBe('coupé');
    socket.destroy();
  });

  it('an unmasked frame closes with 1002, a message (a monitor takes none) with 1003', async () => {
    const { port } = await start();
    for (const [bytes, code] of [
      [Buffer.from([0x81, 0x02, 0x68, 0x69]), 1002],
      [masked(0x81, Buffer.from('salut')), 1003],
      [Buffer.concat([Buffer.from([0x82, 0xfe, 0x00, 0xc8, 0, 0, 0, 0]), Buffer.alloc(200)]), 1003],
      [Buffer.from([0x09, 0x80, 1, 2, 3, 4]), 1002], // a ping without FIN: control frames are never fragmented
    ] as const) {
      const { socket, received } = await rawClient(port);
      socket.write(bytes);
      await within(
        (async () => {
          while (received().length < 4) await sleep(5);
        })(),
        5000,
        'close frame',
      );
      expect(received()[0]).toBe(0x88);
      expect(received().readUInt16BE(2)).toBe(code);
      await within(new Promise((r) => (socket.destroyed ? r(null) : socket.once('close', r))), 5000, 'TCP close');
    }
  });

  it('a client FIN (half-close) ends the monitor: nothing more is written, the socket closes', async () => {
    const { port, opened, closed } = await start();
    const { socket } = await rawClient(port);
    socket.end();
    await within(
      (async () => {
        while (closed.length === 0) await sleep(5);
      })(),
      5000,
      'closed',
    );
    expect(opened[0].readyState).toBe(3);
    opened[0].send('trop tard'); // ignored, no write after the end
  });
});
