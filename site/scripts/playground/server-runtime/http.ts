// Façade of Node's `http` for learner server code: `http.createServer(handler)`, `listen()`, the
// 'request' event with its (req, res) and the 'upgrade' event that ws and socket.io attach to. The
// port is symbolic: every server of the session is reached at the session's URL, and the first one
// to listen gets the traffic. A response's calls become commands (`http-head`, `http-write`,
// `http-end`) that the sandbox runs on the real ServerResponse, so Node's own http server writes
// the bytes; Node's semantics are kept where a program can tell (implicit head, errors thrown,
// end twice ignored, writes after 'close').
import { EventEmitter } from 'events';
import { Buffer } from 'buffer';
import type { HostAccept, HostHttpHead, HostHttpRequest, HostUpgrade } from '#protocol/host';
import type { HostLink, UpgradeTarget } from './host-link.ts';
import { toBuffer } from './host-link.ts';

/** Node's http.STATUS_CODES. */
export const STATUS_CODES: Record<number, string> = {
  100: 'Continue',
  101: 'Switching Protocols',
  102: 'Processing',
  103: 'Early Hints',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  203: 'Non-Authoritative Information',
  204: 'No Content',
  205: 'Reset Content',
  206: 'Partial Content',
  207: 'Multi-Status',
  208: 'Already Reported',
  226: 'IM Used',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  305: 'Use Proxy',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  418: "I'm a Teapot",
  421: 'Misdirected Request',
  422: 'Unprocessable Entity',
  423: 'Locked',
  424: 'Failed Dependency',
  425: 'Too Early',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  506: 'Variant Also Negotiates',
  507: 'Insufficient Storage',
  508: 'Loop Detected',
  509: 'Bandwidth Limit Exceeded',
  510: 'Not Extended',
  511: 'Network Authentication Required',
};

export const METHODS = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];

/** Body bytes per `http-write` command: under the sandbox's smallest maxPayload worth having (64 KiB). */
const WRITE_PIECE = 48 * 1024;
/** Header names Node checks (an HTTP token). */
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
/** What Node accepts in a header value or status message (checkInvalidHeaderChar). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers of the connection, which the sandbox keeps (Connection: keep-alive/close and Transfer-Encoding: chunked are honoured). */
const CONNECTION_HEADERS = new Set(['upgrade', 'te', 'trailer', 'keep-alive', 'proxy-connection', 'http2-settings']);

function nodeError<E extends Error>(err: E, code: string): E & { code: string } {
  return Object.assign(err, { code });
}

function described(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'function') return `function ${(v as { name?: string }).name || '<anonymous>'}`;
  if (typeof v === 'object') return `an instance of ${(v as object).constructor?.name ?? 'Object'}`;
  return `type ${typeof v} (${String(v).slice(0, 25)})`;
}

/** The bytes of a chunk given to write/end, as Node checks them. */
function chunkBytes(chunk: unknown, encoding: string | undefined): Buffer {
  if (chunk === null) throw nodeError(new TypeError('May not write null values to stream'), 'ERR_STREAM_NULL_VALUES');
  if (typeof chunk === 'string') return Buffer.from(chunk, (encoding || 'utf8') as BufferEncoding);
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw nodeError(
    new TypeError(`The "chunk" argument must be of type string or an instance of Buffer or Uint8Array. Received ${described(chunk)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

function checkHeaderName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !name || !TOKEN.test(name))
    throw nodeError(new TypeError(`Header name must be a valid HTTP token ["${String(name)}"]`), 'ERR_INVALID_HTTP_TOKEN');
}

function checkHeaderValue(name: string, value: unknown): void {
  if (value === undefined)
    throw nodeError(new TypeError(`Invalid value "undefined" for header "${name}"`), 'ERR_HTTP_INVALID_HEADER_VALUE');
  const values = Array.isArray(value) ? value : [value];
  for (const v of values) {
    if (!FIELD_VALUE.test(String(v))) throw nodeError(new TypeError(`Invalid character in header content ["${name}"]`), 'ERR_INVALID_CHAR');
  }
}

/** A status Node accepts (100–999) that the sandbox writes (100–599 except 101), or the error Node or the sandbox throws. */
function checkStatus(statusCode: unknown): number {
  const status = Number(statusCode) | 0;
  if (status < 100 || status > 999)
    throw nodeError(new RangeError(`Invalid status code: ${String(statusCode)}`), 'ERR_HTTP_INVALID_STATUS_CODE');
  if (status === 101)
    throw new RangeError(
      'Statut 101 non pris en charge dans le bac à sable\u00a0: un changement de protocole passe par l’événement «\u00a0upgrade\u00a0» (ws, socket.io).',
    );
  if (status > 599) throw new RangeError(`Statut ${status} non pris en charge dans le bac à sable\u00a0: de 100 à 599.`);
  return status;
}

const familyOf = (address: string) => (address.includes(':') && !address.startsWith('::ffff:') ? 'IPv6' : 'IPv4');

/** What Node gives as `req.socket`: the peer's address (the sandbox holds the real socket). */
export interface FacadeSocket {
  remoteAddress: string;
  remoteFamily: string;
  encrypted: boolean;
}

/**
 * The request (Node's IncomingMessage): method, url, headers, the peer's address and, for a plain
 * HTTP request, its body (read in full by the sandbox) as a readable stream: 'data' / 'end'
 * events once a 'data' listener is added or resume() called, read(), setEncoding(), pipe() and
 * `for await`. An upgrade's request has no body.
 */
export class IncomingRequest extends EventEmitter {
  readonly method: string;
  readonly httpVersion: string;
  readonly httpVersionMajor: number;
  readonly httpVersionMinor: number;
  /** Writable, as in Node (express rewrites it while routing). */
  url: string;
  readonly headers: Record<string, string>;
  readonly rawHeaders: string[];
  readonly trailers: Record<string, string> = {};
  readonly socket: FacadeSocket;
  readonly connection: FacadeSocket;
  /** True once the body was read to its end. */
  complete = false;
  destroyed = false;
  readableEnded = false;
  #body: Buffer | null;
  /** null: not started; true: flowing; false: paused by pause(). */
  #flowing: boolean | null = null;
  #encoding: string | null = null;
  #scheduled = false;

  constructor(request: HostUpgrade | HostHttpRequest, body?: Buffer) {
    super();
    this.method = request.t === 'http-request' ? request.method : 'GET';
    this.httpVersion = request.t === 'http-request' ? request.httpVersion : '1.1';
    const [major, minor] = this.httpVersion.split('.').map(Number);
    this.httpVersionMajor = major || 1;
    this.httpVersionMinor = minor || 0;
    this.url = request.url;
    this.headers = request.headers;
    this.rawHeaders = Object.entries(request.headers).flat();
    this.socket = { remoteAddress: request.remoteAddress, remoteFamily: familyOf(request.remoteAddress), encrypted: false };
    this.connection = this.socket;
    this.#body = body && body.length > 0 ? body : null;
  }

  get readable(): boolean {
    return !this.readableEnded && !this.destroyed;
  }

  on(event: string | symbol, listener: (...args: unknown[]) => void): this {
    super.on(event, listener);
    if (event === 'data' && this.#flowing !== false) this.resume();
    if (event === 'readable') {
      this.#flowing = false;
      queueMicrotask(() => this.emit('readable'));
    }
    return this;
  }

  addListener(event: string | symbol, listener: (...args: unknown[]) => void): this {
    return this.on(event, listener);
  }

  setEncoding(encoding: string): this {
    this.#encoding = encoding;
    return this;
  }

  isPaused(): boolean {
    return this.#flowing === false;
  }

  pause(): this {
    this.#flowing = false;
    return this;
  }

  /** Starts the flow: the body as one 'data' event (if any), then 'end'. */
  resume(): this {
    this.#flowing = true;
    if (!this.#scheduled && !this.readableEnded) {
      this.#scheduled = true;
      queueMicrotask(() => this.#flow());
    }
    return this;
  }

  #flow(): void {
    this.#scheduled = false;
    if (this.#flowing !== true || this.readableEnded || this.destroyed) return;
    const chunk = this.#take();
    if (chunk !== null) this.emit('data', chunk);
    if (this.#flowing === true) this.#end();
  }

  /** The body (once), as a Buffer or a string after setEncoding(). */
  #take(): Buffer | string | null {
    const body = this.#body;
    this.#body = null;
    if (body === null) return null;
    return this.#encoding ? body.toString(this.#encoding as BufferEncoding) : body;
  }

  #end(): void {
    if (this.readableEnded) return;
    this.readableEnded = true;
    this.complete = true;
    this.emit('end');
  }

  /** Paused mode: the body once, then null (and 'end'). */
  read(): Buffer | string | null {
    const chunk = this.#take();
    if (chunk === null) queueMicrotask(() => this.#end());
    return chunk;
  }

  pipe<T extends { write(chunk: unknown): unknown; end(): unknown }>(destination: T): T {
    this.on('data', (chunk) => destination.write(chunk));
    this.once('end', () => destination.end());
    return destination;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer | string> {
    this.#flowing = false;
    const chunk = this.#take();
    if (chunk !== null) yield chunk;
    this.#end();
  }

  setTimeout(): this {
    return this;
  }

  destroy(): this {
    this.destroyed = true;
    return this;
  }

  /** The sandbox closed the exchange (client gone): 'close' as Node emits it. */
  _closed(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('close');
  }
}

type Callback = (err?: Error | null) => void;

/**
 * The response (Node's ServerResponse). Headers are kept here until the head is sent (writeHead,
 * or the implicit head of the first write/end, or flushHeaders); the body goes out as it is
 * written, nothing waits here.
 */
export class ServerResponse extends EventEmitter {
  statusCode = 200;
  statusMessage: string | undefined = undefined;
  sendDate = true;
  readonly req: IncomingRequest;
  readonly socket: FacadeSocket;
  readonly connection: FacadeSocket;
  #link: HostLink;
  #r: number;
  /** lower-case name → [name as given, value]. */
  #headers = new Map<string, [string, unknown]>();
  #headSent = false;
  /** A body write or an end went out (the head is on the wire, not only stored). */
  #flushed = false;
  #ended = false;
  #finished = false;
  #destroyed = false;

  constructor(link: HostLink, r: number, req: IncomingRequest) {
    super();
    this.#link = link;
    this.#r = r;
    this.req = req;
    this.socket = req.socket;
    this.connection = req.socket;
    link.attachHttp(r, { closed: () => this.#closed() });
  }

  get headersSent(): boolean {
    return this.#headSent;
  }
  get writableEnded(): boolean {
    return this.#ended;
  }
  get writableFinished(): boolean {
    return this.#finished;
  }
  get finished(): boolean {
    return this.#ended;
  }
  get destroyed(): boolean {
    return this.#destroyed;
  }
  get writable(): boolean {
    return !this.#ended && !this.#destroyed;
  }

  setHeader(name: string, value: unknown): this {
    if (this.#headSent) throw nodeError(new Error('Cannot set headers after they are sent to the client'), 'ERR_HTTP_HEADERS_SENT');
    checkHeaderName(name);
    checkHeaderValue(name, value);
    this.#headers.set(name.toLowerCase(), [name, Array.isArray(value) ? value.slice() : value]);
    return this;
  }

  appendHeader(name: string, value: unknown): this {
    if (this.#headSent) throw nodeError(new Error('Cannot append headers after they are sent to the client'), 'ERR_HTTP_HEADERS_SENT');
    checkHeaderName(name);
    checkHeaderValue(name, value);
    const key = name.toLowerCase();
    const existing = this.#headers.get(key);
    const added = Array.isArray(value) ? value : [value];
    if (!existing) this.#headers.set(key, [name, Array.isArray(value) ? value.slice() : value]);
    else existing[1] = [...(Array.isArray(existing[1]) ? existing[1] : [existing[1]]), ...added];
    return this;
  }

  getHeader(name: string): unknown {
    return this.#headers.get(String(name).toLowerCase())?.[1];
  }

  getHeaders(): Record<string, unknown> {
    const out: Record<string, unknown> = Object.create(null);
    for (const [key, [, value]] of this.#headers) out[key] = value;
    return out;
  }

  getHeaderNames(): string[] {
    return [...this.#headers.keys()];
  }

  hasHeader(name: string): boolean {
    return this.#headers.has(String(name).toLowerCase());
  }

  removeHeader(name: string): void {
    if (this.#headSent) throw nodeError(new Error('Cannot remove headers after they are sent to the client'), 'ERR_HTTP_HEADERS_SENT');
    this.#headers.delete(String(name).toLowerCase());
  }

  writeHead(statusCode: number, reason?: string | Record<string, unknown> | unknown[], obj?: Record<string, unknown> | unknown[]): this {
    if (this.#headSent) throw nodeError(new Error('Cannot write headers after they are sent to the client'), 'ERR_HTTP_HEADERS_SENT');
    const status = checkStatus(statusCode);
    let message: string | undefined;
    if (typeof reason === 'string') {
      if (!FIELD_VALUE.test(reason)) throw nodeError(new TypeError('Invalid character in statusMessage'), 'ERR_INVALID_CHAR');
      message = reason;
    } else {
      message = this.statusMessage;
      obj ??= reason;
    }
    if (Array.isArray(obj)) {
      if (obj.length && Array.isArray(obj[0])) {
        for (const pair of obj as unknown[][]) this.appendHeader(String(pair[0]), pair[1]);
      } else {
        if (obj.length % 2 !== 0)
          throw nodeError(new TypeError("The argument 'headers' is invalid. Received an array of odd length"), 'ERR_INVALID_ARG_VALUE');
        for (let i = 0; i < obj.length; i += 2) if (obj[i]) this.appendHeader(String(obj[i]), obj[i + 1]);
      }
    } else if (obj) {
      for (const [k, v] of Object.entries(obj)) if (k) this.setHeader(k, v);
    }
    this.statusCode = status;
    this.statusMessage = message ?? STATUS_CODES[status] ?? 'unknown';
    this.#sendHead(status, message, false, false);
    return this;
  }

  /** The implicit head of a write/end/flushHeaders before writeHead (statusCode, statusMessage, setHeader). */
  #implicitHead(flush: boolean): void {
    const status = checkStatus(this.statusCode);
    const message = this.statusMessage;
    if (message !== undefined && !FIELD_VALUE.test(message))
      throw nodeError(new TypeError('Invalid character in statusMessage'), 'ERR_INVALID_CHAR');
    this.#sendHead(status, message, true, flush);
  }

  #sendHead(status: number, message: string | undefined, implicit: boolean, flush: boolean): void {
    const headers: Record<string, string | string[]> = {};
    for (const [key, [name, value]] of this.#headers) {
      const text = Array.isArray(value) ? value.map(String) : String(value);
      const single = Array.isArray(text) ? text[0] : text;
      const refused =
        CONNECTION_HEADERS.has(key) ||
        (key === 'connection' && !/^\s*(keep-alive|close)\s*$/i.test(single)) ||
        (key === 'transfer-encoding' && !/^\s*chunked\s*$/i.test(single));
      if (refused) {
        this.#link.warnOnce(
          `header:${key}`,
          `[bac à sable] En-tête «\u00a0${name}: ${single.slice(0, 40)}\u00a0» ignoré\u00a0: la connexion est celle du bac à sable (seuls Connection: keep-alive/close et Transfer-Encoding: chunked sont pris en charge).`,
        );
        continue;
      }
      headers[name] = text;
    }
    this.#headSent = true;
    const command: HostHttpHead = { t: 'http-head', r: this.#r, status, headers };
    if (message !== undefined) command.message = message;
    if (implicit) command.implicit = true;
    if (flush) {
      command.flush = true;
      this.#flushed = true;
    }
    this.#link.command(command);
  }

  flushHeaders(): void {
    if (this.#ended || this.#destroyed) return;
    if (!this.#headSent) this.#implicitHead(true);
    else if (!this.#flushed) this.#send(Buffer.alloc(0), false);
  }

  /** Body bytes as commands of at most WRITE_PIECE bytes; `end` ends with the last one. */
  #send(bytes: Buffer, end: boolean): void {
    this.#flushed = true;
    const r = this.#r;
    if (bytes.length <= WRITE_PIECE) {
      const data = encode(bytes);
      if (end) this.#link.command(bytes.length ? { t: 'http-end', r, ...data } : { t: 'http-end', r });
      else this.#link.command({ t: 'http-write', r, ...data });
      return;
    }
    for (let at = 0; at < bytes.length; at += WRITE_PIECE) {
      const piece = bytes.subarray(at, at + WRITE_PIECE);
      const last = at + WRITE_PIECE >= bytes.length;
      this.#link.command({ t: last && end ? 'http-end' : 'http-write', r, ...encode(piece) });
    }
  }

  write(chunk: unknown, encoding?: string | Callback, cb?: Callback): boolean {
    if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this.#ended) {
      const err = nodeError(new Error('write after end'), 'ERR_STREAM_WRITE_AFTER_END');
      queueMicrotask(() => {
        cb?.(err);
        this.emit('error', err);
      });
      return false;
    }
    if (this.#destroyed) {
      const err = nodeError(new Error('Cannot call write after a stream was destroyed'), 'ERR_STREAM_DESTROYED');
      if (cb) queueMicrotask(() => cb(err));
      return false;
    }
    const bytes = chunkBytes(chunk, encoding);
    if (!this.#headSent) this.#implicitHead(false);
    if (bytes.length > 0) this.#send(bytes, false);
    if (cb) queueMicrotask(() => cb());
    return true;
  }

  end(chunk?: unknown, encoding?: string | Callback, cb?: Callback): this {
    if (typeof chunk === 'function') {
      cb = chunk as Callback;
      chunk = undefined;
    } else if (typeof encoding === 'function') {
      cb = encoding;
      encoding = undefined;
    }
    if (this.#ended) {
      // Ended twice: ignored, as Node does (the callback learns it).
      if (cb) {
        if (this.#finished)
          queueMicrotask(() => cb(nodeError(new Error('Cannot call end after a stream was finished'), 'ERR_STREAM_ALREADY_FINISHED')));
        else this.once('finish', () => cb());
      }
      return this;
    }
    if (this.#destroyed) return this;
    const bytes = chunk === undefined ? Buffer.alloc(0) : chunkBytes(chunk, encoding as string | undefined);
    if (!this.#headSent) {
      // Node gives a lone end(chunk) a Content-Length; the sandbox's response does it too, unless the
      // body travels in several commands: then it is given here.
      if (bytes.length > WRITE_PIECE && !this.hasHeader('content-length') && !this.hasHeader('transfer-encoding'))
        this.setHeader('Content-Length', bytes.length);
      this.#implicitHead(false);
    }
    this.#ended = true;
    this.#send(bytes, true);
    this.#link.detachHttp(this.#r);
    if (cb) this.once('finish', () => cb());
    setTimeout(() => {
      if (this.#destroyed) return;
      this.#finished = true;
      this.emit('finish');
      this.#destroyed = true;
      this.emit('close');
      this.req._closed();
    }, 0);
    return this;
  }

  /** The sandbox ended the exchange first (client gone, time limit, bounds). */
  #closed(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.emit('close');
    this.req._closed();
  }

  /** Cuts the response: the client sees its connection end abruptly (the sandbox destroys it). */
  destroy(): this {
    if (this.#destroyed) return this;
    if (!this.#ended) this.#link.command({ t: 'http-end', r: this.#r, destroy: true });
    this.#ended = true;
    this.#link.detachHttp(this.#r);
    queueMicrotask(() => this.#closed());
    return this;
  }

  setTimeout(): this {
    return this;
  }
  cork(): void {}
  uncork(): void {}

  addTrailers(): void {
    this.#unsupported('addTrailers', 'les en-têtes de fin (trailers) ne sont pas transmis');
  }
  writeContinue(): void {
    this.#unsupported('writeContinue', 'le bac à sable lit le corps de la requête avant de la transmettre');
  }
  writeProcessing(): void {
    this.#unsupported('writeProcessing', 'les réponses 1xx intermédiaires ne sont pas transmises');
  }
  writeEarlyHints(): void {
    this.#unsupported('writeEarlyHints', 'les réponses 1xx intermédiaires ne sont pas transmises');
  }

  #unsupported(name: string, why: string): void {
    this.#link.warnOnce(`res.${name}`, `[bac à sable] res.${name}() n’est pas pris en charge\u00a0: ${why}.`);
  }
}

function encode(bytes: Buffer): { data: string; b64?: boolean } {
  // Text stays text on the host channel when it round-trips as UTF-8; anything else is base64.
  const text = bytes.toString('utf8');
  if (!text.includes('\ufffd') && Buffer.byteLength(text) === bytes.length) return { data: text };
  return { data: bytes.toString('base64'), b64: true };
}

/** The socket of a pending upgrade: it can be accepted (by ws), refused or destroyed, once. */
export class UpgradeSocket extends EventEmitter {
  readonly request: HostUpgrade;
  readonly remoteAddress: string;
  #link: HostLink;
  settled = false;

  constructor(link: HostLink, request: HostUpgrade) {
    super();
    this.#link = link;
    this.request = request;
    this.remoteAddress = request.remoteAddress;
  }

  /** `maxPayload`: ws's option as the server has it (0 or absent: no limit of the server's own). */
  accept(protocol: string | undefined, maxPayload?: number): void {
    if (this.settled)
      throw new Error('server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration');
    this.settled = true;
    const command: HostAccept = { t: 'accept', c: this.request.c };
    if (protocol) command.protocol = protocol;
    // ws reads the option as a 32-bit integer (`maxPayload | 0`), and a value under 1 as no limit.
    const max = (maxPayload ?? 0) | 0;
    if (max > 0) command.maxPayload = max;
    this.#link.command(command);
  }

  refuse(status: number, message?: string, headers?: Record<string, string>): void {
    if (this.settled) return;
    this.settled = true;
    this.#link.command({ t: 'refuse', c: this.request.c, status, message, headers });
  }

  destroy(): this {
    if (!this.settled) {
      this.settled = true;
      this.#link.command({ t: 'destroy', c: this.request.c });
    }
    return this;
  }

  end(): this {
    return this.destroy();
  }

  /** Raw bytes on the connection, as an 'upgrade' handler writes a refusal by hand (at most 4 KiB in all). */
  write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const done = typeof encoding === 'function' ? encoding : cb;
    if (this.settled) return false;
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
        : toBuffer(chunk);
    this.#link.command({ t: 'write', c: this.request.c, data: bytes.toString('base64'), b64: true });
    if (typeof done === 'function') setTimeout(done as () => void, 0);
    return true;
  }

  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
}

export type Handler = (req: IncomingRequest, res: ServerResponse) => void;

/** On a server that express's app.listen() created (the guide's bug is explained by name). */
export const CREATED_BY_APP_LISTEN = Symbol('createdByAppListen');

const isSocketIoPath = (url: string) => /^\/socket\.io(\/|$|\?)/.test(url);

export class Server extends EventEmitter implements UpgradeTarget {
  listening = false;
  [CREATED_BY_APP_LISTEN] = false;
  #port: number | string = 0;
  #link: HostLink;

  constructor(link: HostLink, handler?: Handler) {
    super();
    this.#link = link;
    if (handler) this.on('request', handler);
  }

  listen(...args: unknown[]): this {
    const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    const first = args[0];
    const port =
      typeof first === 'object' && first !== null
        ? ((first as { port?: number }).port ?? 0)
        : typeof first === 'number' || typeof first === 'string'
          ? first
          : 0;
    if (this.listening) {
      const err = Object.assign(new Error('Listen method has been called more than once without closing.'), {
        code: 'ERR_SERVER_ALREADY_LISTEN',
      });
      throw err;
    }
    const link = this.#link;
    // Two servers on one port: Node's listen fails with EADDRINUSE ('error', next tick); unhandled,
    // it would stop the process. The symbolic port keeps that behaviour.
    const wanted = Number(port);
    if (wanted > 0 && link.listening.some((s) => s instanceof Server && s.address()?.port === wanted)) {
      setTimeout(() => {
        const err = Object.assign(new Error(`listen EADDRINUSE: address already in use :::${wanted}`), {
          code: 'EADDRINUSE',
          errno: -98,
          syscall: 'listen',
          address: '::',
          port: wanted,
        });
        if (this.listenerCount('error') === 0) {
          link.console.error(
            `[bac à sable] Le port ${wanted} est déjà pris par un autre serveur de ce code\u00a0: dans Node, cette erreur non gérée arrêterait le processus.`,
          );
        }
        this.emit('error', err);
      }, 0);
      return this;
    }
    this.listening = true;
    this.#port = port;
    link.listening.push(this);
    const first_ = link.listening[0] === this;
    link.onReady(() => {
      if (first_) {
        link.console.info(
          `[bac à sable] Serveur à l’écoute (port ${port} symbolique)\u00a0: les clients l’atteignent à ${link.urls.http || link.urls.ws}`,
        );
      } else {
        link.console.warn(
          `[bac à sable] Un deuxième serveur écoute (port ${port})\u00a0: sur une vraie machine, il aurait son propre port, que les clients de la leçon n’utilisent pas. Ici, seul le premier serveur à l’écoute reçoit les connexions.`,
        );
      }
    });
    setTimeout(() => {
      this.emit('listening');
      cb?.();
    }, 0);
    return this;
  }

  address(): { address: string; family: string; port: number } | null {
    return this.listening ? { address: '::', family: 'IPv6', port: Number(this.#port) || 0 } : null;
  }

  close(cb?: (err?: Error) => void): this {
    const list = this.#link.listening;
    const at = list.indexOf(this);
    if (at >= 0) list.splice(at, 1);
    const was = this.listening;
    this.listening = false;
    if (was) this.#link.io?.listeningChanged();
    setTimeout(() => {
      this.emit('close');
      cb?.(was ? undefined : Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' }));
    }, 0);
    return this;
  }

  /**
   * A /socket.io/ request reached this server: if Socket.IO is attached to another server (one
   * that does not listen, as in `http.createServer(app)` then `app.listen()`), the learner is told
   * once why its clients fail. True when Socket.IO is attached here but not declared yet (the
   * request raced the declaration).
   */
  #socketIoElsewhere(url: string): boolean {
    const io = this.#link.io;
    if (!io || !isSocketIoPath(url)) return false;
    if (io.httpServer === this) return true;
    const other = io.httpServer as Server | null;
    const byApp = this[CREATED_BY_APP_LISTEN];
    this.#link.warnOnce(
      'socket.io-elsewhere',
      other && !other.listening
        ? `[bac à sable] Socket.IO est attaché à un serveur http qui n’écoute pas\u00a0: ${byApp ? 'app.listen() a créé un autre serveur, sans Socket.IO, qui reçoit' : 'le serveur qui écoute n’a pas Socket.IO et reçoit'} les requêtes /socket.io/ (réponse 404, comme sur une vraie machine). Appelez ${byApp ? 'server.listen(…) à la place de app.listen(…)' : 'listen(…) sur le serveur passé à Socket.IO'}.`
        : '[bac à sable] Socket.IO est attaché à un serveur qui n’est pas le premier à l’écoute\u00a0: ici, seul le premier serveur à l’écoute reçoit les requêtes /socket.io/. Attachez Socket.IO au serveur qui écoute (un seul listen).',
    );
    return false;
  }

  /** UpgradeTarget: a client asks for a WebSocket on this server. */
  upgrade(request: HostUpgrade): void {
    const socket = new UpgradeSocket(this.#link, request);
    this.#socketIoElsewhere(request.url);
    if (this.listenerCount('upgrade') === 0) {
      socket.refuse(426, 'Ce serveur n’accepte pas les connexions WebSocket (aucun écouteur «\u00a0upgrade\u00a0»).');
      return;
    }
    this.emit('upgrade', new IncomingRequest(request), socket, Buffer.alloc(0));
    // Nobody took it synchronously nor asynchronously within the sandbox's delay: the sandbox answers 503.
  }

  /** UpgradeTarget: a plain HTTP request for this server ('request' event with req and res). */
  request(request: HostHttpRequest): void {
    const link = this.#link;
    const req = new IncomingRequest(request, request.body ? Buffer.from(request.body, 'base64') : undefined);
    const res = new ServerResponse(link, request.r, req);
    if (this.#socketIoElsewhere(request.url)) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Le serveur Socket.IO de la leçon démarre\u00a0: réessayez.');
      return;
    }
    if (this.listenerCount('request') === 0) {
      link.warnOnce(
        'no-request-listener',
        `[bac à sable] Requête HTTP ${request.method} ${request.url.slice(0, 60)} reçue, mais le serveur n’a pas d’écouteur «\u00a0request\u00a0»\u00a0: elle reste sans réponse (comme avec Node), et le client reçoit 504 du bac à sable.`,
      );
      return;
    }
    try {
      this.emit('request', req, res);
    } catch (err) {
      // Node's process would stop here: the client sees its response cut, the error is reported.
      if (!res.writableEnded) res.destroy();
      throw err;
    }
  }
}

export function createServer(link: HostLink, options?: Handler | object, handler?: Handler): Server {
  const h = (typeof options === 'function' ? options : handler) as Handler | undefined;
  return new Server(link, h);
}

/** The module `http` as `require('http')` returns it, bound to one host link. */
export function httpModule(link: HostLink): unknown {
  class BoundServer extends Server {
    constructor(options?: Handler | object, handler?: Handler) {
      super(link, (typeof options === 'function' ? options : handler) as Handler | undefined);
    }
  }
  const unsupported = (name: string) => () => {
    throw new Error(
      `http.${name}() n’est pas disponible dans le code serveur du bac à sable\u00a0: le serveur de la leçon ne fait pas de requêtes sortantes.`,
    );
  };
  return {
    createServer: (options?: Handler | object, handler?: Handler) => createServer(link, options, handler),
    Server: BoundServer,
    IncomingMessage: IncomingRequest,
    ServerResponse,
    STATUS_CODES,
    METHODS,
    request: unsupported('request'),
    get: unsupported('get'),
  };
}
