// SessionMonitor alone, with fake sockets: growth of the ring, trimming after delivery (replay
// window), overflow for an absent monitor, and the opt-in batched mode.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { BacklogBudget, BATCH_BYTES, fitText, SessionMonitor, UNWATCHED_EVENT_CHARS } from './monitor.ts';

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

describe('SessionMonitor: memory bounded in bytes', () => {
  const big = (i: number, n = 1000) => ({ type: 'info' as const, message: `${i}:${'x'.repeat(n)}` });

  it('a session backlog keeps at most backlogChars characters; the oldest leave first', async () => {
    let overflows = 0;
    const m = new SessionMonitor({ backlog: 5000, backlogChars: 10_000, highWater: 1 << 20, onOverflow: () => overflows++ });
    for (let i = 0; i < 100; i++) m.emit(big(i), 1);
    expect(m.keptChars).toBeLessThanOrEqual(10_000);
    expect(m.keptChars).toBeGreaterThan(8_000);
    await tick();
    expect(overflows).toBe(1);
    const ws = new FakeWs();
    m.subscribe(ws, hello);
    await tick();
    const ev = ws.events();
    expect(ev[1].type).toBe('dropped');
    expect(ev.at(-1).message.startsWith('99:')).toBe(true);
    expect(ev[1].count + ev.length - 2).toBe(100);
  });

  it('an event over maxEventChars is shrunk: text and payload cut, marked truncated', () => {
    const m = new SessionMonitor({ backlog: 10, highWater: 1 << 20, maxEventChars: 4096 });
    // 4 KiB of control characters: six characters each once escaped in JSON, plus 8 Ki of hex.
    const text = '\u0001'.repeat(4096);
    const frame = {
      type: 'frame' as const,
      conn: 'c1',
      from: 'client' as const,
      fin: false,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode: 1,
      opcodeName: 'text',
      masked: true,
      maskKey: '01020304',
      length: 4096,
      lengthForm: 16 as const,
      header: '017e100001020304',
      payload: '01'.repeat(4096),
      text,
    };
    m.emit(frame, 1);
    expect(m.keptChars).toBeLessThanOrEqual(4096);
    const ws = new FakeWs();
    m.subscribe(ws, hello);
    return tick().then(() => {
      const [, got] = ws.events();
      expect(got).toMatchObject({ type: 'frame', truncated: true, length: 4096, opcode: 1 });
      expect(text.startsWith(got.text)).toBe(true);
      expect(got.text.length).toBeGreaterThan(0);
      expect('01'.repeat(4096).startsWith(got.payload)).toBe(true);
    });
  });

  it('an HTTP event over maxEventChars keeps its fields, head and body cut and marked truncated', async () => {
    const m = new SessionMonitor({ backlog: 10, highWater: 1 << 20, maxEventChars: 2048 });
    const head = `GET /x HTTP/1.1\r\nX-Long: ${'h'.repeat(5000)}`;
    m.emit(
      { type: 'http', conn: 'c1', from: 'client', head, headLength: head.length + 4, body: '\u0002'.repeat(3000), bodyLength: 3000 },
      1,
    );
    const ws = new FakeWs();
    m.subscribe(ws, hello);
    await tick();
    const [, got] = ws.events();
    expect(got).toMatchObject({ type: 'http', conn: 'c1', from: 'client', headLength: head.length + 4, bodyLength: 3000, truncated: true });
    expect(head.startsWith(got.head)).toBe(true);
    expect(ws.sent[1].length).toBeLessThanOrEqual(2048);
  });

  it('fitText: a text that escapes long is cut to fit before serialization; a long JSON text with quotes is kept whole', () => {
    const base = {
      type: 'frame' as const,
      conn: 'c1',
      from: 'client' as const,
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode: 1,
      opcodeName: 'text',
      masked: true,
      maskKey: '01020304',
      length: 4096,
      lengthForm: 16 as const,
      header: '81fe100001020304',
      payload: '00'.repeat(4096),
    };
    const costly = { ...base, text: '\u0001"'.repeat(2048) };
    const fitted = fitText(costly, 16 * 1024) as typeof costly & { truncated?: true };
    expect(fitted.truncated).toBe(true);
    expect(costly.text.startsWith(fitted.text)).toBe(true);
    expect(JSON.stringify(fitted).length).toBeLessThanOrEqual(16 * 1024);
    expect(JSON.stringify({ ...fitted, text: costly.text.slice(0, fitted.text.length + 2) }).length).toBeGreaterThan(16 * 1024 - 600);
    const json = { ...base, text: JSON.stringify({ a: 'x'.repeat(4000) }).slice(0, 4096) };
    expect(fitText(json, 16 * 1024)).toBe(json);
  });

  it('while no monitor is connected, events are kept at most UNWATCHED_EVENT_CHARS long; watched ones whole', async () => {
    const m = new SessionMonitor({ backlog: 10, highWater: 1 << 20 });
    const frame = {
      type: 'frame' as const,
      conn: 'c1',
      from: 'client' as const,
      fin: true,
      rsv1: false,
      rsv2: false,
      rsv3: false,
      opcode: 1,
      opcodeName: 'text',
      masked: true,
      maskKey: '01020304',
      length: 4096,
      lengthForm: 16 as const,
      header: '81fe100001020304',
      payload: '61'.repeat(4096),
      text: 'a'.repeat(4096),
      wholeMessage: true as const,
    };
    m.emit(frame, 1);
    expect(m.keptChars).toBeLessThanOrEqual(UNWATCHED_EVENT_CHARS);
    const ws = new FakeWs();
    m.subscribe(ws, hello);
    m.emit(frame, 1);
    await tick();
    const [, unwatched, watched] = ws.events();
    expect(unwatched).toMatchObject({ truncated: true, length: 4096 });
    expect(watched.text).toBe(frame.text);
    expect(watched.payload).toBe(frame.payload);
    expect(watched.truncated).toBeUndefined();
  });

  it('other events over maxEventChars become a short info naming them', async () => {
    const m = new SessionMonitor({ backlog: 10, highWater: 1 << 20, maxEventChars: 1024 });
    m.emit({ type: 'rooms', nsp: '/', rooms: { r: Array.from({ length: 200 }, (_, i) => `socket-${i}`) }, sockets: {} }, 1);
    const ws = new FakeWs();
    m.subscribe(ws, hello);
    await tick();
    const [, got] = ws.events();
    expect(got.type).toBe('info');
    expect(got.message).toMatch(/rooms.*omis/);
  });

  it('the shared budget: past it, the largest backlogs are shed first and the total goes back under', async () => {
    const budget = new BacklogBudget(100_000);
    const small = new SessionMonitor({ backlog: 5000, highWater: 1 << 20, budget });
    const large = new SessionMonitor({ backlog: 5000, highWater: 1 << 20, budget });
    for (let i = 0; i < 10; i++) small.emit(big(i), 1);
    const smallChars = small.keptChars;
    for (let i = 0; i < 200; i++) large.emit(big(i), 1);
    expect(budget.used).toBeLessThanOrEqual(100_000);
    expect(budget.used).toBe(small.keptChars + large.keptChars);
    expect(small.keptChars).toBe(smallChars);
    expect(budget.shedEvents).toBeGreaterThan(0);
    const ws = new FakeWs();
    large.subscribe(ws, hello);
    await tick();
    expect(ws.events()[1].type).toBe('dropped');
    large.end('expired');
    small.end('expired');
    expect(budget.used).toBe(0);
    expect(budget.monitors.size).toBe(0);
  });
});
