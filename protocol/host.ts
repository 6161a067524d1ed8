// Host channel: the contract between the sandbox and the learner's server code.
//
// The learner's server runs in the learner's browser (a Worker), never on the sandbox host. The
// sandbox keeps the REAL endpoints of the session (a real ws WebSocketServer, real sockets, the
// tap), tells the host what happens on them, and executes the host's commands on them in order.
// The bytes on the wire therefore come from the real library.
//
// Transport: one WebSocket per session at /api/sessions/<id>/host, text messages, one JSON
// object each. The first message must be `auth` with the secret that session creation returned
// to the page (never part of a learner-facing URL). At most one host per session.
//
// Connection and request ids (`c`, `r`) are small integers chosen by the sandbox, unique within
// the host channel. Binary payloads travel as base64 (`b64: true`), text as JSON strings.

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

/** bufferedAmount of a connection changed (bytes accepted by `send` not yet written to the socket). */
export interface HostBuffered {
  t: 'buffered';
  c: number;
  bytes: number;
}

/** A command was refused; nothing was done. `message` is French, for the server console. */
export interface HostError {
  t: 'error';
  /** Stable identifier of the rule the command broke. */
  id: HostErrorId;
  message: string;
  /** The command's `c`, when it had one. */
  c?: number;
}

export type HostErrorId =
  | 'HOST_ERR_BAD_JSON'
  | 'HOST_ERR_UNKNOWN_COMMAND'
  | 'HOST_ERR_BAD_FIELD'
  | 'HOST_ERR_UNKNOWN_CONNECTION'
  | 'HOST_ERR_TOO_BIG'
  | 'HOST_ERR_RATE'
  | 'HOST_ERR_BAD_CLOSE_CODE'
  | 'HOST_ERR_NOT_OPEN';

export type SandboxToHost = HostReady | HostUpgrade | HostMessage | HostPing | HostClosed | HostBuffered | HostError;

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

export interface HostTerminate {
  t: 'terminate';
  c: number;
}

/** Destroy the TCP connection of a pending upgrade without an answer (`socket.destroy()`). */
export interface HostDestroy {
  t: 'destroy';
  c: number;
}

export type HostToSandbox = HostAuth | HostAccept | HostRefuse | HostDestroy | HostSend | HostControl | HostClose | HostTerminate;
