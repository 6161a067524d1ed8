// Façade of the `socket.io` package (4.8) for learner server code: Server, Namespace, Socket,
// BroadcastOperator with socket.io's methods, events and errors, but the real server is the
// sandbox's (sandbox-server/learner-server/socket-io-relay.ts): every emit, join or broadcast
// becomes a command (protocol/host.ts, `io-*`) executed on the real objects, and what happens on
// them (connections, events, acks, disconnections, upgrades) comes back as socket.io's events.
// Rooms are mirrored here (an adapter kept in sync by the commands this façade issues), so
// socket.rooms and io.of(…).adapter.rooms answer at once, as on a single real server.
// Behaviour follows socket.io 4's lib/ (server, namespace, socket, broadcast-operator) and
// socket.io-adapter's in-memory adapter; see README.md for what is not supported and why.
import { EventEmitter } from 'events';
import { Buffer } from 'buffer';
import { IO_MAX_RECOVERY_MS, IO_MAX_ROOMS_PER_SOCKET } from '#protocol/host';
import type { HostIoAuth, HostIoConnection, HostToSandboxIo, IoCors, IoHandshake, IoOptions, SandboxToHostIo } from '#protocol/host';
import type { HostLink, IoReceiver } from './host-link.ts';
import { createServer, Server as HttpServer } from './http.ts';

/** Event names a socket may not emit (socket.io's RESERVED_EVENTS). */
const RESERVED_EVENTS = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);
const DEFAULT_PATH = '/socket.io';

type Room = string;
type Callback = (...args: unknown[]) => void;
type NextFn = (err?: Error & { data?: unknown }) => void;
type Middleware = (socket: Socket, next: NextFn) => void;
type PacketMiddleware = (packet: unknown[], next: (err?: Error) => void) => void;

const emitLocal = (target: EventEmitter, event: string, ...args: unknown[]) => EventEmitter.prototype.emit.call(target, event, ...args);

function isBinary(v: unknown): v is Buffer | ArrayBuffer | ArrayBufferView {
  return Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

function base64(v: Buffer | ArrayBuffer | ArrayBufferView): string {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof ArrayBuffer) return Buffer.from(v).toString('base64');
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

/**
 * Arguments as the host channel carries them: what JSON.stringify keeps (as socket.io's parser
 * does), binary data as `{ _b64 }`. A circular structure throws, as socket.io's emit does.
 */
export function encodeArgs(args: unknown[]): unknown[] {
  const text = JSON.stringify(args, function (this: Record<string, unknown>, key, value) {
    const raw = this[key];
    return isBinary(raw) ? { _b64: base64(raw) } : value;
  });
  return JSON.parse(text) as unknown[];
}

/** `{ _b64 }` placeholders back to Buffers (as socket.io gives binary data to listeners). */
export function decodeArgs(args: unknown[]): unknown[] {
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object' || depth > 64) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && keys[0] === '_b64' && typeof o._b64 === 'string') return Buffer.from(o._b64, 'base64');
    for (const k of keys) o[k] = walk(o[k], depth + 1);
    return o;
  };
  return args.map((a) => walk(a, 1));
}

const toRooms = (room: Room | Room[]): Room[] => (Array.isArray(room) ? room : [room]).map((r) => (typeof r === 'number' ? String(r) : r));

/** socket.io-adapter's in-memory adapter, as a mirror of the real one (same maps, same events). */
export class Adapter extends EventEmitter {
  readonly nsp: Namespace;
  readonly rooms = new Map<Room, Set<string>>();
  readonly sids = new Map<string, Set<Room>>();

  constructor(nsp: Namespace) {
    super();
    this.nsp = nsp;
  }

  addAll(id: string, rooms: Iterable<Room>): void {
    let held = this.sids.get(id);
    if (!held) this.sids.set(id, (held = new Set()));
    for (const room of rooms) {
      held.add(room);
      let members = this.rooms.get(room);
      if (!members) {
        this.rooms.set(room, (members = new Set()));
        this.emit('create-room', room);
      }
      if (!members.has(id)) {
        members.add(id);
        this.emit('join-room', room, id);
      }
    }
  }

  del(id: string, room: Room): void {
    this.sids.get(id)?.delete(room);
    const members = this.rooms.get(room);
    if (!members) return;
    if (members.delete(id)) this.emit('leave-room', room, id);
    if (members.size === 0 && this.rooms.delete(room)) this.emit('delete-room', room);
  }

  delAll(id: string): void {
    const held = this.sids.get(id);
    if (!held) return;
    for (const room of [...held]) this.del(id, room);
    this.sids.delete(id);
  }

  socketRooms(id: string): Set<Room> | undefined {
    return this.sids.get(id);
  }

  /** The connected sockets in any of `rooms` (all when empty), minus those in `except`. */
  apply(rooms: Set<Room>, except: Set<Room>, fn: (socket: Socket) => void): void {
    const excluded = new Set<string>();
    for (const room of except) for (const id of this.rooms.get(room) ?? []) excluded.add(id);
    if (rooms.size) {
      const seen = new Set<string>();
      for (const room of rooms) {
        for (const id of this.rooms.get(room) ?? []) {
          if (seen.has(id) || excluded.has(id)) continue;
          const socket = this.nsp.sockets.get(id);
          if (socket) {
            seen.add(id);
            fn(socket);
          }
        }
      }
      return;
    }
    for (const id of this.sids.keys()) {
      if (excluded.has(id)) continue;
      const socket = this.nsp.sockets.get(id);
      if (socket) fn(socket);
    }
  }

  serverCount(): Promise<number> {
    return Promise.resolve(1);
  }
}

interface Flags {
  volatile?: boolean;
  timeout?: number;
  local?: boolean;
}

/** One emit waiting for its acknowledgement (`io-ack-response`). */
interface PendingAck {
  cb: Callback;
  /** socket.timeout() or broadcast: the callback gets an error (or null) first. */
  withError: boolean;
  /** The socket whose answer it waits for without a timeout (dropped with it). */
  s?: number;
}

/** Where a namespace, a socket or an operator reach their server's link. */
interface Wire {
  link: HostLink;
  command(command: HostToSandboxIo): void;
  ack(entry: PendingAck): number;
  fetch(nsp: Namespace, to: Set<Room>, except: Set<Room>): Promise<RemoteSocket[]>;
}

/** io.to(…), socket.broadcast…: who an emit reaches, as socket.io's BroadcastOperator. */
export class BroadcastOperator {
  readonly #nsp: Namespace;
  readonly #rooms: Set<Room>;
  readonly #except: Set<Room>;
  readonly #flags: Flags;
  readonly #from: Socket | null;

  constructor(nsp: Namespace, rooms = new Set<Room>(), except = new Set<Room>(), flags: Flags = {}, from: Socket | null = null) {
    this.#nsp = nsp;
    this.#rooms = rooms;
    this.#except = except;
    this.#flags = flags;
    this.#from = from;
  }

  #with(rooms: Set<Room>, except: Set<Room>, flags: Flags): BroadcastOperator {
    return new BroadcastOperator(this.#nsp, rooms, except, flags, this.#from);
  }

  to(room: Room | Room[]): BroadcastOperator {
    return this.#with(new Set([...this.#rooms, ...toRooms(room)]), this.#except, this.#flags);
  }
  in(room: Room | Room[]): BroadcastOperator {
    return this.to(room);
  }
  except(room: Room | Room[]): BroadcastOperator {
    return this.#with(this.#rooms, new Set([...this.#except, ...toRooms(room)]), this.#flags);
  }
  compress(_compress: boolean): BroadcastOperator {
    return this;
  }
  get volatile(): BroadcastOperator {
    return this.#with(this.#rooms, this.#except, { ...this.#flags, volatile: true });
  }
  get local(): BroadcastOperator {
    return this.#with(this.#rooms, this.#except, { ...this.#flags, local: true });
  }
  timeout(timeout: number): BroadcastOperator {
    return this.#with(this.#rooms, this.#except, { ...this.#flags, timeout });
  }

  emit(ev: string, ...args: unknown[]): boolean {
    if (RESERVED_EVENTS.has(ev)) throw new Error(`"${String(ev)}" is a reserved event name`);
    const nsp = this.#nsp;
    const wire = nsp._wire;
    const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as Callback) : null;
    const encoded = encodeArgs(args);
    // The matching sockets' outgoing listeners, as the real adapter calls them.
    const except = new Set(this.#except);
    if (this.#from) except.add(this.#from.id);
    nsp.adapter.apply(this.#rooms, except, (socket) => socket._notifyOutgoing([ev, ...args]));
    const command: HostToSandboxIo = { t: 'io-broadcast', nsp: nsp.name, event: String(ev), args: encoded };
    if (this.#rooms.size) command.to = [...this.#rooms];
    if (this.#except.size) command.except = [...this.#except];
    if (this.#from) command.from = this.#from._s;
    if (this.#flags.volatile) command.volatile = true;
    if (this.#flags.timeout !== undefined) command.timeout = this.#flags.timeout;
    if (cb) command.ack = wire.ack({ cb, withError: true });
    wire.command(command);
    return true;
  }

  emitWithAck(ev: string, ...args: unknown[]): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      this.emit(ev, ...args, (err: unknown, responses: unknown[]) => {
        if (err) {
          (err as Error & { responses?: unknown[] }).responses = responses;
          reject(err);
        } else resolve(responses);
      });
    });
  }

  allSockets(): Promise<Set<string>> {
    const ids = new Set<string>();
    this.#nsp.adapter.apply(this.#rooms, this.#except, (socket) => ids.add(socket.id));
    return Promise.resolve(ids);
  }

  fetchSockets(): Promise<RemoteSocket[]> {
    return this.#nsp._wire.fetch(this.#nsp, this.#rooms, this.#except);
  }

  socketsJoin(room: Room | Room[]): void {
    const rooms = toRooms(room);
    const targets: Socket[] = [];
    this.#nsp.adapter.apply(this.#rooms, this.#except, (socket) => targets.push(socket));
    let all = true;
    for (const socket of targets) all = socket._joinWithin(rooms).all && all;
    if (!all) tooManyRooms(this.#nsp._wire.link);
    this.#command('io-sockets-join', rooms);
  }

  socketsLeave(room: Room | Room[]): void {
    const rooms = toRooms(room);
    this.#nsp.adapter.apply(this.#rooms, this.#except, (socket) => {
      for (const r of rooms) this.#nsp.adapter.del(socket.id, r);
    });
    this.#command('io-sockets-leave', rooms);
  }

  disconnectSockets(close = false): void {
    const command: HostToSandboxIo = { t: 'io-disconnect-sockets', nsp: this.#nsp.name, close };
    this.#target(command);
    this.#nsp._wire.command(command);
  }

  #command(t: 'io-sockets-join' | 'io-sockets-leave', rooms: Room[]): void {
    const command: HostToSandboxIo = { t, nsp: this.#nsp.name, rooms };
    this.#target(command);
    this.#nsp._wire.command(command);
  }

  #target(command: { to?: string[]; except?: string[] }): void {
    if (this.#rooms.size) command.to = [...this.#rooms];
    if (this.#except.size) command.except = [...this.#except];
  }
}

function tooManyRooms(link: HostLink): void {
  link.console.warn(
    `[bac à sable] Un socket ne peut pas être dans plus de ${IO_MAX_ROOMS_PER_SOCKET}\u00a0salons (en plus du sien)\u00a0: les salons en trop ne sont pas rejoints.`,
  );
}

/** What the engine connection of a socket shows (one per socket here: see README). */
export class Conn extends EventEmitter {
  readonly transport: { name: string };
  readonly remoteAddress: string;
  readonly protocol = 4;
  readyState = 'open';
  readonly #socket: Socket;

  constructor(socket: Socket, transport: string, remoteAddress: string) {
    super();
    this.#socket = socket;
    this.transport = { name: transport };
    this.remoteAddress = remoteAddress;
  }

  /** Closes the whole connection (every namespace of the client), as engine.io's socket.close(). */
  close(): this {
    this.#socket.disconnect(true);
    return this;
  }
}

/** The server side of one client in one namespace. */
export class Socket extends EventEmitter {
  readonly id: string;
  readonly handshake: IoHandshake;
  readonly nsp: Namespace;
  readonly server: Server;
  readonly conn: Conn;
  readonly request: { method: string; url: string; headers: Record<string, string>; socket: { remoteAddress: string; encrypted: boolean } };
  /** The real server restored this socket's id, rooms and missed packets (connection state recovery). */
  readonly recovered: boolean;
  data: Record<string, unknown> = {};
  connected = false;
  /** The sandbox's name for this socket (`s`). */
  readonly _s: number;
  #flags: Flags = {};
  #fns: PacketMiddleware[] = [];
  #any: Callback[] = [];
  #anyOut: Callback[] = [];
  #closing = false;

  constructor(nsp: Namespace, message: HostIoAuth | HostIoConnection) {
    super();
    this.nsp = nsp;
    this.server = nsp.server;
    this.id = message.id;
    this._s = message.s;
    this.recovered = message.recovered === true;
    this.handshake = message.handshake;
    this.conn = new Conn(this, message.transport, message.handshake.address);
    this.request = {
      method: 'GET',
      url: message.handshake.url,
      headers: message.handshake.headers,
      socket: { remoteAddress: message.handshake.address, encrypted: message.handshake.secure },
    };
    // Prevents a crash when the socket gets an "error" event without listener (as socket.io does).
    this.on('error', () => {});
  }

  get disconnected(): boolean {
    return !this.connected;
  }

  get rooms(): Set<Room> {
    return this.nsp.adapter.socketRooms(this.id) ?? new Set();
  }

  get client(): { conn: Conn; request: Socket['request'] } {
    return { conn: this.conn, request: this.request };
  }

  emit(ev: string, ...args: unknown[]): boolean {
    if (RESERVED_EVENTS.has(ev)) throw new Error(`"${String(ev)}" is a reserved event name`);
    const flags = this.#flags;
    this.#flags = {};
    const wire = this.nsp._wire;
    const cb = typeof args[args.length - 1] === 'function' ? (args.pop() as Callback) : null;
    const command: HostToSandboxIo = { t: 'io-emit', s: this._s, event: String(ev), args: encodeArgs(args) };
    if (flags.volatile) command.volatile = true;
    if (flags.timeout !== undefined) command.timeout = flags.timeout;
    if (cb) {
      const timed = flags.timeout !== undefined;
      command.ack = wire.ack(timed ? { cb, withError: true } : { cb, withError: false, s: this._s });
    }
    this._notifyOutgoing([ev, ...args]);
    wire.command(command);
    return true;
  }

  emitWithAck(ev: string, ...args: unknown[]): Promise<unknown> {
    const withErr = this.#flags.timeout !== undefined;
    return new Promise((resolve, reject) => {
      this.emit(ev, ...args, (arg1: unknown, arg2: unknown) => {
        if (!withErr) return resolve(arg1);
        return arg1 ? reject(arg1) : resolve(arg2);
      });
    });
  }

  send(...args: unknown[]): this {
    this.emit('message', ...args);
    return this;
  }
  write(...args: unknown[]): this {
    return this.send(...args);
  }

  timeout(timeout: number): this {
    this.#flags.timeout = timeout;
    return this;
  }
  get volatile(): this {
    this.#flags.volatile = true;
    return this;
  }
  compress(_compress: boolean): this {
    return this;
  }
  get broadcast(): BroadcastOperator {
    const flags = this.#flags;
    this.#flags = {};
    return new BroadcastOperator(this.nsp, new Set(), new Set(), flags, this);
  }
  get local(): BroadcastOperator {
    return this.broadcast.local;
  }
  to(room: Room | Room[]): BroadcastOperator {
    return this.broadcast.to(room);
  }
  in(room: Room | Room[]): BroadcastOperator {
    return this.broadcast.in(room);
  }
  except(room: Room | Room[]): BroadcastOperator {
    return this.broadcast.except(room);
  }

  join(rooms: Room | Room[]): void {
    const { fit, all } = this._joinWithin(toRooms(rooms));
    if (!all) tooManyRooms(this.nsp._wire.link);
    if (fit.length) this.nsp._wire.command({ t: 'io-join', s: this._s, rooms: fit });
  }

  leave(room: Room): void {
    const r = toRooms(room)[0];
    this.nsp.adapter.del(this.id, r);
    this.nsp._wire.command({ t: 'io-leave', s: this._s, rooms: [r] });
  }

  /** Joins locally what fits under the sandbox's cap, in order (the relay applies the same rule). */
  _joinWithin(rooms: Room[]): { fit: Room[]; all: boolean } {
    const held = this.rooms;
    let count = held.size - (held.has(this.id) ? 1 : 0);
    const fit: Room[] = [];
    let all = true;
    for (const room of rooms) {
      if (held.has(room) || fit.includes(room)) continue;
      if (count >= IO_MAX_ROOMS_PER_SOCKET) {
        all = false;
        break;
      }
      fit.push(room);
      count++;
    }
    if (fit.length) this.nsp.adapter.addAll(this.id, fit);
    return { fit, all };
  }

  disconnect(close = false): this {
    if (!this.connected || this.#closing) return this;
    this.#closing = true;
    this.nsp._wire.command({ t: 'io-socket-disconnect', s: this._s, close });
    return this;
  }

  use(fn: PacketMiddleware): this {
    this.#fns.push(fn);
    return this;
  }

  onAny(listener: Callback): this {
    this.#any.push(listener);
    return this;
  }
  prependAny(listener: Callback): this {
    this.#any.unshift(listener);
    return this;
  }
  offAny(listener?: Callback): this {
    this.#any = listener ? this.#any.filter((l) => l !== listener) : [];
    return this;
  }
  listenersAny(): Callback[] {
    return this.#any;
  }
  onAnyOutgoing(listener: Callback): this {
    this.#anyOut.push(listener);
    return this;
  }
  prependAnyOutgoing(listener: Callback): this {
    this.#anyOut.unshift(listener);
    return this;
  }
  offAnyOutgoing(listener?: Callback): this {
    this.#anyOut = listener ? this.#anyOut.filter((l) => l !== listener) : [];
    return this;
  }
  listenersAnyOutgoing(): Callback[] {
    return this.#anyOut;
  }

  _notifyOutgoing(packet: unknown[]): void {
    for (const listener of this.#anyOut.slice()) listener.apply(this, packet);
  }

  /** The middlewares let it in: connected, in its own room. */
  _onconnect(transport: string, restored: readonly string[] = []): void {
    this.connected = true;
    this.conn.transport.name = transport;
    // A recovered socket's rooms are already back on the real server: mirrored, not joined again.
    this.nsp.adapter.addAll(this.id, [this.id, ...restored]);
  }

  /** A client's event: onAny listeners, then the packet middlewares (socket.use), then the listeners. */
  _onevent(event: string, args: unknown[], ack: number | undefined): void {
    const packet: unknown[] = [event, ...decodeArgs(args)];
    if (ack !== undefined) {
      let sent = false;
      packet.push((...answer: unknown[]) => {
        if (sent) return;
        sent = true;
        this.nsp._wire.command({ t: 'io-ack', s: this._s, ack, args: encodeArgs(answer) });
      });
    }
    for (const listener of this.#any.slice()) listener.apply(this, packet);
    const fns = this.#fns.slice();
    const done = (err?: Error) =>
      queueMicrotask(() => {
        if (err) emitLocal(this, 'error', err);
        else if (this.connected) emitLocal(this, ...(packet as [string, ...unknown[]]));
      });
    if (!fns.length) {
      done();
      return;
    }
    const step = (i: number) =>
      fns[i](packet, (err) => {
        if (err) return done(err);
        if (!fns[i + 1]) return done();
        step(i + 1);
      });
    step(0);
  }

  _ondisconnecting(reason: string): void {
    emitLocal(this, 'disconnecting', reason);
  }

  _ondisconnect(reason: string): void {
    this.nsp.adapter.delAll(this.id);
    this.nsp.sockets.delete(this.id);
    this.connected = false;
    this.conn.readyState = 'closed';
    emitLocal(this, 'disconnect', reason);
  }

  _ontransport(transport: string): void {
    this.conn.transport.name = transport;
    emitLocal(this.conn, 'upgrade', this.conn.transport);
  }
}

/** What fetchSockets() gives: a subset of Socket (socket.io's RemoteSocket). */
export class RemoteSocket {
  readonly id: string;
  readonly handshake: IoHandshake;
  readonly rooms: Set<Room>;
  readonly data: Record<string, unknown>;
  readonly #socket: Socket;

  constructor(socket: Socket, rooms: Room[]) {
    this.#socket = socket;
    this.id = socket.id;
    this.handshake = socket.handshake;
    this.rooms = new Set(rooms);
    this.data = socket.data;
  }

  emit(ev: string, ...args: unknown[]): boolean {
    return this.#socket.emit(ev, ...args);
  }
  timeout(timeout: number): {
    emit: (ev: string, ...args: unknown[]) => boolean;
    emitWithAck: (ev: string, ...args: unknown[]) => Promise<unknown>;
  } {
    return {
      emit: (ev, ...args) => this.#socket.timeout(timeout).emit(ev, ...args),
      emitWithAck: (ev, ...args) => this.#socket.timeout(timeout).emitWithAck(ev, ...args),
    };
  }
  join(room: Room | Room[]): void {
    this.#socket.join(room);
  }
  leave(room: Room): void {
    this.#socket.leave(room);
  }
  disconnect(close = false): this {
    this.#socket.disconnect(close);
    return this;
  }
}

/** io.of(name): a namespace, its sockets, its middlewares. */
export class Namespace extends EventEmitter {
  readonly name: string;
  readonly server: Server;
  readonly sockets = new Map<string, Socket>();
  readonly adapter: Adapter;
  readonly _fns: Middleware[] = [];
  /** Sockets in the middlewares (socket.io's _preConnectSockets). */
  readonly _preConnectSockets = new Map<string, Socket>();
  readonly _wire: Wire;

  constructor(server: Server, name: string, wire: Wire) {
    super();
    this.server = server;
    this.name = name;
    this._wire = wire;
    this.adapter = new Adapter(this);
  }

  use(fn: Middleware): this {
    this._fns.push(fn);
    return this;
  }

  to(room: Room | Room[]): BroadcastOperator {
    return new BroadcastOperator(this).to(room);
  }
  in(room: Room | Room[]): BroadcastOperator {
    return new BroadcastOperator(this).in(room);
  }
  except(room: Room | Room[]): BroadcastOperator {
    return new BroadcastOperator(this).except(room);
  }
  emit(ev: string, ...args: unknown[]): boolean {
    return new BroadcastOperator(this).emit(ev, ...args);
  }
  emitWithAck(ev: string, ...args: unknown[]): Promise<unknown[]> {
    return new BroadcastOperator(this).emitWithAck(ev, ...args);
  }
  send(...args: unknown[]): this {
    this.emit('message', ...args);
    return this;
  }
  write(...args: unknown[]): this {
    return this.send(...args);
  }
  serverSideEmit(ev: string, ..._args: unknown[]): boolean {
    if (ev === 'connect' || ev === 'connection' || ev === 'new_namespace') throw new Error(`"${String(ev)}" is a reserved event name`);
    // What socket.io's in-memory adapter says: there is no other server to tell.
    this._wire.link.console.warn('this adapter does not support the serverSideEmit() functionality');
    return true;
  }
  allSockets(): Promise<Set<string>> {
    return new BroadcastOperator(this).allSockets();
  }
  compress(compress: boolean): BroadcastOperator {
    return new BroadcastOperator(this).compress(compress);
  }
  get volatile(): BroadcastOperator {
    return new BroadcastOperator(this).volatile;
  }
  get local(): BroadcastOperator {
    return new BroadcastOperator(this).local;
  }
  timeout(timeout: number): BroadcastOperator {
    return new BroadcastOperator(this).timeout(timeout);
  }
  fetchSockets(): Promise<RemoteSocket[]> {
    return new BroadcastOperator(this).fetchSockets();
  }
  socketsJoin(room: Room | Room[]): void {
    new BroadcastOperator(this).socketsJoin(room);
  }
  socketsLeave(room: Room | Room[]): void {
    new BroadcastOperator(this).socketsLeave(room);
  }
  disconnectSockets(close = false): void {
    new BroadcastOperator(this).disconnectSockets(close);
  }

  /**
   * Runs the middlewares (io.use) for a socket the sandbox holds in its own middleware;
   * `refused` runs when one of them refuses it (the sandbox then forgets it too).
   */
  _auth(socket: Socket, refused: () => void): void {
    this._preConnectSockets.set(socket.id, socket);
    const fns = this._fns.slice();
    let answered = false;
    const answer = (err?: Error & { data?: unknown }) => {
      if (answered) return;
      answered = true;
      if (!err) {
        this._wire.command({ t: 'io-next', s: socket._s });
        return;
      }
      this._preConnectSockets.delete(socket.id);
      this.adapter.delAll(socket.id);
      refused();
      const error: { message?: string; data?: unknown } = {};
      if (err.message !== undefined) error.message = String(err.message);
      if (err.data !== undefined) {
        try {
          error.data = JSON.parse(JSON.stringify(err.data));
        } catch {
          this._wire.link.console.warn('[bac à sable] err.data ne se convertit pas en JSON\u00a0: le client reçoit l’erreur sans data.');
        }
      }
      this._wire.command({ t: 'io-next', s: socket._s, error });
    };
    if (!fns.length) {
      answer();
      return;
    }
    const step = (i: number) =>
      fns[i](socket, (err) => {
        if (err) return answer(err);
        if (!fns[i + 1]) return answer();
        step(i + 1);
      });
    step(0);
  }

  _connect(socket: Socket, transport: string, restored?: readonly string[]): void {
    this._preConnectSockets.delete(socket.id);
    this.sockets.set(socket.id, socket);
    socket._onconnect(transport, restored);
    emitLocal(this, 'connect', socket);
    emitLocal(this, 'connection', socket);
  }
}

export interface ServerOptions {
  path?: string;
  cors?: Record<string, unknown>;
  pingInterval?: number;
  pingTimeout?: number;
  connectTimeout?: number;
  maxHttpBufferSize?: number;
  transports?: string[];
  allowUpgrades?: boolean;
  [other: string]: unknown;
}

/** At most this many disconnected sockets' data kept for recovery. */
const MAX_SAVED_SOCKETS = 256;
/** The reasons after which socket.io keeps a socket's state for recovery (its RECOVERABLE_DISCONNECT_REASONS). */
const RECOVERABLE_REASONS = new Set([
  'transport error',
  'transport close',
  'forced close',
  'ping timeout',
  'server shutting down',
  'forced server close',
]);

/** Options of socket.io and engine.io the sandbox does not apply, with the reason told to the learner. */
const IGNORED_OPTIONS: Record<string, string> = {
  adapter: 'un seul serveur, l’adaptateur en mémoire',
  parser: 'le format de socket.io par défaut',
  allowRequest: 'utilisez io.use() pour refuser une connexion',
  perMessageDeflate: 'messages non compressés',
  httpCompression: 'réponses non compressées',
  cookie: 'pas de cookie de session',
  allowEIO3: 'clients Socket.IO 3+ seulement',
  wsEngine: 'le moteur WebSocket du bac à sable',
};

/** The cors option as JSON (functions and regular expressions cannot travel: see README). */
function corsOf(cors: unknown, link: HostLink): IoCors | undefined {
  if (cors === undefined) return undefined;
  if (!cors || typeof cors !== 'object') return undefined;
  const c = cors as Record<string, unknown>;
  const out: IoCors = {};
  const origin = c.origin;
  const plain = (v: unknown) => typeof v === 'string' || typeof v === 'boolean';
  if (origin !== undefined) {
    if (plain(origin) || (Array.isArray(origin) && origin.every((o) => typeof o === 'string'))) out.origin = origin as IoCors['origin'];
    else {
      link.console.warn(
        '[bac à sable] cors.origin doit être une chaîne, une liste de chaînes ou un booléen (pas de fonction ni d’expression régulière)\u00a0: toutes les origines sont acceptées.',
      );
      out.origin = true;
    }
  }
  for (const key of ['methods', 'allowedHeaders', 'exposedHeaders'] as const)
    if (c[key] !== undefined) out[key] = c[key] as string | string[];
  if (typeof c.credentials === 'boolean') out.credentials = c.credentials;
  if (typeof c.maxAge === 'number') out.maxAge = c.maxAge;
  return out;
}

/** socket.io's Server: the main namespace's methods, namespaces, attach to an http server. */
export class Server extends EventEmitter implements IoReceiver {
  readonly sockets: Namespace;
  readonly _nsps = new Map<string, Namespace>();
  readonly opts: ServerOptions;
  httpServer: HttpServer | null = null;
  readonly #link: HostLink;
  readonly #wire: Wire;
  #path = DEFAULT_PATH;
  #connectTimeout = 45_000;
  #declared = false;
  #closed = false;
  /** Sockets by the sandbox's `s`: in the middlewares, then connected. */
  readonly #byRef = new Map<number, Socket>();
  readonly #acks = new Map<number, PendingAck>();
  readonly #requests = new Map<number, { nsp: Namespace; resolve: (sockets: RemoteSocket[]) => void }>();
  /** Connection state recovery: how long a socket's state is kept (0: off)… */
  #recoveryMs = 0;
  /** …and the `data` of sockets that left for a recoverable reason, by namespace and id, until then. */
  readonly #saved = new Map<string, { data: Record<string, unknown>; until: number }>();
  #nextId = 0;

  constructor(link: HostLink, srv?: unknown, opts: ServerOptions = {}) {
    super();
    this.#link = link;
    if (srv !== null && typeof srv === 'object' && !(srv as { listen?: unknown }).listen) {
      opts = srv as ServerOptions;
      srv = undefined;
    }
    this.opts = opts;
    this.path(opts.path || DEFAULT_PATH);
    this.#connectTimeout = opts.connectTimeout || 45_000;
    this.#wire = {
      link,
      command: (command) => {
        if (!this.#closed) link.command(command);
      },
      ack: (entry) => {
        const id = ++this.#nextId;
        this.#acks.set(id, entry);
        return id;
      },
      fetch: (nsp, to, except) =>
        new Promise((resolve) => {
          const r = ++this.#nextId;
          this.#requests.set(r, { nsp, resolve });
          const command: HostToSandboxIo = { t: 'io-fetch', r, nsp: nsp.name };
          if (to.size) command.to = [...to];
          if (except.size) command.except = [...except];
          if (this.#closed || !this.#declared) {
            // Nothing declared to the sandbox: no socket can be connected.
            this.#requests.delete(r);
            resolve([]);
            return;
          }
          link.command(command);
        }),
    };
    this.sockets = this.of('/');
    if (srv || typeof srv === 'number') this.attach(srv);
  }

  path(v?: string): string | this {
    if (v === undefined) return this.#path;
    this.#path = v.replace(/\/$/, '');
    return this;
  }

  connectTimeout(v?: number): number | this {
    if (v === undefined) return this.#connectTimeout;
    this.#connectTimeout = v;
    return this;
  }

  serveClient(v?: boolean): boolean | this {
    return v === undefined ? false : this;
  }

  listen(srv: unknown, opts: ServerOptions = {}): this {
    return this.attach(srv, opts);
  }

  attach(srv: unknown, opts: ServerOptions = {}): this {
    if (typeof srv === 'function') {
      throw new Error('You are trying to attach socket.io to an express request handler function. Please pass a http.Server instance.');
    }
    // A port given as a string.
    if (typeof srv === 'string' && /^\d+$/.test(srv)) srv = Number(srv);
    if (typeof srv === 'number') {
      const server = createServer(this.#link, (_req, res) => {
        res.writeHead(404);
        res.end();
      });
      server.listen(srv);
      srv = server;
    }
    if (!(srv instanceof HttpServer)) {
      throw new TypeError(
        'Dans le bac à sable, Socket.IO s’attache à un serveur créé par require(\u00a0\u2019http\u2019\u00a0).createServer(), ou à un numéro de port.',
      );
    }
    Object.assign(this.opts, opts);
    if (this.#link.io && this.#link.io !== this) {
      throw new Error(
        'Un seul serveur Socket.IO par session dans le bac à sable\u00a0: réutilisez le premier (io.of() pour d’autres espaces de noms).',
      );
    }
    this.#link.io = this;
    this.httpServer = srv;
    if (srv.listening) this.#declare();
    else srv.once('listening', () => this.#declare());
    return this;
  }

  /**
   * A server started or stopped listening (HostLink's IoReceiver): the real server is declared
   * once the http server it is attached to is the first one listening.
   */
  listeningChanged(): void {
    if (this.httpServer?.listening) this.#declare();
  }

  /**
   * Tells the sandbox to create the real server, once its http server listens and is the one that
   * gets the traffic (the first listening), as a real port would. Attached to a server that never
   * listens (`http.createServer(app)` then `app.listen()`), nothing is declared: /socket.io/
   * requests reach the listening server, which answers them itself (express: 404), as in Node.
   */
  #declare(): void {
    if (this.#declared || this.#closed) return;
    if (this.#link.listening[0] !== this.httpServer) return;
    this.#declared = true;
    const o = this.opts;
    const console = this.#link.console;
    for (const key of Object.keys(o)) {
      if (Object.hasOwn(IGNORED_OPTIONS, key) && o[key] !== undefined)
        console.warn(`[bac à sable] Option «\u00a0${key}\u00a0» ignorée\u00a0: ${IGNORED_OPTIONS[key]}.`);
    }
    if (this.#path !== DEFAULT_PATH) {
      console.warn(
        `[bac à sable] Option path «\u00a0${this.#path}\u00a0» ignorée\u00a0: le serveur Socket.IO de la leçon répond à /socket.io/.`,
      );
    }
    const options: IoOptions = {};
    const cors = corsOf(o.cors, this.#link);
    if (cors) options.cors = cors;
    for (const key of ['pingInterval', 'pingTimeout', 'maxHttpBufferSize'] as const) {
      const v = o[key];
      if (typeof v === 'number' && Number.isInteger(v) && v > 0) options[key] = Math.min(v, 2 ** 31 - 1);
    }
    options.connectTimeout = Math.min(Math.max(1, Math.trunc(this.#connectTimeout)), 2 ** 31 - 1);
    if (Array.isArray(o.transports)) {
      const transports = o.transports.filter((x): x is 'polling' | 'websocket' => x === 'polling' || x === 'websocket');
      if (transports.length) options.transports = transports;
    }
    if (typeof o.allowUpgrades === 'boolean') options.allowUpgrades = o.allowUpgrades;
    const recovery = o.connectionStateRecovery;
    if (recovery && typeof recovery === 'object') {
      const r = recovery as { maxDisconnectionDuration?: unknown; skipMiddlewares?: unknown };
      const asked =
        typeof r.maxDisconnectionDuration === 'number' && r.maxDisconnectionDuration >= 0 ? r.maxDisconnectionDuration : 120_000;
      const duration = Math.min(Math.trunc(asked), IO_MAX_RECOVERY_MS);
      if (duration < asked) {
        console.warn(
          `[bac à sable] connectionStateRecovery.maxDisconnectionDuration ramené à ${IO_MAX_RECOVERY_MS / 1000} s : le bac à sable ne garde pas plus longtemps l’état d’un socket parti.`,
        );
      }
      this.#recoveryMs = duration;
      options.connectionStateRecovery = { maxDisconnectionDuration: duration, skipMiddlewares: r.skipMiddlewares !== false };
    }
    const nsps = [...this._nsps.keys()].filter((n) => n !== '/');
    this.#link.command({ t: 'io-attach', nsps, options });
  }

  of(name: string | RegExp | ((...args: unknown[]) => unknown), fn?: (socket: Socket) => void): Namespace {
    if (typeof name === 'function' || name instanceof RegExp) {
      throw new Error(
        'Les espaces de noms dynamiques (expression régulière ou fonction) ne sont pas pris en charge dans le bac à sable\u00a0: créez chaque espace de noms par son nom, io.of(\u00a0\u2019/nom\u2019\u00a0).',
      );
    }
    if (String(name)[0] !== '/') name = '/' + name;
    let nsp = this._nsps.get(name);
    if (!nsp) {
      nsp = new Namespace(this, name, this.#wire);
      this._nsps.set(name, nsp);
      if (this.#declared) this.#wire.command({ t: 'io-nsp', nsp: name });
      if (name !== '/') emitLocal(this.sockets, 'new_namespace', nsp);
    }
    if (fn) nsp.on('connect', fn);
    return nsp;
  }

  use(fn: Middleware): this {
    this.sockets.use(fn);
    return this;
  }
  to(room: Room | Room[]): BroadcastOperator {
    return this.sockets.to(room);
  }
  in(room: Room | Room[]): BroadcastOperator {
    return this.sockets.in(room);
  }
  except(room: Room | Room[]): BroadcastOperator {
    return this.sockets.except(room);
  }
  send(...args: unknown[]): this {
    this.sockets.emit('message', ...args);
    return this;
  }
  write(...args: unknown[]): this {
    return this.send(...args);
  }
  serverSideEmit(ev: string, ...args: unknown[]): boolean {
    return this.sockets.serverSideEmit(ev, ...args);
  }
  allSockets(): Promise<Set<string>> {
    return this.sockets.allSockets();
  }
  compress(compress: boolean): BroadcastOperator {
    return this.sockets.compress(compress);
  }
  get volatile(): BroadcastOperator {
    return this.sockets.volatile;
  }
  get local(): BroadcastOperator {
    return this.sockets.local;
  }
  timeout(timeout: number): BroadcastOperator {
    return this.sockets.timeout(timeout);
  }
  fetchSockets(): Promise<RemoteSocket[]> {
    return this.sockets.fetchSockets();
  }
  socketsJoin(room: Room | Room[]): void {
    this.sockets.socketsJoin(room);
  }
  socketsLeave(room: Room | Room[]): void {
    this.sockets.socketsLeave(room);
  }
  disconnectSockets(close = false): void {
    this.sockets.disconnectSockets(close);
  }

  /** Disconnects every client ('server shutting down', relayed back) and closes the http server. */
  close(fn?: (err?: Error) => void): Promise<void> {
    if (this.#declared && !this.#closed) this.#link.command({ t: 'io-close' });
    this.#closed = true;
    for (const { resolve } of this.#requests.values()) resolve([]);
    this.#requests.clear();
    return new Promise((resolve) => {
      if (!this.httpServer) {
        fn?.();
        resolve();
        return;
      }
      this.httpServer.close((err) => {
        fn?.(err);
        resolve();
      });
    });
  }

  /** Keeps a leaving socket's data for recovery: bounded in time and in count (oldest dropped first). */
  #save(key: string, data: Record<string, unknown>): void {
    const now = Date.now();
    for (const [k, v] of this.#saved) if (v.until < now) this.#saved.delete(k);
    if (this.#saved.size >= MAX_SAVED_SOCKETS) this.#saved.delete(this.#saved.keys().next().value as string);
    this.#saved.set(key, { data, until: now + this.#recoveryMs });
  }

  /** IoReceiver: one Socket.IO message from the sandbox. */
  receive(message: SandboxToHostIo): void {
    switch (message.t) {
      case 'io-auth': {
        const nsp = this._nsps.get(message.nsp);
        if (!nsp) {
          this.#link.command({ t: 'io-next', s: message.s, error: { message: 'Invalid namespace' } });
          return;
        }
        const socket = new Socket(nsp, message);
        this.#byRef.set(message.s, socket);
        nsp._auth(socket, () => this.#byRef.delete(message.s));
        return;
      }
      case 'io-connection': {
        const nsp = this._nsps.get(message.nsp);
        if (!nsp) return;
        let socket = this.#byRef.get(message.s);
        if (!socket) {
          socket = new Socket(nsp, message);
          this.#byRef.set(message.s, socket);
        }
        if (socket.recovered) {
          // socket.data comes back as socket.io restores it (the real server never saw the page's).
          const key = `${nsp.name}\n${socket.id}`;
          const saved = this.#saved.get(key);
          this.#saved.delete(key);
          if (saved && saved.until >= Date.now()) socket.data = saved.data;
        }
        nsp._connect(socket, message.transport, message.rooms);
        return;
      }
      case 'io-event':
        this.#byRef.get(message.s)?._onevent(message.event, message.args, message.ack);
        return;
      case 'io-ack-response': {
        const entry = this.#acks.get(message.ack);
        if (!entry) return;
        this.#acks.delete(message.ack);
        const args = decodeArgs(message.args);
        if (entry.withError) entry.cb(message.error === undefined ? null : new Error(message.error), ...args);
        else entry.cb(...args);
        return;
      }
      case 'io-disconnecting': {
        const socket = this.#byRef.get(message.s);
        if (socket?.connected) socket._ondisconnecting(message.reason);
        return;
      }
      case 'io-disconnect': {
        const socket = this.#byRef.get(message.s);
        this.#byRef.delete(message.s);
        if (!socket) return;
        // Its answers without a timeout will never come (socket.io forgets them with the socket).
        for (const [id, entry] of this.#acks) if (entry.s === message.s) this.#acks.delete(id);
        if (socket.connected) {
          if (this.#recoveryMs > 0 && RECOVERABLE_REASONS.has(message.reason)) this.#save(`${socket.nsp.name}\n${socket.id}`, socket.data);
          socket._ondisconnect(message.reason);
        } else {
          socket.nsp._preConnectSockets.delete(socket.id);
          socket.nsp.adapter.delAll(socket.id);
        }
        return;
      }
      case 'io-transport':
        this.#byRef.get(message.s)?._ontransport(message.transport);
        return;
      case 'io-sockets': {
        const request = this.#requests.get(message.r);
        if (!request) return;
        this.#requests.delete(message.r);
        const found: RemoteSocket[] = [];
        for (const { s, rooms } of message.sockets) {
          const socket = this.#byRef.get(s);
          if (socket) found.push(new RemoteSocket(socket, rooms));
        }
        request.resolve(found);
        return;
      }
    }
  }
}

// As socket.io does: the EventEmitter methods of a Server are its main namespace's
// (io.on('connection'), io.emit(…) broadcasts).
for (const key of Object.getOwnPropertyNames(EventEmitter.prototype)) {
  const method = (EventEmitter.prototype as unknown as Record<string, unknown>)[key];
  if (key === 'constructor' || typeof method !== 'function') continue;
  Object.defineProperty(Server.prototype, key, {
    configurable: true,
    writable: true,
    value(this: Server, ...args: unknown[]) {
      return (this.sockets as unknown as Record<string, (...a: unknown[]) => unknown>)[key](...args);
    },
  });
}

/**
 * The module `socket.io` as `require('socket.io')` returns it: a function making a Server
 * (`require('socket.io')(server, opts)`), with `Server`, `Namespace`, `Socket` on it.
 */
export function socketIoModule(link: HostLink): unknown {
  class BoundServer extends Server {
    constructor(srv?: unknown, opts?: ServerOptions) {
      super(link, srv, opts);
    }
  }
  const io = (srv?: unknown, opts?: ServerOptions) => new BoundServer(srv, opts);
  return Object.assign(io, { Server: BoundServer, Namespace, Socket, BroadcastOperator, RemoteSocket });
}
