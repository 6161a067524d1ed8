// Host channel: the contract between the sandbox and the learner's server code.
//
// The learner's server runs in the learner's browser (a Worker), never on the sandbox host. The
// sandbox keeps the REAL endpoints of the session (a real ws WebSocketServer, real sockets, the
// tap), tells the host what happens on them, and executes the host's commands on them in order.
// The bytes on the wire therefore come from the real library.
//
// Transport: one WebSocket per session at /api/sessions/<id>/host, text messages. A message is
// one JSON object (one event or command) or, in either direction, a batch: a JSON array of them,
// handled in order exactly as if each had come alone. Each side batches what it has to say in one
// tick (the sandbox: the events of one I/O callback, e.g. all the client messages of one TCP read;
// the page's Worker: the commands of one synchronous run of the server code), so that a burst costs one frame and one socket write
// instead of one per message; a batch's text is at most HOST_BATCH_MAX_CHARS UTF-16 code units
// (so at most 3 × as many UTF-8 bytes) unless it holds a single message, and it holds at most
// HOST_BATCH_MAX_COMMANDS messages. The sandbox applies every rule per command whatever the
// framing (validation, sizes, the command rate: one token per command), and refuses a whole batch
// that breaks the batch's own bounds (HOST_ERR_TOO_BIG) or is not an array of objects.
// The first message must be `auth` with the secret that session creation returned to the page
// (never part of a learner-facing URL). At most one host per session.
//
// Connection and request ids (`c`, `r`) are small integers chosen by the sandbox, unique within
// the host channel. Binary payloads travel as base64 (`b64: true`), text as JSON strings.

/** Longest batch text, in UTF-16 code units (a single message may be longer, up to its own limits). */
export const HOST_BATCH_MAX_CHARS = 16 * 1024;
/** Most messages in one batch. */
export const HOST_BATCH_MAX_COMMANDS = 256;

/**
 * Room a command's fields other than its payload may take in a frame, in bytes: an event name, a
 * namespace and up to 2 × 32 rooms, each character at most 6 bytes of JSON (`\u0001`).
 */
export const HOST_ENVELOPE_MAX = 32 * 1024;

/**
 * Largest frame the sandbox reads on the host channel (bytes), for its message limit `maxPayload`:
 * any command its rules accept fits. The widest is an emit, whose arguments are counted in JSON
 * characters (at most 3 UTF-8 bytes each); a text payload is at most its bytes, or 4/3 of them as
 * base64; a batch is at most HOST_BATCH_MAX_CHARS characters. A bigger frame closes the channel
 * (1009): the façade refuses such a command itself, in the server console, and never sends it.
 */
export function hostFrameMax(maxPayload: number): number {
  return Math.max(3 * maxPayload + HOST_ENVELOPE_MAX, 3 * (HOST_BATCH_MAX_CHARS + 2));
}

/**
 * The messages of one host channel frame, in order (a lone object or a batch). Throws on text that
 * is not JSON; what the values hold is for the receiver to check.
 */
export function hostFrameMessages(text: string): unknown[] {
  const value: unknown = JSON.parse(text);
  return Array.isArray(value) ? value : [value];
}

/** Joins message texts (JSON objects) into the text of one frame. */
export function hostFrameText(texts: readonly string[]): string {
  return texts.length === 1 ? (texts[0] as string) : `[${texts.join(',')}]`;
}

/** Close code of the host channel when the secret is wrong or missing. */
export const HOST_AUTH_FAILED = 4401;
/** Close code of the host channel when another host already holds the session. */
export const HOST_TAKEN = 4409;
/** Close code of the host channel when a command breaks the contract too often (see `error`). */
export const HOST_PROTOCOL_ERROR = 4400;
/** Close code given to the learner's WebSockets when the host leaves (server code stopped). */
export const HOST_GONE_CLOSE_CODE = 1012;

/** Payload of a message or control frame. */
export interface WirePayload {
  data: string;
  /** True when `data` is base64 (binary payload). */
  b64?: boolean;
}

// ── Sandbox → host ────────────────────────────────────────────────────────────────────────

/** Authentication accepted: the session's public URLs, to print in the server console. */
export interface HostReady {
  t: 'ready';
  /** Base URL of the session's endpoints (ws:// or wss://, ending with `/s/<id>/`). */
  ws: string;
  /** Same, http:// or https://. */
  http: string;
  /** The sandbox's message limit in bytes (a send, an emit's arguments, an HTTP write). */
  maxPayload: number;
  /** The largest frame the sandbox reads on this channel: hostFrameMax(maxPayload). */
  frameMax: number;
}

/**
 * A client asks to open a WebSocket. The host answers `accept` or `refuse` within
 * `decisionTimeoutMs`; otherwise the sandbox refuses with 503.
 */
export interface HostUpgrade {
  t: 'upgrade';
  c: number;
  /** Request target, as the client sent it, with the session prefix removed (`/chat?x=1`). */
  url: string;
  /** Request headers, names in lower case (ws's `req.headers`). */
  headers: Record<string, string>;
  /** Subprotocols the client offered (Sec-WebSocket-Protocol), in order. */
  protocols: string[];
  remoteAddress: string;
  /** The tap's connection id ("c3"), to match monitor events. */
  conn: string | null;
}

export interface HostMessage extends WirePayload {
  t: 'message';
  c: number;
  binary: boolean;
}

export interface HostPing extends WirePayload {
  t: 'ping' | 'pong';
  c: number;
}

/** The WebSocket closed (closing handshake done, or the TCP connection ended). */
export interface HostClosed {
  t: 'closed';
  c: number;
  code: number;
  reason: string;
}

/**
 * ws emitted 'error' on a connection: it refused what the client sent (a message over maxPayload,
 * invalid UTF-8, a frame breaking the protocol) and is closing it; `closed` follows.
 */
export interface HostWsError {
  t: 'ws-error';
  c: number;
  /** The error's class in ws: 'RangeError' or 'Error'. */
  name: string;
  /** ws's message, e.g. "Max payload size exceeded" (at most 200 characters). */
  message: string;
  /** ws's error code, e.g. "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH". */
  code: string;
}

/**
 * The real `ws.bufferedAmount` of a connection (bytes its sends left in the socket's buffer, not
 * yet handed to the kernel: ws's `_writableState.length + _sender._bufferedBytes`), once the
 * sandbox executed every command up to the host's `buffered` query `q` (see HostBufferedQuery).
 * Sent in answer to a query (one per connection per flush, whatever the number of queries), then,
 * while the value is above 0, again when it changes (checked every BUFFERED_SWEEP_MS at most, the
 * last report being 0), never otherwise: a server that never reads `bufferedAmount` costs none.
 */
export interface HostBuffered {
  t: 'buffered';
  c: number;
  bytes: number;
  /** The `q` of the latest query executed for `c` (the façade's byte count these bytes include). */
  q: number;
}

/** How often at most the sandbox reports a connection's bufferedAmount while it is above 0. */
export const BUFFERED_SWEEP_MS = 20;

/** A command was refused; nothing was done. `message` is French, for the server console. */
export interface HostError {
  t: 'error';
  /** Stable identifier of the rule the command broke. */
  id: HostErrorId;
  message: string;
  /** The command's `c`, when it had one. */
  c?: number;
  /** The command's Socket.IO socket (`s`), when it had one. */
  s?: number;
  /** The command's HTTP request (`r`), when it had one. */
  r?: number;
}

export type HostErrorId =
  | 'HOST_ERR_BAD_JSON'
  | 'HOST_ERR_UNKNOWN_COMMAND'
  | 'HOST_ERR_BAD_FIELD'
  | 'HOST_ERR_UNKNOWN_CONNECTION'
  | 'HOST_ERR_TOO_BIG'
  | 'HOST_ERR_RATE'
  | 'HOST_ERR_BAD_CLOSE_CODE'
  | 'HOST_ERR_NOT_OPEN'
  /** A Socket.IO command before `io-attach`, or `io-attach` twice. */
  | 'HOST_ERR_NO_IO'
  | 'HOST_ERR_IO_ATTACHED'
  /** A Socket.IO command names a socket (`s`) the sandbox never issued. */
  | 'HOST_ERR_UNKNOWN_SOCKET'
  /** A join would put a socket in more rooms than the sandbox allows. */
  | 'HOST_ERR_TOO_MANY_ROOMS'
  | 'HOST_ERR_TOO_MANY_NAMESPACES'
  /** Too many emits waiting for an acknowledgement in the session. */
  | 'HOST_ERR_TOO_MANY_ACKS'
  /** An emit with a reserved event name (connect, disconnect…), as socket.io refuses it. */
  | 'HOST_ERR_RESERVED_EVENT'
  /** An HTTP command names a request (`r`) the sandbox never issued. */
  | 'HOST_ERR_UNKNOWN_REQUEST'
  /** `http-head` with a status outside 100–599, or 101 (upgrades go through `upgrade`). */
  | 'HOST_ERR_BAD_STATUS'
  /** A response header name that is not an HTTP token, a value with CR, LF or NUL, or a hop-by-hop header the sandbox cannot honour. */
  | 'HOST_ERR_BAD_HEADER'
  /** `http-head` for a response whose head was already sent. */
  | 'HOST_ERR_HEADERS_SENT'
  /** More (or fewer, at `http-end`) body bytes than the response's Content-Length. */
  | 'HOST_ERR_CONTENT_LENGTH';

export type SandboxToHost =
  | HostReady
  | HostUpgrade
  | HostMessage
  | HostPing
  | HostClosed
  | HostWsError
  | HostBuffered
  | HostError
  | SandboxToHostIo
  | SandboxToHostHttp;

// ── Host → sandbox ────────────────────────────────────────────────────────────────────────

export interface HostAuth {
  t: 'auth';
  secret: string;
}

/** Accept a pending upgrade; `protocol` must be one the client offered (or absent). */
export interface HostAccept {
  t: 'accept';
  c: number;
  protocol?: string;
  /**
   * Largest message the client may send on this connection, in bytes (the learner's ws
   * `maxPayload`); the real ws server of the connection is given the smaller of this and the
   * sandbox's own limit, so a bigger message gets ws's close 1009. Absent or 0: the sandbox's limit.
   */
  maxPayload?: number;
}

/** Refuse a pending upgrade with an HTTP status (400–599), a short text body and extra headers (ws's abortHandshake). */
export interface HostRefuse {
  t: 'refuse';
  c: number;
  status: number;
  message?: string;
  headers?: Record<string, string>;
}

export interface HostSend extends WirePayload {
  t: 'send';
  c: number;
  binary: boolean;
  /** false: more frames of this message follow (ws's `send(data, { fin: false })`); default true. */
  fin?: boolean;
}

export interface HostControl extends WirePayload {
  t: 'ping' | 'pong';
  c: number;
}

export interface HostClose {
  t: 'close';
  c: number;
  code?: number;
  reason?: string;
}

/**
 * Asks for the real bufferedAmount of `c` once the commands before this one are executed
 * (answered by `buffered` with the same `q`). `q` is the façade's own count of the bytes it
 * asked to send on `c` so far (frames with their headers, as ws counts them), which lets the
 * façade add the bytes still on their way: `bufferedAmount = bytes + (sent − q)`. The façade
 * asks only for connections whose `bufferedAmount` the server code read, once per batch with sends.
 * Not charged to the command rate: it makes no frame, and answers are coalesced per connection.
 */
export interface HostBufferedQuery {
  t: 'buffered';
  c: number;
  q: number;
}

export interface HostTerminate {
  t: 'terminate';
  c: number;
}

/** Destroy the TCP connection of a pending upgrade without an answer (`socket.destroy()`). */
export interface HostDestroy {
  t: 'destroy';
  c: number;
}

/**
 * Raw bytes written on the TCP connection of a pending upgrade (`socket.write()` in an 'upgrade'
 * handler, e.g. a hand-written `HTTP/1.1 401 …` before `socket.destroy()`); at most
 * RAW_WRITE_MAX bytes per connection.
 */
export interface HostWrite extends WirePayload {
  t: 'write';
  c: number;
}
export const RAW_WRITE_MAX = 4096;

export type HostToSandbox =
  | HostAuth
  | HostAccept
  | HostRefuse
  | HostDestroy
  | HostWrite
  | HostSend
  | HostControl
  | HostClose
  | HostTerminate
  | HostBufferedQuery
  | HostToSandboxIo
  | HostToSandboxHttp;

// ── Socket.IO ─────────────────────────────────────────────────────────────────────────────
//
// The learner's `require('socket.io')` is a façade; the sandbox holds a REAL socket.io Server per
// session (path /s/<id>/socket.io/, the sandbox's limits), created on `io-attach`. Its namespaces
// have one middleware that asks the host (`io-auth` → `io-next`); what clients emit comes to the
// host as `io-event`; the host's emits, joins and broadcasts run on the real objects, in order.
//
// Sockets are named by `s`, a small integer the sandbox chooses (same counter as `c`); ack and
// request ids (`ack`, `r`) are chosen by the host. Event arguments (`args`) are JSON arrays where
// binary data (Buffer, ArrayBuffer, typed arrays) travels as `{ "_b64": "<base64>" }`: an object
// whose only key is `_b64` with a string value is read as binary, on both sides.

/**
 * Rooms one socket may hold besides its own id room: the sandbox's cap (the built-in scenario's
 * MAX_ROOMS_PER_SOCKET, checked equal by socket-io.integration.test.ts), applied by the façade too.
 */
export const IO_MAX_ROOMS_PER_SOCKET = 8;
/** Connection state recovery: the longest a disconnected socket's state and missed packets are kept (ms). */
export const IO_MAX_RECOVERY_MS = 30_000;

/** Binary data inside Socket.IO arguments. */
export interface IoBinary {
  _b64: string;
}

/** socket.handshake, as socket.io builds it. */
export interface IoHandshake {
  headers: Record<string, string>;
  /** `new Date() + ''` at the handshake. */
  time: string;
  address: string;
  xdomain: boolean;
  secure: boolean;
  /** Epoch milliseconds. */
  issued: number;
  /** Request target of the Engine.IO handshake, session prefix removed. */
  url: string;
  query: Record<string, string | string[]>;
  /** The client's `auth` option (any JSON). */
  auth: unknown;
}

/** A client connects to a namespace: the host runs its middlewares (io.use) and answers `io-next`. */
export interface HostIoAuth {
  t: 'io-auth';
  s: number;
  /** socket.id */
  id: string;
  nsp: string;
  handshake: IoHandshake;
  /** Engine.IO transport at that time: 'polling' or 'websocket'. */
  transport: string;
  /** The tap's connection id, to match monitor events. */
  conn: string | null;
  /** The real server restored this socket's state (connection state recovery). */
  recovered?: true;
}

/** The middlewares let the socket in: it is connected (socket.io's 'connection'). */
export interface HostIoConnection {
  t: 'io-connection';
  s: number;
  id: string;
  nsp: string;
  handshake: IoHandshake;
  transport: string;
  /** The real server restored this socket's state (connection state recovery)… */
  recovered?: true;
  /** …with these rooms (its own id left out). */
  rooms?: string[];
}

/** A client emitted an event; `ack` when it waits for an acknowledgement (answer with `io-ack`). */
export interface HostIoEvent {
  t: 'io-event';
  s: number;
  event: string;
  args: unknown[];
  ack?: number;
}

/**
 * The answer to an emit with `ack`: `error` when socket.io called back with an error (timeout),
 * `args` the rest of the callback's arguments (one array of responses for a broadcast).
 */
export interface HostIoAckResponse {
  t: 'io-ack-response';
  ack: number;
  error?: string;
  args: unknown[];
}

export interface HostIoDisconnect {
  t: 'io-disconnecting' | 'io-disconnect';
  s: number;
  /** socket.io's reason ('client namespace disconnect', 'transport close'…). */
  reason: string;
}

/** The Engine.IO connection of the socket changed transport (upgrade to WebSocket). */
export interface HostIoTransport {
  t: 'io-transport';
  s: number;
  transport: string;
}

/** Answer to `io-fetch`: the matching sockets and their rooms on the real server. */
export interface HostIoSockets {
  t: 'io-sockets';
  r: number;
  sockets: { s: number; rooms: string[] }[];
}

export type SandboxToHostIo =
  | HostIoAuth
  | HostIoConnection
  | HostIoEvent
  | HostIoAckResponse
  | HostIoDisconnect
  | HostIoTransport
  | HostIoSockets;

/** CORS of the real server (the `cors` package's options, JSON only). */
export interface IoCors {
  origin?: boolean | string | string[];
  methods?: string | string[];
  allowedHeaders?: string | string[];
  exposedHeaders?: string | string[];
  credentials?: boolean;
  maxAge?: number;
}

/** Server options the sandbox applies to the real server (others are ignored by the façade). */
export interface IoOptions {
  /** Absent: `{ origin: '*' }` (the lesson's clients are cross-origin only because of the sandbox). */
  cors?: IoCors;
  pingInterval?: number;
  pingTimeout?: number;
  connectTimeout?: number;
  /** At most the sandbox's maxPayload. */
  maxHttpBufferSize?: number;
  transports?: ('polling' | 'websocket')[];
  allowUpgrades?: boolean;
  /**
   * socket.io's connection state recovery: the real server keeps a socket's id, rooms and the
   * packets it missed for `maxDisconnectionDuration` ms (within the sandbox's bound) after an
   * unexpected disconnection. `skipMiddlewares`: a recovered socket skips the learner's io.use.
   */
  connectionStateRecovery?: { maxDisconnectionDuration: number; skipMiddlewares: boolean };
}

/** The learner's server attached Socket.IO to a listening server: the sandbox creates the real one. */
export interface HostIoAttach {
  t: 'io-attach';
  /** Namespaces created so far ('/' always exists). */
  nsps: string[];
  options: IoOptions;
}

/** io.of(nsp): the namespace exists on the real server. */
export interface HostIoNamespace {
  t: 'io-nsp';
  nsp: string;
}

/** io.close(): the real server disconnects everyone and is dropped. */
export interface HostIoClose {
  t: 'io-close';
}

/** The middlewares' verdict for `io-auth`; `error` becomes the client's CONNECT_ERROR. */
export interface HostIoNext {
  t: 'io-next';
  s: number;
  error?: { message?: string; data?: unknown };
}

/** Emit options: an ack id asks for `io-ack-response`; `timeout` as socket.timeout(ms). */
interface IoEmitFields {
  event: string;
  args: unknown[];
  ack?: number;
  timeout?: number;
  volatile?: boolean;
}

/** socket.emit(…) */
export interface HostIoEmit extends IoEmitFields {
  t: 'io-emit';
  s: number;
}

/** Which sockets of a namespace a broadcast reaches: those in `to` (none: all), minus those in `except`. */
export interface IoTarget {
  nsp: string;
  to?: string[];
  except?: string[];
}

/** io.to(…).except(…).emit(…); `from` for socket.to(…)/socket.broadcast (the sender excluded). */
export interface HostIoBroadcast extends IoEmitFields, IoTarget {
  t: 'io-broadcast';
  from?: number;
}

/** Calls the acknowledgement of a client's event (`io-event`'s `ack`). */
export interface HostIoAck {
  t: 'io-ack';
  s: number;
  ack: number;
  args: unknown[];
}

export interface HostIoJoin {
  t: 'io-join' | 'io-leave';
  s: number;
  rooms: string[];
}

/** socketsJoin / socketsLeave of the matching sockets. */
export interface HostIoSocketsRooms extends IoTarget {
  t: 'io-sockets-join' | 'io-sockets-leave';
  rooms: string[];
}

export interface HostIoDisconnectSockets extends IoTarget {
  t: 'io-disconnect-sockets';
  close: boolean;
}

/** fetchSockets(): answered by `io-sockets` with the same `r`. */
export interface HostIoFetch extends IoTarget {
  t: 'io-fetch';
  r: number;
}

/** socket.disconnect(close) */
export interface HostIoDisconnectSocket {
  t: 'io-socket-disconnect';
  s: number;
  close: boolean;
}

export type HostToSandboxIo =
  | HostIoAttach
  | HostIoNamespace
  | HostIoClose
  | HostIoNext
  | HostIoEmit
  | HostIoBroadcast
  | HostIoAck
  | HostIoJoin
  | HostIoSocketsRooms
  | HostIoDisconnectSockets
  | HostIoFetch
  | HostIoDisconnectSocket;

// ── HTTP ──────────────────────────────────────────────────────────────────────────────────
//
// Plain HTTP requests to a learner-server session (not upgrades, not Socket.IO once declared) are
// relayed: the sandbox reads the request body (bounded, with a time limit), sends `http-request`,
// and writes the host's `http-head` / `http-write` / `http-end` on the REAL ServerResponse in
// order, so Node's http server produces the bytes (status line, headers, chunked encoding when no
// Content-Length). Nothing is buffered: a response streams as the host writes it (Server-Sent
// Events). Request ids (`r`) come from the same counter as connection ids (`c`).

/** Largest request body the sandbox relays (bytes); a larger one gets 413 from the sandbox. */
export const HTTP_MAX_REQUEST_BODY = 64 * 1024;
/** How long the host has to send `http-head` (or a first write) before the client gets 504. */
export const HTTP_HEAD_TIMEOUT_MS = 10_000;
/** Requests of one session waiting for or receiving their response at once; more get 429. */
export const HTTP_MAX_CONCURRENT_REQUESTS = 32;

/** A client's HTTP request for the learner's server. */
export interface HostHttpRequest {
  t: 'http-request';
  r: number;
  method: string;
  /** Request target as the client sent it, with the session prefix removed (`/api/x?y=1`). */
  url: string;
  httpVersion: string;
  /** Request headers, names in lower case (repeated headers joined as Node does). */
  headers: Record<string, string>;
  remoteAddress: string;
  /** The whole request body, base64 ('' when empty); at most HTTP_MAX_REQUEST_BODY bytes. */
  body: string;
  /** The tap's connection id ("c3"), to match monitor events. */
  conn: string | null;
}

/**
 * The response ended without the host's `http-end`: the client went away (closed its request,
 * aborted a stream), or the sandbox ended it (time limit, unread bytes, host error). The façade
 * emits 'close' on req and res; later commands for `r` are ignored.
 */
export interface HostHttpClose {
  t: 'http-close';
  r: number;
}

export type SandboxToHostHttp = HostHttpRequest | HostHttpClose;

/**
 * The response head: `res.writeHead(status, message, headers)` on the real response, or, with
 * `implicit`, the statusCode, statusMessage and setHeader calls that Node turns into the implicit
 * head of the first write/end (so `res.end('x')` alone gets a Content-Length, as in Node).
 * Header values: strings, or arrays of strings for repeated headers (Set-Cookie). `flush`: send
 * the head now (res.flushHeaders()).
 */
export interface HostHttpHead {
  t: 'http-head';
  r: number;
  status: number;
  message?: string;
  headers: Record<string, string | string[]>;
  implicit?: boolean;
  flush?: boolean;
}

/** res.write(data): at most the sandbox's maxPayload bytes per command (split larger writes). */
export interface HostHttpWrite extends WirePayload {
  t: 'http-write';
  r: number;
}

/** res.end(data?); with `destroy`, res.destroy(): the response is cut (no data then). */
export interface HostHttpEnd {
  t: 'http-end';
  r: number;
  data?: string;
  b64?: boolean;
  destroy?: boolean;
}

export type HostToSandboxHttp = HostHttpHead | HostHttpWrite | HostHttpEnd;
