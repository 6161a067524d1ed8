// Per-TCP-connection byte taps. On the http server's 'connection' event, a prepended 'data'
// listener sees inbound bytes before Node's HTTP parser (or ws) does, and a wrapper around that
// socket's write/end sees outbound bytes. Traffic itself is never altered or delayed: the tap only
// reads.
//
// Attribution: a connection belongs to a session from the first request head whose path is
// /s/<id>/… for a live session (keep-alive connections may first carry static or /api requests,
// and may later switch to another session: each switch closes one attribution and opens another).
// Node's parser emits 'request'/'upgrade' synchronously while the chunk that completes a head is
// being delivered, so the tap queues bytes and decodes them on the next tick, once it knows which
// request heads that chunk held. After a WebSocket upgrade no more heads can come, and bytes are
// decoded synchronously (no copies). Connections that are not attributed keep at most
// UNFED_LIMIT bytes; upgraded connections outside the sandbox (monitor, Vite HMR) are untapped.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Direction, InfoEvent } from '#protocol';
import { clientLabel, parseSessionPath } from '../routes.ts';
import type { Session } from '../sessions.ts';
import type { InfoItem } from '../wire/common.ts';
import { ConnectionDecoder, PENDING_FRAME, PENDING_MESSAGE } from '../wire/connection-decoder.ts';
import type { DecodedEvent } from '../wire/connection-decoder.ts';
import { noteText } from './notes.ts';

/** Bytes kept from a connection not (yet) attributed, to find the start of a later request head. */
// A head is at most Node's maxHeaderSize (16 KiB): more is never needed, and every open
// connection of the process may hold this much (18 000 × 16 KiB is the worst case).
const UNFED_LIMIT = 16 * 1024 + 1024;
/** Characters of a request path shown in `conn-open`. */
const PATH_SHOWN = 256;

export interface Decoder {
  push(from: Direction, chunk: Uint8Array): DecodedEvent[];
  /** PENDING_FRAME / PENDING_MESSAGE bits: what the client left unfinished (for time limits). */
  clientPending?(): number;
}

export interface TapOptions {
  /** Live session by id (undefined for unknown or ended sessions). */
  lookup(id: string): Session | undefined;
  captureLimit?: number;
  /** Decoder factory (tests inject failing ones). */
  createDecoder?: () => Decoder;
  /**
   * Called when the client's bytes held `frames` whole or violating WebSocket frames of any kind
   * (data, continuation, ping, pong, close): the sandbox charges them to the session's rate and
   * answers how many were within it. Only those are shown; past them, onClientFlood.
   */
  admitClientFrames?(session: Session, frames: number): number;
  onClientFlood?(socket: Socket, session: Session): void;
  /**
   * Asked before client bytes of an upgraded connection are decoded: false when the connection
   * was closed for a limit (or is now, the session's rate being spent): its bytes are then only
   * counted, never decoded again (a flood costs no decoding, and no events).
   */
  decodeClient?(socket: Socket, session: Session): boolean;
}

/** Since when the client has left a frame or a message unfinished (ms epoch; 0: nothing pending). */
export interface Pending {
  frameSince: number;
  messageSince: number;
}

export interface ConnInfo {
  session: Session;
  conn: string;
  client: string | null;
}

export interface Tap {
  /** Latest attribution of a TCP socket, even closed (decodes pending bytes first), or null. */
  connInfo(socket: unknown): ConnInfo | null;
  /** What the client of an attributed, open connection has left unfinished, or null. */
  pending(socket: unknown): Pending | null;
  /** Stops tapping new connections. */
  detach(): void;
}

/** Also the connection's last ConnInfo (kept after it closed, without its decoder). */
interface Attribution extends ConnInfo, Pending {
  decoder: Decoder | null;
  bytesIn: number;
  bytesOut: number;
}

interface Item {
  from: Direction;
  /** Client items: a Buffer copy (searched for request lines); server items: the bytes written. */
  chunk: Uint8Array;
  t: number;
  /** Inbound chunk ordinal (client items). */
  n: number;
  /** Server items written by an HTTP response: the head of the request it answers. */
  owner: Mark | null;
}

interface Mark {
  n: number;
  line: string;
  session: Session | null;
  path: string;
  client: string | null;
  upgrade: boolean;
  /**
   * The attribution the head fell in, once decoded (null: none). Pipelined requests of two
   * sessions on one connection (A, B, A) are all decoded before the first answer is written:
   * each answer goes to its request's attribution, not to whichever came last.
   */
  att: Attribution | null | undefined;
}

/** On a ServerResponse: the mark of the request it answers. */
const MARK = Symbol('tapMark');

interface State {
  socket: Socket;
  current: Attribution | null;
  /** The last attribution, kept after the connection closed (Socket.IO maps sockets to it). */
  last: Attribution | null;
  queue: Item[];
  scheduled: boolean;
  inChunks: number;
  marks: Mark[];
  unfed: Buffer | null;
  /** Upgraded and attributed: decode synchronously. */
  sync: boolean;
  upgradeSeen: boolean;
  /**
   * Bytes that came after the upgrade request in its chunk (already seen and queued): ws puts
   * them back on the socket (`unshift`), so they come as 'data' a second time, as a view of the
   * same memory. The next chunk is skipped if it is that view.
   */
  upgradeHead: Buffer | null;
  serverEnded: boolean;
  closed: boolean;
  /** The socket's own write and end, called by the shared wrappers. */
  write: Socket['write'];
  end: Socket['end'];
  /** The socket's own emit, once tappedEmit replaces the 'data' and 'close' listeners. */
  emit: Socket['emit'] | null;
}

/** The tap state of a socket, as a property of the socket (no closure or WeakMap per connection). */
const STATE = Symbol('tapState');
type Tapped = Socket & { [STATE]?: State };

/** Shared empty queue and marks: a connection gets its own arrays only while it has some. */
const NO_ITEMS: Item[] = [];
const NO_MARKS: Mark[] = [];

function copyExact(bytes: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  bytes.copy(copy);
  return copy;
}

function errorName(err: (Error & { code?: string }) | null | undefined): string | null {
  return err ? (err.code ?? err.message) : null;
}

export function attachTap(server: Server, options: TapOptions): Tap {
  const makeDecoder = options.createDecoder ?? (() => new ConnectionDecoder({ captureLimit: options.captureLimit }));

  // One set of listeners and wrappers for every socket; `this` is the socket.
  function onData(this: Tapped, chunk: Buffer): void {
    const state = this[STATE] as State;
    const head = state.upgradeHead;
    if (head !== null) {
      state.upgradeHead = null;
      if (chunk.buffer === head.buffer && chunk.byteOffset === head.byteOffset && chunk.length === head.length) return;
    }
    state.inChunks++;
    if (state.sync) {
      if (state.queue.length) drain(state);
      if (state.current) feed(state, state.current, 'client', chunk, Date.now());
      return;
    }
    // Queued bytes are copied: consumers (ws unmasking) may rewrite the buffer in place.
    enqueue(state, { from: 'client', chunk: Buffer.from(chunk), t: Date.now(), n: state.inChunks, owner: null });
  }
  function tappedWrite(this: Tapped, data: unknown, encoding?: unknown, cb?: unknown): boolean {
    const state = this[STATE] as State;
    outbound(state, data, encoding);
    return (state.write as (...a: unknown[]) => boolean).call(this, data, encoding, cb);
  }
  function tappedEnd(this: Tapped, data?: unknown, encoding?: unknown, cb?: unknown): Socket {
    const state = this[STATE] as State;
    state.serverEnded = true;
    if (data !== undefined && data !== null && typeof data !== 'function') outbound(state, data, encoding);
    return (state.end as (...a: unknown[]) => Socket).call(this, data, encoding, cb);
  }
  /**
   * Upgraded, attributed sockets: the 'data' and 'close' listeners become this emit wrapper, which
   * sees both events before any listener, as the prepended/early listeners did. ws has its own
   * listeners for both: with ours too, each event would hold an array of listeners per socket.
   */
  function tappedEmit(this: Tapped, event: string | symbol): boolean {
    const state = this[STATE] as State;
    // `arguments`, not a rest parameter: every socket event passes here, and a rest array would be one allocation each.
    // biome-ignore lint/complexity/noArguments: see above.
    if (event === 'data') onData.call(this, arguments[1] as Buffer);
    else if (event === 'close') onClose.call(this);
    // biome-ignore lint/complexity/noArguments: see above.
    return Reflect.apply(state.emit as Socket['emit'], this, arguments);
  }
  /**
   * Keeps an 'error' listener on the socket while nobody else has one (an unhandled 'error' would
   * throw); the error itself is read from socket.errored when the socket closes.
   */
  function onError(): void {}
  function onClose(this: Tapped): void {
    const state = this[STATE] as State;
    drain(state);
    state.closed = true;
    if (state.current) closeAttribution(state, reasonOf(state));
    state.unfed = null;
  }

  function onConnection(socket: Tapped): void {
    const state: State = {
      socket,
      current: null,
      last: null,
      queue: NO_ITEMS,
      scheduled: false,
      inChunks: 0,
      marks: NO_MARKS,
      unfed: null,
      sync: false,
      upgradeSeen: false,
      upgradeHead: null,
      serverEnded: false,
      closed: false,
      write: socket.write,
      end: socket.end,
      emit: null,
    };
    socket[STATE] = state;
    socket.prependListener('data', onData);
    socket.write = tappedWrite as Socket['write'];
    socket.end = tappedEnd as Socket['end'];
    socket.on('error', onError);
    socket.on('close', onClose);
  }

  function outbound(state: State, data: unknown, encoding: unknown): void {
    if (state.closed) return;
    let chunk: Uint8Array;
    if (data instanceof Uint8Array) chunk = data;
    else if (typeof data === 'string') chunk = Buffer.from(data, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    else return;
    if (state.sync) {
      if (state.queue.length) drain(state);
      if (state.current) feed(state, state.current, 'server', chunk, Date.now());
      return;
    }
    // Node writes a response only while it owns the socket (later pipelined ones wait their turn).
    const res = (state.socket as Socket & { _httpMessage?: { [MARK]?: Mark } | null })._httpMessage;
    enqueue(state, { from: 'server', chunk, t: Date.now(), n: state.inChunks, owner: res?.[MARK] ?? null });
  }

  function enqueue(state: State, item: Item): void {
    if (state.queue === NO_ITEMS) state.queue = [];
    state.queue.push(item);
    if (!state.scheduled) {
      state.scheduled = true;
      process.nextTick(drain, state);
    }
  }

  function onHead(req: IncomingMessage, upgrade: boolean, res: ServerResponse | null): void {
    const state = (req.socket as Tapped)[STATE];
    if (!state || state.sync) return;
    const parsed = parseSessionPath(req.url);
    const session = parsed ? (options.lookup(parsed.id) ?? null) : null;
    if (state.marks === NO_MARKS) state.marks = [];
    const mark: Mark = {
      n: state.inChunks,
      line: `${req.method} ${req.url} HTTP/`,
      session,
      // A path is the client's text: shown, but not without bound.
      path: (parsed?.rest ?? '').slice(0, PATH_SHOWN),
      client: parsed ? clientLabel(parsed.query) : null,
      upgrade,
      att: undefined,
    };
    state.marks.push(mark);
    if (res) (res as ServerResponse & { [MARK]?: Mark })[MARK] = mark;
  }

  function drain(state: State): void {
    state.scheduled = false;
    const queue = state.queue;
    if (queue.length === 0) return;
    state.queue = NO_ITEMS;
    for (const item of queue) {
      if (item.from === 'server') {
        // An answer whose request's attribution has closed since (another session's request came
        // next on the connection) is not decoded: its monitor has had its conn-close, and no
        // other session may see it.
        const att = item.owner && item.owner.att !== undefined ? item.owner.att : state.current;
        if (att && att === state.current) feed(state, att, 'server', item.chunk, item.t);
        continue;
      }
      let buf = item.chunk as Buffer;
      if (!state.current && state.unfed) {
        buf = Buffer.concat([state.unfed, buf]);
        state.unfed = null;
      }
      let offset = 0;
      while (state.marks.length && state.marks[0].n <= item.n) {
        const mark = state.marks.shift() as Mark;
        if (mark.upgrade) state.upgradeSeen = true;
        if (mark.session === (state.current?.session ?? null)) {
          mark.att = state.current;
          continue;
        }
        let pos = buf.indexOf(mark.line, offset, 'latin1');
        if (pos < 0) pos = offset;
        if (state.current) {
          if (pos > offset) feed(state, state.current, 'client', buf.subarray(offset, pos), item.t);
          closeAttribution(state, 'reused');
        }
        offset = pos;
        if (mark.session) openAttribution(state, mark.session, mark, item.t);
        mark.att = state.current;
      }
      if (state.current) {
        if (offset < buf.length) feed(state, state.current, 'client', buf.subarray(offset), item.t);
      } else {
        const rest = buf.subarray(Math.max(offset, buf.length - UNFED_LIMIT));
        // An exact-size copy: Buffer.from would keep a whole 8 KiB pool slab alive per idle connection.
        state.unfed = rest.length ? copyExact(rest) : null;
      }
    }
    if (state.marks !== NO_MARKS && state.marks.length === 0) state.marks = NO_MARKS;
    if (state.upgradeSeen && state.marks.length === 0) goSync(state);
  }

  /** After an upgrade: decode synchronously if attributed, otherwise stop tapping entirely. */
  function goSync(state: State): void {
    if (state.current) {
      state.sync = true;
      // The upgrade's WebSocket has its own listeners by now: ours would make arrays of them. The
      // close reason reads socket.errored; data and close go through tappedEmit.
      const socket = state.socket as Tapped;
      // Kept while ours is the only one (a refused upgrade): an unhandled 'error' would throw.
      if (socket.listenerCount('error') > 1) socket.removeListener('error', onError);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      state.emit = socket.emit;
      socket.emit = tappedEmit as Socket['emit'];
      return;
    }
    const socket = state.socket as Tapped;
    socket.removeListener('data', onData);
    socket.removeListener('error', onError);
    socket.removeListener('close', onClose);
    // Reassigned rather than deleted: a delete would turn the socket into a slow, larger dictionary object.
    socket.write = state.write;
    socket.end = state.end;
    state.unfed = null;
    state.closed = true;
    // Nothing refers to an untapped socket's state any more (connInfo answers null, as before).
    socket[STATE] = undefined;
  }

  function openAttribution(state: State, session: Session, mark: Mark, t: number): void {
    const att: Attribution = {
      session,
      conn: session.nextConnId(),
      client: mark.client,
      decoder: null,
      bytesIn: 0,
      bytesOut: 0,
      frameSince: 0,
      messageSince: 0,
    };
    try {
      att.decoder = makeDecoder();
    } catch (err) {
      reportDecoderFailure(att, 'client', err, t);
    }
    state.current = att;
    state.last = att;
    // Read here, not per TCP connection: only attributed connections need it (Node caches it on the socket).
    const remote = `${state.socket.remoteAddress ?? '?'}:${state.socket.remotePort ?? '?'}`;
    session.emit({ type: 'conn-open', conn: att.conn, client: att.client, remote, path: mark.path }, t);
  }

  function closeAttribution(state: State, reason: string): void {
    const att = state.current as Attribution;
    state.current = null;
    att.decoder = null;
    state.sync = false;
    if (att.session.ended) return;
    att.session.emit({ type: 'conn-close', conn: att.conn, reason, bytesIn: att.bytesIn, bytesOut: att.bytesOut });
  }

  function feed(state: State, att: Attribution, from: Direction, chunk: Uint8Array, t: number): void {
    if (from === 'client') att.bytesIn += chunk.length;
    else att.bytesOut += chunk.length;
    const session = att.session;
    if (session.ended) return;
    session.lastActivity = t;
    if (!att.decoder) return;
    if (from === 'client' && state.sync && options.decodeClient && !options.decodeClient(state.socket, session)) {
      att.decoder = null;
      session.emit(
        { type: 'info', conn: att.conn, message: 'Connexion fermée pour une limite\u00a0: la suite de ses octets n’est plus décodée.' },
        t,
      );
      return;
    }
    let events: DecodedEvent[];
    try {
      events = att.decoder.push(from, chunk);
    } catch (err) {
      att.decoder = null;
      reportDecoderFailure(att, from, err, t);
      return;
    }
    // Client frames are charged to the session's rate before they are shown: a chunk of a flood
    // (thousands of tiny frames) shows the frames within the rate, then the limit, not them all.
    let frames = 0;
    let shown = events.length;
    if (from === 'client' && options.admitClientFrames) {
      for (let i = 0; i < events.length; i++) if (events[i].type === 'frame') frames++;
      const admitted = frames > 0 ? options.admitClientFrames(session, frames) : 0;
      if (admitted < frames) shown = indexOfFrame(events, admitted);
    }
    // Decoded events are fresh objects: conn is set on them, not copied.
    for (let i = 0; i < shown; i++) {
      const event = events[i] as DecodedEvent & { conn: string };
      if (event.type === 'info') {
        session.emit(learnerNote(event, att.conn), t);
        continue;
      }
      event.conn = att.conn;
      session.emit(event, t);
    }
    if (from !== 'client') return;
    if (shown < events.length) {
      let hidden = 0;
      for (let i = shown; i < events.length; i++) if (events[i].type === 'frame') hidden++;
      att.decoder = null;
      session.emit(
        {
          type: 'info',
          conn: att.conn,
          message: `${hidden}\u00a0trame(s) de plus dans ce paquet, au-delà de la limite de débit\u00a0: non montrées, et la suite n’est plus décodée.`,
        },
        t,
      );
      options.onClientFlood?.(state.socket, session);
      return;
    }
    const pending = att.decoder?.clientPending?.() ?? 0;
    // A frame that ended in this chunk restarts the clock of the next one.
    att.frameSince = pending & PENDING_FRAME ? (frames > 0 || att.frameSince === 0 ? t : att.frameSince) : 0;
    att.messageSince = pending & PENDING_MESSAGE ? att.messageSince || t : 0;
  }

  /** Index of the frame event number `n` (0-based) in `events`: the first one not shown. */
  function indexOfFrame(events: DecodedEvent[], n: number): number {
    let seen = 0;
    for (let i = 0; i < events.length; i++) {
      if (events[i].type !== 'frame') continue;
      if (seen === n) return i;
      seen++;
    }
    return events.length;
  }

  /**
   * A bug of ours: logged with its stack for the maintainers; the learner's page shows its own
   * French text for SANDBOX_ERR_DECODER, and `message` keeps the English detail (as every violation).
   */
  function reportDecoderFailure(att: Attribution, from: Direction, err: unknown, t: number): void {
    const detail = err instanceof Error ? err.message : String(err);
    console.error(`Sandbox decoder failure on ${att.conn} (${from} bytes); the rest of that connection is not decoded:`, err);
    att.session.emit(
      {
        type: 'violation',
        conn: att.conn,
        from,
        id: 'SANDBOX_ERR_DECODER',
        code: 1011,
        message: `internal decoder error (${detail}); the rest of this connection is not decoded`,
      },
      t,
    );
  }

  /** A decoder's note as the learner reads it: French text for its id (the decoders hold none). */
  function learnerNote(item: InfoItem, conn: string): Omit<InfoEvent, 'seq' | 't'> {
    const event: Omit<InfoEvent, 'seq' | 't'> = { type: 'info', conn, message: noteText(item.note) };
    if (item.from !== undefined) event.from = item.from;
    return event;
  }

  function reasonOf(state: State): string {
    const errored = errorName(state.socket.errored);
    if (errored) return `error: ${errored}`;
    // The client's FIN, as Node saw it ('end' emitted): no listener of our own needed for that.
    if (state.socket.readableEnded) return 'end';
    if (state.serverEnded) return 'end (server)';
    return 'destroyed';
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => onHead(req, false, res);
  const onUpgrade = (req: IncomingMessage, _socket: unknown, head: Buffer) => {
    onHead(req, true, null);
    const state = (req.socket as Tapped)[STATE];
    if (state && head.length > 0) state.upgradeHead = head;
  };
  server.on('connection', onConnection);
  server.prependListener('request', onRequest);
  server.prependListener('upgrade', onUpgrade);

  return {
    connInfo(socket: unknown): ConnInfo | null {
      const state = socket && typeof socket === 'object' ? (socket as Tapped)[STATE] : undefined;
      if (!state) return null;
      if (state.queue.length) drain(state);
      return state.last;
    },
    pending(socket: unknown): Pending | null {
      const state = socket && typeof socket === 'object' ? (socket as Tapped)[STATE] : undefined;
      return state && !state.closed ? state.current : null;
    },
    detach() {
      server.off('connection', onConnection);
      server.off('request', onRequest);
      server.off('upgrade', onUpgrade);
    },
  };
}
