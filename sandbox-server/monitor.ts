// Per-session fan-out of monitor events to the monitor WebSockets.
//
// Every event gets its `seq` and `t` here and is serialized once into a ring (the backlog) that
// grows on demand up to `backlog` events. Each monitor socket has a cursor into the ring; a flush,
// scheduled once per tick (setImmediate), sends each monitor the events after its cursor while the
// socket's bufferedAmount stays under the high-water mark: one JSON event per WebSocket message
// (default; the frames of one flush are written to the socket together), or, for a monitor opened
// with `?batch=1`, JSON arrays of events (one message per flush, split every BATCH_BYTES). A monitor that is absent or too slow loses the oldest events:
// it then receives one `dropped` event whose `seq` is the seq of the last event it lost, so seq
// stays strictly increasing on every monitor. seq 1 is the `hello` each monitor gets first;
// session events start at 2.
//
// Memory is bounded in bytes at three levels: one event (`maxEventChars`: a larger one is shrunk,
// its captured text and payload cut), one session's backlog (`backlogChars` as well as `backlog`
// events: the oldest leave first), and every backlog of the process together (a shared
// BacklogBudget: past it, the largest backlogs are shed, oldest events first). Sizes are counted in
// UTF-16 code units of the serialized JSON (V8 stores most of it one byte per unit, at worst two).
//
// While no monitor is connected every event is kept (up to those bounds) so that a monitor
// connecting later gets the replay. Once every connected monitor has received an event, only the
// last `replay` such events are kept for a monitor that connects later (none by default),
// and the ring shrinks back.
import type { HelloEvent, MonitorEvent } from '#protocol';
import { writeFrameHeader } from './monitor-socket.ts';
import { PLAIN, serializeEvent } from './serialize.ts';
import { STATS } from './stats.ts';

type WithoutBase<T> = T extends unknown ? Omit<T, 'seq' | 't'> : never;
/** An event as producers hand it to the monitor (seq and t are added here). */
export type EventInput = WithoutBase<Exclude<MonitorEvent, HelloEvent>>;
export type HelloInput = Omit<HelloEvent, 'seq' | 't' | 'type'>;

/** What the monitor needs of a monitor connection (MonitorSocket; ws WebSockets and fakes in tests). */
export interface MonitorPeer {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Writes bytes already framed as server text frames, when the peer can (one write per flush). */
  writeFramed?(bytes: Buffer): void;
}

interface Subscriber {
  monitor: SessionMonitor;
  ws: MonitorPeer;
  /** Next seq to send. */
  cursor: number;
  /** Opt-in batching (`?batch=1`): each message is a JSON array of events. */
  batch: boolean;
}

/**
 * The bytes every session backlog of the process holds together, and the monitors that hold them.
 * Over `limit`, the largest backlogs lose their oldest events until the total is back at 3/4 of it
 * (their monitors get `dropped`, as for a slow monitor).
 */
export class BacklogBudget {
  used = 0;
  readonly limit: number;
  readonly monitors = new Set<SessionMonitor>();
  private shedding = false;
  /** Events shed so far (for the stress suite and tests). */
  shedEvents = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** True when new sessions should be refused: the backlogs are near the budget. */
  get nearFull(): boolean {
    return this.used >= this.limit * 0.9;
  }

  add(chars: number): void {
    this.used += chars;
    if (this.used > this.limit) this.shed(Math.floor(this.limit * 0.75));
  }

  /** Drops the oldest events of the largest backlogs until `target` chars are kept in all. */
  shed(target: number): void {
    if (this.shedding || this.used <= target) return;
    this.shedding = true;
    try {
      const largest = [...this.monitors].sort((a, b) => b.keptChars - a.keptChars);
      for (const m of largest) {
        if (this.used <= target) break;
        // Each gives up to half of what it holds, the largest first, so small sessions keep theirs.
        this.shedEvents += m.shed(Math.min(this.used - target, Math.ceil(m.keptChars / 2)));
      }
      for (const m of largest) {
        if (this.used <= target) break;
        this.shedEvents += m.shed(this.used - target);
      }
    } finally {
      this.shedding = false;
    }
  }
}

export interface SessionMonitorOptions {
  backlog: number;
  /** Most characters of serialized events kept (default: no bound but `backlog`). */
  backlogChars?: number;
  /** Largest serialized event; a larger one is shrunk (default 16 Ki). */
  maxEventChars?: number;
  /** Shared bound of every backlog of the process. */
  budget?: BacklogBudget;
  highWater: number;
  /** Events already received by every connected monitor that are kept for later monitors (default 0). */
  replay?: number;
  /** Called once per overflow episode (the session turns it into a `limit` event). */
  onOverflow?: () => void;
}

export interface SubscribeOptions {
  /** Send JSON arrays of events instead of one event per message. */
  batch?: boolean;
}

const OPEN = 1;
/** Close code of the monitor (and learner) sockets of an ending session: going away. */
export const END_CLOSE_CODE = 1001;

/** Close reason sent with END_CLOSE_CODE to the sockets of an ending session. */
export function endCloseReason(reason: 'shutdown' | 'expired'): string {
  return reason === 'shutdown' ? 'Arrêt du serveur' : 'Session expirée';
}
const RETRY_MS = 20;
const MIN_CAPACITY = 8;
/** A batched message is closed once it holds this many characters of events. */
export const BATCH_BYTES = 64 * 1024;
export const DEFAULT_REPLAY = 0;
export const DEFAULT_MAX_EVENT_CHARS = 16 * 1024;
/** Largest event kept while no monitor is connected (its captured content cut, `truncated`). */
export const UNWATCHED_EVENT_CHARS = 2048;

/** A batch of frames written at once stops growing past this many bytes. */
const WRITE_BYTES = 256 * 1024;
/** Frames are encoded here, then copied into a buffer of the exact size for the socket. */
const SCRATCH = Buffer.allocUnsafeSlow(WRITE_BYTES + 64 * 1024);

const SUBSCRIPTION = Symbol('subscription');
type Subscribed = MonitorPeer & { [SUBSCRIPTION]?: Subscriber };

/** Shared setImmediate callback (no bound function or arrow per monitor). */
function flushLater(monitor: SessionMonitor): void {
  monitor.flushNow();
}

export class SessionMonitor {
  /** Serialized events; seq s lives at index s & mask. Length is a power of two (or 0). */
  private ring: (string | undefined)[] = [];
  private mask = -1;
  private readonly backlog: number;
  private readonly backlogChars: number;
  private readonly maxEventChars: number;
  private readonly budget: BacklogBudget | null;
  /** Characters of the events in the ring. */
  private chars = 0;
  private readonly replay: number;
  private readonly highWater: number;
  private readonly onOverflow?: () => void;
  /** Seq the next event gets. */
  private nextSeq = 2;
  /** Events currently in the ring (the newest `count` seqs before nextSeq). */
  private count = 0;
  private readonly subscribers = new Set<Subscriber>();
  private flushScheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private overflowing = false;
  private ended = false;

  constructor(options: SessionMonitorOptions) {
    this.backlog = Math.max(1, options.backlog);
    this.backlogChars = Math.max(1, options.backlogChars ?? Number.MAX_SAFE_INTEGER);
    // Below about 1 KiB, the fixed fields of a frame event leave no room for its content.
    this.maxEventChars = Math.max(1024, options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS);
    this.budget = options.budget ?? null;
    this.budget?.monitors.add(this);
    this.replay = Math.max(0, Math.min(this.backlog, options.replay ?? DEFAULT_REPLAY));
    this.highWater = options.highWater;
    this.onOverflow = options.onOverflow;
  }

  get monitorCount(): number {
    return this.subscribers.size;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Events currently kept (for tests and the bench). */
  get kept(): number {
    return this.count;
  }

  /** Characters of the serialized events currently kept. */
  get keptChars(): number {
    return this.chars;
  }

  /** Adds an event to the session stream; returns its seq (0 once the session has ended). */
  emit(event: EventInput, t = Date.now()): number {
    if (this.ended) return 0;
    const seq = this.nextSeq;
    // With no monitor connected, events wait for one that may never come (a page left, a script
    // without a page): they are kept smaller, and cost less to make.
    const max = this.subscribers.size > 0 ? this.maxEventChars : Math.min(this.maxEventChars, UNWATCHED_EVENT_CHARS);
    let text = serializeEvent(seq, t, fitText(event, max));
    if (text.length > max) text = serializeEvent(seq, t, shrinkEvent(event, max, text.length));
    // The oldest events leave for the newest: the event count and the characters are both bounded.
    while (this.count > 0 && (this.count >= this.backlog || this.chars + text.length > this.backlogChars)) this.dropOldest();
    if (this.count === this.ring.length) this.resize(Math.max(MIN_CAPACITY, this.ring.length * 2));
    this.nextSeq++;
    this.count++;
    this.ring[seq & this.mask] = text;
    this.chars += text.length;
    STATS.events++;
    this.budget?.add(text.length);
    if (this.subscribers.size > 0) this.scheduleFlush();
    return seq;
  }

  /** Drops the oldest kept event; a drop if some monitor (or the absent one) still needed it. */
  private dropOldest(): void {
    const oldest = this.nextSeq - this.count;
    let lost = this.subscribers.size === 0;
    for (const sub of this.subscribers) if (sub.cursor <= oldest) lost = true;
    if (lost) STATS.droppedEvents++;
    if (lost && !this.overflowing) {
      this.overflowing = true;
      queueMicrotask(() => this.onOverflow?.());
    }
    this.forget(oldest);
    this.count--;
  }

  /** Clears the slot of `seq` and its characters from the counts. */
  private forget(seq: number): void {
    const text = this.ring[seq & this.mask];
    this.ring[seq & this.mask] = undefined;
    if (text === undefined) return;
    this.chars -= text.length;
    if (this.budget) this.budget.used -= text.length;
  }

  /** Sheds the oldest events until `chars` characters are freed (the budget's call); returns how many. */
  shed(chars: number): number {
    const goal = this.chars - chars;
    let n = 0;
    while (this.count > 0 && this.chars > goal) {
      this.dropOldest();
      n++;
    }
    if (n > 0 && this.subscribers.size > 0) this.scheduleFlush();
    return n;
  }

  /** Registers a monitor socket: sends its hello at once, then the backlog (see unsubscribe). */
  subscribe(ws: MonitorPeer, hello: HelloInput, options: SubscribeOptions = {}): void {
    const sub: Subscriber = { monitor: this, ws, cursor: 2, batch: options.batch === true };
    this.subscribers.add(sub);
    const json = JSON.stringify({ seq: 1, t: Date.now(), type: 'hello', ...hello });
    ws.send(sub.batch ? `[${json}]` : json);
    (ws as Subscribed)[SUBSCRIPTION] = sub;
    this.scheduleFlush();
  }

  /**
   * Forgets a monitor socket; its owner calls this when the socket closes (no listener of our own:
   * a second 'close' listener would cost every monitor socket an array of listeners).
   */
  unsubscribe(ws: MonitorPeer): void {
    const sub = (ws as Subscribed)[SUBSCRIPTION];
    if (sub?.monitor === this) this.subscribers.delete(sub);
  }

  /** Emits `end`, delivers what is left to every monitor (ignoring the high-water mark), closes them. */
  end(reason: 'shutdown' | 'expired'): void {
    if (this.ended) return;
    this.emit({ type: 'end', reason });
    this.ended = true;
    this.flush(true);
    for (const sub of this.subscribers) {
      if (sub.ws.readyState === OPEN) sub.ws.close(END_CLOSE_CODE, endCloseReason(reason));
    }
    this.subscribers.clear();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.budget) {
      this.budget.used -= this.chars;
      this.budget.monitors.delete(this);
    }
    this.chars = 0;
    this.ring = [];
    this.mask = -1;
    this.count = 0;
  }

  /** Moves the kept events into a ring of `capacity` slots (a power of two ≥ count). */
  private resize(capacity: number): void {
    const ring: (string | undefined)[] = new Array(capacity);
    const mask = capacity - 1;
    for (let s = this.nextSeq - this.count; s < this.nextSeq; s++) ring[s & mask] = this.ring[s & this.mask];
    this.ring = ring;
    this.mask = mask;
  }

  /** Forgets the events before `seq` (every monitor has them, beyond the replay window). */
  private trimBefore(seq: number): void {
    const oldest = this.nextSeq - this.count;
    if (seq <= oldest) return;
    for (let s = oldest; s < seq; s++) this.forget(s);
    this.count -= seq - oldest;
    if (this.ring.length > MIN_CAPACITY && this.count * 4 <= this.ring.length) {
      let capacity = this.ring.length;
      while (capacity > MIN_CAPACITY && this.count * 4 <= capacity) capacity >>= 1;
      this.resize(capacity);
    }
  }

  /** The scheduled flush (called by the shared flushLater). */
  flushNow(): void {
    this.flushScheduled = false;
    this.flush(false);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(flushLater, this);
  }

  private flush(force: boolean): void {
    const end = this.nextSeq;
    const oldest = end - this.count;
    let blocked = false;
    let delivered = end;
    for (const sub of this.subscribers) {
      const { ws } = sub;
      if (ws.readyState !== OPEN) continue;
      if (sub.cursor < end) {
        if (sub.batch) this.sendBatches(sub, oldest, end, force);
        else this.sendEach(sub, oldest, end, force);
        if (sub.cursor < end) blocked = true;
      }
      if (sub.cursor < delivered) delivered = sub.cursor;
    }
    if (this.subscribers.size > 0 && !this.ended) this.trimBefore(Math.min(delivered, end - this.replay));
    if (!blocked) {
      if (this.subscribers.size > 0) this.overflowing = false;
    } else if (!this.retryTimer && !this.ended) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.flush(false);
      }, RETRY_MS);
    }
  }

  private droppedJson(sub: Subscriber, oldest: number): string {
    const json = JSON.stringify({ seq: oldest - 1, t: Date.now(), type: 'dropped', count: oldest - sub.cursor });
    sub.cursor = oldest;
    return json;
  }

  private sendEach(sub: Subscriber, oldest: number, end: number, force: boolean): void {
    const { ws } = sub;
    if (sub.cursor < oldest) ws.send(this.droppedJson(sub, oldest));
    while (sub.cursor < end && (force || ws.bufferedAmount < this.highWater)) {
      if (ws.writeFramed) sub.cursor = this.writeFrames(ws, sub.cursor, end);
      else ws.send(this.ring[sub.cursor++ & this.mask] as string);
    }
  }

  /**
   * Writes the events from `from` as WebSocket text frames, one event per frame, into one buffer
   * (at most about WRITE_BYTES) and one socket write; returns the next seq to send. Same bytes on
   * the wire as one ws.send per event, without a write (and two iovecs) per event. Each event is
   * encoded straight after its header: the header's length form follows from the string's length
   * when every possible UTF-8 size (length to 3 × length bytes) falls in the same form, so the
   * UTF-8 length is not computed separately.
   */
  private writeFrames(peer: MonitorPeer, from: number, end: number): number {
    let buf = SCRATCH;
    let at = 0;
    let seq = from;
    while (seq < end && at < WRITE_BYTES) {
      const text = this.ring[seq & this.mask] as string;
      const chars = text.length;
      const room = chars * 3 + 10;
      if (buf.length - at < room) {
        if (at > 0) break; // this one goes into the next buffer
        buf = Buffer.allocUnsafe(room);
      }
      buf[at] = 0x81; // FIN + text
      if (chars * 3 < 126) {
        const len = buf.write(text, at + 2);
        buf[at + 1] = len;
        at += 2 + len;
      } else if (chars >= 126 && chars * 3 < 0x10000) {
        const len = buf.write(text, at + 4);
        buf[at + 1] = 126;
        buf.writeUInt16BE(len, at + 2);
        at += 4 + len;
      } else {
        const len = Buffer.byteLength(text);
        const head = writeFrameHeader(buf, at, 0x1, len);
        at += head + buf.write(text, at + head, len);
      }
      seq++;
    }
    // The scratch buffer is reused: the socket gets its own copy of the bytes.
    (peer.writeFramed as (bytes: Buffer) => void)(buf === SCRATCH ? Buffer.from(buf.subarray(0, at)) : buf.subarray(0, at));
    return seq;
  }

  private sendBatches(sub: Subscriber, oldest: number, end: number, force: boolean): void {
    const { ws } = sub;
    while (sub.cursor < end && (force || ws.bufferedAmount < this.highWater)) {
      let text = sub.cursor < oldest ? '[' + this.droppedJson(sub, oldest) + ',' : '[';
      while (sub.cursor < end && text.length < BATCH_BYTES) text += (this.ring[sub.cursor++ & this.mask] as string) + ',';
      ws.send(text.slice(0, -1) + ']');
    }
  }
}

/**
 * A smaller copy of an event whose JSON is over `max` characters. What can be large is captured
 * content (text, payload, HTTP head and body, Socket.IO data — a text of control characters is
 * six times longer once escaped): it is cut and the event marked `truncated`, keeping every other
 * field. An event still too large becomes a short `info` saying so.
 */
export function shrinkEvent(event: EventInput, max: number, size: number): EventInput {
  // Escaped text is at most 6 characters per UTF-16 unit; hex is 2 per byte.
  const textUnits = Math.floor(max / 16);
  const hexChars = Math.floor(max / 8) & ~1;
  const cut: Record<string, unknown> = { ...event };
  let changed = false;
  for (const key of Object.keys(cut)) {
    const value = cut[key];
    if (typeof value !== 'string') continue;
    const hex = key === 'payload' || key === 'data' || key === 'header';
    const limit = hex ? hexChars : textUnits;
    if (value.length <= limit || key === 'type' || key === 'conn') continue;
    cut[key] = hex ? value.slice(0, limit) : cutUnits(value, limit);
    changed = true;
  }
  if (event.type === 'eio' && event.sio && JSON.stringify(event.sio.data ?? null).length > textUnits) {
    cut.sio = { ...event.sio, data: '…' };
    changed = true;
  }
  if (changed && (event.type === 'frame' || event.type === 'message' || event.type === 'http' || event.type === 'http-body'))
    cut.truncated = true;
  if (changed && JSON.stringify(cut).length <= max) return cut as EventInput;
  const conn = (event as { conn?: string }).conn;
  const message = `Évènement «\u00a0${event.type}\u00a0» de ${size} caractères omis (au plus ${max} par évènement).`;
  return conn ? { type: 'info', conn, message } : { type: 'info', message };
}

/**
 * A frame or message whose text, once escaped for JSON, would take the event past `max`: a copy
 * with the text cut to fit (marked `truncated`), found by counting escapes, so that the event is
 * serialized once. A text of control characters is six times longer escaped: serializing it whole
 * and then again cut cost 20 times a plain text's event (a cheap way to load the server).
 */
export function fitText(event: EventInput, max: number): EventInput {
  if (event.type !== 'frame' && event.type !== 'message') return event;
  // Hex over half the room is cut first (to a quarter): the text gets the rest.
  const hexMax = Math.floor(max / 4) & ~1;
  if (event.type === 'frame' ? event.payload.length > max / 2 : (event.data?.length ?? 0) > max / 2) {
    const cut = { ...event, truncated: true as const };
    if (cut.type === 'frame') cut.payload = cut.payload.slice(0, hexMax);
    else if (cut.data !== undefined) cut.data = cut.data.slice(0, hexMax);
    event = cut;
  }
  const text = event.text;
  if (text === undefined) return event;
  const hexLength = event.type === 'frame' ? event.payload.length + event.header.length : (event.data?.length ?? 0);
  // Room for the text: the event's other fields take well under 600 characters.
  const room = max - hexLength - 600;
  if (text.length * 6 <= room || PLAIN.test(text)) return event;
  let size = 2;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    size +=
      c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d
        ? 2
        : c < 0x20 || (c >= 0xd800 && c <= 0xdfff)
          ? 6
          : 1;
    if (size > room) break;
  }
  if (i === text.length) return event;
  return { ...event, text: cutUnits(text, i), truncated: true };
}

/** The first `n` UTF-16 units of `s`, without splitting a surrogate pair. */
function cutUnits(s: string, n: number): string {
  if (s.length <= n) return s;
  const code = s.charCodeAt(n - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? n - 1 : n);
}
