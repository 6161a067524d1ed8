// Network conditions of a session (protocol.ts `NetworkConditions`): an added one-way latency, a
// bandwidth cap and a drop after N ms, applied to the real TCP sockets of every connection of the
// session, in both directions.
//
// Where the bytes are held. The shaper sits between the socket's handle (the kernel) and the
// socket's stream, under everything else (Node's HTTP parser, ws, the tap):
//  - inbound: the socket's `push` (what the handle calls with each read) queues the bytes and
//    releases them late, and at the capped rate, to the stream; past QUEUE_BOUND bytes held it
//    answers false, so the handle stops reading: the client's bytes then wait in the kernel, its
//    TCP window closes and the sender's own buffers fill (real backpressure);
//  - outbound: the socket's `_write`/`_writev`/`_final` (what the stream calls once it has taken
//    a write) queue the bytes and hand them to the handle late, at the capped rate; the stream's
//    callback is held while QUEUE_BOUND bytes are queued or not yet written by the handle, so the
//    writes of the sandbox pile up in the socket's writable buffer: ws's `bufferedAmount` (and
//    `write()` answering false) are real.
// The monitor stands at the sandbox's end of the link: a client byte is shown when the sandbox
// receives it (after its delay), a server byte when the sandbox writes it (before its delay).
//
// Cost. Sessions without conditions have no link: nothing here runs for them. With conditions,
// one timer per session (the link's), the functions above shared by every socket (`this` is the
// socket, its state under NET), and at most QUEUE_BOUND (+ one read) bytes held per direction.
//
// Drop: `reset` resets the TCP connection (RST); `silent` delivers nothing more either way (reads
// stopped, writes discarded) while the TCP connection stays open — even when the sandbox's side
// destroys its socket (its heartbeat found the peer dead): the handle is then kept, unread, without
// its socket, so the client sees nothing either. A silent connection is closed for real
// `silentHoldMs` after the drop (default 60 s); at most MAX_ZOMBIES such handles per process.
import { randomInt } from 'node:crypto';
import { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { Duplex } from 'node:stream';
import type { NetworkConditions, NetworkDrop } from '#protocol';

/** Bytes one direction of a shaped connection may hold before it stops taking more. */
export const QUEUE_BOUND = 64 * 1024;
/** Handles of silently dropped connections whose socket the sandbox destroyed, per process. */
export const MAX_ZOMBIES = 1000;
/** Default time a silently dropped connection is kept open (ms). */
export const SILENT_HOLD_MS = 60_000;

type Callback = (err?: Error | null) => void;

interface Entry {
  /** null: the end of the stream (inbound EOF, outbound FIN). */
  chunk: Buffer | null;
  /** Throttle queue: arrival (not released before); delay line: when due. */
  t: number;
  /** Outbound FIN: the stream's `_final` callback. */
  cb: Callback | null;
}

/** One direction of a connection: the throttle queue, then the delay line. */
interface Pipe {
  throttle: Entry[];
  delay: Entry[];
  /** Bytes in both queues. */
  bytes: number;
  tokens: number;
  refilledAt: number;
}

interface Handle {
  reading: boolean;
  readStop(): number;
  close(cb?: () => void): void;
  onread: unknown;
}

interface ShapedState {
  link: NetworkLink;
  openedAt: number;
  /** null: this connection's bytes are not shaped (a drop rule alone). */
  in: Pipe | null;
  out: Pipe | null;
  /** Outbound bytes handed to the handle and not yet written by it. */
  inflight: number;
  /** The stream's write callback, held while the outbound direction is full. */
  held: Callback | null;
  /** Reads stopped because the inbound queue was full: start them again once it drains. */
  wantRead: boolean;
  /** The stream's own buffer is full (push answered false): deliver nothing until it reads. */
  blocked: boolean;
  /** Outbound bytes are not released before this (the head that opened the connection came now, "really" a latency later). */
  notBefore: number;
  /** When this connection is cut (ms epoch; Infinity: never): `dropAfterMs`, plus its own share of `dropJitterMs`. */
  dropAt: number;
  dropped: NetworkDrop | null;
  droppedAt: number;
  /** Re-entrance guard (a delivery runs the application's code, which may write). */
  busy: boolean;
  again: boolean;
}

const NET = Symbol('network');
type Shaped = Socket & { [NET]?: ShapedState; _handle: Handle | null };

const proto = Socket.prototype as unknown as {
  _read(this: Socket, n: number): void;
  _write(this: Socket, chunk: Buffer, encoding: string, cb: Callback): void;
  _writev(this: Socket, chunks: Array<{ chunk: unknown; encoding: string }>, cb: Callback): void;
  _final(this: Socket, cb: Callback): void;
  _destroy(this: Socket, err: Error | null, cb: Callback): void;
};
const readablePush = Readable.prototype.push;

export interface LinkOptions {
  /** The monitor's connection id of a socket (for `net-drop`). */
  connOf(socket: Socket): string | undefined;
  /** Reports a drop (the session's `net-drop` event). */
  onDrop(conn: string | undefined, mode: NetworkDrop, afterMs: number): void;
  /** How long a silently dropped connection is kept open (ms). */
  silentHoldMs?: number;
}

let zombieCount = 0;

/** The network conditions of one session, applied to each of its connections (one timer for all). */
export class NetworkLink {
  readonly conditions: NetworkConditions;
  readonly sockets = new Set<Shaped>();
  /** Handles of silently dropped connections whose socket is gone, with when they are closed. */
  private zombies: Array<{ handle: Handle; until: number }> = [];
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private readonly latency: number;
  private readonly rate: number;
  private readonly shapes: boolean;
  /** Smallest release of the throttle, and the most tokens kept (bytes). */
  private readonly slice: number;
  private readonly burst: number;
  readonly options: LinkOptions;
  readonly silentHoldMs: number;
  ended = false;

  constructor(conditions: NetworkConditions, options: LinkOptions) {
    this.conditions = conditions;
    this.options = options;
    this.latency = conditions.latencyMs ?? 0;
    this.rate = conditions.bandwidth ?? 0;
    this.shapes = this.latency > 0 || this.rate > 0;
    this.slice = Math.max(256, Math.floor(this.rate / 50));
    this.burst = Math.max(2 * this.slice, Math.floor(this.rate / 10));
    this.silentHoldMs = options.silentHoldMs ?? SILENT_HOLD_MS;
  }

  /**
   * Extra time a client frame may take to arrive whole (the guard's frame limit): a frame of
   * `maxPayload` bytes at the capped rate.
   */
  frameGraceMs(maxPayload: number): number {
    return (this.rate ? Math.ceil((maxPayload * 1000) / this.rate) : 0) + 2 * this.latency;
  }

  /** Applies the conditions to a socket from now on (its first request head has just been read). */
  attach(socket: Duplex): void {
    const s = socket as Shaped;
    if (s[NET]?.link === this && this.sockets.has(s)) return;
    if (s[NET]) unshape(s);
    const now = Date.now();
    const { dropAfterMs, dropJitterMs } = this.conditions;
    const dropAt = dropAfterMs === undefined ? Infinity : now + dropAfterMs + (dropJitterMs ? randomInt(dropJitterMs + 1) : 0);
    const state: ShapedState = {
      link: this,
      openedAt: now,
      in: null,
      out: null,
      inflight: 0,
      held: null,
      wantRead: false,
      blocked: false,
      notBefore: now + this.latency,
      dropAt,
      dropped: null,
      droppedAt: 0,
      busy: false,
      again: false,
    };
    s[NET] = state;
    this.sockets.add(s);
    if (this.shapes) {
      state.in = newPipe(this.burst, now);
      state.out = newPipe(this.burst, now);
      install(s);
    }
    this.schedule(dropAt);
  }

  /** The socket closed, or moves to another session. */
  detach(socket: Duplex, moving = false): void {
    const s = socket as Shaped;
    if (!this.sockets.delete(s)) return;
    if (moving) unshape(s);
  }

  /** The session ended: silent handles are closed now, no more are kept. */
  end(): void {
    this.ended = true;
    for (const z of this.zombies) closeZombie(z.handle);
    this.zombies = [];
  }

  /** Runs the link at `at` (ms epoch) at the latest. */
  schedule(at: number): void {
    if (at === Infinity || (this.ended && this.sockets.size === 0 && this.zombies.length === 0)) return;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(onLinkTimer, Math.max(0, Math.ceil(at - Date.now())), this);
    this.timer.unref();
  }

  /** Timer: every socket's due bytes and drops, the silent handles' ends. */
  run(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = Date.now();
    let next = Infinity;
    for (const socket of this.sockets) next = Math.min(next, this.service(socket, now));
    if (this.zombies.length) {
      const kept: Array<{ handle: Handle; until: number }> = [];
      for (const z of this.zombies) {
        if (z.until <= now) closeZombie(z.handle);
        else {
          kept.push(z);
          next = Math.min(next, z.until);
        }
      }
      this.zombies = kept;
    }
    this.schedule(next);
  }

  /** Moves the socket's bytes that are due, applies its drop; returns when it next needs the link. */
  service(socket: Shaped, now: number): number {
    const s = socket[NET];
    if (!s || s.link !== this) return Infinity;
    if (socket.destroyed) {
      this.sockets.delete(socket);
      return Infinity;
    }
    if (s.busy) {
      s.again = true;
      return Infinity;
    }
    s.busy = true;
    let next = Infinity;
    try {
      do {
        s.again = false;
        next = this.serviceOnce(socket, s, now);
      } while (s.again && !socket.destroyed);
    } finally {
      s.busy = false;
    }
    return next;
  }

  private serviceOnce(socket: Shaped, s: ShapedState, now: number): number {
    if (s.dropped === 'silent') {
      const until = s.droppedAt + this.silentHoldMs;
      if (now < until) return until;
      // Held long enough: closed for real (the client then sees the connection end).
      s.dropped = null;
      this.sockets.delete(socket);
      socket.destroy();
      return Infinity;
    }
    if (now >= s.dropAt) {
      this.drop(socket, s, now);
      return (s.dropped as NetworkDrop | null) === 'silent' ? s.droppedAt + this.silentHoldMs : Infinity;
    }
    let next = s.dropAt;
    if (s.in && s.out) {
      next = Math.min(next, this.advance(s.in, now, socket, s, deliverIn));
      if (socket.destroyed) return Infinity;
      next = Math.min(next, this.advance(s.out, now, socket, s, deliverOut));
      // Reads stopped on a full queue start again once it has room (and the stream wants bytes).
      if (s.wantRead && !s.blocked && s.in.bytes < QUEUE_BOUND && !socket.destroyed) {
        s.wantRead = false;
        proto._read.call(socket, 0);
      }
      releaseHeld(s);
    }
    return next;
  }

  /** Releases what the throttle allows into the delay line, then what is due from it. */
  private advance(
    pipe: Pipe,
    now: number,
    socket: Shaped,
    s: ShapedState,
    deliver: (socket: Shaped, s: ShapedState, entry: Entry) => void,
  ): number {
    let next = Infinity;
    if (this.rate) {
      pipe.tokens = Math.min(this.burst, pipe.tokens + ((now - pipe.refilledAt) * this.rate) / 1000);
      pipe.refilledAt = now;
      while (pipe.throttle.length) {
        const e = pipe.throttle[0];
        if (e.t > now) {
          next = e.t;
          break;
        }
        if (e.chunk === null) {
          pipe.throttle.shift();
          pipe.delay.push({ chunk: null, t: now + this.latency, cb: e.cb });
          continue;
        }
        const want = Math.min(e.chunk.length, this.slice);
        if (pipe.tokens < want) {
          next = now + ((want - pipe.tokens) * 1000) / this.rate;
          break;
        }
        const n = Math.min(e.chunk.length, Math.floor(pipe.tokens));
        pipe.tokens -= n;
        let part = e.chunk;
        if (n === e.chunk.length) pipe.throttle.shift();
        else {
          part = e.chunk.subarray(0, n);
          e.chunk = e.chunk.subarray(n);
        }
        pipe.delay.push({ chunk: part, t: now + this.latency, cb: null });
      }
    }
    while (pipe.delay.length) {
      const e = pipe.delay[0];
      if (e.t > now) {
        next = Math.min(next, e.t);
        break;
      }
      // Inbound: the stream's buffer is full; its next read (shapedRead) starts the link again.
      if (pipe === s.in && s.blocked) break;
      pipe.delay.shift();
      if (e.chunk) pipe.bytes -= e.chunk.length;
      deliver(socket, s, e);
      if (socket.destroyed) return Infinity;
    }
    return next;
  }

  /** Queues bytes (or the end: null) in one direction, arrived at `t`. */
  enqueue(pipe: Pipe, chunk: Buffer | null, t: number, cb: Callback | null): void {
    if (chunk) pipe.bytes += chunk.length;
    if (this.rate) pipe.throttle.push({ chunk, t, cb });
    else pipe.delay.push({ chunk, t: t + this.latency, cb });
  }

  private drop(socket: Shaped, s: ShapedState, now: number): void {
    const mode = this.conditions.drop ?? 'reset';
    this.options.onDrop(this.options.connOf(socket), mode, now - s.openedAt);
    clearQueues(s);
    if (mode === 'reset') {
      this.sockets.delete(socket);
      try {
        socket.resetAndDestroy();
      } catch {
        socket.destroy();
      }
      return;
    }
    s.dropped = 'silent';
    s.droppedAt = now;
    if (!s.in) {
      s.in = newPipe(0, now);
      s.out = newPipe(0, now);
      install(socket);
    }
    const handle = socket._handle;
    if (handle?.reading) {
      handle.reading = false;
      handle.readStop();
    }
    const held = s.held;
    s.held = null;
    held?.();
  }

  /** Keeps the handle of a silent connection whose socket the sandbox destroys; false when it cannot. */
  keepZombie(socket: Shaped, s: ShapedState): boolean {
    const handle = socket._handle;
    if (!handle || this.ended || zombieCount >= MAX_ZOMBIES) return false;
    try {
      handle.readStop();
    } catch {}
    handle.reading = false;
    handle.onread = noop;
    socket._handle = null;
    zombieCount++;
    const until = s.droppedAt + this.silentHoldMs;
    this.zombies.push({ handle, until });
    this.schedule(until);
    return true;
  }
}

function noop(): void {}

function onLinkTimer(link: NetworkLink): void {
  link.run();
}

function closeZombie(handle: Handle): void {
  zombieCount--;
  try {
    handle.close();
  } catch {}
}

function newPipe(tokens: number, now: number): Pipe {
  return { throttle: [], delay: [], bytes: 0, tokens, refilledAt: now };
}

function clearQueues(s: ShapedState): void {
  for (const pipe of [s.in, s.out]) {
    if (!pipe) continue;
    pipe.throttle = [];
    pipe.delay = [];
    pipe.bytes = 0;
  }
}

/** The shared functions on a shaped socket (own properties; `this` is the socket). */
function install(socket: Shaped): void {
  const s = socket as unknown as Record<string, unknown>;
  s.push = shapedPush;
  s._read = shapedRead;
  s._write = shapedWrite;
  s._writev = shapedWritev;
  s._final = shapedFinal;
  s._destroy = shapedDestroy;
}

/** Back to the plain socket, what was queued delivered at once (a keep-alive connection moving to another session). */
function unshape(socket: Shaped): void {
  const s = socket[NET];
  if (!s) return;
  socket[NET] = undefined;
  const own = socket as unknown as Record<string, unknown>;
  if (own.push === shapedPush) {
    // Reassigned, not deleted (a delete makes the socket a slower dictionary object).
    own.push = readablePush;
    own._read = proto._read;
    own._write = proto._write;
    own._writev = proto._writev;
    own._final = proto._final;
    own._destroy = proto._destroy;
  }
  flush(socket, s);
  if (s.wantRead) proto._read.call(socket, 0);
  const held = s.held;
  s.held = null;
  held?.();
}

/** Delivers everything queued now, in order, ignoring time (the socket is about to change hands). */
function flush(socket: Shaped, s: ShapedState): void {
  if (s.dropped) return;
  for (const [pipe, deliver] of [
    [s.in, deliverIn],
    [s.out, deliverOut],
  ] as const) {
    if (!pipe) continue;
    // The delay line holds what came before anything still in the throttle queue.
    const entries = [...pipe.delay, ...pipe.throttle];
    pipe.throttle = [];
    pipe.delay = [];
    pipe.bytes = 0;
    for (const e of entries) if (!socket.destroyed) deliver(socket, s, e);
  }
}

function deliverIn(socket: Shaped, s: ShapedState, entry: Entry): void {
  const more = readablePush.call(socket, entry.chunk);
  if (!more && entry.chunk !== null) s.blocked = true;
}

function deliverOut(socket: Shaped, s: ShapedState, entry: Entry): void {
  if (entry.chunk === null) {
    proto._final.call(socket, entry.cb ?? noop);
    return;
  }
  if (!socket._handle) return;
  const n = entry.chunk.length;
  s.inflight += n;
  proto._write.call(socket, entry.chunk, 'buffer', (err) => written(socket, s, n, err));
}

function written(socket: Shaped, s: ShapedState, n: number, err?: Error | null): void {
  s.inflight -= n;
  if (err) {
    socket.destroy(err);
    return;
  }
  releaseHeld(s);
}

function releaseHeld(s: ShapedState): void {
  if (!s.held || !s.out || s.out.bytes + s.inflight >= QUEUE_BOUND) return;
  const cb = s.held;
  s.held = null;
  cb();
}

// --- The shared functions installed on shaped sockets -------------------------------------------

/** What the handle read (or null at its end): queued; false (reads stop) once the queue is full. */
function shapedPush(this: Shaped, chunk: Buffer | null, encoding?: BufferEncoding): boolean {
  const s = this[NET];
  if (!s?.in) return readablePush.call(this, chunk, encoding);
  if (s.dropped === 'silent') return false;
  const link = s.link;
  const now = Date.now();
  link.enqueue(s.in, chunk, now, null);
  link.schedule(link.service(this, now));
  if (s.in.bytes < QUEUE_BOUND) return true;
  s.wantRead = true;
  return false;
}

/** The stream wants bytes: deliver again, and read again if the queue has room. */
function shapedRead(this: Shaped, n: number): void {
  const s = this[NET];
  if (!s?.in) {
    proto._read.call(this, n);
    return;
  }
  if (s.dropped === 'silent') return;
  s.blocked = false;
  if (s.in.bytes < QUEUE_BOUND) {
    s.wantRead = false;
    proto._read.call(this, n);
  } else s.wantRead = true;
  if (s.in.delay.length || s.in.throttle.length) s.link.schedule(Date.now());
}

function shapedWrite(this: Shaped, chunk: Buffer | string, encoding: BufferEncoding, cb: Callback): void {
  const s = this[NET];
  if (!s?.out) {
    proto._write.call(this, chunk as Buffer, encoding, cb);
    return;
  }
  if (s.dropped === 'silent') {
    cb();
    return;
  }
  takeOut(this, s, typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk, cb);
}

function shapedWritev(this: Shaped, chunks: Array<{ chunk: Buffer | string; encoding: BufferEncoding }>, cb: Callback): void {
  const s = this[NET];
  if (!s?.out) {
    proto._writev.call(this, chunks, cb);
    return;
  }
  if (s.dropped === 'silent') {
    cb();
    return;
  }
  const bufs = chunks.map(({ chunk, encoding }) => (typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk));
  takeOut(this, s, bufs.length === 1 ? bufs[0] : Buffer.concat(bufs), cb);
}

function takeOut(socket: Shaped, s: ShapedState, buf: Buffer, cb: Callback): void {
  const link = s.link;
  const now = Date.now();
  link.enqueue(s.out as Pipe, buf, Math.max(now, s.notBefore), null);
  s.held = cb;
  link.schedule(link.service(socket, now));
  releaseHeld(s);
}

/** The end of the sandbox's writes (FIN): after the bytes queued before it. */
function shapedFinal(this: Shaped, cb: Callback): void {
  const s = this[NET];
  if (!s?.out) {
    proto._final.call(this, cb);
    return;
  }
  // Silent: no FIN reaches the client (the callback is never called; the socket is destroyed later).
  if (s.dropped === 'silent') return;
  const link = s.link;
  const now = Date.now();
  link.enqueue(s.out, null, Math.max(now, s.notBefore), cb);
  link.schedule(link.service(this, now));
}

/**
 * The sandbox destroys the socket: what it still held for the client is written at once (a
 * destroyed socket's written bytes still leave, without their delay); a silent connection keeps
 * its handle open, unread, until its hold ends.
 */
function shapedDestroy(this: Shaped, err: Error | null, cb: Callback): void {
  const s = this[NET];
  if (s) {
    s.link.sockets.delete(this);
    if (s.dropped === 'silent') s.link.keepZombie(this, s);
    else if (!(this as unknown as { resetAndClosing?: boolean }).resetAndClosing && s.out && s.out.bytes > 0 && this._handle) {
      const pipe = s.out;
      const entries = [...pipe.delay, ...pipe.throttle];
      pipe.delay = [];
      pipe.throttle = [];
      pipe.bytes = 0;
      for (const e of entries) if (e.chunk) proto._write.call(this, e.chunk, 'buffer', noop);
    }
  }
  proto._destroy.call(this, err, cb);
}
