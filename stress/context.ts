// What an attack gets: where the server is, its own loopback addresses, a deadline, the place to
// record what the server answered and what defect was seen, and socket helpers that keep count
// of the client's own file descriptors and close everything when the attack ends.
import type { Socket } from 'node:net';
import { clientFrame, closeCode, dial, FrameReader, OP, ResponseReader, upgradeHead, whenConnected } from './raw.ts';
import type { Frame, HttpResponse } from './raw.ts';

export interface Attack {
  /** Short name (table row, `--only`). */
  name: string;
  /** What it does, one line (table note prefix is the attack's own notes). */
  title: string;
  /** Needs the built site (dist/). */
  needsDist?: boolean;
  /** Shortest useful run (ms), e.g. the lock-out needs sessions older than 5 s. */
  minMs?: number;
  run(ctx: AttackContext): Promise<void>;
}

/** File descriptors the load client allows itself (the hard limit here is 20,000 per process). */
export const CLIENT_SOCKET_BUDGET = 8000;

export interface ContextOptions {
  port: number;
  /** First three bytes of this attack's addresses, e.g. "127.0.12": ip(k) is 127.0.12.(k+1). */
  ipPrefix: string;
  durationMs: number;
  short: boolean;
  signal: AbortSignal;
}

export class AttackContext {
  readonly port: number;
  readonly durationMs: number;
  readonly short: boolean;
  readonly signal: AbortSignal;
  readonly startedAt = Date.now();
  readonly answers = new Map<string, number>();
  readonly notes: string[] = [];
  readonly defects: string[] = [];
  private readonly ipPrefix: string;
  private readonly sockets = new Set<Socket>();
  peakSockets = 0;

  constructor(o: ContextOptions) {
    this.port = o.port;
    this.durationMs = o.durationMs;
    this.short = o.short;
    this.signal = o.signal;
    this.ipPrefix = o.ipPrefix;
  }

  /** The attack's k-th source address (several IPs: per-IP limits are part of what is tested). */
  ip(k = 0): string {
    if (k < 0 || k > 253) throw new Error(`ip(${k}) out of range`);
    return `${this.ipPrefix}.${k + 1}`;
  }

  get running(): boolean {
    return !this.signal.aborted;
  }

  /** Milliseconds left before the deadline. */
  get left(): number {
    return Math.max(0, this.startedAt + this.durationMs - Date.now());
  }

  /** Scales a count for short runs (at least 1). */
  scaled(full: number, short: number): number {
    return this.short ? short : full;
  }

  answer(label: string, n = 1): void {
    this.answers.set(label, (this.answers.get(label) ?? 0) + n);
  }

  note(text: string): void {
    if (!this.notes.includes(text)) this.notes.push(text);
  }

  /** An observable defect: the attack is reported as "broke". */
  defect(text: string): void {
    if (!this.defects.includes(text)) this.defects.push(text);
  }

  /** Resolves after `ms`, or at once when the attack is stopped. */
  sleep(ms: number): Promise<void> {
    if (!this.running) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const signal = this.signal;
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Runs `n` copies of `loop` and waits for all of them (each should return once `running` is false). */
  async workers(n: number, loop: (w: number) => Promise<void>): Promise<void> {
    await Promise.all(
      Array.from({ length: n }, (_, w) =>
        loop(w).catch((err: Error) => {
          if (this.running) this.note(`client error: ${err.message}`);
        }),
      ),
    );
  }

  get openSockets(): number {
    return this.sockets.size;
  }

  /** A tracked TCP connection from `ip`. */
  dial(ip: string): Socket {
    if (this.sockets.size >= CLIENT_SOCKET_BUDGET) throw new Error(`client socket budget (${CLIENT_SOCKET_BUDGET}) reached`);
    const socket = dial({ port: this.port, localAddress: ip });
    this.sockets.add(socket);
    this.peakSockets = Math.max(this.peakSockets, this.sockets.size);
    socket.once('close', () => this.sockets.delete(socket));
    return socket;
  }

  /** Destroys every socket the attack still holds. */
  closeAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  /** A keep-alive HTTP connection from `ip`. */
  http(ip: string): HttpConn {
    return new HttpConn(this, ip);
  }

  /** One request on its own connection; null when the connection failed or `ms` passed. */
  async request(ip: string, method: string, path: string, opts: RequestOptions = {}, ms = 10_000): Promise<HttpResponse | null> {
    const conn = this.http(ip);
    const timer = setTimeout(() => conn.close(), ms);
    try {
      return await conn.request(method, path, opts);
    } finally {
      clearTimeout(timer);
      conn.close();
    }
  }

  /** POST /api/sessions from `ip`: the id, or null (the status is recorded as an answer). */
  async createSession(ip: string): Promise<string | null> {
    const res = await this.request(ip, 'POST', '/api/sessions');
    if (!res) return null;
    if (res.status !== 201) {
      this.answer(`http ${res.status}`);
      return null;
    }
    return (JSON.parse(res.body.toString()) as { id: string }).id;
  }

  /** `n` sessions from `ip` (fewer when the server refuses some). */
  async createSessions(ip: string, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = await this.createSession(ip);
      if (id) ids.push(id);
    }
    return ids;
  }

  /** A raw WebSocket client (see RawWs). */
  async ws(ip: string, path: string, opts: RawWsOptions = {}): Promise<RawWs> {
    const ws = new RawWs(this, ip, path, opts);
    await ws.opened;
    return ws;
  }

  /** A raw monitor on session `id`; `read: false` never reads past the handshake. */
  async monitor(ip: string, id: string, opts: { read?: boolean; onText?: (text: string) => void } = {}): Promise<RawWs> {
    const read = opts.read ?? true;
    const onText = opts.onText;
    return this.ws(ip, `/api/sessions/${id}/monitor`, {
      pauseAfterOpen: !read,
      onFrame: onText ? (f) => f.opcode === OP.text && onText(f.payload.toString()) : undefined,
      keep: onText ? 1 << 20 : 0,
    });
  }
}

export interface RequestOptions {
  headers?: Record<string, string | number>;
  body?: Buffer | string;
}

/** One keep-alive HTTP/1.1 connection; requests may be pipelined. */
export class HttpConn {
  readonly socket: Socket;
  private readonly pending: Array<(r: HttpResponse | null) => void> = [];

  constructor(ctx: AttackContext, ip: string) {
    this.socket = ctx.dial(ip);
    const reader = new ResponseReader((r) => this.pending.shift()?.(r));
    this.socket.on('data', (d: Buffer) => reader.push(d));
    this.socket.once('close', () => {
      for (const p of this.pending.splice(0)) p(null);
    });
  }

  get alive(): boolean {
    return !this.socket.destroyed;
  }

  /** Sends a request; resolves with its response, or null if the connection closed first. */
  request(method: string, path: string, opts: RequestOptions = {}): Promise<HttpResponse | null> {
    if (this.socket.destroyed) return Promise.resolve(null);
    this.socket.write(requestBytes(method, path, opts));
    return new Promise((resolve) => this.pending.push(resolve));
  }

  close(): void {
    this.socket.destroy();
  }
}

export function requestBytes(method: string, path: string, opts: RequestOptions = {}): Buffer {
  const body = opts.body === undefined ? null : Buffer.from(opts.body);
  let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n`;
  for (const [k, v] of Object.entries(opts.headers ?? {})) head += `${k}: ${v}\r\n`;
  if (body && !opts.headers?.['Content-Length'] && !opts.headers?.['Transfer-Encoding']) head += `Content-Length: ${body.length}\r\n`;
  head += '\r\n';
  return body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : Buffer.from(head, 'latin1');
}

export interface RawWsOptions {
  onFrame?: (f: Frame) => void;
  /** Largest payload kept for onFrame (bigger frames are counted only). */
  keep?: number;
  /** Stop reading once upgraded (a client that never reads). */
  pauseAfterOpen?: boolean;
  /** Extra head lines (each ending with CRLF). */
  extraHead?: string;
  /** Bytes written right after the upgrade request, without waiting for the 101. */
  early?: Buffer;
}

/**
 * A raw WebSocket client: hand-written upgrade request, server frames read by FrameReader. What
 * the server answers is recorded on the context: `http <status>` when the upgrade is refused,
 * `close <code>` for a close frame, `cut` when the server ends the TCP connection without one.
 */
export class RawWs {
  readonly socket: Socket;
  status = 0;
  serverClose: number | null = null;
  /** Resolves once the upgrade is answered (or failed: status stays 0). */
  readonly opened: Promise<void>;
  readonly gone: Promise<void>;
  private localClose = false;
  private readonly frames: FrameReader;
  private readonly signal: AbortSignal;

  constructor(ctx: AttackContext, ip: string, path: string, opts: RawWsOptions) {
    this.signal = ctx.signal;
    this.socket = ctx.dial(ip);
    this.frames = new FrameReader((f) => {
      if (f.opcode === OP.close && this.serverClose === null) {
        this.serverClose = closeCode(f.payload);
        ctx.answer(`close ${this.serverClose}`);
      }
      opts.onFrame?.(f);
    }, opts.keep ?? 125);
    const head = Buffer.from(upgradeHead(path, opts.extraHead ?? ''), 'latin1');
    this.socket.write(opts.early ? Buffer.concat([head, opts.early]) : head);
    let upgraded = false;
    // Settles once the upgrade is answered, the socket is gone, 5 s passed or the attack stops.
    let settle!: () => void;
    this.opened = new Promise((resolve) => {
      const signal = ctx.signal;
      const timer = setTimeout(() => {
        ctx.answer('no upgrade answer in 5 s');
        this.destroy();
      }, 5000);
      settle = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', settle);
        resolve();
      };
      signal.addEventListener('abort', settle, { once: true });
    });
    const responses = new ResponseReader((r) => {
      this.status = r.status;
      if (r.status !== 101) ctx.answer(`http ${r.status}`);
    });
    this.socket.on('data', (d: Buffer) => {
      if (upgraded) {
        this.frames.push(d);
        return;
      }
      responses.push(d);
      if (this.status === 0) return;
      upgraded = this.status === 101;
      settle();
      if (!upgraded) {
        this.socket.destroy();
        return;
      }
      const rest = responses.rest();
      if (rest.length) this.frames.push(rest);
      if (opts.pauseAfterOpen) this.socket.pause();
    });
    this.gone = new Promise((resolve) =>
      this.socket.once('close', () => {
        // Only while the attack runs: at its end the runner destroys every socket itself.
        if (upgraded && this.serverClose === null && !this.localClose && ctx.running) ctx.answer('cut');
        settle();
        resolve();
      }),
    );
  }

  get open(): boolean {
    return this.status === 101 && !this.socket.destroyed && this.serverClose === null;
  }

  /** Writes and tells whether the socket would take more now (false: wait for 'drain'). */
  send(data: Buffer): boolean {
    if (this.socket.destroyed) return false;
    return this.socket.write(data);
  }

  text(s: string): boolean {
    return this.send(clientFrame(OP.text, s));
  }

  /** Waits until the socket takes more writes, is gone, or the attack stops. */
  drained(): Promise<void> {
    if (!this.socket.writableNeedDrain || this.socket.destroyed || this.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
      this.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Ends the TCP connection (FIN after what was written). */
  end(): void {
    this.localClose = true;
    this.socket.end();
  }

  destroy(): void {
    this.localClose = true;
    this.socket.destroy();
  }
}

export { whenConnected };
