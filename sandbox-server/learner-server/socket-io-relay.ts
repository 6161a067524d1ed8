// The learner server's Socket.IO, sandbox side. The learner's `require('socket.io')` is a façade
// running in the page (site/scripts/playground/server-runtime/socket-io.ts); here is the REAL
// socket.io Server of the session, created when the host declares one (`io-attach`), served at
// /s/<id>/socket.io/ with the sandbox's limits (those of the built-in scenario: handshakes per
// session, CONNECTs per client, queued bytes per client, packet rate, payload size, rooms per
// socket). Each namespace has one middleware that asks the host (`io-auth` → `io-next`); what
// clients emit is relayed (`io-event`), and the host's commands run on the real objects, in order,
// so the bytes on the wire are socket.io's own. No learner code runs here.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server } from 'socket.io';
import type { Namespace, ServerOptions, Socket } from 'socket.io';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { HostToSandboxIo, IoHandshake, IoTarget, SandboxToHost } from '#protocol/host';
import { clamp, TokenBucket, wsProtections } from '../limits.ts';
import { clientLabel } from '../routes.ts';
import type { Session } from '../sessions.ts';
import { checkReader, connOf, reportWsError } from '../scenarios/common.ts';
import type { ScenarioEnv } from '../scenarios/common.ts';
import { CONNECTS_BURST, ENGINE_QUEUE_MAX, MAX_ROOMS_PER_SOCKET } from '../scenarios/socket-io.ts';
import { IO_OPTION_BOUNDS } from './io-commands.ts';
import type { IoRefusal } from './io-commands.ts';

/** How long the host's middlewares have to answer a connection (`io-next`). */
export const IO_AUTH_TIMEOUT_MS = 5000;
/** The error a client gets when the host's middlewares do not answer in time. */
export const IO_NO_ANSWER = 'Le serveur de la leçon ne répond pas';
/** Namespaces one learner server may declare ('/' included). */
export const MAX_NAMESPACES = 16;
/** Emits of the host waiting for an acknowledgement, per session. */
export const MAX_HOST_ACKS = 256;
/** Client events waiting for the host's acknowledgement, per socket (past it, relayed without ack). */
export const MAX_CLIENT_ACKS = 256;
/** Nesting kept when relaying a client's arguments (deeper values travel as they are). */
const ENCODE_DEPTH = 64;

/** What the relay needs of a session's host (learner-server.ts's LearnerHost). */
export interface IoHost {
  readonly session: Session;
  send(message: SandboxToHost): void;
  /** A new id, from the counter of the host channel's connection ids. */
  id(): number;
  /** True for ids the channel issued (a command for a socket gone meanwhile is not an error). */
  issued(id: number): boolean;
}

export interface SocketIoRelay {
  /** Runs one validated command (its decoded arguments apart); refusals are sent to the host. */
  execute(host: IoHost, cmd: HostToSandboxIo, args: unknown[] | undefined): void;
  /** True when the host declared a Socket.IO server and `rest` is its path. */
  serves(host: IoHost | undefined, rest: string): boolean;
  /** An HTTP request at its path (503 when no Socket.IO server is declared any more). */
  handleRequest(host: IoHost | undefined, req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(host: IoHost, req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** The host left (or the session ended): the real server disconnects everyone and is dropped. */
  drop(host: IoHost): void;
}

interface EngineSocket {
  readonly readyState: string;
  readonly request: IncomingMessage;
  readonly transport?: { name?: string; socket?: WebSocket };
  on(event: string, fn: (...args: never[]) => void): void;
  off(event: string, fn: (...args: never[]) => void): void;
  close(discard?: boolean): void;
}

interface EngineLike {
  clientsCount: number;
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  on(event: 'connection', fn: (socket: EngineSocket) => void): void;
}

/** The in-memory adapter's synchronous walk over matching sockets. */
interface ApplyingAdapter {
  apply(opts: { rooms: Set<string>; except?: Set<string> }, fn: (socket: Socket) => void): void;
}

/** What the relay uses of socket.io's BroadcastOperator (its generic types left aside). */
interface Operator {
  to(rooms: string[]): Operator;
  except(rooms: string[]): Operator;
  readonly volatile: Operator;
  timeout(ms: number): Operator;
  emit(event: string, ...args: unknown[]): boolean;
}

interface IoState {
  host: IoHost;
  io: Server;
  engine: EngineLike;
  /** Sockets by `s`: in the middlewares, then connected, until 'disconnect'. */
  sockets: Map<number, Socket>;
  /** Middleware decisions waiting for `io-next`. */
  pending: Map<number, { next: (err?: Error) => void; timer: NodeJS.Timeout }>;
  /** The host's ack ids waiting for a client's answer. */
  hostAcks: Set<number>;
  /** io.of(name) on the real server, with the relay's middlewares and listeners. */
  addNamespace(name: string): void;
  /** Connection state recovery asked with skipMiddlewares: a recovered socket is let in without asking the page. */
  recoverySkipsMiddlewares: boolean;
}

interface SocketMeta {
  s: number;
  state: IoState;
  /** Client acks waiting for the host (`io-event`'s ack → the real callback). */
  acks: Map<number, (...args: unknown[]) => void>;
  nextAck: number;
  /** The host's ack ids this socket holds without a timeout (forgotten with the socket). */
  untimed: Set<number>;
  onUpgrade: ((transport: { name: string }) => void) | null;
}

const META = Symbol('ioRelay');
type RelayedSocket = Socket & { [META]?: SocketMeta };

const metaOf = (socket: Socket): SocketMeta | undefined => (socket as RelayedSocket)[META];

function transportOf(socket: Socket): { name?: string; socket?: WebSocket } | undefined {
  return (socket.conn as unknown as EngineSocket).transport;
}

/** Buffers and typed arrays as `{ _b64 }`, the rest as JSON would carry it (protocol/host.ts). */
export function encodeArgs(args: unknown[]): unknown[] {
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v !== 'object' || depth > ENCODE_DEPTH) return v;
    if (Buffer.isBuffer(v)) return { _b64: v.toString('base64') };
    if (v instanceof ArrayBuffer) return { _b64: Buffer.from(v).toString('base64') };
    if (ArrayBuffer.isView(v)) return { _b64: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, depth + 1);
    return out;
  };
  return args.map((a) => walk(a, 1));
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function handshakeOf(socket: Socket, session: Session): IoHandshake {
  const h = socket.handshake;
  const prefix = `/s/${session.id}`;
  const url = h.url.startsWith(prefix + '/') ? h.url.slice(prefix.length) : h.url;
  return {
    headers: flatHeaders(socket.request),
    time: h.time,
    address: h.address,
    xdomain: h.xdomain,
    secure: h.secure,
    issued: h.issued,
    url,
    query: { ...(h.query as Record<string, string | string[]>) },
    auth: h.auth,
  };
}

export function createSocketIoRelay(env: ScenarioEnv): SocketIoRelay {
  const { limits } = env;
  const states = new WeakMap<IoHost, IoState>();

  const refuse = (host: IoHost, r: IoRefusal) => host.send({ t: 'error', ...r });

  // Shared listeners (`this` is the real socket): no closure per socket for these two.
  function onDisconnecting(this: Socket, reason: string): void {
    const meta = metaOf(this);
    if (meta) meta.state.host.send({ t: 'io-disconnecting', s: meta.s, reason });
  }
  function onDisconnect(this: Socket, reason: string): void {
    const meta = metaOf(this);
    if (!meta) return;
    const { state } = meta;
    state.sockets.delete(meta.s);
    for (const ack of meta.untimed) state.hostAcks.delete(ack);
    meta.untimed.clear();
    meta.acks.clear();
    if (meta.onUpgrade) (this.conn as unknown as EngineSocket).off('upgrade', meta.onUpgrade);
    meta.onUpgrade = null;
    state.host.send({ t: 'io-disconnect', s: meta.s, reason });
  }

  function create(host: IoHost, cmd: Extract<HostToSandboxIo, { t: 'io-attach' }>): IoState {
    const { session } = host;
    const o = cmd.options;
    // The engine's own ws server, with the sandbox's protections and limit reporting.
    class ProtectedWss extends WebSocketServer {
      constructor(options: ConstructorParameters<typeof WebSocketServer>[0]) {
        super({ ...options, ...wsProtections(limits) });
      }
      handleUpgrade(...args: Parameters<WebSocketServer['handleUpgrade']>): void {
        const [req, , , cb] = args;
        args[3] = (ws, request) => {
          const conn = connOf(env, req);
          session.websockets.add(ws);
          ws.on('close', () => session.websockets.delete(ws));
          ws.on('error', (err: Error & { code?: string }) => reportWsError(session, conn, err, limits));
          cb(ws, request);
        };
        super.handleUpgrade(...args);
      }
    }
    let inFlight = 0;
    const handshakeDone = () => {
      inFlight--;
    };
    const options: Partial<ServerOptions> = {
      path: `/s/${session.id}/socket.io/`,
      serveClient: false,
      destroyUpgrade: false,
      maxHttpBufferSize: Math.min(o.maxHttpBufferSize ?? limits.maxPayload, limits.maxPayload),
      // Without `cors`, as if the clients were served by the same server (they are cross-origin
      // only because the lesson runs them in a sandboxed frame).
      cors: o.cors ?? { origin: '*' },
      connectTimeout: clamp(o.connectTimeout ?? 10_000, ...IO_OPTION_BOUNDS.connectTimeout),
      wsEngine: ProtectedWss,
      // Handshakes only (the engine checks requests with a sid): each Engine.IO session holds its
      // request, buffers and timers until its ping timeout, so a session gets a few; handshakes in
      // flight count until the next turn (engine.io counts a client after an await).
      allowRequest: (req, fn) => {
        if (engine.clientsCount + inFlight < limits.maxEngineIoClients) {
          inFlight++;
          setImmediate(handshakeDone);
          return fn(null, true);
        }
        session.limit({
          conn: connOf(env, req),
          limit: 'engine-io',
          action: 'http 403',
          message: `Trop de clients Socket.IO ouverts dans cette session (au plus ${limits.maxEngineIoClients})\u00a0: fermez-en avant d’en ouvrir d’autres.`,
        });
        fn('too many Engine.IO sessions', false);
      },
    };
    if (o.pingInterval !== undefined) options.pingInterval = clamp(o.pingInterval, ...IO_OPTION_BOUNDS.pingInterval);
    if (o.pingTimeout !== undefined) options.pingTimeout = clamp(o.pingTimeout, ...IO_OPTION_BOUNDS.pingTimeout);
    if (o.transports) options.transports = o.transports;
    if (o.allowUpgrades !== undefined) options.allowUpgrades = o.allowUpgrades;
    if (o.connectionStateRecovery) {
      // The real server's middlewares always run (the relay's own protections, and the one that
      // names the socket for the page); the learner's skipMiddlewares is honoured below.
      options.connectionStateRecovery = {
        maxDisconnectionDuration: clamp(o.connectionStateRecovery.maxDisconnectionDuration, ...IO_OPTION_BOUNDS.maxDisconnectionDuration),
        skipMiddlewares: false,
      };
    }
    const io = new Server(options);
    // Creates the engine; the placeholder server never listens (the sandbox router feeds the engine).
    io.attach(createServer());
    const engine = io.engine as unknown as EngineLike;
    const state: IoState = {
      host,
      io,
      engine,
      sockets: new Map(),
      pending: new Map(),
      hostAcks: new Set(),
      addNamespace: (name) => relayNamespace(name),
      recoverySkipsMiddlewares: o.connectionStateRecovery?.skipMiddlewares ?? false,
    };

    const queueMax = Math.min(limits.maxSendBuffer, ENGINE_QUEUE_MAX);
    engine.on('connection', (engineSocket) => {
      // What the server queues for a client that does not take it (over polling, until its next
      // GET) is bounded: past queueMax bytes, the Engine.IO connection is closed.
      let queued = 0;
      engineSocket.on('flush', () => {
        queued = 0;
      });
      engineSocket.on('packetCreate', (packet: { data?: unknown }) => {
        const data = packet.data;
        queued += typeof data === 'string' ? data.length : data instanceof Uint8Array ? data.byteLength : 16;
        if (queued <= queueMax || engineSocket.readyState === 'closed') return;
        queued = -Infinity;
        session.limit({
          conn: connOf(env, engineSocket.request),
          limit: 'buffer',
          action: 'disconnect',
          message: `Le client Socket.IO ne lit pas ce qu’on lui envoie\u00a0: plus de ${Math.round(queueMax / 1024)}\u00a0Kio en attente. Connexion Engine.IO fermée.`,
        });
        setImmediate(() => engineSocket.close(true));
      });
      // CONNECT packets per client, counted as the engine reads them (before socket.io makes a
      // socket of each): a burst, then one a second.
      const connects = new TokenBucket(1, CONNECTS_BURST);
      engineSocket.on('packet', (packet: { type?: string; data?: unknown }) => {
        if (packet.type !== 'message' || typeof packet.data !== 'string' || packet.data.charCodeAt(0) !== 0x30) return;
        if (connects.take()) return;
        closeEngine(
          engineSocket,
          'engine-io',
          `Trop de demandes de connexion Socket.IO (CONNECT) sur un même client\u00a0: au plus ${CONNECTS_BURST} d’un coup, puis une par seconde. Connexion Engine.IO fermée.`,
        );
      });
    });

    const closeEngine = (engineSocket: EngineSocket, limit: 'engine-io' | 'rate', message: string) => {
      if (engineSocket.readyState !== 'open') return;
      session.limit({ conn: connOf(env, engineSocket.request), limit, action: 'disconnect', message });
      engineSocket.close(true);
    };

    const relayNamespace = (name: string) => {
      const nsp = io.of(name);
      // A CONNECT costs a rate token, a client connects once per namespace, a namespace holds at
      // most maxEngineIoClients sockets; past a limit, the Engine.IO connection is closed.
      nsp.use((socket, next) => {
        const preConnect = (nsp as unknown as { _preConnectSockets: Map<string, Socket> })._preConnectSockets;
        const again = (socket.client as unknown as { nsps: Map<string, unknown> }).nsps.has(nsp.name);
        const crowded = nsp.sockets.size + preConnect.size > limits.maxEngineIoClients;
        const overWebSocket = transportOf(socket)?.name === 'websocket';
        if (!again && !crowded && (overWebSocket || session.bucket.take())) return next();
        closeEngine(
          socket.conn as unknown as EngineSocket,
          again || crowded ? 'engine-io' : 'rate',
          again
            ? `Connexion répétée à l’espace de noms «\u00a0${nsp.name}\u00a0» par le même client Socket.IO\u00a0: connexion Engine.IO fermée.`
            : crowded
              ? `Trop de sockets dans l’espace de noms «\u00a0${nsp.name}\u00a0» (au plus ${limits.maxEngineIoClients})\u00a0: connexion Engine.IO fermée.`
              : `Trop de messages\u00a0: au plus ${limits.messagesPerSecond} par seconde. Connexion Engine.IO fermée.`,
        );
        next(new Error('refused'));
      });
      // The learner's middlewares (io.use) run in the page: ask, and wait for `io-next`.
      nsp.use((socket, next) => {
        const s = host.id();
        (socket as RelayedSocket)[META] = { s, state, acks: new Map(), nextAck: 0, untimed: new Set(), onUpgrade: null };
        state.sockets.set(s, socket);
        if (socket.recovered && state.recoverySkipsMiddlewares) return next();
        const timer = setTimeout(() => {
          if (!state.pending.delete(s)) return;
          state.sockets.delete(s);
          session.info(
            `Le serveur de la leçon n’a pas répondu à une connexion Socket.IO en ${IO_AUTH_TIMEOUT_MS / 1000}\u00a0s (middleware io.use).`,
            connOf(env, socket.request),
          );
          next(new Error(IO_NO_ANSWER));
          host.send({ t: 'io-disconnect', s, reason: 'server namespace disconnect' });
        }, IO_AUTH_TIMEOUT_MS);
        state.pending.set(s, { next, timer });
        host.send({
          t: 'io-auth',
          s,
          id: socket.id,
          nsp: nsp.name,
          handshake: handshakeOf(socket, session),
          transport: transportOf(socket)?.name ?? 'polling',
          conn: connOf(env, socket.request) ?? null,
          ...(socket.recovered ? { recovered: true as const } : {}),
        });
      });
      nsp.on('connection', (socket: Socket) => {
        const meta = metaOf(socket);
        if (!meta) return;
        relayPackets(socket, meta);
        socket.on('disconnecting', onDisconnecting);
        socket.on('disconnect', onDisconnect);
        meta.onUpgrade = (transport) => host.send({ t: 'io-transport', s: meta.s, transport: transport.name });
        (socket.conn as unknown as EngineSocket).on('upgrade', meta.onUpgrade);
        host.send({
          t: 'io-connection',
          s: meta.s,
          id: socket.id,
          nsp: nsp.name,
          handshake: handshakeOf(socket, session),
          transport: transportOf(socket)?.name ?? 'polling',
          ...(socket.recovered ? { recovered: true as const, rooms: [...socket.rooms].filter((r) => r !== socket.id) } : {}),
        });
      });
      watchRooms(nsp, session);
    };

    /** Every event a client emits, within the rate, goes to the host (nothing listens here). */
    const relayPackets = (socket: Socket, meta: SocketMeta) => {
      let limited = false;
      socket.use((packet, _next) => {
        // Over WebSocket the tap already charged the frame (guard.ts), and a client that does not
        // read is cut (checkReader); over polling, every packet takes a token.
        const transport = transportOf(socket);
        if (transport?.name === 'websocket') {
          if (transport.socket && !checkReader(transport.socket, session, limits)) return;
        } else if (!session.bucket.take()) {
          if (limited) return;
          limited = true;
          session.limit({
            conn: connOf(env, socket.request),
            limit: 'rate',
            action: 'disconnect',
            message: `Trop de messages\u00a0: au plus ${limits.messagesPerSecond} par seconde. Socket déconnecté.`,
          });
          socket.disconnect(true);
          return;
        }
        const items = packet as unknown[];
        const last = items[items.length - 1];
        let ack: number | undefined;
        let end = items.length;
        if (typeof last === 'function') {
          end--;
          if (meta.acks.size < MAX_CLIENT_ACKS) {
            ack = ++meta.nextAck;
            meta.acks.set(ack, last as (...args: unknown[]) => void);
          }
        }
        let args: unknown[];
        try {
          args = encodeArgs(items.slice(1, end));
        } catch {
          return;
        }
        const event = String(items[0]);
        host.send(ack === undefined ? { t: 'io-event', s: meta.s, event, args } : { t: 'io-event', s: meta.s, event, args, ack });
        // No next(): the event is the host's to dispatch, and the real socket has no listener for it.
      });
    };

    for (const name of new Set(['/', ...cmd.nsps])) {
      if (namespaceCount(state) >= MAX_NAMESPACES) {
        refuse(host, {
          id: 'HOST_ERR_TOO_MANY_NAMESPACES',
          message: `Trop d’espaces de noms (au plus ${MAX_NAMESPACES})\u00a0: «\u00a0${name}\u00a0» et les suivants ne sont pas créés.`,
        });
        break;
      }
      relayNamespace(name);
    }
    return state;
  }

  const namespaceCount = (state: IoState) => (state.io as unknown as { _nsps: Map<string, Namespace> })._nsps.size;
  const namespaceOf = (state: IoState, name: string) => (state.io as unknown as { _nsps: Map<string, Namespace> })._nsps.get(name);

  /** Monitor `rooms` events after membership changes (each socket's own-id room left out). */
  const watchRooms = (nsp: Namespace, session: Session) => {
    let scheduled = false;
    const report = () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(() => {
        scheduled = false;
        if (session.ended) return;
        const rooms: Record<string, string[]> = {};
        for (const [room, ids] of nsp.adapter.rooms) if (!ids.has(room)) rooms[room] = [...ids];
        const sockets: Record<string, { conn: string | null; client: string | null }> = {};
        for (const [id, socket] of nsp.sockets) {
          const query = socket.handshake.query.client;
          const info = env.tap.connInfo(socket.request?.socket);
          sockets[id] = {
            conn: info?.conn ?? null,
            client: (typeof query === 'string' ? clientLabel(new URLSearchParams({ client: query })) : null) ?? info?.client ?? null,
          };
        }
        session.emit({ type: 'rooms', nsp: nsp.name, rooms, sockets });
      });
    };
    for (const ev of ['join-room', 'leave-room']) nsp.adapter.on(ev, report);
  };

  function drop(host: IoHost): void {
    const state = states.get(host);
    if (!state) return;
    states.delete(host);
    for (const p of state.pending.values()) clearTimeout(p.timer);
    state.pending.clear();
    state.io.disconnectSockets(true);
    void state.io.close();
  }

  /** The socket `s`, or undefined (an error sent when `s` was never issued). */
  function socketOf(state: IoState, s: number): Socket | undefined {
    const socket = state.sockets.get(s);
    if (!socket && !state.host.issued(s))
      refuse(state.host, { id: 'HOST_ERR_UNKNOWN_SOCKET', message: `Aucun socket Socket.IO n°\u00a0${s}.`, s });
    return socket;
  }

  /** Rooms a socket holds besides its own id room. */
  const roomsHeld = (socket: Socket) => socket.rooms.size - (socket.rooms.has(socket.id) ? 1 : 0);

  /** Joins `rooms` in order while the socket stays within the cap; true when all fit. */
  function joinWithin(socket: Socket, rooms: string[]): boolean {
    let held = roomsHeld(socket);
    const fit: string[] = [];
    for (const room of rooms) {
      if (socket.rooms.has(room) || fit.includes(room)) continue;
      if (held >= MAX_ROOMS_PER_SOCKET) {
        if (fit.length) socket.join(fit);
        return false;
      }
      fit.push(room);
      held++;
    }
    if (fit.length) socket.join(fit);
    return true;
  }

  function tooManyRooms(host: IoHost, s?: number): void {
    const r: IoRefusal = {
      id: 'HOST_ERR_TOO_MANY_ROOMS',
      message: `Trop de salons pour un socket (au plus ${MAX_ROOMS_PER_SOCKET}, sans compter le sien).`,
    };
    if (s !== undefined) r.s = s;
    refuse(host, r);
  }

  /** The sockets of `nsp` a target reaches, as socket.io's in-memory adapter finds them. */
  function matching(nsp: Namespace, target: Omit<IoTarget, 'nsp'>, fn: (socket: Socket) => void): void {
    const opts = { rooms: new Set(target.to ?? []), except: new Set(target.except ?? []) };
    (nsp.adapter as unknown as ApplyingAdapter).apply(opts, fn);
  }

  /**
   * The acknowledgement callback of an emit with `ack` (null and a refusal when too many wait):
   * `timed` or broadcast callbacks get an error first (socket.io's signature), then the answers.
   */
  function ackCallback(
    state: IoState,
    ack: number,
    timed: boolean,
    single: boolean,
    done?: () => void,
  ): ((...args: unknown[]) => void) | null {
    if (state.hostAcks.has(ack)) {
      refuse(state.host, { id: 'HOST_ERR_BAD_FIELD', message: `Accusé de réception n°\u00a0${ack} déjà en attente.` });
      return null;
    }
    if (state.hostAcks.size >= MAX_HOST_ACKS) {
      refuse(state.host, {
        id: 'HOST_ERR_TOO_MANY_ACKS',
        message: `Trop d’émissions en attente d’accusé de réception (au plus ${MAX_HOST_ACKS}).`,
      });
      return null;
    }
    state.hostAcks.add(ack);
    return (...res: unknown[]) => {
      if (!state.hostAcks.delete(ack)) return;
      done?.();
      let error: string | undefined;
      if (timed || !single) {
        const err = res.shift();
        if (err instanceof Error) error = err.message;
      }
      let args: unknown[];
      try {
        args = encodeArgs(res);
      } catch {
        args = [];
      }
      state.host.send(error === undefined ? { t: 'io-ack-response', ack, args } : { t: 'io-ack-response', ack, error, args });
    };
  }

  function readerOk(socket: Socket, session: Session): boolean {
    const transport = transportOf(socket);
    return !(transport?.name === 'websocket' && transport.socket && !checkReader(transport.socket, session, limits));
  }

  function run(state: IoState, cmd: HostToSandboxIo, args: unknown[]): void {
    const { host } = state;
    switch (cmd.t) {
      case 'io-attach':
        refuse(host, { id: 'HOST_ERR_IO_ATTACHED', message: 'Un serveur Socket.IO est déjà déclaré pour cette session.' });
        return;
      case 'io-nsp': {
        if (namespaceOf(state, cmd.nsp)) return;
        if (namespaceCount(state) >= MAX_NAMESPACES) {
          refuse(host, { id: 'HOST_ERR_TOO_MANY_NAMESPACES', message: `Trop d’espaces de noms (au plus ${MAX_NAMESPACES}).` });
          return;
        }
        state.addNamespace(cmd.nsp);
        return;
      }
      case 'io-close': {
        states.delete(host);
        for (const p of state.pending.values()) clearTimeout(p.timer);
        state.pending.clear();
        void state.io.close();
        return;
      }
      case 'io-next': {
        const p = state.pending.get(cmd.s);
        if (!p) {
          if (!host.issued(cmd.s))
            refuse(host, { id: 'HOST_ERR_UNKNOWN_SOCKET', message: `Aucune connexion Socket.IO n°\u00a0${cmd.s} en attente.`, s: cmd.s });
          return;
        }
        state.pending.delete(cmd.s);
        clearTimeout(p.timer);
        const socket = state.sockets.get(cmd.s);
        if (cmd.error) {
          state.sockets.delete(cmd.s);
          // socket.io reads `message` and `data` of what next() gets; an Error is not needed.
          p.next(cmd.error as Error);
          return;
        }
        p.next();
        // socket.io connects on the next tick, unless the client left meanwhile: then the host forgets it.
        process.nextTick(() => {
          if (!socket || socket.connected || !state.sockets.has(cmd.s)) return;
          state.sockets.delete(cmd.s);
          host.send({ t: 'io-disconnect', s: cmd.s, reason: 'transport close' });
        });
        return;
      }
      case 'io-emit': {
        const socket = socketOf(state, cmd.s);
        if (!socket?.connected || !readerOk(socket, host.session)) return;
        const timed = cmd.timeout !== undefined;
        const meta = metaOf(socket);
        let cb: ((...a: unknown[]) => void) | null = null;
        if (cmd.ack !== undefined) {
          const ack = cmd.ack;
          // Without a timeout socket.io keeps the callback until the answer: forgotten with the socket.
          cb = ackCallback(state, ack, timed, true, timed ? undefined : () => meta?.untimed.delete(ack));
          if (!cb) return;
          if (!timed) meta?.untimed.add(ack);
        }
        if (cmd.volatile) void socket.volatile;
        if (timed) socket.timeout(cmd.timeout as number);
        if (cb) socket.emit(cmd.event, ...args, cb);
        else socket.emit(cmd.event, ...args);
        return;
      }
      case 'io-broadcast': {
        let op: Operator;
        let nsp: Namespace | undefined;
        if (cmd.from !== undefined) {
          const from = socketOf(state, cmd.from);
          if (!from) return;
          nsp = from.nsp;
          op = from.broadcast as unknown as Operator;
        } else {
          nsp = namespaceOf(state, cmd.nsp);
          if (!nsp) {
            refuse(host, { id: 'HOST_ERR_BAD_FIELD', message: `Espace de noms «\u00a0${cmd.nsp}\u00a0» non déclaré (io.of).` });
            return;
          }
          op = nsp.to([]) as unknown as Operator;
        }
        if (cmd.to?.length) op = op.to(cmd.to);
        if (cmd.except?.length) op = op.except(cmd.except);
        if (cmd.volatile) op = op.volatile;
        if (cmd.timeout !== undefined) op = op.timeout(cmd.timeout);
        // A client that does not read is cut before it is written to.
        matching(nsp, cmd, (socket) => void readerOk(socket, host.session));
        if (cmd.ack !== undefined) {
          const cb = ackCallback(state, cmd.ack, true, false);
          if (cb) op.emit(cmd.event, ...args, cb);
          return;
        }
        op.emit(cmd.event, ...args);
        return;
      }
      case 'io-ack': {
        const socket = socketOf(state, cmd.s);
        const meta = socket && metaOf(socket);
        const fn = meta?.acks.get(cmd.ack);
        if (!meta || !fn) return;
        meta.acks.delete(cmd.ack);
        fn(...args);
        return;
      }
      case 'io-join': {
        const socket = socketOf(state, cmd.s);
        if (socket && !joinWithin(socket, cmd.rooms)) tooManyRooms(host, cmd.s);
        return;
      }
      case 'io-leave': {
        const socket = socketOf(state, cmd.s);
        if (socket) for (const room of cmd.rooms) socket.leave(room);
        return;
      }
      case 'io-sockets-join':
      case 'io-sockets-leave':
      case 'io-disconnect-sockets':
      case 'io-fetch': {
        const nsp = namespaceOf(state, cmd.nsp);
        if (!nsp) {
          if (cmd.t === 'io-fetch') host.send({ t: 'io-sockets', r: cmd.r, sockets: [] });
          return;
        }
        if (cmd.t === 'io-fetch') {
          const sockets: { s: number; rooms: string[] }[] = [];
          matching(nsp, cmd, (socket) => {
            const meta = metaOf(socket);
            if (meta) sockets.push({ s: meta.s, rooms: [...socket.rooms] });
          });
          host.send({ t: 'io-sockets', r: cmd.r, sockets });
          return;
        }
        const targets: Socket[] = [];
        matching(nsp, cmd, (socket) => targets.push(socket));
        if (cmd.t === 'io-disconnect-sockets') {
          for (const socket of targets) socket.disconnect(cmd.close);
          return;
        }
        if (cmd.t === 'io-sockets-leave') {
          for (const socket of targets) for (const room of cmd.rooms) socket.leave(room);
          return;
        }
        let all = true;
        for (const socket of targets) all = joinWithin(socket, cmd.rooms) && all;
        if (!all) tooManyRooms(host);
        return;
      }
      case 'io-socket-disconnect': {
        const socket = socketOf(state, cmd.s);
        if (socket?.connected) socket.disconnect(cmd.close);
        return;
      }
    }
  }

  return {
    execute(host, cmd, args) {
      const state = states.get(host);
      if (cmd.t === 'io-attach') {
        if (state) {
          refuse(host, { id: 'HOST_ERR_IO_ATTACHED', message: 'Un serveur Socket.IO est déjà déclaré pour cette session.' });
          return;
        }
        states.set(host, create(host, cmd));
        host.session.info('Serveur Socket.IO de la leçon déclaré\u00a0: les clients l’atteignent à socket.io/.');
        return;
      }
      if (!state) {
        if (cmd.t === 'io-fetch') host.send({ t: 'io-sockets', r: cmd.r, sockets: [] });
        else refuse(host, { id: 'HOST_ERR_NO_IO', message: 'Aucun serveur Socket.IO déclaré (io-attach) pour cette session.' });
        return;
      }
      try {
        run(state, cmd, args ?? []);
      } catch (err) {
        // socket.io throws on what it refuses (a circular argument, a reserved name): the command fails alone.
        refuse(host, { id: 'HOST_ERR_BAD_FIELD', message: `Commande Socket.IO refusée\u00a0: ${(err as Error).message}`.slice(0, 300) });
      }
    },
    serves(host, rest) {
      return !!host && states.has(host) && rest.startsWith('socket.io/');
    },
    handleRequest(host, req, res) {
      const state = host && states.get(host);
      if (!state) {
        res.writeHead(503).end();
        return;
      }
      const session = state.host.session;
      res.once('finish', () => {
        if (res.statusCode !== 413 || session.ended) return;
        session.limit({
          conn: connOf(env, req),
          limit: 'payload',
          action: 'http 413',
          message: `Requête de polling trop grande\u00a0: au plus ${limits.maxPayload} octets par requête (maxHttpBufferSize). Réponse HTTP 413.`,
        });
      });
      state.engine.handleRequest(req, res);
    },
    handleUpgrade(host, req, socket, head) {
      const state = states.get(host);
      if (state) state.engine.handleUpgrade(req, socket, head);
      else socket.destroy();
    },
    drop,
  };
}
