// What every scenario gets, and the wiring every learner WebSocket shares: registration in the
// session (closed with 1001 at the end), no replies once closed for a limit (the tap charges every
// frame to the session's rate: guard.ts) or to a client that does not read, `limit` events for
// ws's own protections (maxPayload → 1009, maxFragments / maxBufferedChunks → 1008), and the
// replies to one TCP read written at once.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket, ServerOptions } from 'ws';
import { wsProtections } from '../limits.ts';
import type { Limits } from '../limits.ts';
import type { SessionPath } from '../routes.ts';
import type { Session } from '../sessions.ts';
import type { LimitEvent } from '#protocol';
import type { Tap } from '../tap/connection-tap.ts';

export interface ScenarioEnv {
  limits: Limits;
  tap: Tap;
}

export interface RouteContext {
  session: Session;
  path: SessionPath;
}

/** A WebSocket scenario served at /s/<id>/<name>. */
export interface WsScenario {
  name: string;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: RouteContext): void;
  close(): void;
}

/** An HTTP route under /s/<id>/; returns false when the path is not its own. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse, ctx: RouteContext) => boolean;

/** A noServer WebSocketServer with the sandbox's protections. */
export function createWss(limits: Limits, extra: ServerOptions = {}): WebSocketServer {
  return new WebSocketServer({ noServer: true, clientTracking: false, ...wsProtections(limits), ...extra });
}

/** The connection id the tap gave this request's socket, if any. */
export function connOf(env: ScenarioEnv, req: IncomingMessage): string | undefined {
  return env.tap.connInfo(req.socket)?.conn;
}

/** What a scenario does with a learner's message (`this` is the learner's WebSocket). */
export type LearnerMessageHandler = (this: WebSocket, data: RawData, isBinary: boolean) => void;

/**
 * Registers a learner WebSocket in its session and reports limits; `onMessage` gets the messages
 * within the rate (the tap charged their frames: guard.ts) of a client that reads its replies (one
 * 'message' listener per socket: a second one would cost each socket an array of listeners).
 * Returns the connection id (for info events).
 */
export function trackLearnerSocket(
  ws: WebSocket,
  req: IncomingMessage,
  session: Session,
  env: ScenarioEnv,
  onMessage: LearnerMessageHandler | null = null,
): string | undefined {
  const conn = connOf(env, req);
  session.websockets.add(ws);
  // Shared listeners (`this` is the socket); the per-socket part lives on the socket.
  (ws as Learner)[LEARNER] = { session, conn, limits: env.limits, limited: false, socket: req.socket as Coalescing, onMessage };
  ws.on('close', onLearnerClose);
  ws.on('message', onLearnerMessage);
  ws.on('error', onLearnerError);
  return conn;
}

const LEARNER = Symbol('learner');
interface LearnerState {
  session: Session;
  conn: string | undefined;
  limits: Limits;
  limited: boolean;
  socket: Coalescing;
  onMessage: LearnerMessageHandler | null;
}
type Learner = WebSocket & { [LEARNER]: LearnerState };

const COALESCING = Symbol('coalescing');
type Coalescing = Socket & { [COALESCING]?: boolean };

/**
 * What the scenarios send while ws handles the messages of one TCP read leaves in one socket write:
 * the socket stays corked until the end of the tick. Same bytes, same order, no timer; a burst of
 * learner messages then costs one syscall instead of one per reply. A terminate() would drop what
 * is still corked: flushWrites first.
 */
export function coalesceWrites(s: Socket): void {
  const socket = s as Coalescing;
  if (socket[COALESCING] || socket.destroyed) return;
  socket[COALESCING] = true;
  socket.cork();
  process.nextTick(uncork, socket);
}

function uncork(socket: Coalescing): void {
  if (!socket[COALESCING]) return;
  socket[COALESCING] = false;
  socket.uncork();
}

/** Sends what coalescing holds now (before a terminate(), which would drop it). */
export function flushWrites(ws: WebSocket): void {
  uncork((ws as Learner)[LEARNER].socket);
}

function onLearnerClose(this: WebSocket): void {
  (this as Learner)[LEARNER].session.websockets.delete(this);
}

/**
 * The frames were already charged to the session's rate by the tap (every frame, whatever its
 * kind: see guard.ts); a socket closed for a limit gets no more replies, and neither does a client
 * that does not read what it is sent (its replies would pile up in the server's memory).
 */
function onLearnerMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const l = (this as Learner)[LEARNER];
  if (l.limited) return;
  if (!checkReader(this, l.session, l.limits)) return;
  coalesceWrites(l.socket);
  l.onMessage?.call(this, data, isBinary);
}

/**
 * False (and the socket closed, limit reported) when `ws` holds more than maxSendBuffer bytes the
 * client has not read: whoever sends to a learner socket checks this first.
 */
export function checkReader(ws: WebSocket, session: Session, limits: Limits): boolean {
  if (ws.bufferedAmount <= limits.maxSendBuffer) return true;
  const l = (ws as Partial<Learner>)[LEARNER];
  closeOverLimit(
    ws,
    session,
    l?.conn,
    {
      limit: 'buffer',
      action: 'close 1008',
      message: `Le client ne lit pas ce qu’on lui envoie\u00a0: plus de ${Math.round(limits.maxSendBuffer / 1024)}\u00a0Kio en attente. Connexion fermée (1008).`,
    },
    'Client trop lent',
  );
  return false;
}

/** Socket.IO's WebSockets, which have no learner state, carry the mark here. */
const LIMITED = Symbol('limited');
/** When a socket was closed for a limit (the guard destroys it if the peer never answers). */
export const CLOSED_AT = Symbol('closedForLimitAt');

/**
 * Marks a learner WebSocket as closed for a limit (its later messages are not answered); false
 * when it already was, so that a limit is reported and acted on once per socket.
 */
function markLimited(ws: WebSocket): boolean {
  const l = (ws as Partial<Learner>)[LEARNER];
  if (l) {
    if (l.limited) return false;
    l.limited = true;
    return true;
  }
  const marked = ws as WebSocket & { [LIMITED]?: true };
  if (marked[LIMITED]) return false;
  marked[LIMITED] = true;
  return true;
}

/**
 * Closes a learner WebSocket over a limit, once: a `limit` event, what is corked sent, a 1008
 * close; guard.ts destroys the socket if the peer does not answer the close in time.
 */
export function closeOverLimit(
  ws: WebSocket,
  session: Session,
  conn: string | undefined,
  fields: Omit<LimitEvent, 'seq' | 't' | 'type' | 'conn'>,
  reason: string,
): void {
  if (!markLimited(ws)) return;
  session.limit({ conn, ...fields });
  (ws as WebSocket & { [CLOSED_AT]?: number })[CLOSED_AT] = Date.now();
  const l = (ws as Partial<Learner>)[LEARNER];
  if (l) uncork(l.socket);
  const socket = (ws as unknown as { _socket?: LimitedSocket })._socket;
  if (socket) socket[LIMITED_SOCKET] = true;
  ws.close(1008, reason);
  // Nothing more is read from a peer closed for a limit (a flood would go on costing the parsing
  // of every frame until the socket is destroyed, TERMINATE_AFTER_MS later: see guard.ts).
  ws.pause();
}

/** On the TCP socket of a WebSocket closed for a limit: the tap decodes no more of it. */
export const LIMITED_SOCKET = Symbol('limitedSocket');
export type LimitedSocket = Duplex & { [LIMITED_SOCKET]?: true };

function onLearnerError(this: WebSocket, err: Error & { code?: string }): void {
  const l = (this as Learner)[LEARNER];
  reportWsError(l.session, l.conn, err, l.limits);
}

/** Turns ws's limit errors into `limit` events (protocol errors are reported by the decoder). */
export function reportWsError(session: Session, conn: string | undefined, err: Error & { code?: string }, limits: Limits): void {
  if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || err.code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH') {
    session.limit({
      conn,
      limit: 'payload',
      action: 'close 1009',
      message: `Message trop grand\u00a0: au plus ${limits.maxPayload} octets. Connexion fermée (1009).`,
    });
  } else if (err.code === 'WS_ERR_TOO_MANY_BUFFERED_PARTS') {
    // ws gives one code to both of its limits; the message tells them apart.
    const chunks = /chunks/i.test(err.message);
    session.limit({
      conn,
      limit: 'payload',
      action: 'close 1008',
      message: chunks
        ? `Message arrivé en trop de morceaux TCP\u00a0: au plus ${limits.maxBufferedChunks} morceaux gardés pour un message. Connexion fermée (1008).`
        : `Message en trop de trames\u00a0: au plus ${limits.maxFragments} fragments. Connexion fermée (1008).`,
    });
  }
}

/** Answers an HTTP request with JSON. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
  res.end(text);
}

/** Refuses an upgrade with a small HTTP response, then closes the socket. */
export function refuseUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  // Node's HTTP server no longer listens for errors on a socket it handed over for an upgrade.
  socket.on('error', destroyOnError);
  const body = Buffer.from(JSON.stringify({ error: message }));
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${body.length}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]));
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  404: 'Not Found',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};
