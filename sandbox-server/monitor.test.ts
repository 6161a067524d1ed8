// SessionMonitor alone, with fake sockets: growth of the ring, trimming after delivery (replay
// window), overflow for an absent monitor, and the opt-in batched mode.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BATCH_BYTES, SessionMonitor } from './monitor.ts';

class FakeWs extends EventEmitter {
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  /** Every event received, batches unpacked. */
  events(): any[] {
    return this.sent.flatMap((s) => {
      const v = JSON.parse(s);
      return Array.isArray(v) ? v : [v];
    });
  }
}

const tick = () => new Promise((r) => setImmediate(r));
const hello = { session: 'x', endpoints: { http: 'h', ws: 'w', socketIoPath: 's' }, scenarios: [] };
const info = (i: number) => ({ type: 'info' as const, message: `m${i}` });

describe('SessionMonitor', () => {
  it('keeps everything for an absent monitor (up to the backlog), then replays it in order', async () => {
    const m = new SessionMonitor({ backlog: 1000, highWater: 1 << 20 });
    for (let i = 0; i < 300; i++) m.emit(info(i), 1);
    expect(m.kept).toBe(300);
    const ws = new FakeWs();
    m.subscribe(ws, hello);
    await tick();
    const events = ws.events();
    expect(events[0]).toMatchObject({ seq: 1, type: 'hello' });
    expect(events.slice(1).map((e) => e.message)).toEqual(Array.from({ length: 300 }, (_, i) => `m${i}`));
    expect(events.slice(1).map((e) => e.seq)).toEqual(Array.from({ length: 300 }, (_, i) => i + 2));
    expect(ws.sent.length).toBe(301); // one event per message by default
  });

  it('frees delivered events beyond the replay window; a later monitor gets dropped + the window', async () => {
    const m = new SessionMonitor({ backlog: 1000, highWater: 1 << 20, replay: 10 });
    const a = new FakeWs();
    m.subscribe(a as unknown as WebSocket, hello);
    for (let i = 0; i < 50; i++) m.emit(info(i), 1);
    await tick();
    expect(a.events().length).toBe(51);
    expect(m.kept).toBe(10);
    const b = new FakeWs();
    m.subscribe(b as unknown as WebSocket, hello);
    await tick();
    const ev = b.events();
    expect(ev[1]).toMatchObject({ type: 'dropped', seq: 41, count: 40 });
    expect(ev.slice(2).map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 42));
  });

  it('keeps what a slow monitor has not received yet', async () => {
    const m = new SessionMonitor({ backlog: 1000, highWater: 100, replay: 0 });
    const slow = new FakeWs();
    m.subscribe(slow as unknown as WebSocket, hello);
    slow.bufferedAmount = 1000;
    for (let i = 0; i < 20; i++) m.emit(info(i), 1);
    await tick();
    expect(m.kept).toBe(20);
    slow.bufferedAmount = 0;
    await new Promise((r) => setTimeout(r, 50));
    expect(slow.events().length).toBe(21);
    expect(m.kept).toBe(0);
    m.end('shutdown');
  });

  it('overflow of an absent monitor: one limit callback, dropped on connect', async () => {
    let overflows = 0;
    const m = new SessionMonitor({ backlog: 5, highWater: 1 << 20, onOverflow: () => overflows++ });
    for (let i = 0; i < 12; i++) m.emit(info(i), 1);
    await tick();
    expect(overflows).toBe(1);
    const ws = new FakeWs();
    m.subscribe(ws, hello, { batch: true });
    await tick();
    const ev = ws.events();
    expect(ev.map((e) => e.type)).toEqual(['hello', 'dropped', 'info', 'info', 'info', 'info', 'info']);
    expect(ev[1]).toMatchObject({ seq: 8, count: 7 });
    expect(ev[2].seq).toBe(9);
  });

  it('batched mode (opt-in): JSON arrays, hello included, split at BATCH_BYTES', async () => {
    const m = new SessionMonitor({ backlog: 5000, highWater: 1 << 30 });
    const ws = new FakeWs();
    m.subscribe(ws, hello, { batch: true });
    await tick();
    for (let i = 0; i < 3; i++) m.emit(info(i), 1);
    await tick();
    expect(ws.sent.length).toBe(2);
    expect(JSON.parse(ws.sent[0])).toEqual([expect.objectContaining({ type: 'hello', seq: 1 })]);
    expect(JSON.parse(ws.sent[1]).map((e: any) => e.seq)).toEqual([2, 3, 4]);
    const big = 'x'.repeat(1000);
    for (let i = 0; i < 200; i++) m.emit({ type: 'info', message: big }, 1);
    await tick();
    const batches = ws.sent.slice(2);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(b.length).toBeLessThan(BATCH_BYTES + 2000);
    expect(ws.events().map((e) => e.seq)).toEqual(Array.from({ length: 204 }, (_, i) => i + 1));
  });

  it('event fields keep seq and t first and are not copied from the input', async () => {
    const m = new SessionMonitor({ backlog: 10, highWater: 1 << 20 });
    const ev = { type: 'info' as const, message: 'a' };
    m.emit(ev, 42);
    expect(ev).toEqual({ type: 'info', message: 'a' });
    const ws = new FakeWs();
    m.subscribe(ws, hello);
    await tick();
    expect(ws.sent[1]).toBe('{"seq":2,"t":42,"type":"info","message":"a"}');
  });
});

describe('SessionMonitor on a real monitor socket', () => {
  it('frames written together are read as one event per message (7-, 16- and 64-bit lengths, UTF-8)', async () => {
    const { createServer } = await import('node:http');
    const { WebSocket: Client } = await import('ws');
    const { acceptMonitor, MonitorSocket } = await import('./monitor-socket.ts');
    const server = createServer();
    const m = new SessionMonitor({ backlog: 1000, highWater: 1 << 20 });
    const sizes = [1, 100, 125, 126, 1000, 65_535, 65_536, 70_000];
    server.on('upgrade', (req, socket, head) => {
      const monitor = acceptMonitor(req, socket, head, () => {});
      if (!(monitor instanceof MonitorSocket)) throw new Error('refused');
      m.subscribe(monitor, hello);
      for (const n of sizes) m.emit({ type: 'info', message: 'é'.repeat(n >> 1) + 'x'.repeat(n & 1) }, 1);
    });
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const client = new Client(`ws://127.0.0.1:${(server.address() as { port: number }).port}`);
    const got: any[] = [];
    await new Promise<void>((resolve, reject) => {
      client.on('message', (d, isBinary) => {
        expect(isBinary).toBe(false);
        got.push(JSON.parse(d.toString()));
        if (got.length === sizes.length + 1) resolve();
      });
      client.on('error', reject);
    });
    expect(got.map((e) => e.seq)).toEqual(Array.from({ length: sizes.length + 1 }, (_, i) => i + 1));
    expect(got.slice(1).map((e) => e.message.length)).toEqual(sizes.map((n) => (n >> 1) + (n & 1)));
    m.end('shutdown');
    const [code] = await new Promise<[number, Buffer]>((r) => client.once('close', (c, reason) => r([c, reason])));
    expect(code).toBe(1001);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
});
