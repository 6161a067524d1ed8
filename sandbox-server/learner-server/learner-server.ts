// Sessions whose server is the learner's code. The code runs in the learner's browser (the
// host); the sandbox holds the real endpoints: a real ws WebSocketServer accepts the clients,
// every event on their sockets is relayed to the host over its channel, and the host's commands
// (protocol/host.ts) are executed on the real sockets in order. No learner code runs here.
// Its Socket.IO server works the same way around a real socket.io Server (socket-io-relay.ts), and
// plain HTTP requests around the real ServerResponse (http-relay.ts).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { RawData, WebSocket } from 'ws';
import {
  BUFFERED_SWEEP_MS,
  HOST_AUTH_FAILED,
  HOST_BATCH_MAX_CHARS,
  HOST_BATCH_MAX_COMMANDS,
  hostFrameMax,
  HOST_GONE_CLOSE_CODE,
  HOST_PROTOCOL_ERROR,
  HOST_TAKEN,
  hostFrameText,
  RAW_WRITE_MAX,
} from '#protocol/host';
import type { HostToSandbox, HostToSandboxHttp, HostToSandboxIo, SandboxToHost } from '#protocol/host';
import { TokenBucket } from '../limits.ts';
import type { Limits } from '../limits.ts';
import type { Session } from '../sessions.ts';
import { checkReader, connOf, createWss, flushWrites, sendJson, trackLearnerSocket } from '../scenarios/common.ts';
import type { RouteContext, ScenarioEnv } from '../scenarios/common.ts';
import { isHttpCommand, parseHostMessage, parseHostObject } from './http-commands.ts';
import type { HttpParsed } from './http-commands.ts';
import type { Parsed } from './commands.ts';
import type { IoParsed } from './io-commands.ts';
import { createHttpRelay } from './http-relay.ts';
import { isIoCommand } from './io-commands.ts';
import { createSocketIoRelay } from './socket-io-relay.ts';

/** How long the host has to answer an upgrade (accept/refuse) before the client gets 503. */
export const DECISION_TIMEOUT_MS = 5000;
/** How long a new host channel has to authenticate. */
export const AUTH_TIMEOUT_MS = 5000;
/**
 * Host channels of one session waiting for their `auth` at once: a new one ends the oldest (so a
 * stranger holding channels cannot keep the page's out); each waits AUTH_TIMEOUT_MS at most.
 */
export const MAX_WAITING_HOSTS = 4;
/** Servers kept for the smaller maxPayloads learners' code asked for (one per value; any more are made again). */
const MAX_PAYLOAD_SERVERS = 16;
/** How long a refused host channel has to answer our close frame before it is destroyed. */
const REFUSED_HOST_GRACE_MS = 1000;
/** Refused commands tolerated on one host channel before it is closed (a runaway loop). */
const MAX_REFUSALS = 200;
/** Bytes waiting on the host channel beyond which the host is considered gone (it stopped reading). */
const HOST_BACKLOG_MAX = 8 * 1024 * 1024;

export const NO_HOST_MESSAGE = 'Le serveur de la leçon n’est pas lancé\u00a0: appuyez sur «\u00a0Exécuter\u00a0» dans la page de la leçon.';
export const HOST_GONE_REASON = 'Serveur de la leçon arrêté';
/** What a request still waiting for its response gets (503) when the host leaves. */
export const HOST_GONE_HTTP_MESSAGE = 'Le serveur de la leçon s’est arrêté avant de répondre.';

interface Pending {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  protocols: string[];
  timer: NodeJS.Timeout;
  /** Raw bytes the server code wrote on the socket so far (`write`, bounded by RAW_WRITE_MAX). */
  written: number;
}

/** One session's learner server: its secret, its host channel, its clients. */
class LearnerHost {
  readonly secret: Buffer;
  host: WebSocket | null = null;
  private nextId = 0;
  readonly sockets = new Map<number, WebSocket>();
  readonly pending = new Map<number, Pending>();
  readonly commands: TokenBucket;
  refusals = 0;
  /** Message texts for the host, sent as one frame at the end of the tick (`flushHosts`). */
  out: string[] = [];
  outChars = 0;
  /** Connections whose bufferedAmount is to be reported at the next flush (made on first use). */
  reports: Set<ClientSocket> | null = null;
  /** Host channels not authenticated yet, oldest first (anyone who knows the session id may open one). */
  readonly waiting = new Set<WebSocket>();
  readonly session: Session;

  /** Schedules this host's flush at the end of the tick (one nextTick for every host). */
  readonly flushLater: (lh: LearnerHost) => void;

  constructor(session: Session, limits: Limits, flushLater: (lh: LearnerHost) => void) {
    this.session = session;
    this.flushLater = flushLater;
    this.secret = randomBytes(24);
    // A server answers what it receives: twice the clients' rate, as a burst of replies to a burst.
    this.commands = new TokenBucket(limits.messagesPerSecond * 2, limits.messageBurst * 2);
  }

  id(): number {
    return ++this.nextId;
  }

  /** True for ids this channel issued (a command for a connection closed meanwhile is not an error). */
  issued(c: number): boolean {
    return c <= this.nextId;
  }

  /** Queues a message for the host: the messages of one tick leave in one frame (protocol/host.ts). */
  send(message: SandboxToHost): void {
    const host = this.host;
    if (!host || host.readyState !== host.OPEN) return;
    const text = JSON.stringify(message);
    const out = this.out;
    if (out.length > 0 && (this.outChars + text.length + 1 > HOST_BATCH_MAX_CHARS || out.length >= HOST_BATCH_MAX_COMMANDS)) this.write();
    if (out.length === 0) this.flushLater(this);
    out.push(text);
    this.outChars += text.length + 1;
  }

  /** Writes the queued messages as one frame. */
  write(): void {
    const out = this.out;
    if (out.length === 0) return;
    const text = hostFrameText(out);
    out.length = 0;
    this.outChars = 0;
    const host = this.host;
    if (!host || host.readyState !== host.OPEN) return;
    if (host.bufferedAmount > HOST_BACKLOG_MAX) {
      // The page stopped reading: nothing it would do could be in time any more.
      host.terminate();
      return;
    }
    host.send(text);
  }
}

const HOST = Symbol('learnerHost');
const CLIENT = Symbol('learnerClient');
const BASE_URLS = Symbol('baseUrls');
/** Where the session's endpoints are, for the host's `ready`. */
export interface BaseUrls {
  ws: string;
  http: string;
}
type HostSocket = WebSocket & { [HOST]?: LearnerHost; [BASE_URLS]?: BaseUrls };
interface ClientState {
  host: LearnerHost;
  c: number;
  /** The latest `buffered` query's `q` (the façade's byte count). */
  q: number;
  /** The bufferedAmount last reported to the host. */
  reported: number;
}
type ClientSocket = WebSocket & { [CLIENT]?: ClientState };

export interface LearnerServers {
  /** Puts a new session in learner-server mode; returns the host secret (base64url) for the page. */
  enable(session: Session): string;
  isLearner(session: Session): boolean;
  /** WS /api/sessions/<id>/host. */
  handleHostUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, session: Session, base: BaseUrls): void;
  /** A client's WebSocket to the learner's server (any path under /s/<id>/; Socket.IO's once declared). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: RouteContext): void;
  /**
   * An HTTP request to the learner's server (any path under /s/<id>/): its Socket.IO server's
   * once declared, the others relayed to the host (503 while no host runs).
   */
  handleRequest(req: IncomingMessage, res: ServerResponse, ctx: RouteContext): void;
  close(): void;
}

/** Answers a refused upgrade the way ws's abortHandshake does, so the wire matches a real ws server. */
function abortHandshake(socket: Duplex, status: number, text?: string, headers: Record<string, string> = {}): void {
  const message = text || (STATUS_CODES[status] ?? '');
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.once('error', () => socket.destroy());
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: text/html',
    `Content-Length: ${Buffer.byteLength(message)}`,
  ];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.end(lines.join('\r\n') + '\r\n\r\n' + message);
}

export function createLearnerServers(env: ScenarioEnv): LearnerServers {
  const limits: Limits = env.limits;
  const hosts = new WeakMap<Session, LearnerHost>();
  // The host channel: JSON texts; any command the sandbox's rules accept fits (protocol/host.ts).
  const hostWss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: hostFrameMax(limits.maxPayload),
  });
  // The learner's endpoint: the protocol the host chose travels on the request.
  const CHOSEN = Symbol('chosenProtocol');
  const handleProtocols = (_offered: Set<string>, req: IncomingMessage) =>
    (req as IncomingMessage & { [CHOSEN]?: string | false })[CHOSEN] ?? false;
  const clientWss = createWss(limits, { handleProtocols });
  // ws takes maxPayload per server: one more server for each smaller limit the learner's code
  // asked for (`accept`'s maxPayload), the most recent few kept.
  const smallerPayloadWss = new Map<number, WebSocketServer>();
  function wssFor(maxPayload: number): WebSocketServer {
    if (maxPayload >= limits.maxPayload) return clientWss;
    let wss = smallerPayloadWss.get(maxPayload);
    if (wss) return wss;
    wss = createWss(limits, { handleProtocols, maxPayload });
    smallerPayloadWss.set(maxPayload, wss);
    if (smallerPayloadWss.size > MAX_PAYLOAD_SERVERS) {
      const [oldest] = smallerPayloadWss.keys();
      smallerPayloadWss.delete(oldest as number);
    }
    return wss;
  }
  // The learner's Socket.IO server, when its code declares one.
  const io = createSocketIoRelay(env);
  // Its plain HTTP requests.
  const http = createHttpRelay(env);

  // bufferedAmount reports (protocol/host.ts, HostBuffered): asked for by the host's queries, sent
  // once per connection at the end of the tick, then again while above 0 when the value changed,
  // found by one sweep for every congested connection of the process (no timer per connection).
  const congested = new Set<ClientSocket>();
  let sweepTimer: NodeJS.Timeout | null = null;

  // One process.nextTick for every host with messages waiting (no closure per host or message):
  // the flush runs once the current I/O callback is done (all the messages of one TCP read), before
  // the event loop goes on: no wait for the check phase, and no extra loop turn (a pending
  // setImmediate makes libuv poll once more without waiting). Both measured the same sandbox CPU
  // per relayed echo at low load (bench/RESULTS.md, 2026-12-07 07:00–07:09).
  const toFlush = new Set<LearnerHost>();
  function flushLater(lh: LearnerHost): void {
    if (toFlush.size === 0) process.nextTick(flushHosts);
    toFlush.add(lh);
  }
  function flushHosts(): void {
    for (const lh of toFlush) {
      toFlush.delete(lh);
      addReports(lh);
      lh.write();
    }
  }

  function reportLater(ws: ClientSocket, l: ClientState): void {
    const lh = l.host;
    (lh.reports ??= new Set()).add(ws);
    flushLater(lh);
  }

  /** Before a host's frame leaves: the bufferedAmount reports asked for in this tick go with it. */
  function addReports(lh: LearnerHost): void {
    const reports = lh.reports;
    if (!reports) return;
    lh.reports = null;
    for (const ws of reports) {
      const l = ws[CLIENT] as ClientState;
      if (lh.sockets.get(l.c) !== ws) continue; // closed meanwhile: the host had `closed`
      const bytes = ws.bufferedAmount;
      l.reported = bytes;
      lh.send({ t: 'buffered', c: l.c, bytes, q: l.q });
      if (bytes > 0) congested.add(ws);
      else congested.delete(ws);
    }
    if (congested.size > 0 && !sweepTimer) sweepTimer = setInterval(sweepCongested, BUFFERED_SWEEP_MS).unref();
  }

  function sweepCongested(): void {
    for (const ws of congested) {
      const l = ws[CLIENT] as ClientState;
      if (l.host.sockets.get(l.c) !== ws || !l.host.host) congested.delete(ws);
      else if (ws.bufferedAmount !== l.reported) reportLater(ws, l);
    }
    if (congested.size === 0 && sweepTimer) {
      clearInterval(sweepTimer);
      sweepTimer = null;
    }
  }

  function hostGone(lh: LearnerHost): void {
    lh.host = null;
    lh.out.length = 0;
    lh.outChars = 0;
    lh.reports = null;
    io.drop(lh);
    http.drop(lh, HOST_GONE_HTTP_MESSAGE);
    for (const [c, p] of lh.pending) {
      clearTimeout(p.timer);
      lh.pending.delete(c);
      abortHandshake(p.socket, 503, NO_HOST_MESSAGE);
    }
    for (const ws of lh.sockets.values()) {
      flushWrites(ws);
      ws.close(HOST_GONE_CLOSE_CODE, HOST_GONE_REASON);
    }
    if (!lh.session.ended) lh.session.info('Serveur de la leçon arrêté\u00a0: ses connexions sont fermées (1012).');
  }

  function onHostMessage(this: HostSocket, data: RawData, isBinary: boolean): void {
    const lh = this[HOST];
    if (!lh) return;
    if (isBinary) {
      handleCommand(this, lh, null);
      return;
    }
    const text = data.toString();
    // A batch (protocol/host.ts): its commands one after the other, as if each had come alone.
    if (text.charCodeAt(0) === 0x5b /* [ */) {
      let batch: unknown;
      try {
        batch = JSON.parse(text);
      } catch {
        handleCommand(this, lh, { ok: false, refusal: { id: 'HOST_ERR_BAD_JSON', message: 'Commande illisible (JSON invalide).' } });
        return;
      }
      const list = batch as unknown[];
      if (list.length > HOST_BATCH_MAX_COMMANDS) {
        handleCommand(this, lh, {
          ok: false,
          refusal: { id: 'HOST_ERR_TOO_BIG', message: `Lot de commandes trop grand : au plus ${HOST_BATCH_MAX_COMMANDS} par message.` },
        });
        return;
      }
      for (const o of list) if (!handleCommand(this, lh, parseHostObject(o, limits))) return;
      return;
    }
    handleCommand(this, lh, parseHostMessage(text, limits));
  }

  /** One command (null: a binary message). False when the channel is no longer heard (refused, closed). */
  function handleCommand(hs: HostSocket, lh: LearnerHost, parsed: Parsed | IoParsed | HttpParsed | null): boolean {
    if (!parsed?.ok) {
      const refusal = parsed ? parsed.refusal : { id: 'HOST_ERR_BAD_JSON' as const, message: 'Les commandes sont des messages texte.' };
      if (lh.host !== hs) {
        refuseHost(hs, lh, HOST_AUTH_FAILED, 'Authentification attendue');
        return false;
      }
      lh.send({ t: 'error', ...refusal });
      if (++lh.refusals > MAX_REFUSALS) {
        lh.write();
        hs.close(HOST_PROTOCOL_ERROR, 'Trop de commandes refusées');
        return false;
      }
      return true;
    }
    const cmd = parsed.command;
    if (lh.host !== hs) {
      authenticate(hs, lh, cmd);
      return lh.host === hs;
    }
    if (hs.readyState !== hs.OPEN) return false;
    if (cmd.t === 'auth') return true;
    // A bufferedAmount query makes no frame and its answers are coalesced: not charged.
    if (cmd.t !== 'buffered' && !lh.commands.take()) {
      const c = 'c' in cmd ? cmd.c : undefined;
      // A response missing a write is broken: it is cut rather than left to end without it.
      const r = isHttpCommand(cmd) ? cmd.r : undefined;
      if (r !== undefined) http.cut(lh, r);
      lh.send({
        t: 'error',
        id: 'HOST_ERR_RATE',
        message: `Trop de commandes\u00a0: au plus ${limits.messagesPerSecond * 2} par seconde.`,
        c,
        r,
      });
      return true;
    }
    if (isHttpCommand(cmd)) http.execute(lh, cmd, 'payload' in parsed ? parsed.payload : undefined);
    else if (isIoCommand(cmd)) io.execute(lh, cmd, 'args' in parsed ? parsed.args : undefined);
    else execute(lh, cmd, 'payload' in parsed ? parsed.payload : undefined);
    return true;
  }

  /**
   * Ends a channel that may not be the host: out of the waiting ones at once, a close frame with
   * the reason, and the socket destroyed a second later if the peer does not answer it (ws would
   * wait 30 s).
   */
  function refuseHost(ws: WebSocket, lh: LearnerHost, code: number, reason: string): void {
    lh.waiting.delete(ws);
    ws.close(code, reason);
    setTimeout(() => ws.terminate(), REFUSED_HOST_GRACE_MS).unref();
  }

  function authenticate(ws: HostSocket, lh: LearnerHost, cmd: HostToSandbox): void {
    const given = cmd.t === 'auth' ? Buffer.from(cmd.secret, 'base64url') : Buffer.alloc(0);
    if (given.length !== lh.secret.length || !timingSafeEqual(given, lh.secret)) {
      refuseHost(ws, lh, HOST_AUTH_FAILED, 'Secret invalide');
      return;
    }
    if (lh.host) {
      refuseHost(ws, lh, HOST_TAKEN, 'Un autre hôte tient déjà cette session');
      return;
    }
    lh.waiting.delete(ws);
    lh.host = ws;
    lh.refusals = 0;
    const base = ws[BASE_URLS];
    lh.send({
      t: 'ready',
      ws: base?.ws ?? '',
      http: base?.http ?? '',
      maxPayload: limits.maxPayload,
      frameMax: hostWss.options.maxPayload as number,
    });
    lh.session.info('Serveur de la leçon lancé.');
  }

  function execute(lh: LearnerHost, cmd: Exclude<HostToSandbox, HostToSandboxIo | HostToSandboxHttp>, payload: Buffer | undefined): void {
    if (cmd.t === 'auth') return;
    if (cmd.t === 'write') {
      const p = lh.pending.get(cmd.c);
      if (!p) {
        if (!lh.issued(cmd.c))
          lh.send({ t: 'error', id: 'HOST_ERR_UNKNOWN_CONNECTION', message: `Aucune demande de connexion n°\u00a0${cmd.c}.`, c: cmd.c });
        return;
      }
      const bytes = payload as Buffer;
      if (p.written + bytes.length > RAW_WRITE_MAX) {
        lh.send({
          t: 'error',
          id: 'HOST_ERR_TOO_BIG',
          message: `Au plus ${RAW_WRITE_MAX}\u00a0octets écrits à la main sur une demande de connexion.`,
          c: cmd.c,
        });
        return;
      }
      p.written += bytes.length;
      if (p.socket.writable) p.socket.write(bytes);
      // The server code answered by hand (a refusal, or a 101 it wrote itself): nothing will read
      // this socket for it, so the sandbox reads and drops what the client sends from now on. The
      // monitor sees those bytes (frames after a hand-written 101 are decoded and shown).
      p.socket.resume();
      return;
    }
    if (cmd.t === 'accept' || cmd.t === 'refuse' || cmd.t === 'destroy') {
      const p = lh.pending.get(cmd.c);
      if (!p) {
        if (!lh.issued(cmd.c))
          lh.send({ t: 'error', id: 'HOST_ERR_UNKNOWN_CONNECTION', message: `Aucune demande de connexion n°\u00a0${cmd.c}.`, c: cmd.c });
        return;
      }
      lh.pending.delete(cmd.c);
      clearTimeout(p.timer);
      if (cmd.t === 'destroy') {
        p.socket.destroy();
        return;
      }
      if (cmd.t === 'refuse') {
        abortHandshake(p.socket, cmd.status, cmd.message, cmd.headers);
        return;
      }
      if (cmd.protocol !== undefined && !p.protocols.includes(cmd.protocol)) {
        lh.send({
          t: 'error',
          id: 'HOST_ERR_BAD_FIELD',
          message: `Sous-protocole «\u00a0${cmd.protocol.slice(0, 40)}\u00a0» non proposé par le client.`,
          c: cmd.c,
        });
        abortHandshake(p.socket, 500);
        return;
      }
      (p.req as IncomingMessage & { [CHOSEN]?: string | false })[CHOSEN] = cmd.protocol ?? false;
      const maxPayload = Math.min(cmd.maxPayload || limits.maxPayload, limits.maxPayload);
      wssFor(maxPayload).handleUpgrade(p.req, p.socket, p.head, (ws) => opened(lh, cmd.c, ws as ClientSocket, p.req, maxPayload));
      return;
    }
    const ws = lh.sockets.get(cmd.c);
    if (!ws) {
      if (!lh.issued(cmd.c))
        lh.send({ t: 'error', id: 'HOST_ERR_UNKNOWN_CONNECTION', message: `Aucune connexion n°\u00a0${cmd.c}.`, c: cmd.c });
      return;
    }
    if (cmd.t === 'buffered') {
      const l = (ws as ClientSocket)[CLIENT] as ClientState;
      l.q = cmd.q;
      reportLater(ws as ClientSocket, l);
      return;
    }
    // Commands for a connection that is closing are dropped, as ws drops them (send calls back with an error).
    if (ws.readyState !== ws.OPEN && cmd.t !== 'terminate') return;
    switch (cmd.t) {
      case 'send':
        if (!checkReader(ws, lh.session, limits)) return;
        ws.send(payload as Buffer, { binary: cmd.binary, fin: cmd.fin !== false });
        return;
      case 'ping':
        ws.ping(payload);
        return;
      case 'pong':
        ws.pong(payload);
        return;
      case 'close':
        ws.close(cmd.code, cmd.reason);
        return;
      case 'terminate':
        flushWrites(ws);
        ws.terminate();
        return;
    }
  }

  function opened(lh: LearnerHost, c: number, ws: ClientSocket, req: IncomingMessage, maxPayload: number): void {
    ws[CLIENT] = { host: lh, c, q: 0, reported: 0 };
    lh.sockets.set(c, ws);
    // The `limit` event of a message over maxPayload names the limit this connection has.
    const own = maxPayload === limits.maxPayload ? env : { ...env, limits: { ...limits, maxPayload } };
    trackLearnerSocket(ws, req, lh.session, own, relayMessage);
    ws.on('error', relayError);
    ws.on('ping', relayPing);
    ws.on('pong', relayPong);
    ws.on('close', relayClose);
  }

  return {
    enable(session) {
      const lh = new LearnerHost(session, limits, flushLater);
      hosts.set(session, lh);
      session.onEnd(() => {
        for (const p of lh.pending.values()) {
          clearTimeout(p.timer);
          p.socket.destroy();
        }
        lh.pending.clear();
        io.drop(lh);
        http.drop(lh);
        lh.write();
        lh.host?.close(1001, 'Session terminée');
      });
      return lh.secret.toString('base64url');
    },
    isLearner: (session) => hosts.has(session),
    handleHostUpgrade(req, socket, head, session, base) {
      const lh = hosts.get(session);
      if (!lh) {
        abortHandshake(socket, 404, 'Cette session n’a pas de serveur de leçon.');
        return;
      }
      hostWss.handleUpgrade(req, socket, head, (ws) => {
        const hs = ws as HostSocket;
        hs[HOST] = lh;
        hs[BASE_URLS] = base;
        lh.waiting.add(hs);
        if (lh.waiting.size > MAX_WAITING_HOSTS) {
          const oldest = lh.waiting.values().next().value as WebSocket;
          lh.waiting.delete(oldest);
          oldest.terminate();
        }
        const timer = setTimeout(() => {
          if (lh.host !== hs) refuseHost(hs, lh, HOST_AUTH_FAILED, 'Authentification attendue');
        }, AUTH_TIMEOUT_MS);
        hs.on('message', onHostMessage);
        hs.on('error', () => hs.terminate());
        hs.on('close', () => {
          clearTimeout(timer);
          lh.waiting.delete(hs);
          if (lh.host === hs) hostGone(lh);
        });
      });
    },
    handleRequest(req, res, ctx) {
      const lh = hosts.get(ctx.session);
      if (io.serves(lh, ctx.path.rest)) {
        io.handleRequest(lh, req, res);
        return;
      }
      if (!lh?.host) {
        ctx.session.info(`Requête HTTP refusée (503)\u00a0: ${NO_HOST_MESSAGE}`, connOf(env, req));
        req.resume();
        sendJson(res, 503, { error: NO_HOST_MESSAGE }, { 'Retry-After': '5' });
        return;
      }
      http.handleRequest(lh, req, res, ctx);
    },
    handleUpgrade(req, socket, head, { session, path }) {
      const learner = hosts.get(session);
      if (learner && io.serves(learner, path.rest)) {
        io.handleUpgrade(learner, req, socket, head);
        return;
      }
      // A request ws would refuse before any server code sees it: ws answers it (same bytes).
      if (!acceptableHandshake(req)) {
        clientWss.handleUpgrade(req, socket, head, (ws) => ws.terminate());
        return;
      }
      const lh = hosts.get(session);
      if (!lh?.host) {
        session.info(`Connexion refusée (503)\u00a0: ${NO_HOST_MESSAGE}`, connOf(env, req));
        abortHandshake(socket, 503, NO_HOST_MESSAGE);
        return;
      }
      const c = lh.id();
      const protocols = parseProtocols(req.headers['sec-websocket-protocol']);
      const timer = setTimeout(() => {
        if (!lh.pending.delete(c)) return;
        session.info('Le serveur de la leçon n’a pas répondu à la demande de connexion en 5\u00a0s (503).', connOf(env, req));
        abortHandshake(socket, 503, 'Le serveur de la leçon ne répond pas.');
      }, DECISION_TIMEOUT_MS);
      lh.pending.set(c, { req, socket, head, protocols, timer, written: 0 });
      socket.once('close', () => {
        const p = lh.pending.get(c);
        if (p && p.socket === socket) {
          clearTimeout(p.timer);
          lh.pending.delete(c);
        }
      });
      const q = path.query.toString();
      lh.send({
        t: 'upgrade',
        c,
        url: '/' + path.rest + (q ? '?' + q : ''),
        headers: headersOf(req),
        protocols,
        remoteAddress: req.socket.remoteAddress ?? '',
        conn: connOf(env, req) ?? null,
      });
    },
    close() {
      if (sweepTimer) clearInterval(sweepTimer);
      sweepTimer = null;
      congested.clear();
      hostWss.close();
      clientWss.close();
      for (const wss of smallerPayloadWss.values()) wss.close();
      smallerPayloadWss.clear();
    },
  };
}

const KEY = /^[+/0-9A-Za-z]{22}==$/;
const PROTOCOL_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The checks ws's handleUpgrade makes before calling server code (method, Upgrade, key, version, subprotocols). */
function acceptableHandshake(req: IncomingMessage): boolean {
  const version = Number(req.headers['sec-websocket-version']);
  const key = req.headers['sec-websocket-key'];
  const protocols = req.headers['sec-websocket-protocol'];
  if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket') return false;
  if (typeof key !== 'string' || !KEY.test(key) || (version !== 13 && version !== 8)) return false;
  if (protocols === undefined) return true;
  const list = protocols.split(',').map((p) => p.trim());
  return list.every((p) => PROTOCOL_TOKEN.test(p)) && new Set(list).size === list.length;
}

function parseProtocols(header: string | undefined): string[] {
  if (!header) return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
    .slice(0, 16);
}

/** Request headers as a flat record (lower-case names; repeated headers joined as Node does). */
function headersOf(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function payloadFields(data: Buffer | ArrayBuffer | Buffer[], binary: boolean): { data: string; b64?: boolean } {
  const buf = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  return binary ? { data: buf.toString('base64'), b64: true } : { data: buf.toString('utf8') };
}

// Shared listeners (`this` is the client's socket): no closure per connection.
function relayMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
  const l = (this as ClientSocket)[CLIENT];
  if (l) l.host.send({ t: 'message', c: l.c, binary: isBinary, ...payloadFields(data, isBinary) });
}

function relayError(this: WebSocket, err: Error & { code?: unknown }): void {
  const l = (this as ClientSocket)[CLIENT];
  if (!l) return;
  const name = err instanceof RangeError ? 'RangeError' : 'Error';
  l.host.send({ t: 'ws-error', c: l.c, name, message: String(err.message).slice(0, 200), code: String(err.code ?? '').slice(0, 64) });
}

function relayPing(this: WebSocket, data: Buffer): void {
  const l = (this as ClientSocket)[CLIENT];
  if (l) l.host.send({ t: 'ping', c: l.c, ...payloadFields(data, true) });
}

function relayPong(this: WebSocket, data: Buffer): void {
  const l = (this as ClientSocket)[CLIENT];
  if (l) l.host.send({ t: 'pong', c: l.c, ...payloadFields(data, true) });
}

function relayClose(this: WebSocket, code: number, reason: Buffer): void {
  const l = (this as ClientSocket)[CLIENT];
  if (!l) return;
  l.host.sockets.delete(l.c);
  l.host.send({ t: 'closed', c: l.c, code, reason: reason.toString() });
}
