// Monitor protocol, the contract between the sandbox server and the page: the events the
// sandbox streams, one JSON object per WebSocket message on /api/sessions/<id>/monitor. Both sides import it as `#protocol`
// (package.json "imports"), so it holds types and tiny pure helpers only (no Node imports).
// Public contract: extend it, never rename fields (external tests rely on them).

/** Who sent the bytes. */
export type Direction = 'client' | 'server';

/** Fields every event carries. */
export interface EventBase {
  /** Per-session sequence number, strictly increasing, starting at 1. */
  seq: number;
  /** Server time (ms since epoch) when the bytes were seen. */
  t: number;
}

/** Opcode names from RFC 6455 §5.2 (reserved ones named as such). */
export const OPCODE_NAMES: Record<number, string> = {
  0x0: 'continuation',
  0x1: 'text',
  0x2: 'binary',
  0x3: 'reserved-non-control-3',
  0x4: 'reserved-non-control-4',
  0x5: 'reserved-non-control-5',
  0x6: 'reserved-non-control-6',
  0x7: 'reserved-non-control-7',
  0x8: 'close',
  0x9: 'ping',
  0xa: 'pong',
  0xb: 'reserved-control-b',
  0xc: 'reserved-control-c',
  0xd: 'reserved-control-d',
  0xe: 'reserved-control-e',
  0xf: 'reserved-control-f',
};

/** Most payload bytes copied into one event (hex). Longer payloads are cut, with truncated: true. */
export const PAYLOAD_CAPTURE_LIMIT = 4096;

/** A TCP connection attributed to the session (after its first request head). */
export interface ConnOpenEvent extends EventBase {
  type: 'conn-open';
  conn: string;
  /** Client label from the `client` query parameter (A, B…), or null for an external client. */
  client: string | null;
  /** Remote address and port, e.g. "127.0.0.1:51234". */
  remote: string;
  /** Request path of the first request, without the session prefix (e.g. "echo", "socket.io/"). */
  path: string;
}

export interface ConnCloseEvent extends EventBase {
  type: 'conn-close';
  conn: string;
  /** Why the TCP connection ended, when known (e.g. "end", "error: ECONNRESET", "destroyed"). */
  reason: string;
  bytesIn: number;
  bytesOut: number;
}

/** An HTTP request or response head, exactly as on the wire, and its body if any. */
export interface HttpEvent extends EventBase {
  type: 'http';
  conn: string;
  from: Direction;
  /** Start line and headers, CRLF separated, without the final empty line. */
  head: string;
  /** Byte length of the head including its final CRLF CRLF. */
  headLength: number;
  /** Body as UTF-8 text (cut at PAYLOAD_CAPTURE_LIMIT), when the message has one. */
  body?: string;
  /** Body length in bytes on the wire (for chunked bodies, including chunk framing). */
  bodyLength?: number;
  truncated?: boolean;
}

/**
 * A piece of an HTTP body streamed as it arrives (responses without a length, or `text/event-stream`),
 * so Server-Sent Events show live. The `http` event of that message comes first, without `body`.
 */
export interface HttpBodyEvent extends EventBase {
  type: 'http-body';
  conn: string;
  from: Direction;
  /** Body bytes of this piece as UTF-8 text (de-chunked; cut at PAYLOAD_CAPTURE_LIMIT). */
  text: string;
  /** Body bytes in this piece (de-chunked), before any cut. */
  length: number;
  truncated?: boolean;
}

/** One WebSocket frame (RFC 6455 §5.2). */
export interface FrameEvent extends EventBase {
  type: 'frame';
  conn: string;
  from: Direction;
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  opcodeName: string;
  masked: boolean;
  /** Masking key as 8 hex digits, or null when not masked. */
  maskKey: string | null;
  /** Declared payload length. */
  length: number;
  /** Which length form the header used: 7 (0–125), 16 (126) or 64 (127) bits. */
  lengthForm: 7 | 16 | 64;
  /** Frame header bytes in hex (2 to 14 bytes). */
  header: string;
  /** Unmasked payload in hex (as on the wire if compressed), cut at PAYLOAD_CAPTURE_LIMIT bytes. */
  payload: string;
  truncated?: boolean;
  /** Payload as text for text frames / continuation of text (after inflation if compressed). */
  text?: string;
  /** Close frames: status code (absent if the payload is empty) and reason. */
  code?: number;
  reason?: string;
  /**
   * Set on a data frame that is a whole message by itself (FIN, text or binary, not compressed):
   * no `message` event follows it; messageOfFrame() gives the one it stands for.
   */
  wholeMessage?: true;
  /**
   * Set on a frame that breaks the protocol: the `violation` event that follows it says how. Its
   * fields are those the decoder could read before the fault (with `partial: true` when the header
   * or the payload had not fully arrived; fields not read then keep their zero value).
   */
  violating?: true;
  /** With `violating`: the frame had not fully arrived when the violation was found. */
  partial?: true;
}

/**
 * A complete data message, reassembled from its frames (and inflated), after its last frame. Sent
 * only for messages of several frames or compressed ones; a message of one uncompressed frame is
 * that frame's event, marked `wholeMessage` (see messageOfFrame).
 */
export interface MessageEvent extends EventBase {
  type: 'message';
  conn: string;
  from: Direction;
  /** 1 text, 2 binary. */
  opcode: number;
  /** Message length in bytes after reassembly and inflation. */
  length: number;
  frames: number;
  compressed: boolean;
  /** Text messages: the text (cut at PAYLOAD_CAPTURE_LIMIT). */
  text?: string;
  /** Binary messages: hex (cut at PAYLOAD_CAPTURE_LIMIT bytes). */
  data?: string;
  truncated?: boolean;
}

/** Engine.IO packet (over WebSocket frames or in a polling body), with its Socket.IO packet if any. */
export interface EioEvent extends EventBase {
  type: 'eio';
  conn: string;
  from: Direction;
  transport: 'websocket' | 'polling';
  /** Engine.IO session id when known. */
  sid?: string;
  /** open, close, ping, pong, message, upgrade, noop. */
  packet: string;
  /** Packet data as text (JSON for open), or hex for binary. */
  data?: string;
  binary?: boolean;
  sio?: SioPacket;
  /** Socket.IO: this binary packet is attachment `num` (0-based) of the BINARY_EVENT/BINARY_ACK before it, which announced `of`. */
  attachment?: { num: number; of: number };
}

export interface SioPacket {
  /** 0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK. */
  type: number;
  typeName: string;
  nsp: string;
  id?: number;
  /** Decoded JSON data (placeholders replaced by {"_placeholder":true,"num":n} as on the wire). */
  data?: unknown;
  /** Number of binary attachments announced. */
  attachments?: number;
  /** For EVENT / BINARY_EVENT: the event name. */
  event?: string;
}

/**
 * Every rule a `violation` event can report, by its stable identifier (named as ws's
 * lib/receiver.js names its errors), with the close code that goes with it: for WebSocket frames
 * the code ws 8.23 closes with; HTTP, Engine.IO and Socket.IO have no close codes, and theirs keep
 * `ViolationEvent.code` meaningful. protocol/README.md gives the rule and RFC section of each.
 * Identifiers are only ever added, never renamed or given another code.
 */
export const VIOLATION_CODES = {
  // WebSocket frames (RFC 6455, RFC 7692).
  WS_ERR_RSV2_RSV3: 1002,
  WS_ERR_UNEXPECTED_RSV1: 1002,
  WS_ERR_RSV1_ON_CONTINUATION: 1002,
  WS_ERR_RSV1_ON_CONTROL: 1002,
  WS_ERR_UNEXPECTED_CONTINUATION: 1002,
  WS_ERR_EXPECTED_CONTINUATION: 1002,
  WS_ERR_CONTROL_FRAGMENTED: 1002,
  WS_ERR_CONTROL_TOO_LONG: 1002,
  WS_ERR_CLOSE_ONE_BYTE: 1002,
  WS_ERR_RESERVED_OPCODE: 1002,
  WS_ERR_UNMASKED_CLIENT_FRAME: 1002,
  WS_ERR_MASKED_SERVER_FRAME: 1002,
  WS_ERR_LENGTH_MSB_SET: 1009,
  WS_ERR_PAYLOAD_TOO_BIG: 1009,
  WS_ERR_INVALID_CLOSE_CODE: 1002,
  WS_ERR_INVALID_CLOSE_REASON: 1007,
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_INCOMPLETE_UTF8: 1007,
  WS_ERR_INFLATE: 1007,
  WS_ERR_INFLATED_INVALID_UTF8: 1007,
  // Opening handshake.
  HANDSHAKE_ERR_EARLY_DATA: 1002,
  // HTTP/1.1 messages (RFC 9112).
  HTTP_ERR_REQUEST_LINE: 1002,
  HTTP_ERR_STATUS_LINE: 1002,
  HTTP_ERR_HEADER_LINE: 1002,
  HTTP_ERR_HEAD_TOO_LARGE: 1009,
  HTTP_ERR_TRAILERS_TOO_LARGE: 1009,
  HTTP_ERR_CONTENT_LENGTH: 1002,
  HTTP_ERR_TRANSFER_ENCODING: 1002,
  HTTP_ERR_CHUNK_SIZE: 1002,
  HTTP_ERR_CHUNK_LINE_TOO_LONG: 1002,
  HTTP_ERR_CHUNK_DATA_END: 1002,
  // Engine.IO v4 packets.
  EIO_ERR_EMPTY_PACKET: 1002,
  EIO_ERR_UNKNOWN_PACKET_TYPE: 1002,
  EIO_ERR_INVALID_BASE64: 1002,
  EIO_ERR_OPEN_NOT_JSON: 1002,
  // Socket.IO v5 packets.
  SIO_ERR_UNKNOWN_PACKET_TYPE: 1002,
  SIO_ERR_ATTACHMENT_COUNT: 1002,
  SIO_ERR_TOO_MANY_ATTACHMENTS: 1002,
  SIO_ERR_INVALID_JSON: 1002,
  SIO_ERR_INVALID_PAYLOAD: 1002,
  SIO_ERR_UNEXPECTED_ATTACHMENT: 1002,
  SIO_ERR_MISSING_ATTACHMENTS: 1002,
  // The sandbox itself: its decoder failed on this connection (the traffic is unaffected).
  SANDBOX_ERR_DECODER: 1011,
} as const satisfies Record<string, number>;

/** Stable identifier of a violation rule (see VIOLATION_CODES). */
export type ViolationId = keyof typeof VIOLATION_CODES;

/** Every ViolationId, in the order of VIOLATION_CODES. */
export const VIOLATION_IDS = Object.keys(VIOLATION_CODES) as ViolationId[];

/** A protocol violation seen in the traffic (reported, never thrown). */
export interface ViolationEvent extends EventBase {
  type: 'violation';
  conn: string;
  from: Direction;
  /** Which rule was broken: a stable identifier (the page shows its own French text for it). */
  id: ViolationId;
  /** The close code RFC 6455 prescribes for this violation (1002, 1007, 1009…): VIOLATION_CODES[id]. */
  code: number;
  /** Technical detail in English, for logs and external tests (not shown to the learner; wording may change). */
  message: string;
}

/** A limit was exceeded; the server answered as `action` says. */
export interface LimitEvent extends EventBase {
  type: 'limit';
  conn?: string;
  limit:
    | 'connections'
    | 'rate'
    | 'payload'
    | 'sessions'
    | 'backlog'
    | 'ip-connections'
    | 'timeout'
    | 'memory'
    | 'engine-io'
    | 'buffer'
    | 'connection-rate';
  /**
   * What the server did: "close 1009", "close 1008", "http 429", "http 503", "http 413" (Socket.IO
   * polling body), "disconnect" (Socket.IO over polling), "drop oldest" (monitor backlog).
   */
  action: string;
  message: string;
}

/** Socket.IO room membership in the session, sent whenever it changes. */
export interface RoomsEvent extends EventBase {
  type: 'rooms';
  nsp: string;
  /** room name → Socket.IO socket ids; each socket also listed with its connection and client label. */
  rooms: Record<string, string[]>;
  sockets: Record<string, { conn: string | null; client: string | null }>;
}

/** A scenario's note to the learner (e.g. "sending a ping with payload 'abc'"). */
export interface InfoEvent extends EventBase {
  type: 'info';
  conn?: string;
  /** The direction the note is about, when it concerns one (e.g. a message not inflated). */
  from?: Direction;
  message: string;
}

/** First event on every monitor: the session and its learner endpoints. */
export interface HelloEvent extends EventBase {
  type: 'hello';
  session: string;
  /** Absolute base URLs, e.g. { http: "http://127.0.0.1:4321/s/<id>/", ws: "ws://127.0.0.1:4321/s/<id>/" }. */
  endpoints: { http: string; ws: string; socketIoPath: string };
  scenarios: string[];
  /**
   * The network conditions the sandbox applies to every connection of the session (asked for when
   * the session was created: `POST /api/sessions` with `{"network":{…}}`); absent: none.
   */
  network?: NetworkConditions;
}

/**
 * A connection cut by the session's network conditions (`dropAfterMs` after it opened): `reset`,
 * the sandbox reset the TCP connection (RST, the client sees an abnormal close); `silent`, from now
 * on no byte passes in either direction while the TCP connection stays open (a dead peer).
 */
export interface NetDropEvent extends EventBase {
  type: 'net-drop';
  conn: string;
  mode: NetworkDrop;
  /** Time since the connection opened (ms). */
  afterMs: number;
}

/** Events were dropped because the monitor could not keep up. */
export interface DroppedEvent extends EventBase {
  type: 'dropped';
  count: number;
}

/**
 * The server is stopping (a drain, e.g. for a restart or an update): the session goes on for
 * `graceMs` more milliseconds (until `t + graceMs`), then ends with `end` (reason "shutdown").
 * New sessions are refused meanwhile; the page's next run opens a session on the restarted server.
 */
export interface DrainingEvent extends EventBase {
  type: 'draining';
  graceMs: number;
}

/** Last event before the server stops or the session expires. */
export interface EndEvent extends EventBase {
  type: 'end';
  reason: 'shutdown' | 'expired';
}

export type MonitorEvent =
  | HelloEvent
  | ConnOpenEvent
  | ConnCloseEvent
  | HttpEvent
  | HttpBodyEvent
  | FrameEvent
  | MessageEvent
  | EioEvent
  | ViolationEvent
  | LimitEvent
  | RoomsEvent
  | InfoEvent
  | DroppedEvent
  | NetDropEvent
  | DrainingEvent
  | EndEvent;

/** Answer of POST /api/sessions. */
export interface CreateSessionResponse {
  id: string;
  /**
   * Only for `POST /api/sessions?server=1` (the learner's code is the server): the secret that
   * authenticates the host channel (protocol/host.ts). Kept by the page; never in a learner URL.
   */
  hostSecret?: string;
}

/** Scenario names served as WebSocket endpoints at /s/<id>/<scenario>. */
export const WS_SCENARIOS = ['echo', 'broadcast', 'match', 'control', 'echo-deflate'] as const;
export type WsScenario = (typeof WS_SCENARIOS)[number];

/**
 * The `message` event a frame marked `wholeMessage` stands for (same seq and t as the frame), or
 * null for any other frame. Consumers that want every message as a `message` event (the page, the
 * tests) call it on each frame.
 */
export function messageOfFrame(frame: FrameEvent): MessageEvent | null {
  if (!frame.wholeMessage) return null;
  const message: MessageEvent = {
    seq: frame.seq,
    t: frame.t,
    type: 'message',
    conn: frame.conn,
    from: frame.from,
    opcode: frame.opcode,
    length: frame.length,
    frames: 1,
    compressed: false,
  };
  if (frame.opcode === 0x1) message.text = frame.text ?? '';
  else message.data = frame.payload;
  if (frame.truncated) message.truncated = true;
  return message;
}

// ---------------------------------------------------------------------------------------------
// Network conditions of a session (latency, bandwidth, drop): what a page may ask for when it
// creates a session, the bounds the sandbox enforces, and the French line the page shows.

/** How a connection is cut by `dropAfterMs`: TCP reset (default), or silence (a dead peer). */
export type NetworkDrop = 'reset' | 'silent';

/** Conditions applied to every connection of a session, in both directions (every field optional). */
export interface NetworkConditions {
  /** Added one-way delay (ms), applied in each direction. */
  latencyMs?: number;
  /** Cap in bytes per second, per connection and per direction. */
  bandwidth?: number;
  /** Each connection of the session is cut this long (ms) after it opened. */
  dropAfterMs?: number;
  /**
   * Up to this much more (ms), drawn at random for each connection when it opens: each one is cut
   * between `dropAfterMs` and `dropAfterMs + dropJitterMs` after it opened, at a time nobody is told
   * in advance (a heartbeat finds it, a fixed timer does not). Only with `dropAfterMs`; 0: none.
   */
  dropJitterMs?: number;
  /** How it is cut (default `reset`); only with `dropAfterMs`. */
  drop?: NetworkDrop;
}

/** Bounds of each numeric field (integers, inclusive). */
export const NETWORK_LIMITS = {
  latencyMs: { min: 0, max: 2000 },
  bandwidth: { min: 1024, max: 1048576 },
  dropAfterMs: { min: 1000, max: 60000 },
  dropJitterMs: { min: 0, max: 60000 },
} as const;

export const NETWORK_DROPS: readonly NetworkDrop[] = ['reset', 'silent'];

const NETWORK_FIELDS = ['latencyMs', 'bandwidth', 'dropAfterMs', 'dropJitterMs', 'drop'];

/**
 * Validates network conditions (the sandbox's check of `POST /api/sessions`): the normalized
 * conditions (fields given only; `drop` filled in when `dropAfterMs` is), null when none are asked
 * for, or a French error.
 */
export function parseNetworkConditions(input: unknown): { conditions: NetworkConditions | null } | { error: string } {
  if (input === undefined || input === null) return { conditions: null };
  if (typeof input !== 'object' || Array.isArray(input))
    return { error: 'attendu un objet { latencyMs, bandwidth, dropAfterMs, dropJitterMs, drop }' };
  const raw = input as Record<string, unknown>;
  for (const key of Object.keys(raw)) {
    if (!NETWORK_FIELDS.includes(key))
      return { error: `champ inconnu «\u00a0${key.slice(0, 40)}\u00a0» (attendu\u00a0: ${NETWORK_FIELDS.join(', ')})` };
  }
  const out: NetworkConditions = {};
  for (const key of ['latencyMs', 'bandwidth', 'dropAfterMs', 'dropJitterMs'] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    const { min, max } = NETWORK_LIMITS[key];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      return { error: `${key}\u00a0: attendu un entier de ${min} à ${max}, reçu ${JSON.stringify(value)?.slice(0, 40)}` };
    }
    out[key] = value;
  }
  if (raw.drop !== undefined) {
    if (!NETWORK_DROPS.includes(raw.drop as NetworkDrop))
      return { error: `drop\u00a0: attendu «\u00a0reset\u00a0» ou «\u00a0silent\u00a0»` };
    if (out.dropAfterMs === undefined) return { error: 'drop\u00a0: demande dropAfterMs (le moment de la coupure)' };
  }
  if (out.dropJitterMs !== undefined && out.dropAfterMs === undefined)
    return { error: 'dropJitterMs\u00a0: demande dropAfterMs (le moment de la coupure)' };
  if (out.dropJitterMs === 0) delete out.dropJitterMs;
  if (out.dropAfterMs !== undefined) out.drop = (raw.drop as NetworkDrop | undefined) ?? 'reset';
  // Nothing that changes the traffic: no conditions (a latency of 0 alone included).
  if (!out.latencyMs && out.bandwidth === undefined && out.dropAfterMs === undefined) return { conditions: null };
  return { conditions: out };
}

/** "1,5\u00a0s", "200\u00a0ms". */
function duration(ms: number): string {
  return ms < 1000 ? `${ms}\u00a0ms` : `${(ms / 1000).toLocaleString('fr-FR', { maximumFractionDigits: 3 })}\u00a0s`;
}

/** "16\u00a0Kio/s", "1\u00a0Mio/s", "1\u00a0500\u00a0o/s". */
export function rateText(bytesPerSecond: number): string {
  const fmt = (n: number) => n.toLocaleString('fr-FR', { maximumFractionDigits: 2 }).replace(/\u202f/g, '\u00a0');
  if (bytesPerSecond >= 1048576 && bytesPerSecond % 1048576 === 0) return `${fmt(bytesPerSecond / 1048576)}\u00a0Mio/s`;
  if (bytesPerSecond % 1024 === 0 || bytesPerSecond > 10240) return `${fmt(bytesPerSecond / 1024)}\u00a0Kio/s`;
  return `${fmt(bytesPerSecond)}\u00a0o/s`;
}

/** « Conditions réseau : latence 200 ms, débit 16 Kio/s, coupure silencieuse après 5 s » (no-break spaces). */
export function networkConditionsText(n: NetworkConditions): string {
  const parts: string[] = [];
  if (n.latencyMs) parts.push(`latence ${duration(n.latencyMs)}`);
  if (n.bandwidth !== undefined) parts.push(`débit ${rateText(n.bandwidth)}`);
  if (n.dropAfterMs !== undefined) {
    const kind = n.drop === 'silent' ? 'coupure silencieuse' : 'coupure brutale (RST)';
    parts.push(
      n.dropJitterMs
        ? `${kind} entre ${duration(n.dropAfterMs)} et ${duration(n.dropAfterMs + n.dropJitterMs)} (au hasard pour chaque connexion)`
        : `${kind} après ${duration(n.dropAfterMs)}`,
    );
  }
  return `Conditions réseau\u00a0: ${parts.length ? parts.join(', ') : 'aucune'}`;
}
