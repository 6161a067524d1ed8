// Façade of the `ws` package (8.x) for learner server code: the same classes, options, events
// and errors as ws, but each call becomes a command on the real socket that the sandbox holds
// (host-link.ts), and each event on that socket comes back as the event ws would emit.
// Behaviour follows ws 8's lib/websocket-server.js and lib/websocket.js; see the playground
// README for what is not supported and why.
import { EventEmitter } from 'events';
import { Buffer } from 'buffer';
import type { HostLink, LinkPeer } from './host-link.ts';
import { payloadOf, toBuffer } from './host-link.ts';
import { createServer, type IncomingRequest, UpgradeSocket } from './http.ts';
import type { Server } from './http.ts';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const STATE_NAMES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'];

/** Close codes an endpoint may send (ws's isValidStatusCode). */
function isValidStatusCode(code: number): boolean {
  return (code >= 1000 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) || (code >= 3000 && code <= 4999);
}

type Callback = (err?: Error) => void;

/** The server side of one connection, as ws gives it to 'connection' listeners. */
export class WebSocket extends EventEmitter {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;

  binaryType = 'nodebuffer';
  readonly extensions = '';
  readonly isPaused = false;
  readonly url = undefined;
  #readyState = OPEN;
  #protocol: string;
  // bufferedAmount = what the sandbox last reported (#base, after the commands up to #baseQ) plus
  // the bytes asked for since (#sent − #baseQ), plus what ws counts for sends after close.
  #sent = 0;
  #base = 0;
  #baseQ = 0;
  #askedQ = 0;
  #afterClose = 0;
  /** The server code read bufferedAmount: from then on, each batch of sends asks for the real value. */
  #watched = false;
  #asking = false;
  #link: HostLink;
  #c: number;

  constructor(...args: unknown[]) {
    super();
    const [link, c, protocol] = args as [HostLink | string, number, string];
    if (typeof link === 'string' || !link) {
      throw new Error(
        'Le client WebSocket de ws n’est pas disponible dans le code serveur du bac à sable\u00a0: écrivez le client dans l’onglet du code client.',
      );
    }
    this.#link = link;
    this.#c = c;
    this.#protocol = protocol;
    // What happens on the real socket (kept off the public API: ping and pong are send methods there).
    const peer: LinkPeer = {
      message: (data, isBinary) => this.emit('message', data, isBinary),
      ping: (data) => this.emit('ping', data),
      pong: (data) => this.emit('pong', data),
      failed: (error) => {
        if (this.listenerCount('error') > 0) {
          this.emit('error', error);
          return;
        }
        // Node would throw here and stop the whole server; the sandbox says so and goes on.
        link.console.error(
          `[bac à sable] Évènement «\u00a0error\u00a0» sans écouteur sur une connexion\u00a0: ${error.name}: ${error.message} (${error.code}). Node arrêterait ici le serveur entier\u00a0: écoutez ws.on('error', …) sur chaque connexion.`,
        );
      },
      closed: (code, reason) => {
        this.#readyState = CLOSED;
        // Nothing is on its way any more, and no report will come.
        this.#base = 0;
        this.#baseQ = this.#sent;
        this.emit('close', code, reason);
      },
      buffered: (bytes, q) => {
        if (q < this.#baseQ || q > this.#sent) return;
        this.#base = bytes;
        this.#baseQ = q;
      },
    };
    link.attach(c, peer);
  }

  get readyState(): number {
    return this.#readyState;
  }
  get protocol(): string {
    return this.#protocol;
  }
  get bufferedAmount(): number {
    if (!this.#watched) {
      this.#watched = true;
      this.#ask();
    }
    return this.#base + (this.#sent - this.#baseQ) + this.#afterClose;
  }

  /** Counts a frame of `length` payload bytes as ws would (its header included: a server's frames are not masked). */
  #count(length: number): void {
    this.#sent += length + (length < 126 ? 2 : length < 65536 ? 4 : 10);
    if (this.#watched) this.#ask();
  }

  /** Asks the sandbox for the real value once this run's commands are sent (one query per run). */
  #ask(): void {
    if (this.#asking || this.#readyState !== OPEN) return;
    this.#asking = true;
    this.#link.atFlush(() => {
      this.#asking = false;
      if (this.#sent === this.#askedQ || this.#readyState === CLOSED) return;
      this.#askedQ = this.#sent;
      this.#link.command({ t: 'buffered', c: this.#c, q: this.#sent });
    });
  }

  send(data: unknown, options?: { binary?: boolean; fin?: boolean } | Callback, cb?: Callback): void {
    if (typeof options === 'function') {
      cb = options;
      options = {};
    }
    if (this.#readyState === CONNECTING) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    if (typeof data === 'number') data = data.toString();
    const length = typeof data === 'string' ? Buffer.byteLength(data) : toBuffer(data).length;
    if (this.#readyState !== OPEN) {
      // ws counts the bytes of a send after close in bufferedAmount for good (its sendAfterClose).
      if (data) this.#afterClose += length;
      // ws does not throw here: the callback (if any) gets the error on the next tick.
      if (cb)
        queueMicrotask(() => cb(new Error(`WebSocket is not open: readyState ${this.#readyState} (${STATE_NAMES[this.#readyState]})`)));
      return;
    }
    const binary = options?.binary ?? typeof data !== 'string';
    const fin = options?.fin !== false;
    this.#link.command(
      fin ? { t: 'send', c: this.#c, binary, ...payloadOf(data) } : { t: 'send', c: this.#c, binary, fin, ...payloadOf(data) },
    );
    this.#count(length);
    if (cb) queueMicrotask(() => cb());
  }

  ping(data?: unknown, mask?: boolean | Callback, cb?: Callback): void {
    this.#control('ping', data, mask, cb);
  }

  pong(data?: unknown, mask?: boolean | Callback, cb?: Callback): void {
    this.#control('pong', data, mask, cb);
  }

  #control(t: 'ping' | 'pong', data: unknown, mask: boolean | Callback | undefined, cb: Callback | undefined): void {
    if (this.#readyState === CONNECTING) throw new Error('WebSocket is not open: readyState 0 (CONNECTING)');
    if (typeof data === 'function') {
      cb = data as Callback;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    if (typeof data === 'number') data = data.toString();
    if (this.#readyState !== OPEN) {
      if (cb)
        queueMicrotask(() => cb(new Error(`WebSocket is not open: readyState ${this.#readyState} (${STATE_NAMES[this.#readyState]})`)));
      return;
    }
    const bytes = data === undefined ? Buffer.alloc(0) : toBuffer(data);
    if (bytes.length > 125) throw new RangeError('The data size must not be greater than 125 bytes');
    this.#link.command({ t, c: this.#c, data: bytes.toString('base64'), b64: true });
    this.#count(bytes.length);
    if (cb) queueMicrotask(() => cb());
  }

  close(code?: number, reason?: string | Buffer): void {
    if (this.#readyState === CLOSED || this.#readyState === CLOSING) return;
    if (code !== undefined && (typeof code !== 'number' || !isValidStatusCode(code))) {
      throw new TypeError('First argument must be a valid error code number');
    }
    const text = reason === undefined ? undefined : Buffer.isBuffer(reason) ? reason.toString() : String(reason);
    if (text !== undefined && Buffer.byteLength(text) > 123) throw new RangeError('The message must not be greater than 123 bytes');
    this.#readyState = CLOSING;
    this.#link.command({ t: 'close', c: this.#c, code, reason: code === undefined ? undefined : text });
  }

  terminate(): void {
    if (this.#readyState === CLOSED) return;
    this.#readyState = CLOSING;
    this.#link.command({ t: 'terminate', c: this.#c });
  }

  pause(): void {}
  resume(): void {}
}

export interface ServerOptions {
  port?: number;
  host?: string;
  server?: Server;
  noServer?: boolean;
  path?: string;
  clientTracking?: boolean;
  handleProtocols?: (protocols: Set<string>, req: IncomingRequest) => string | false;
  verifyClient?:
    | ((info: { origin: string | undefined; secure: boolean; req: IncomingRequest }) => boolean)
    | ((
        info: { origin: string | undefined; secure: boolean; req: IncomingRequest },
        cb: (result: boolean, code?: number, message?: string, headers?: Record<string, string>) => void,
      ) => void);
  maxPayload?: number;
  perMessageDeflate?: boolean | object;
  [other: string]: unknown;
}

const RUNNING = 0;
const CLOSING_SERVER = 1;
const CLOSED_SERVER = 2;

export class WebSocketServer extends EventEmitter {
  readonly options: ServerOptions;
  clients: Set<WebSocket> | undefined;
  #server: Server | null = null;
  #state = RUNNING;
  #detach: (() => void) | null = null;
  #link: HostLink;

  constructor(link: HostLink, options: ServerOptions = {}, callback?: () => void) {
    super();
    this.#link = link;
    options = { maxPayload: 100 * 1024 * 1024, clientTracking: true, ...options };
    if (
      (options.port == null && !options.server && !options.noServer) ||
      (options.port != null && (options.server || options.noServer)) ||
      (options.server && options.noServer)
    ) {
      throw new TypeError('One and only one of the "port", "server", or "noServer" options must be specified');
    }
    if (options.perMessageDeflate) {
      link.console.warn(
        '[bac à sable] perMessageDeflate n’est pas pris en charge pour le code serveur\u00a0: les messages partent non compressés.',
      );
    }
    this.options = options;
    if (options.port != null) {
      this.#server = createServer(link, (_req, res) => {
        res.writeHead(426, { 'Content-Type': 'text/plain' });
        res.end('Upgrade Required');
      });
      this.#server.listen(options.port, options.host, callback);
    } else if (options.server) {
      this.#server = options.server;
    }
    if (this.#server) {
      const server = this.#server;
      const onListening = () => this.emit('listening');
      const onError = (err: unknown) => this.emit('error', err);
      const onUpgrade = (req: IncomingRequest, socket: UpgradeSocket, head: Buffer) => {
        this.handleUpgrade(req, socket, head, (ws) => this.emit('connection', ws, req));
      };
      server.on('listening', onListening);
      server.on('error', onError);
      server.on('upgrade', onUpgrade);
      this.#detach = () => {
        server.off('listening', onListening);
        server.off('error', onError);
        server.off('upgrade', onUpgrade);
      };
    }
    this.clients = options.clientTracking ? new Set() : undefined;
  }

  address(): unknown {
    if (this.options.noServer) throw new Error('The server is operating in "noServer" mode');
    return this.#server ? this.#server.address() : null;
  }

  close(cb?: (err?: Error) => void): void {
    if (this.#state === CLOSED_SERVER) {
      if (cb) this.once('close', () => cb(new Error('The server is not running')));
      queueMicrotask(() => this.emit('close'));
      return;
    }
    if (cb) this.once('close', cb);
    if (this.#state === CLOSING_SERVER) return;
    this.#state = CLOSING_SERVER;
    // ws 8 leaves the open connections alone; only the server stops taking new ones.
    this.#detach?.();
    if (this.options.port != null) this.#server?.close();
    this.#state = CLOSED_SERVER;
    queueMicrotask(() => this.emit('close'));
  }

  shouldHandle(req: IncomingRequest): boolean {
    if (this.options.path) {
      const index = req.url.indexOf('?');
      const pathname = index !== -1 ? req.url.slice(0, index) : req.url;
      if (pathname !== this.options.path) return false;
    }
    return true;
  }

  handleUpgrade(req: IncomingRequest, socket: UpgradeSocket, _head: unknown, cb: (ws: WebSocket, req: IncomingRequest) => void): void {
    if (!(socket instanceof UpgradeSocket))
      throw new TypeError('handleUpgrade attend le socket reçu par l’évènement «\u00a0upgrade\u00a0» du serveur http.');
    // The sandbox already refused what ws refuses before this point (method, Upgrade, key, version).
    if (!this.shouldHandle(req)) {
      socket.refuse(400);
      return;
    }
    const protocols = new Set(socket.request.protocols);
    const verify = this.options.verifyClient;
    if (verify) {
      const version = Number(req.headers['sec-websocket-version']);
      const info = { origin: req.headers[version === 8 ? 'sec-websocket-origin' : 'origin'], secure: false, req };
      if (verify.length === 2) {
        (verify as (i: typeof info, cb: (r: boolean, code?: number, message?: string, headers?: Record<string, string>) => void) => void)(
          info,
          (verified, code, message, headers) => {
            if (!verified) {
              socket.refuse(code || 401, message, headers);
              return;
            }
            this.#complete(protocols, req, socket, cb);
          },
        );
        return;
      }
      if (!(verify as (i: typeof info) => boolean)(info)) {
        socket.refuse(401);
        return;
      }
    }
    this.#complete(protocols, req, socket, cb);
  }

  #complete(protocols: Set<string>, req: IncomingRequest, socket: UpgradeSocket, cb: (ws: WebSocket, req: IncomingRequest) => void): void {
    if (socket.settled) return;
    if (this.#state > RUNNING) {
      socket.refuse(503);
      return;
    }
    let protocol: string | false | undefined;
    if (protocols.size) {
      protocol = this.options.handleProtocols ? this.options.handleProtocols(protocols, req) : protocols.values().next().value;
    }
    const chosen = protocol || '';
    socket.accept(chosen || undefined, this.options.maxPayload);
    const ws = new WebSocket(this.#link, socket.request.c, chosen);
    if (this.clients) {
      this.clients.add(ws);
      ws.on('close', () => this.clients?.delete(ws));
    }
    cb(ws, req);
  }
}

/**
 * The module `ws` as `require('ws')` returns it: the WebSocket class carrying the rest
 * (`require('ws').Server`, `{ WebSocketServer }`), bound to one host link.
 */
export function wsModule(link: HostLink): unknown {
  class BoundServer extends WebSocketServer {
    constructor(options?: ServerOptions, callback?: () => void) {
      super(link, options, callback);
    }
  }
  class BoundWebSocket extends WebSocket {}
  return Object.assign(BoundWebSocket, {
    WebSocket: BoundWebSocket,
    WebSocketServer: BoundServer,
    Server: BoundServer,
    default: BoundWebSocket,
  });
}
