// Socket.IO 4 under /s/<id>/socket.io/: one Socket.IO server per session, created on first use,
// so rooms and traffic can never mix between sessions. Its engine is driven directly
// (handleRequest / handleUpgrade) by the sandbox router; polling then upgrade both work.
//
// Namespace /comments:  `comment` → the server emits `thanks` ("Merci pour votre commentaire.")
// Namespace /:          `ask` (question, ack) → ack(answer)
//                       `join` (room, ack?) / `leave` (room, ack?) → ack(socket.rooms as an array)
//                       `say` ({ room, text }) → `said` { room, text, from } to the room (sender included if member)
//                       `rooms` (ack) → ack(socket.rooms as an array)
//                       `binary` (data, ack?) → `binary` echoed back (buffers stay binary)
// A `rooms` monitor event follows every membership change (each socket's own-id room left out).
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { Server } from 'socket.io';
import type { Namespace, Socket } from 'socket.io';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { TokenBucket, wsProtections } from '../limits.ts';
import { clientLabel } from '../routes.ts';
import type { Session } from '../sessions.ts';
import { checkReader, connOf, reportWsError } from './common.ts';
import type { ScenarioEnv } from './common.ts';

const MAX_ROOM = 64;
/** Rooms one socket may join (each membership change sends the session's whole room list). */
export const MAX_ROOMS_PER_SOCKET = 8;
/** Most bytes queued for one Engine.IO client (also at most maxSendBuffer). */
export const ENGINE_QUEUE_MAX = 256 * 1024;
/** CONNECT packets one Engine.IO client may send at once (then one a second). */
export const CONNECTS_BURST = 8;
const MAX_TEXT = 2000;
export const THANKS = 'Merci pour votre commentaire.';

export interface SocketIoScenario {
  handleRequest(req: IncomingMessage, res: ServerResponse, session: Session): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, session: Session): void;
}

/** What the scenario uses of an Engine.IO socket (engine.io's Socket). */
interface EngineSocket {
  readonly readyState: string;
  readonly request: IncomingMessage;
  on(event: 'flush', fn: () => void): void;
  on(event: 'packetCreate', fn: (packet: { data?: unknown }) => void): void;
  on(event: 'packet', fn: (packet: { type?: string; data?: unknown }) => void): void;
  close(discard?: boolean): void;
}

interface EngineLike {
  handleRequest(req: IncomingMessage, res: ServerResponse): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export function createSocketIoScenario(env: ScenarioEnv): SocketIoScenario {
  function ioOf(session: Session): Server {
    return session.getState('socket.io', () => {
      const io = createSessionIo(session, env);
      session.onEnd(() => {
        io.disconnectSockets(true);
        void io.close();
      });
      return io;
    });
  }
  return {
    handleRequest(req, res, session) {
      // engine.io answers an over-long polling body with a bare 413 and says nothing: the
      // learner's monitor gets the limit event from here.
      res.once('finish', () => {
        if (res.statusCode !== 413 || session.ended) return;
        session.limit({
          conn: connOf(env, req),
          limit: 'payload',
          action: 'http 413',
          message: `Requête de polling trop grande\u00a0: au plus ${env.limits.maxPayload} octets par requête (maxHttpBufferSize). Réponse HTTP 413.`,
        });
      });
      (ioOf(session).engine as unknown as EngineLike).handleRequest(req, res);
    },
    handleUpgrade(req, socket, head, session) {
      (ioOf(session).engine as unknown as EngineLike).handleUpgrade(req, socket, head);
    },
  };
}

function createSessionIo(session: Session, env: ScenarioEnv): Server {
  const { limits } = env;
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

  const io = new Server({
    path: `/s/${session.id}/socket.io/`,
    serveClient: false,
    destroyUpgrade: false,
    maxHttpBufferSize: limits.maxPayload,
    cors: { origin: '*' },
    connectTimeout: 10_000,
    cleanupEmptyChildNamespaces: true,
    wsEngine: ProtectedWss,
    // Handshakes only (requests with a sid are checked by the engine): each Engine.IO session
    // holds its request, buffers and timers until its ping timeout, so a session gets a few.
    allowRequest: (req, fn) => {
      // engine.io counts a client only after an await in its handshake: pipelined handshakes
      // routed in one tick would all see the old count. Those in flight count until the next turn.
      if (io.engine.clientsCount + handshakesInFlight < limits.maxEngineIoClients) {
        handshakesInFlight++;
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
  });
  // Creates the engine; the placeholder server never listens (the sandbox router feeds the engine).
  io.attach(createServer());

  let handshakesInFlight = 0;
  const handshakeDone = () => {
    handshakesInFlight--;
  };

  /**
   * What the server queues for one Engine.IO client and the client has not taken yet: over
   * polling, answers wait in the engine's write buffer until the client's next GET, and a client
   * that never sends one (answering pings with a blind `3` to stay alive) would make it grow
   * without bound. Past queueMax bytes, the Engine.IO connection is closed.
   */
  // A quarter of a learner socket's bound: a session holds up to maxEngineIoClients of these,
  // and a polling client normally takes its answers within milliseconds.
  const queueMax = Math.min(limits.maxSendBuffer, ENGINE_QUEUE_MAX);
  const boundQueue = (engineSocket: EngineSocket) => {
    let queued = 0;
    engineSocket.on('flush', () => {
      queued = 0;
    });
    engineSocket.on('packetCreate', (packet: { data?: unknown }) => {
      const data = packet.data;
      queued += typeof data === 'string' ? data.length : data instanceof Uint8Array ? data.byteLength : 16;
      if (queued <= queueMax || engineSocket.readyState === 'closed') return;
      queued = -Infinity; // once
      session.limit({
        conn: connOf(env, engineSocket.request),
        limit: 'buffer',
        action: 'disconnect',
        message: `Le client Socket.IO ne lit pas ce qu’on lui envoie\u00a0: plus de ${Math.round(queueMax / 1024)}\u00a0Kio en attente. Connexion Engine.IO fermée.`,
      });
      // Not from inside the engine's sendPacket, which goes on with this packet after the event.
      setImmediate(() => engineSocket.close(true));
    });
  };

  /**
   * Namespace middleware: a CONNECT costs a rate token like any packet, a client connects once per
   * namespace, and a namespace holds at most maxEngineIoClients sockets per session. Socket.IO
   * itself creates a new socket for every CONNECT packet, even a repeated one: 20 000 of them fit
   * in one 64 KiB polling body. Past a limit, the whole Engine.IO connection is closed.
   */
  const connectGuard = (nsp: Namespace) => (socket: Socket, next: (err?: Error) => void) => {
    const pending = (nsp as unknown as { _preConnectSockets: Map<string, Socket> })._preConnectSockets;
    const again = (socket.client as unknown as { nsps: Map<string, unknown> }).nsps.has(nsp.name);
    const crowded = nsp.sockets.size + pending.size > limits.maxEngineIoClients;
    // Over WebSocket the tap already charged the CONNECT's frame to the rate (guard.ts).
    const overWebSocket = (socket.conn as unknown as { transport?: { name?: string } }).transport?.name === 'websocket';
    if (!again && !crowded && (overWebSocket || session.bucket.take())) return next();
    refuseEngine(
      socket.conn as unknown as EngineSocket,
      again || crowded ? 'engine-io' : 'rate',
      again
        ? `Connexion répétée à l’espace de noms «\u00a0${nsp.name}\u00a0» par le même client Socket.IO\u00a0: connexion Engine.IO fermée.`
        : crowded
          ? `Trop de sockets dans l’espace de noms «\u00a0${nsp.name}\u00a0» (au plus ${limits.maxEngineIoClients})\u00a0: connexion Engine.IO fermée.`
          : `Trop de messages\u00a0: au plus ${limits.messagesPerSecond} par seconde. Connexion Engine.IO fermée.`,
    );
    next(new Error('refused'));
  };

  /**
   * Closes an Engine.IO connection over a limit, reported once. Closed at once: the engine drops
   * the rest of a polling body's packets once its socket is no longer open.
   */
  const refuseEngine = (engineSocket: EngineSocket, limit: 'engine-io' | 'rate', message: string) => {
    if (engineSocket.readyState !== 'open') return;
    session.limit({ conn: connOf(env, engineSocket.request), limit, action: 'disconnect', message });
    engineSocket.close(true);
  };

  /**
   * CONNECT packets per Engine.IO client, counted as the engine reads them, before Socket.IO
   * makes a socket of each: 20 000 CONNECTs fit in one 64 KiB polling body, and Socket.IO
   * creates a socket for every one, even repeated. A client connects to a namespace or two, and
   * may reconnect: CONNECTS_BURST at once, then one a second.
   */
  const countConnects = (engineSocket: EngineSocket) => {
    const bucket = new TokenBucket(1, CONNECTS_BURST);
    engineSocket.on('packet', (packet: { type?: string; data?: unknown }) => {
      if (packet.type !== 'message' || typeof packet.data !== 'string' || packet.data.charCodeAt(0) !== 0x30) return;
      if (bucket.take()) return;
      refuseEngine(
        engineSocket,
        'engine-io',
        `Trop de demandes de connexion Socket.IO (CONNECT) sur un même client\u00a0: au plus ${CONNECTS_BURST} d’un coup, puis une par seconde. Connexion Engine.IO fermée.`,
      );
    });
  };

  const connOfSocket = (socket: Socket): { conn: string | null; client: string | null } => {
    const conn = socket.conn as unknown as { transport?: { name?: string; socket?: { _socket?: unknown } }; request?: IncomingMessage };
    const tcp = conn.transport?.name === 'websocket' ? conn.transport.socket?._socket : conn.request?.socket;
    const info = env.tap.connInfo(tcp) ?? env.tap.connInfo(conn.request?.socket);
    // The handshake's own `client` query names the learner's client: a keep-alive TCP connection
    // may be shared by several clients of one page, so the connection's label can be another's.
    // Checked like the WebSocket path's label: a query value is the learner's (or anyone's) text.
    const query = socket.handshake.query.client;
    const client = (typeof query === 'string' ? clientLabel(new URLSearchParams({ client: query })) : null) ?? info?.client ?? null;
    return { conn: info?.conn ?? null, client };
  };

  const watchRooms = (nsp: Namespace) => {
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
        for (const [id, socket] of nsp.sockets) sockets[id] = connOfSocket(socket);
        session.emit({ type: 'rooms', nsp: nsp.name, rooms, sockets });
      });
    };
    for (const ev of ['join-room', 'leave-room']) nsp.adapter.on(ev, report);
  };

  const rateLimit = (socket: Socket) => {
    let limited = false;
    socket.use((_packet, next) => {
      // Over WebSocket, the tap has already charged every frame (guard.ts), and a client that does
      // not read its answers is cut (checkReader); over polling, every packet takes a token.
      const transport = (socket.conn as unknown as { transport?: { name?: string; socket?: WebSocket } }).transport;
      if (transport?.name === 'websocket') {
        if (transport.socket && !checkReader(transport.socket, session, limits)) return;
        return next();
      }
      if (session.bucket.take()) return next();
      if (limited) return;
      limited = true;
      // Over polling there is no close code: the Socket.IO socket is disconnected (a DISCONNECT packet).
      session.limit({
        conn: connOfSocket(socket).conn ?? undefined,
        limit: 'rate',
        action: 'disconnect',
        message: `Trop de messages\u00a0: au plus ${limits.messagesPerSecond} par seconde. Socket déconnecté.`,
      });
      socket.disconnect(true);
    });
  };

  io.engine.on('connection', (engineSocket: EngineSocket) => {
    boundQueue(engineSocket);
    countConnects(engineSocket);
  });
  for (const nsp of [io.of('/'), io.of('/comments')]) nsp.use(connectGuard(nsp));

  const comments = io.of('/comments');
  watchRooms(comments);
  comments.on('connection', (socket) => {
    rateLimit(socket);
    socket.on('comment', () => socket.emit('thanks', THANKS));
  });

  const root = io.of('/');
  watchRooms(root);
  root.on('connection', (socket) => {
    rateLimit(socket);
    const roomsOf = () => [...socket.rooms];
    const validRoom = (room: unknown): room is string =>
      typeof room === 'string' && room.length > 0 && room.length <= MAX_ROOM && room !== socket.id && !root.sockets.has(room);
    socket.on('ask', (question: unknown, ack?: unknown) => {
      if (typeof ack !== 'function') return;
      ack(
        typeof question === 'string'
          ? `Vous avez demandé\u00a0: «\u00a0${question.slice(0, MAX_TEXT)}\u00a0». Réponse\u00a0: 42.`
          : 'Posez une question sous forme de texte.',
      );
    });
    socket.on('join', async (room: unknown, ack?: unknown) => {
      if (!validRoom(room)) return typeof ack === 'function' && ack({ error: `Nom de salon invalide (1 à ${MAX_ROOM} caractères).` });
      // socket.rooms includes the socket's own room.
      if (!socket.rooms.has(room) && socket.rooms.size > MAX_ROOMS_PER_SOCKET) {
        return typeof ack === 'function' && ack({ error: `Trop de salons pour ce socket (au plus ${MAX_ROOMS_PER_SOCKET}).` });
      }
      await socket.join(room);
      if (typeof ack === 'function') ack(roomsOf());
    });
    socket.on('leave', async (room: unknown, ack?: unknown) => {
      if (typeof room === 'string' && room !== socket.id) await socket.leave(room);
      if (typeof ack === 'function') ack(roomsOf());
    });
    socket.on('rooms', (ack?: unknown) => {
      if (typeof ack === 'function') ack(roomsOf());
    });
    socket.on('say', (msg: unknown) => {
      const { room, text } = (msg ?? {}) as { room?: unknown; text?: unknown };
      if (!validRoom(room) || typeof text !== 'string') return;
      root.to(room).emit('said', { room, text: text.slice(0, MAX_TEXT), from: socket.id });
    });
    socket.on('binary', (data: unknown, ack?: unknown) => {
      socket.emit('binary', data);
      if (typeof ack === 'function') ack(Buffer.isBuffer(data) ? data.length : null);
    });
  });
  return io;
}
