// Helpers for the sandbox's integration tests: a real server on 127.0.0.1:0, sessions, and a
// monitor client whose waits are all bounded.
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createAppServer } from './http-server.ts';
import type { AppServer, AppServerOptions } from './http-server.ts';
import type { Limits } from './limits.ts';
import { messageOfFrame } from '#protocol';
import type { MonitorEvent } from '#protocol';

export interface TestApp {
  app: AppServer;
  port: number;
  http: string;
  ws: string;
  close(): Promise<void>;
}

export async function startApp(limits?: Partial<Limits>, options: Omit<AppServerOptions, 'distDir' | 'limits'> = {}): Promise<TestApp> {
  const distDir = mkdtempSync(join(tmpdir(), 'atelier-dist-'));
  writeFileSync(join(distDir, 'index.html'), '<!doctype html><title>Atelier</title>');
  const app = createAppServer({ distDir, limits, ...options });
  app.server.listen(0, '127.0.0.1');
  await once(app.server, 'listening');
  const port = (app.server.address() as { port: number }).port;
  return { app, port, http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}`, close: () => app.close() };
}

export async function createSession(t: TestApp): Promise<string> {
  const res = await fetch(`${t.http}/api/sessions`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  if (res.status !== 201) throw new Error(`POST /api/sessions → ${res.status}`);
  return ((await res.json()) as { id: string }).id;
}

/** Rejects after `ms` with a message naming what was awaited. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout (${ms} ms) waiting for ${what}`)), ms);
    }),
  ]);
}

/** Opens a WebSocket; `onMessage` listens from the start (a first message may share the 101's TCP chunk). */
export function openWs(
  url: string,
  protocols?: string | string[],
  options?: WebSocket.ClientOptions,
  onMessage?: (data: Buffer, isBinary: boolean) => void,
): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, options);
  if (onMessage) ws.on('message', (d, b) => onMessage(d as Buffer, b));
  return within(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    }),
    5000,
    `open ${url}`,
  );
}

export function closed(ws: WebSocket, ms = 5000): Promise<{ code: number; reason: string }> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.reject(new Error('already closed'));
  return within(new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))), ms, 'close');
}

export function nextMessage(ws: WebSocket, ms = 5000): Promise<{ data: Buffer; isBinary: boolean }> {
  return within(
    new Promise((resolve) => ws.once('message', (data, isBinary) => resolve({ data: data as Buffer, isBinary }))),
    ms,
    'message',
  );
}

// biome-ignore lint/suspicious/noExplicitAny: tests read any event's fields without narrowing first.
type Ev = MonitorEvent & Record<string, any>;

export class Monitor {
  /** The events as received. */
  readonly events: Ev[] = [];
  /** The same with the `message` event of each whole-message frame after it (what waitFor and of search). */
  private readonly withMessages: Ev[] = [];
  readonly ws: WebSocket;
  private waiters: Array<() => void> = [];
  closeCode: number | null = null;

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data) => {
      const event = JSON.parse(data.toString()) as Ev;
      this.events.push(event);
      this.withMessages.push(event);
      const message = event.type === 'frame' ? messageOfFrame(event) : null;
      if (message) this.withMessages.push(message);
      for (const w of this.waiters) w();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      for (const w of this.waiters) w();
    });
  }

  static async open(t: TestApp, id: string): Promise<Monitor> {
    // Listen before 'open': hello may arrive in the same TCP chunk as the 101.
    const ws = new WebSocket(`${t.ws}/api/sessions/${id}/monitor`);
    const m = new Monitor(ws);
    await within(
      new Promise((resolve, reject) => {
        ws.once('open', resolve);
        ws.once('error', reject);
      }),
      5000,
      'monitor open',
    );
    await m.waitFor((e) => e.type === 'hello');
    return m;
  }

  /**
   * The first event matching `pred`, waiting at most `ms`; searches the events with the rebuilt
   * `message` events, from index `from` of that list (not of `events`).
   */
  waitFor(pred: (e: Ev) => boolean, ms = 5000, from = 0): Promise<Ev> {
    return within(
      new Promise<Ev>((resolve) => {
        const check = () => {
          const found = this.withMessages.slice(from).find(pred);
          if (found) {
            this.waiters = this.waiters.filter((w) => w !== check);
            resolve(found);
          }
        };
        this.waiters.push(check);
        check();
      }),
      ms,
      `monitor event (${pred.toString().slice(0, 120)})`,
    );
  }

  of<T extends Ev['type']>(type: T, conn?: string): Ev[] {
    return this.withMessages.filter((e) => e.type === type && (conn === undefined || e.conn === conn));
  }

  close(): void {
    this.ws.terminate();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Sec-WebSocket-Accept of the key upgradeRequest sends (RFC 6455 §1.3). */
export const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** A WebSocket opening handshake request for `path`, with the sample key of RFC 6455 §1.3. */
export function upgradeRequest(path: string, host = '127.0.0.1'): string {
  return (
    `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'
  );
}

/** A raw TCP client on 127.0.0.1:`port`, connected; `received()` is everything it got so far. */
export async function rawConnection(port: number): Promise<{ socket: Socket; received: () => Buffer }> {
  const socket = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  socket.on('error', () => {});
  await within(new Promise((r) => socket.once('connect', r)), 5000, 'connect');
  return { socket, received: () => Buffer.concat(chunks) };
}

/** Waits until `received()` satisfies `done`. */
export function receivedUntil(received: () => Buffer, done: (b: Buffer) => boolean, what: string, ms = 5000): Promise<Buffer> {
  return within(
    (async () => {
      while (!done(received())) await sleep(5);
      return received();
    })(),
    ms,
    what,
  );
}

/**
 * A raw TCP client that has done a WebSocket opening handshake on `path` (extra header lines
 * ending in CRLF may be added); `closed` settles when the socket closes, whenever that is.
 */
export async function rawUpgrade(
  port: number,
  path: string,
  extraHeaders = '',
): Promise<{ socket: Socket; received: () => Buffer; closed: Promise<void> }> {
  const { socket, received } = await rawConnection(port);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.write(upgradeRequest(path).replace(/\r\n\r\n$/, `\r\n${extraHeaders}\r\n`));
  await receivedUntil(received, (b) => b.includes('\r\n\r\n'), '101');
  return { socket, received, closed };
}
