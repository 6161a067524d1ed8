// The learner server's end of the host channel (protocol/host.ts): turns the sandbox's messages
// into calls on the façade objects (ws, http) and their calls into commands. It knows nothing of
// how messages travel (a Worker's postMessage, a WebSocket in Node tests): `send` is given.
// Runs in a browser Worker and in Node: no DOM, no Node built-ins except through 'buffer'.
import { Buffer } from 'buffer';
import { HOST_BATCH_MAX_CHARS, HOST_BATCH_MAX_COMMANDS, hostFrameMax, hostFrameMessages, hostFrameText } from '#protocol/host';
import type { HostHttpRequest, HostToSandbox, HostUpgrade, SandboxToHost, SandboxToHostIo } from '#protocol/host';

/** What a façade WebSocket hears from the sandbox about its real socket. */
export interface LinkPeer {
  message(data: Buffer, isBinary: boolean): void;
  ping(data: Buffer): void;
  pong(data: Buffer): void;
  closed(code: number, reason: Buffer): void;
  /** ws refused what the client sent ('error' on the connection, before 'close'). */
  failed(error: Error & { code: string }): void;
  /** The real bufferedAmount, once the sandbox executed the commands up to the query `q` (protocol/host.ts). */
  buffered(bytes: number, q: number): void;
}

/** Whoever takes upgrade and HTTP requests (the façade http server that listens). */
export interface UpgradeTarget {
  upgrade(request: HostUpgrade): void;
  request(request: HostHttpRequest): void;
}

/** What a façade response hears from the sandbox: its client went away, or the sandbox ended it. */
export interface HttpPeer {
  closed(): void;
}

/** Whoever takes the Socket.IO messages (the façade's Socket.IO server once attached; one per link). */
export interface IoReceiver {
  receive(message: SandboxToHostIo): void;
  /** The http server it is attached to (null before attach). */
  readonly httpServer: object | null;
  /** A server started or stopped listening: the first one listening gets the traffic. */
  listeningChanged(): void;
}

/** Where the server code's console goes (the « Console du serveur » panel). */
export interface ServerConsole {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/**
 * The commands of one synchronous run of the server code, sent as one frame (protocol/host.ts:
 * a lone command as itself, several as a JSON array) when the run ends (a microtask), or earlier
 * when the batch reaches its bounds; order kept.
 */
class CommandBatch {
  private readonly texts: string[] = [];
  private chars = 0;
  private scheduled = false;
  private readonly sendText: (text: string) => void;
  /** Runs just before the batch leaves (it may add commands). */
  beforeFlush: () => void = () => {};
  /** The sandbox's frame limit (from `ready`; until then, the one of its default limits). */
  frameMax = hostFrameMax(DEFAULT_MAX_PAYLOAD);
  /** A command too big for any frame: not sent (the sandbox would close the channel). */
  tooBig: (command: HostToSandbox, bytes: number) => void = () => {};

  constructor(sendText: (text: string) => void) {
    this.sendText = sendText;
  }

  push(command: HostToSandbox): void {
    const text = JSON.stringify(command);
    // At most 3 UTF-8 bytes per UTF-16 code unit: only long texts need counting.
    if (text.length * 3 > this.frameMax) {
      const bytes = Buffer.byteLength(text);
      if (bytes > this.frameMax) {
        this.tooBig(command, bytes);
        return;
      }
    }
    if (this.texts.length > 0 && (this.chars + text.length + 1 > HOST_BATCH_MAX_CHARS || this.texts.length >= HOST_BATCH_MAX_COMMANDS))
      this.send();
    this.texts.push(text);
    this.chars += text.length + 1;
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.beforeFlush();
      this.scheduled = false;
      this.send();
    });
  }

  private send(): void {
    if (this.texts.length === 0) return;
    const text = hostFrameText(this.texts);
    this.texts.length = 0;
    this.chars = 0;
    this.sendText(text);
  }
}

export class HostLink {
  readonly console: ServerConsole;
  private readonly post: (command: HostToSandbox) => void;
  private readonly peers = new Map<number, LinkPeer>();
  private readonly httpPeers = new Map<number, HttpPeer>();
  private readonly warned = new Set<string>();
  /** Servers listening, in the order they started: the first one gets the traffic, as the real port would. */
  readonly listening: UpgradeTarget[] = [];
  /** The session's public URLs (from `ready`). */
  urls = { ws: '', http: '' };
  /** The sandbox's message limit in bytes (from `ready`). */
  maxPayload = DEFAULT_MAX_PAYLOAD;
  /** The Socket.IO façade server that declared itself to the sandbox (socket-io.ts). */
  io: IoReceiver | null = null;
  private readyWaiters: Array<() => void> | null = [];
  private flushHooks: Array<() => void> = [];
  private batch: CommandBatch | null = null;

  /** `post` gets each command as it is given (tests); see `overText` for the host channel's framing. */
  constructor(post: (command: HostToSandbox) => void, console: ServerConsole) {
    this.post = post;
    this.console = console;
  }

  /**
   * A link whose commands leave batched, one frame text per synchronous run of the server code,
   * through `sendText` (the host channel's WebSocket). What the Worker, the tests and the bench use.
   */
  static overText(sendText: (text: string) => void, console: ServerConsole): HostLink {
    const batch = new CommandBatch(sendText);
    const link = new HostLink((command) => batch.push(command), console);
    batch.beforeFlush = () => link.runFlushHooks();
    batch.tooBig = (command, bytes) => link.console.error(tooBigText(command, bytes, link.maxPayload));
    link.batch = batch;
    return link;
  }

  /**
   * One frame from the sandbox (a message or a batch of them), handled in order. What a listener
   * of the server code throws goes to `onError` (when given) and the next messages are still
   * handled; without `onError` it propagates. Returns the messages.
   */
  receiveText(text: string, onError?: (err: unknown) => void): SandboxToHost[] {
    const messages = hostFrameMessages(text) as SandboxToHost[];
    for (const message of messages) {
      if (!onError) this.receive(message);
      else
        try {
          this.receive(message);
        } catch (err) {
          onError(err);
        }
    }
    return messages;
  }

  command(command: HostToSandbox): void {
    this.post(command);
  }

  /**
   * Runs `fn` once the server code's synchronous run ends, before the commands it gave leave
   * (`fn` may add commands: they follow the others).
   */
  atFlush(fn: () => void): void {
    if (this.flushHooks.push(fn) !== 1) return;
    if (this.batch) this.batch.schedule();
    else queueMicrotask(() => this.runFlushHooks());
  }

  private runFlushHooks(): void {
    const hooks = this.flushHooks;
    this.flushHooks = [];
    for (const fn of hooks) fn();
  }

  /** Runs `fn` once the sandbox accepted the host (its URLs are known then). */
  onReady(fn: () => void): void {
    if (this.readyWaiters) this.readyWaiters.push(fn);
    else fn();
  }

  attach(c: number, peer: LinkPeer): void {
    this.peers.set(c, peer);
  }

  /** A façade response waiting for its end: told if the sandbox closes it first. */
  attachHttp(r: number, peer: HttpPeer): void {
    this.httpPeers.set(r, peer);
  }

  detachHttp(r: number): void {
    this.httpPeers.delete(r);
  }

  /** A console warning given once per link (`key` names it). */
  warnOnce(key: string, text: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.console.warn(text);
  }

  /** One message from the sandbox. */
  receive(message: SandboxToHost): void {
    switch (message.t) {
      case 'ready': {
        this.urls = { ws: message.ws, http: message.http };
        if (message.maxPayload > 0) this.maxPayload = message.maxPayload;
        if (this.batch && message.frameMax > 0) this.batch.frameMax = message.frameMax;
        const waiters = this.readyWaiters ?? [];
        this.readyWaiters = null;
        for (const fn of waiters) fn();
        return;
      }
      case 'upgrade': {
        const target = this.listening[0];
        if (!target) {
          this.command({ t: 'refuse', c: message.c, status: 503, message: 'Aucun serveur à l’écoute (listen n’a pas été appelé).' });
          return;
        }
        target.upgrade(message);
        return;
      }
      case 'http-request': {
        const target = this.listening[0];
        if (!target) {
          this.command({ t: 'http-head', r: message.r, status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
          this.command({ t: 'http-end', r: message.r, data: 'Aucun serveur à l’écoute (listen n’a pas été appelé).' });
          return;
        }
        target.request(message);
        return;
      }
      case 'http-close': {
        const peer = this.httpPeers.get(message.r);
        this.httpPeers.delete(message.r);
        peer?.closed();
        return;
      }
      case 'message':
        this.peers.get(message.c)?.message(bytesOf(message), message.binary);
        return;
      case 'ping':
        this.peers.get(message.c)?.ping(bytesOf(message));
        return;
      case 'pong':
        this.peers.get(message.c)?.pong(bytesOf(message));
        return;
      case 'closed': {
        const peer = this.peers.get(message.c);
        this.peers.delete(message.c);
        peer?.closed(message.code, Buffer.from(message.reason));
        return;
      }
      case 'ws-error': {
        const error = (message.name === 'RangeError' ? new RangeError(message.message) : new Error(message.message)) as Error & {
          code: string;
        };
        error.code = message.code;
        this.peers.get(message.c)?.failed(error);
        return;
      }
      case 'buffered':
        this.peers.get(message.c)?.buffered(message.bytes, message.q);
        return;
      case 'error':
        this.console.error(`[bac à sable] ${message.message} (${message.id})`);
        return;
      case 'io-auth':
      case 'io-connection':
      case 'io-event':
      case 'io-ack-response':
      case 'io-disconnecting':
      case 'io-disconnect':
      case 'io-transport':
      case 'io-sockets':
        this.io?.receive(message);
        return;
    }
  }
}

/** The sandbox's default message limit (sandbox-server/limits.ts), until `ready` gives the real one. */
const DEFAULT_MAX_PAYLOAD = 64 * 1024;

/** What the server console says of a command too big for the host channel (never sent). */
export function tooBigText(command: HostToSandbox, bytes: number, maxPayload: number): string {
  const size = `${bytes.toLocaleString('fr-FR')}\u00a0octets une fois encodé`;
  const limit = `au plus ${maxPayload.toLocaleString('fr-FR')}\u00a0octets`;
  switch (command.t) {
    case 'io-emit':
    case 'io-broadcast':
      return `[bac à sable] Message Socket.IO trop grand (${size})\u00a0: ${limit}. L’émission «\u00a0${command.event.slice(0, 40)}\u00a0» n’est pas envoyée.`;
    case 'io-ack':
      return `[bac à sable] Réponse d’accusé de réception Socket.IO trop grande (${size})\u00a0: ${limit}. Elle n’est pas envoyée.`;
    case 'send':
      return `[bac à sable] Charge utile trop grande (${size})\u00a0: ${limit}. Le message n’est pas envoyé.`;
    default:
      return `[bac à sable] Commande «\u00a0${command.t}\u00a0» trop grande (${size})\u00a0: ${limit}. Elle n’est pas envoyée.`;
  }
}

function bytesOf(p: { data: string; b64?: boolean }): Buffer {
  return p.b64 ? Buffer.from(p.data, 'base64') : Buffer.from(p.data, 'utf8');
}

/** Characters JSON escapes (a control character takes 6, `"` and `\\` 2). */
const JSON_ESCAPED = /["\\\u0000-\u001f]/;

/**
 * A payload as the host channel carries it: text stays text, anything else travels as base64.
 * A long text with characters JSON escapes travels as base64 too (the same UTF-8 bytes): 64 KiB
 * of control characters would be 384 KiB of JSON, past the channel's frame limit (the sandbox
 * would close the channel), while base64 is 4/3 of the bytes whatever they are.
 */
export function payloadOf(data: unknown): { data: string; b64?: boolean } {
  if (typeof data === 'string') {
    if (data.length > 4096 && JSON_ESCAPED.test(data)) return { data: Buffer.from(data, 'utf8').toString('base64'), b64: true };
    return { data };
  }
  if (typeof data === 'number') return { data: String(data) };
  return { data: toBuffer(data).toString('base64'), b64: true };
}

/** ws accepts Buffers, ArrayBuffers, typed arrays and DataViews (and arrays of Buffers are not sent by ws either). */
export function toBuffer(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (typeof data === 'string') return Buffer.from(data);
  throw new TypeError('The "data" argument must be of type string or an instance of Buffer, TypedArray, or DataView.');
}
