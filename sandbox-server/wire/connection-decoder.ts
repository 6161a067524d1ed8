// Decodes both directions of one TCP connection: HTTP heads and bodies, then WebSocket frames after
// an upgrade, then Engine.IO / Socket.IO on top when the request was a Socket.IO one. Pure.
//
// Per direction the mode moves HTTP → (client: AWAIT_101) → WS, or to DEAD after a WebSocket
// violation. Responses are paired with requests in order, which tells HEAD responses (no body),
// the answer to an upgrade request, and polling responses apart.
import { PAYLOAD_CAPTURE_LIMIT } from '#protocol';
import type { Direction, EioEvent, FrameEvent, HttpBodyEvent, HttpEvent, MessageEvent, ViolationEvent } from '#protocol';
import { violation } from './common.ts';
import type { InfoItem } from './common.ts';
import { decodeEioPacket, decodeEioPayload, eioBinaryFromHex } from './engine-io.ts';
import type { EioResult } from './engine-io.ts';
import { FrameDecoder } from './frame-decoder.ts';
import type { WireItem } from './frame-decoder.ts';
import { header, HEAD_LIMIT, HttpParser, isWebSocketUpgrade, PENDING_LIMIT } from './http-head.ts';
import type { HeadInfo, HttpParserItem } from './http-head.ts';
import { SocketIoStream } from './socket-io.ts';

type Strip<T> = T extends unknown ? Omit<T, 'seq' | 't' | 'conn'> : never;
/**
 * Connection-level events without the per-session fields (seq, t, conn) the caller adds. An `info`
 * is a decoder's note: its `note` id, not its English `message`, is what the caller shows.
 */
export type DecodedEvent = Strip<HttpEvent | HttpBodyEvent | FrameEvent | MessageEvent | EioEvent | ViolationEvent> | InfoItem;

// Direction modes.
const HTTP = 0;
const AWAIT_101 = 1;
const WS = 2;
const DEAD = 3;

/** Bytes a client may send after its upgrade request before the 101 is seen (kept to decode later). */
const EARLY_DATA_LIMIT = HEAD_LIMIT;

interface RequestInfo {
  method: string;
  upgrade: boolean;
  /** Socket.IO request (path has /socket.io/ and EIO=4). */
  eio: boolean;
  polling: boolean;
  sid?: string;
}

interface Side {
  mode: number;
  http: HttpParser | null;
  /** Created on the first WebSocket byte of this direction (idle connections never need one). */
  frames: FrameDecoder | null;
  /** Created on the first Engine.IO packet. */
  sio: SocketIoStream | null;
  /** The request (client side) or the request the current response answers (server side). */
  current: RequestInfo | null;
  /** Server side: status of the current response (only a 200 carries Engine.IO packets). */
  status: number;
}

/** Parsed permessage-deflate offer accepted by a 101 (RFC 7692 §7.1). */
export function parseDeflate(extensions: string | undefined): { server: boolean; client: boolean } | null {
  for (const ext of (extensions ?? '').split(',')) {
    const [name, ...params] = ext.split(';').map((p) => p.trim());
    if (name.toLowerCase() !== 'permessage-deflate') continue;
    const names = params.map((p) => p.split('=')[0].trim().toLowerCase());
    return { server: names.includes('server_no_context_takeover'), client: names.includes('client_no_context_takeover') };
  }
  return null;
}

function requestInfo(info: HeadInfo): RequestInfo {
  const target = info.target ?? '';
  const query = new URLSearchParams(target.includes('?') ? target.slice(target.indexOf('?') + 1) : '');
  const eio = target.includes('/socket.io/') && query.get('EIO') === '4';
  return {
    method: info.method ?? 'GET',
    upgrade: isWebSocketUpgrade(info),
    eio,
    polling: eio && query.get('transport') !== 'websocket',
    sid: query.get('sid') ?? undefined,
  };
}

/** Bits of clientPending(). */
export const PENDING_FRAME = 1;
export const PENDING_MESSAGE = 2;

/** Shared empty lists (never pushed to): a connection gets its own only while it has some. */
const NO_REQUESTS: RequestInfo[] = [];
const NO_CHUNKS: Uint8Array[] = [];

export class ConnectionDecoder {
  private readonly captureLimit: number;
  private readonly client: Side;
  private readonly server: Side;
  /** Requests whose responses have not started yet, oldest first. */
  private pending: RequestInfo[] = NO_REQUESTS;
  /** Client bytes that came after an upgrade request, before the 101. */
  private early: Uint8Array[] = NO_CHUNKS;
  private earlySize = 0;
  /** The WebSocket's request, and the Engine.IO session id once known. */
  private ws: RequestInfo | null = null;
  private sid: string | undefined;
  /** Sec-WebSocket-Extensions of the last response head (its upgrade item follows it). */
  private extensions: string | undefined;
  /** permessage-deflate as accepted by the 101 (for the frame decoders created later). */
  private deflate: { server: boolean; client: boolean } | null = null;

  constructor(opts: { captureLimit?: number } = {}) {
    this.captureLimit = opts.captureLimit ?? PAYLOAD_CAPTURE_LIMIT;
    this.client = this.side('request');
    this.server = this.side('response');
  }

  private side(kind: 'request' | 'response'): Side {
    return {
      mode: HTTP,
      http: new HttpParser({ kind, captureLimit: this.captureLimit }),
      frames: null,
      sio: null,
      current: null,
      status: 0,
    };
  }

  /**
   * What the client has left unfinished on the WebSocket, for time limits: PENDING_FRAME (a frame
   * begun, not all its bytes in) and PENDING_MESSAGE (a fragmented message without its last frame).
   */
  clientPending(): number {
    const frames = this.client.mode === WS ? this.client.frames : null;
    if (!frames) return 0;
    return (frames.midFrame ? PENDING_FRAME : 0) | (frames.midMessage ? PENDING_MESSAGE : 0);
  }

  push(from: Direction, chunk: Uint8Array): DecodedEvent[] {
    const out: DecodedEvent[] = [];
    if (chunk.length > 0) this.route(from, chunk, out);
    return out;
  }

  private route(from: Direction, chunk: Uint8Array, out: DecodedEvent[]): void {
    const side = from === 'client' ? this.client : this.server;
    switch (side.mode) {
      case HTTP:
        for (const item of (side.http as HttpParser).push(chunk)) this.onHttp(from, item, out);
        return;
      case AWAIT_101:
        if (this.earlySize + chunk.length > EARLY_DATA_LIMIT) {
          side.mode = DEAD;
          this.early = NO_CHUNKS;
          out.push({
            ...violation('HANDSHAKE_ERR_EARLY_DATA', `client sent more than ${EARLY_DATA_LIMIT} bytes before the handshake response`),
            from,
          });
          return;
        }
        if (this.early === NO_CHUNKS) this.early = [];
        this.early.push(chunk.slice());
        this.earlySize += chunk.length;
        return;
      case WS: {
        const frames = (side.frames ??= this.frameDecoder(from));
        const items = frames.push(chunk);
        for (let i = 0; i < items.length; i++) this.onWire(from, items[i], out);
        if (frames.failed) side.mode = DEAD;
        return;
      }
    }
  }

  private onHttp(from: Direction, item: HttpParserItem, out: DecodedEvent[]): void {
    const side = from === 'client' ? this.client : this.server;
    switch (item.type) {
      case 'head': {
        if (from === 'client') {
          const req = requestInfo(item.info);
          side.current = req;
          if (this.pending === NO_REQUESTS) this.pending = [];
          if (this.pending.length >= PENDING_LIMIT) this.pending.shift();
          this.pending.push(req);
          this.server.http?.expect(req.method);
        } else {
          const status = item.info.status ?? 0;
          side.status = status;
          if (status >= 200 || status === 101) {
            side.current = this.pending.shift() ?? null;
            if (this.pending.length === 0) this.pending = NO_REQUESTS;
          }
          // A refused upgrade: the client goes on speaking HTTP.
          if (status >= 200 && side.current?.upgrade && this.client.mode === AWAIT_101) this.resumeClientHttp(out);
          if (status === 101) {
            this.ws = side.current;
            this.extensions = header(item.info, 'sec-websocket-extensions');
          }
        }
        return;
      }
      case 'upgrade':
        if (from === 'client') {
          side.mode = AWAIT_101;
          side.http = null;
          if (item.rest.length > 0) this.route('client', item.rest, out);
        } else {
          this.startWebSocket(item.rest, out);
        }
        return;
      case 'http':
        out.push({ ...item, from });
        this.pollingBody(from, item.body, item.truncated === true, out);
        return;
      default:
        out.push({ ...item, from });
    }
  }

  /** Engine.IO polling: POST bodies from the client, GET response bodies from the server. */
  private pollingBody(from: Direction, body: string | undefined, truncated: boolean, out: DecodedEvent[]): void {
    const side = from === 'client' ? this.client : this.server;
    const req = side.current;
    if (body === undefined || body.length === 0 || !req?.polling) return;
    if (from === 'client' ? req.method !== 'POST' : req.method !== 'GET') return;
    // Engine.IO's own errors (e.g. 400 {"code":1,"message":"Session ID unknown"}) are JSON, not
    // packets: only a 200 response body is a payload.
    if (from === 'server' && side.status !== 200) return;
    // The first GET answers with the open packet, which names the session.
    for (const eio of decodeEioPayload(body, { truncated, captureLimit: this.captureLimit })) {
      if (eio.type === 'eio' && eio.packet === 'open' && eio.sid) req.sid = eio.sid;
      this.emitEio(from, side, eio, 'polling', req.sid, false, out);
    }
  }

  private resumeClientHttp(out: DecodedEvent[]): void {
    const early = this.early;
    this.early = NO_CHUNKS;
    this.earlySize = 0;
    this.client.mode = HTTP;
    this.client.http = new HttpParser({ kind: 'request', captureLimit: this.captureLimit });
    for (const chunk of early) this.route('client', chunk, out);
  }

  private frameDecoder(role: Direction): FrameDecoder {
    const deflate = this.deflate;
    return new FrameDecoder({
      role,
      deflate: deflate !== null,
      noContextTakeover: deflate !== null && (role === 'server' ? deflate.server : deflate.client),
      captureLimit: this.captureLimit,
    });
  }

  private startWebSocket(rest: Uint8Array, out: DecodedEvent[]): void {
    this.deflate = parseDeflate(this.extensions);
    this.sid = this.ws?.sid;
    this.server.mode = WS;
    this.server.http = null;
    this.server.frames = null;
    const early = this.early;
    this.early = NO_CHUNKS;
    this.earlySize = 0;
    if (this.client.mode !== DEAD) {
      this.client.mode = WS;
      this.client.http = null;
      this.client.frames = null;
      for (const chunk of early) this.route('client', chunk, out);
    }
    if (rest.length > 0) this.route('server', rest, out);
  }

  private onWire(from: Direction, item: WireItem, out: DecodedEvent[]): void {
    // Items are fresh objects from the frame decoder: `from` is set on them, not copied.
    (item as WireItem & { from: Direction }).from = from;
    if (item.type === 'message' && item.frames === 1 && !item.compressed) {
      // A whole message in one uncompressed frame (the frame item just before it): the frame event
      // says so and no `message` event is sent (protocol/README.md; messageOfFrame rebuilds it).
      (out[out.length - 1] as FrameEvent).wholeMessage = true;
    } else {
      out.push(item as DecodedEvent);
    }
    if (item.type !== 'message' || !this.ws?.eio) return;
    const side = from === 'client' ? this.client : this.server;
    const truncated = item.truncated === true;
    const eio: EioResult =
      item.opcode === 0x2
        ? eioBinaryFromHex(item.data ?? '')
        : decodeEioPacket(item.text ?? '', { truncated, captureLimit: this.captureLimit });
    if (eio.type === 'eio' && eio.packet === 'open' && eio.sid) this.sid = eio.sid;
    this.emitEio(from, side, eio, 'websocket', this.sid, truncated, out);
  }

  private emitEio(
    from: Direction,
    side: Side,
    eio: EioResult,
    transport: 'websocket' | 'polling',
    sid: string | undefined,
    truncated: boolean,
    out: DecodedEvent[],
  ): void {
    for (const r of (side.sio ??= new SocketIoStream()).feed(eio, { truncated })) {
      if (r.type === 'violation') out.push({ ...r, from });
      else out.push({ ...r, from, transport, ...(sid !== undefined && r.sid === undefined ? { sid } : {}) });
    }
  }
}
