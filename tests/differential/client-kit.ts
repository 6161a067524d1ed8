// The clients a differential program's script drives: real `ws` and `socket.io-client` clients
// and raw TCP ones, all bounded in time, all closed by the harness when the script ends. The same
// script runs against the real Node program and against the learner's server in the sandbox: only
// the addresses (the `ClientContext`) differ.
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Socket as TcpSocket } from 'node:net';
import { io as connectIo } from 'socket.io-client';
import type { ManagerOptions, Socket as IoSocket, SocketOptions } from 'socket.io-client';
import WebSocket from 'ws';
import { within } from '../../sandbox-server/test-helpers.ts';

export { within };

/** Where the server under test is reached. */
export interface ClientContext {
  /** `127.0.0.1` port of the server (the proxy's port for the real run, the sandbox's otherwise). */
  port: number;
  /** Path prefix of the server's root: `''` for the real program, `/s/<id>` in the sandbox. */
  prefix: string;
}

/** Every wait of a script is bounded by this (ms) unless said otherwise. */
export const WAIT_MS = 4000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One received WebSocket message. */
export interface Received {
  data: Buffer;
  isBinary: boolean;
  text: string;
}

/** A `ws` client whose messages queue up until read (none is missed between two reads). */
export class WsClient {
  readonly ws: WebSocket;
  private readonly queue: Received[] = [];
  private wake: (() => void) | null = null;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      this.queue.push({ data: buf, isBinary, text: buf.toString() });
      this.wake?.();
    });
    this.closed = new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    ws.on('error', () => {});
  }

  send(data: string | Buffer, options: { binary?: boolean } = {}): void {
    this.ws.send(data, options);
  }

  async next(ms = WAIT_MS): Promise<Received> {
    return within(
      (async () => {
        while (this.queue.length === 0) await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        return this.queue.shift() as Received;
      })(),
      ms,
      'a WebSocket message',
    );
  }

  /** Closes (with a code and reason if given) and waits for the close to complete. */
  async close(code?: number, reason?: string): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    return within(this.closed, WAIT_MS, 'the WebSocket close');
  }
}

/** A raw TCP client that did a WebSocket handshake and then never answers anything (no pong, no close). */
export interface DeafClient {
  socket: TcpSocket;
  received(): Buffer;
  /** Settles when the server ends the TCP connection. */
  closed: Promise<void>;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Socket.IO client options every script gets unless it overrides them. */
const IO_DEFAULTS: Partial<ManagerOptions & SocketOptions> = {
  reconnection: false,
  forceNew: true,
  transports: ['websocket'],
};

export class Clients {
  readonly ctx: ClientContext;
  private readonly wsClients: WsClient[] = [];
  private readonly ioClients: IoSocket[] = [];
  private readonly sockets: TcpSocket[] = [];

  constructor(ctx: ClientContext) {
    this.ctx = ctx;
  }

  /** `ws://127.0.0.1:<port><prefix><path>`. */
  wsUrl(path: string): string {
    return `ws://127.0.0.1:${this.ctx.port}${this.ctx.prefix}${path}`;
  }

  /** `http://127.0.0.1:<port><prefix><path>`. */
  httpUrl(path: string): string {
    return `http://127.0.0.1:${this.ctx.port}${this.ctx.prefix}${path}`;
  }

  /** Opens a WebSocket (waits for `open`). */
  async ws(path: string, protocols?: string | string[], options?: WebSocket.ClientOptions): Promise<WsClient> {
    const ws = new WebSocket(this.wsUrl(path), protocols, options);
    const client = new WsClient(ws);
    this.wsClients.push(client);
    await within(
      new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
        ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      }),
      WAIT_MS,
      `open ${path}`,
    );
    return client;
  }

  /**
   * A WebSocket that must not open: resolves with the HTTP status of the refusal, or with the
   * client's error message when the handshake fails on the client side.
   */
  async wsRefused(path: string, protocols?: string | string[], options?: WebSocket.ClientOptions, ms = WAIT_MS): Promise<string> {
    const ws = new WebSocket(this.wsUrl(path), protocols, options);
    const client = new WsClient(ws);
    this.wsClients.push(client);
    return within(
      new Promise<string>((resolve) => {
        ws.once('open', () => resolve('opened'));
        ws.once('error', (err) => resolve(`error: ${err.message}`));
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          res.once('end', () => resolve(`HTTP ${res.statusCode}`));
          ws.terminate();
        });
      }),
      ms,
      `refusal of ${path}`,
    );
  }

  /** A raw WebSocket handshake on `path`, after which the client ignores everything. */
  async deaf(path: string): Promise<DeafClient> {
    const socket = connect(this.ctx.port, '127.0.0.1');
    this.sockets.push(socket);
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await within(new Promise((r) => socket.once('connect', r)), WAIT_MS, 'TCP connect');
    socket.write(
      `GET ${this.ctx.prefix}${path} HTTP/1.1\r\nHost: 127.0.0.1:${this.ctx.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const received = () => Buffer.concat(chunks);
    await within(
      (async () => {
        while (!received().includes('\r\n\r\n')) await sleep(5);
      })(),
      WAIT_MS,
      '101',
    );
    return { socket, received, closed };
  }

  /** A plain HTTP request on its own connection (no keep-alive agent); the whole response. */
  http(path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpAnswer> {
    return within(
      new Promise<HttpAnswer>((resolve, reject) => {
        const req = request(this.httpUrl(path), { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(options.body);
      }),
      WAIT_MS,
      `HTTP ${path}`,
    );
  }

  /** A Socket.IO client (WebSocket transport only unless `opts.transports` says otherwise), not yet connected. */
  io(nsp = '/', opts: Partial<ManagerOptions & SocketOptions> = {}): IoSocket {
    const s = connectIo(`http://127.0.0.1:${this.ctx.port}${nsp}`, { ...IO_DEFAULTS, path: `${this.ctx.prefix}/socket.io/`, ...opts });
    this.ioClients.push(s);
    return s;
  }

  /** Waits for `connect`; rejects on `connect_error`. */
  connected(s: IoSocket): Promise<void> {
    return within(
      new Promise<void>((resolve, reject) => {
        if (s.connected) resolve();
        s.once('connect', () => resolve());
        s.once('connect_error', reject);
      }),
      WAIT_MS,
      'socket.io connect',
    );
  }

  /** Waits until the Engine.IO connection of `s` runs over WebSocket (after a polling start). */
  upgraded(s: IoSocket): Promise<void> {
    return within(
      new Promise<void>((resolve) => {
        const engine = s.io.engine;
        if (engine?.transport?.name === 'websocket') resolve();
        else s.io.on('open', () => s.io.engine.once('upgrade', () => resolve()));
        engine?.once('upgrade', () => resolve());
      }),
      WAIT_MS,
      'the upgrade to WebSocket',
    );
  }

  /** Waits for `connect_error` and gives the error (message and data). */
  connectError(s: IoSocket): Promise<{ message: string; data: unknown }> {
    return within(
      new Promise((resolve, reject) => {
        s.once('connect', () => reject(new Error('connected')));
        s.once('connect_error', (err: Error & { data?: unknown }) => resolve({ message: err.message, data: err.data }));
      }),
      WAIT_MS,
      'socket.io connect_error',
    );
  }

  /** The arguments of the next `event` on `s`. */
  next(s: IoSocket, event: string, ms = WAIT_MS): Promise<unknown[]> {
    return within(new Promise((resolve) => s.once(event, (...args: unknown[]) => resolve(args))), ms, `socket.io event ${event}`);
  }

  /** Closes every client still open and waits (bounded) for the WebSockets' closes. */
  async closeAll(): Promise<void> {
    for (const s of this.ioClients) {
      s.disconnect();
      s.io.engine?.close();
    }
    for (const s of this.sockets) s.destroy();
    await Promise.all(
      this.wsClients.map(async (c) => {
        if (c.ws.readyState === WebSocket.CLOSED) return;
        if (c.ws.readyState === WebSocket.CONNECTING) {
          c.ws.terminate();
          return;
        }
        c.ws.close();
        await within(c.closed, 1000, 'close').catch(() => c.ws.terminate());
      }),
    );
  }
}
