// Plain HTTP requests to the learner's server, sandbox side. The learner's `http.createServer(handler)`
// (or express app) is a façade running in the page (site/scripts/playground/server-runtime/http.ts);
// here the request is read (its body bounded and timed), sent to the host (`http-request`), and
// the host's `http-head` / `http-write` / `http-end` are run on the REAL ServerResponse in order:
// Node's http server writes the status line, the headers and the chunked encoding, and the tap
// shows those bytes as it shows any scenario's. Nothing is buffered here, so a response streams as
// the host writes it (Server-Sent Events); a client that goes away is told to the host
// (`http-close`). Bounds: body size and time, concurrent requests per session, the time to the
// head, bytes per response, bytes per second per session, and bytes a client leaves unread.
// No learner code runs here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HTTP_HEAD_TIMEOUT_MS, HTTP_MAX_CONCURRENT_REQUESTS, HTTP_MAX_REQUEST_BODY } from '#protocol/host';
import type { HostToSandboxHttp, SandboxToHost } from '#protocol/host';
import type { Session } from '../sessions.ts';
import { connOf, sendJson } from '../scenarios/common.ts';
import type { RouteContext, ScenarioEnv } from '../scenarios/common.ts';
import type { HttpRefusal } from './http-commands.ts';

/**
 * Time limits of the relay; integration tests shorten them (one app per test file, in its own
 * worker). `headMs`: the host's head (or first write); `bodyMs`: reading a request body.
 */
export const httpRelayTimes = { headMs: HTTP_HEAD_TIMEOUT_MS, bodyMs: 10_000 };

/** Bytes of one response (body), in multiples of maxSendBuffer (8 MiB by default). */
const RESPONSE_BYTES_FACTOR = 8;

/** What the relay needs of a session's host (learner-server.ts's LearnerHost). */
export interface HttpHost {
  readonly session: Session;
  send(message: SandboxToHost): void;
  /** A new id, from the counter of the host channel's ids. */
  id(): number;
  /** True for ids the channel issued (a command for a request gone meanwhile is not an error). */
  issued(id: number): boolean;
}

export interface HttpRelay {
  /** A request for the learner's server (a host is connected). */
  handleRequest(host: HttpHost, req: IncomingMessage, res: ServerResponse, ctx: RouteContext): void;
  /** Runs one validated command (its decoded payload apart); refusals are sent to the host. */
  execute(host: HttpHost, cmd: HostToSandboxHttp, payload: Buffer | undefined): void;
  /** A command over the host's command rate: its response lost bytes, so it is cut. */
  cut(host: HttpHost, r: number): void;
  /**
   * The host left: responses not begun get 503 `message`, the others are cut (as a server process
   * that stops). With no message (the session ended), every response is cut.
   */
  drop(host: HttpHost, message?: string): void;
}

interface Exchange {
  r: number;
  host: HttpHost;
  req: IncomingMessage;
  res: ServerResponse;
  conn: string | undefined;
  /** Head timer, until the host's head or first write. */
  timer: NodeJS.Timeout | null;
  /** The host sent its head (or wrote, which sends the implicit head). */
  head: boolean;
  /** The host ended the response (`http-end`). */
  ended: boolean;
  /** Body bytes the host wrote. */
  sent: number;
}

interface HostState {
  exchanges: Map<number, Exchange>;
  /** Bytes per second of every response of the session: a bucket of bytes. */
  tokens: number;
  last: number;
}

const EXCHANGE = Symbol('httpExchange');
type RelayedResponse = ServerResponse & { [EXCHANGE]?: Exchange };

/** Request headers as a flat record (lower-case names; repeated headers joined as Node does). */
function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** The request target without the session prefix (`/s/<id>/x?y` → `/x?y`), query kept as sent. */
function targetOf(req: IncomingMessage, session: Session): string {
  const url = req.url ?? '/';
  const prefix = `/s/${session.id}`;
  return url.startsWith(prefix + '/') ? url.slice(prefix.length) : url;
}

const kib = (n: number) => `${Math.round(n / 1024)}\u00a0Kio`;

export function createHttpRelay(env: ScenarioEnv): HttpRelay {
  const { limits } = env;
  const states = new WeakMap<HttpHost, HostState>();
  const maxResponseBytes = RESPONSE_BYTES_FACTOR * limits.maxSendBuffer;
  // A server writes what it answers: the bytes a client may leave unread, per second, and twice that at once.
  const bytesPerSecond = limits.maxSendBuffer;
  const bytesBurst = 2 * limits.maxSendBuffer;

  function stateOf(host: HttpHost): HostState {
    let state = states.get(host);
    if (!state) {
      state = { exchanges: new Map(), tokens: bytesBurst, last: Date.now() };
      states.set(host, state);
    }
    return state;
  }

  const refuse = (host: HttpHost, refusal: HttpRefusal) => host.send({ t: 'error', ...refusal });

  // Shared listeners (`this` is the request or the response): the exchange lives on the response.
  function onResponseClose(this: ServerResponse): void {
    const ex = (this as RelayedResponse)[EXCHANGE];
    if (!ex) return;
    (this as RelayedResponse)[EXCHANGE] = undefined;
    if (ex.timer) clearTimeout(ex.timer);
    ex.timer = null;
    states.get(ex.host)?.exchanges.delete(ex.r);
    if (!ex.ended) ex.host.send({ t: 'http-close', r: ex.r });
  }

  function onHeadTimeout(ex: Exchange): void {
    ex.timer = null;
    if (ex.head || ex.res.headersSent || ex.res.destroyed) return;
    const seconds = Math.round(httpRelayTimes.headMs / 100) / 10;
    ex.host.session.info(
      `Le serveur de la leçon n’a pas répondu à la requête ${ex.req.method} ${targetOf(ex.req, ex.host.session).slice(0, 80)} en ${seconds}\u00a0s (504).`,
      ex.conn,
    );
    sendJson(ex.res, 504, {
      error: `Le serveur de la leçon ne répond pas\u00a0: aucune réponse en ${seconds}\u00a0s (appelle-t-il res.end()\u202f?).`,
    });
  }

  /** Cuts a response (the client sees it end abruptly, as when a server process stops). */
  function cutExchange(ex: Exchange): void {
    if (!ex.res.destroyed) ex.res.destroy();
  }

  /** Counts `n` body bytes of `ex` against the response and session bounds; false (and cut) past them. */
  function spend(ex: Exchange, n: number): boolean {
    const { host } = ex;
    const state = stateOf(host);
    ex.sent += n;
    if (ex.sent > maxResponseBytes) {
      const message = `Réponse HTTP trop grande\u00a0: au plus ${Math.round(maxResponseBytes / 1048576)}\u00a0Mio par réponse. Réponse interrompue.`;
      host.session.limit({ conn: ex.conn, limit: 'payload', action: 'http cut', message });
      refuse(host, { id: 'HOST_ERR_TOO_BIG', message, r: ex.r });
      cutExchange(ex);
      return false;
    }
    const now = Date.now();
    state.tokens = Math.min(bytesBurst, state.tokens + (Math.max(0, now - state.last) / 1000) * bytesPerSecond);
    state.last = now;
    if (state.tokens < n) {
      const message = `Réponses HTTP trop rapides\u00a0: au plus ${kib(bytesPerSecond)} par seconde pour la session. Réponse interrompue.`;
      host.session.limit({ conn: ex.conn, limit: 'rate', action: 'http cut', message });
      refuse(host, { id: 'HOST_ERR_RATE', message, r: ex.r });
      cutExchange(ex);
      return false;
    }
    state.tokens -= n;
    return true;
  }

  /** False (and the response cut, limit reported) when the client leaves more than maxSendBuffer bytes unread. */
  function checkReader(ex: Exchange): boolean {
    if (ex.res.writableLength <= limits.maxSendBuffer) return true;
    const message = `Le client ne lit pas la réponse\u00a0: plus de ${kib(limits.maxSendBuffer)} en attente. Réponse interrompue.`;
    ex.host.session.limit({ conn: ex.conn, limit: 'buffer', action: 'http cut', message });
    cutExchange(ex);
    return false;
  }

  /** The host's head broke a rule Node enforces: reported, and the client gets 502 if nothing was sent. */
  function badHead(ex: Exchange, err: unknown): void {
    refuse(ex.host, {
      id: 'HOST_ERR_BAD_HEADER',
      message: `En-tête de réponse refusé\u00a0: ${String((err as Error)?.message ?? err)}`.slice(0, 300),
      r: ex.r,
    });
    if (ex.res.headersSent) cutExchange(ex);
    else sendJson(ex.res, 502, { error: 'Réponse invalide du serveur de la leçon (en-têtes refusés).' });
  }

  function mismatch(ex: Exchange, err: unknown): void {
    const code = (err as { code?: string })?.code;
    refuse(ex.host, {
      id: code === 'ERR_HTTP_CONTENT_LENGTH_MISMATCH' ? 'HOST_ERR_CONTENT_LENGTH' : 'HOST_ERR_BAD_FIELD',
      message: `Écriture refusée\u00a0: ${String((err as Error)?.message ?? err)}`.slice(0, 300),
      r: ex.r,
    });
    cutExchange(ex);
  }

  function send(host: HttpHost, req: IncomingMessage, res: ServerResponse, body: Buffer, conn: string | undefined): void {
    if (res.destroyed || req.destroyed) return;
    const state = stateOf(host);
    const r = host.id();
    const ex: Exchange = { r, host, req, res, conn, timer: null, head: false, ended: false, sent: 0 };
    ex.timer = setTimeout(onHeadTimeout, httpRelayTimes.headMs, ex);
    state.exchanges.set(r, ex);
    (res as RelayedResponse)[EXCHANGE] = ex;
    res.once('close', onResponseClose);
    // A wrong Content-Length is refused, not sent (Node's default would write a broken response).
    res.strictContentLength = true;
    host.send({
      t: 'http-request',
      r,
      method: req.method ?? 'GET',
      url: targetOf(req, host.session),
      httpVersion: req.httpVersion,
      headers: headersOf(req),
      remoteAddress: req.socket.remoteAddress ?? '',
      body: body.toString('base64'),
      conn: conn ?? null,
    });
  }

  function tooBig(session: Session, res: ServerResponse, conn: string | undefined): void {
    const message = `Corps de requête trop grand\u00a0: au plus ${kib(HTTP_MAX_REQUEST_BODY)} pour le serveur de la leçon.`;
    session.limit({ conn, limit: 'payload', action: 'http 413', message });
    // The rest of the body is not read: the connection ends with the answer.
    sendJson(res, 413, { error: message }, { Connection: 'close' });
  }

  return {
    handleRequest(host, req, res, { session }) {
      const conn = connOf(env, req);
      const state = stateOf(host);
      if (state.exchanges.size >= HTTP_MAX_CONCURRENT_REQUESTS) {
        const message = `Trop de requêtes HTTP en cours pour le serveur de la leçon (au plus ${HTTP_MAX_CONCURRENT_REQUESTS}).`;
        session.limit({ conn, limit: 'connections', action: 'http 429', message });
        sendJson(res, 429, { error: message }, { 'Retry-After': '5' });
        return;
      }
      const declared = req.headers['content-length'];
      const chunked = req.headers['transfer-encoding'] !== undefined;
      if (declared !== undefined && Number(declared) > HTTP_MAX_REQUEST_BODY) {
        tooBig(session, res, conn);
        return;
      }
      if (!chunked && (declared === undefined || Number(declared) === 0)) {
        // No body: nothing to wait for (the request is consumed, as Node needs for keep-alive).
        req.resume();
        send(host, req, res, Buffer.alloc(0), conn);
        return;
      }
      // The body, bounded and within a time limit (one closure per request while it is read).
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (): boolean => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        req.off('data', onData);
        req.off('end', onEnd);
        req.off('close', onGone);
        return true;
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > HTTP_MAX_REQUEST_BODY) {
          if (finish()) tooBig(session, res, conn);
          return;
        }
        chunks.push(chunk);
      };
      const onEnd = () => {
        if (finish()) send(host, req, res, Buffer.concat(chunks, size), conn);
      };
      const onGone = () => {
        finish();
      };
      const timer = setTimeout(() => {
        if (!finish()) return;
        const message = `Corps de requête trop lent\u00a0: il doit arriver en entier en ${httpRelayTimes.bodyMs / 1000}\u00a0s.`;
        session.limit({ conn, limit: 'timeout', action: 'http 408', message });
        sendJson(res, 408, { error: message }, { Connection: 'close' });
      }, httpRelayTimes.bodyMs);
      req.on('data', onData);
      req.on('end', onEnd);
      req.on('close', onGone);
    },

    execute(host, cmd, payload) {
      const ex = states.get(host)?.exchanges.get(cmd.r);
      if (!ex) {
        if (!host.issued(cmd.r))
          refuse(host, { id: 'HOST_ERR_UNKNOWN_REQUEST', message: `Aucune requête HTTP n°\u00a0${cmd.r}.`, r: cmd.r });
        return;
      }
      const { res } = ex;
      // The response is over (ended by the host, answered by the sandbox, cut): later commands are dropped.
      if (ex.ended || res.destroyed || res.writableEnded) return;
      if (cmd.t === 'http-head') {
        if (ex.head) {
          refuse(host, { id: 'HOST_ERR_HEADERS_SENT', message: 'En-tête de réponse déjà envoyé pour cette requête.', r: cmd.r });
          return;
        }
        ex.head = true;
        if (ex.timer) clearTimeout(ex.timer);
        ex.timer = null;
        try {
          if (cmd.implicit) {
            // What Node turns into the implicit head at the first write or end (a lone end gets a Content-Length).
            res.statusCode = cmd.status;
            if (cmd.message !== undefined) res.statusMessage = cmd.message;
            for (const [name, value] of Object.entries(cmd.headers)) res.setHeader(name, value);
          } else if (cmd.message !== undefined) {
            res.writeHead(cmd.status, cmd.message, cmd.headers);
          } else {
            res.writeHead(cmd.status, cmd.headers);
          }
          if (cmd.flush) res.flushHeaders();
        } catch (err) {
          badHead(ex, err);
        }
        return;
      }
      if (cmd.t === 'http-end' && cmd.destroy) {
        ex.ended = true;
        cutExchange(ex);
        return;
      }
      const bytes = payload ?? Buffer.alloc(0);
      if (!ex.head) {
        // A write before any head: Node sends the implicit one (status 200), so does the real response.
        ex.head = true;
        if (ex.timer) clearTimeout(ex.timer);
        ex.timer = null;
      }
      if (!spend(ex, bytes.length)) return;
      try {
        if (cmd.t === 'http-write') {
          // An empty write sends a head not sent yet (flushHeaders after writeHead).
          res.write(bytes);
        } else {
          ex.ended = true;
          res.end(bytes);
        }
      } catch (err) {
        mismatch(ex, err);
        return;
      }
      checkReader(ex);
    },

    cut(host, r) {
      const ex = states.get(host)?.exchanges.get(r);
      if (ex) cutExchange(ex);
    },

    drop(host, message) {
      const state = states.get(host);
      if (!state) return;
      for (const ex of state.exchanges.values()) {
        if (ex.timer) clearTimeout(ex.timer);
        ex.timer = null;
        if (message && !ex.head && !ex.res.headersSent) sendJson(ex.res, 503, { error: message });
        else cutExchange(ex);
      }
      state.exchanges.clear();
    },
  };
}
