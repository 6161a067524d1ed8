// Façade of Node's `http` for learner server code: enough for `http.createServer()`, `listen()`
// and the 'upgrade' event that ws and socket.io attach to. The port is symbolic: every server of
// the session is reached at the session's URL, and the first one to listen gets the traffic.
import { EventEmitter } from 'events';
import { Buffer } from 'buffer';
import type { HostUpgrade } from '#protocol/host';
import type { HostLink, UpgradeTarget } from './host-link.ts';

export const STATUS_CODES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** The request of an upgrade, with the fields of Node's IncomingMessage that servers read. */
export class IncomingRequest extends EventEmitter {
  readonly method = 'GET';
  readonly httpVersion = '1.1';
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly socket: { remoteAddress: string; remoteFamily: string };
  readonly connection: { remoteAddress: string; remoteFamily: string };

  constructor(request: HostUpgrade) {
    super();
    this.url = request.url;
    this.headers = request.headers;
    const family = request.remoteAddress.includes(':') && !request.remoteAddress.startsWith('::ffff:') ? 'IPv6' : 'IPv4';
    this.socket = { remoteAddress: request.remoteAddress, remoteFamily: family };
    this.connection = this.socket;
  }
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

  accept(protocol: string | undefined): void {
    if (this.settled)
      throw new Error('server.handleUpgrade() was called more than once with the same socket, possibly due to a misconfiguration');
    this.settled = true;
    this.#link.command(protocol ? { t: 'accept', c: this.request.c, protocol } : { t: 'accept', c: this.request.c });
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

  write(): boolean {
    throw new Error(
      'Écrire directement sur le socket d’une demande de connexion n’est pas pris en charge dans le bac à sable\u00a0: refusez-la avec socket.destroy(), ou laissez ws répondre (verifyClient).',
    );
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

export type Handler = (
  req: IncomingRequest,
  res: { writeHead(status: number, headers?: Record<string, string>): unknown; end(body?: string): void },
) => void;

export class Server extends EventEmitter implements UpgradeTarget {
  listening = false;
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
    this.listening = true;
    this.#port = port;
    const link = this.#link;
    link.listening.push(this);
    const first_ = link.listening[0] === this;
    link.onReady(() => {
      if (first_) {
        link.console.info(`[bac à sable] Serveur à l’écoute (port ${port} symbolique)\u00a0: les clients l’atteignent à ${link.urls.ws}`);
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
    setTimeout(() => {
      this.emit('close');
      cb?.(was ? undefined : Object.assign(new Error('Server is not running.'), { code: 'ERR_SERVER_NOT_RUNNING' }));
    }, 0);
    return this;
  }

  /** UpgradeTarget: a client asks for a WebSocket on this server. */
  upgrade(request: HostUpgrade): void {
    const socket = new UpgradeSocket(this.#link, request);
    if (this.listenerCount('upgrade') === 0) {
      socket.refuse(426, 'Ce serveur n’accepte pas les connexions WebSocket (aucun écouteur «\u00a0upgrade\u00a0»).');
      return;
    }
    this.emit('upgrade', new IncomingRequest(request), socket, Buffer.alloc(0));
    // Nobody took it synchronously nor asynchronously within the sandbox's delay: the sandbox answers 503.
  }
}

export function createServer(link: HostLink, options?: Handler | object, handler?: Handler): Server {
  const h = (typeof options === 'function' ? options : handler) as Handler | undefined;
  return new Server(link, h);
}

/** The module `http` as `require('http')` returns it, bound to one host link. */
export function httpModule(link: HostLink): unknown {
  class BoundServer extends Server {
    constructor(handler?: Handler) {
      super(link, handler);
    }
  }
  return {
    createServer: (options?: Handler | object, handler?: Handler) => createServer(link, options, handler),
    Server: BoundServer,
    STATUS_CODES,
  };
}
