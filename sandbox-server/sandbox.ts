// The sandbox's request and upgrade routing, independent of who owns the http server (our
// production server, or Vite's dev server through the Astro integration):
//   POST /api/sessions                     → 201 {"id"} (429 over the per-IP limit)
//   GET  /api/sessions/<id>                → 200 {"id","endpoints"} or 404
//   WS   /api/sessions/<id>/monitor        → monitor events
//   POST /api/sessions?server=1            → 201 {"id","hostSecret"}: the learner's code is the server
//   WS   /api/sessions/<id>/host           → host channel of such a session (learner-server/)
//   /s/<id>/…                              → scenarios (WebSocket, HTTP feeds, Socket.IO), or the
//                                            learner's server for such a session (every request)
// Everything else is left to the host (static site, Vite, HMR).
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { resolveLimits } from './limits.ts';
import { clientOf, isTrusted } from './proxy.ts';
import type { TrustProxy } from './proxy.ts';
import { recordLimit, STATS } from './stats.ts';
import type { Limits } from './limits.ts';
import { parseNetworkConditions, WS_SCENARIOS } from '#protocol';
import type { NetworkConditions } from '#protocol';
import { NetworkLink } from './network.ts';
import { parseHostPath, parseMonitorPath, parseSessionPath } from './routes.ts';
import { createLearnerServers } from './learner-server/learner-server.ts';
import type { HelloInput } from './monitor.ts';
import { acceptMonitor, MonitorSocket } from './monitor-socket.ts';
import { createGuard } from './guard.ts';
import './ws-receiver-fix.ts';
import { SessionRegistry } from './sessions.ts';
import { createSessionIds, isRouteKey } from './session-ids.ts';
import type { Session } from './sessions.ts';
import { attachTap } from './tap/connection-tap.ts';
import type { Tap } from './tap/connection-tap.ts';
import { createBroadcastScenario } from './scenarios/broadcast.ts';
import { refuseUpgrade, sendJson } from './scenarios/common.ts';
import type { HttpRoute, ScenarioEnv, WsScenario } from './scenarios/common.ts';
import { createControlScenario } from './scenarios/control.ts';
import { createEchoScenario } from './scenarios/echo.ts';
import { createMatchHttpRoute, createMatchScenario } from './scenarios/match.ts';
import { createSocketIoScenario } from './scenarios/socket-io.ts';

export interface SandboxOptions {
  limits?: Partial<Limits>;
  /** Public base URL (e.g. "https://atelier.example"); otherwise built from the Host header. */
  publicUrl?: string;
  /** Proxies trusted to name the client (proxy.ts); null or absent: forwarding headers are ignored. */
  trustProxy?: TrustProxy | null;
  /**
   * Secrets of the session ids (session-ids.ts): the first signs, all verify. Every instance of a
   * cluster needs the same ones. Empty or absent: a random secret for this process.
   */
  sessionSecrets?: readonly string[];
}

export interface Sandbox {
  readonly registry: SessionRegistry;
  readonly tap: Tap;
  readonly limits: Limits;
  /** Answers sandbox paths (/api/, /s/); returns false for the others. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  /** Takes sandbox upgrades; returns false (socket untouched) for the others. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Ends every session (monitors get `end`, learner WebSockets 1001); resolves when they closed or after `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
  /**
   * Starts a drain: new sessions are refused (503), every session's monitors get `draining` with
   * `graceMs`; the sessions go on until shutdown.
   */
  drain(graceMs: number): void;
  readonly draining: boolean;
  /** Open monitor sockets. */
  readonly monitorCount: number;
  /** Why the sandbox does not take new sessions now ('draining', 'memory'), or null when it does. */
  notReady(): 'draining' | 'memory' | null;
}

/** Endpoints listed in `hello`, relative to the session's base URL. */
export const SCENARIO_PATHS = [...WS_SCENARIOS, 'match/poll', 'match/events', 'socket.io/'];

const CORS: Record<string, string> = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, HEAD, POST, OPTIONS',
  'Access-Control-Max-Age': '600',
};

const NO_SESSION = 'Session inconnue ou expirée.';
/** Shortest time between two notices of refused session requests to one IP's sessions. */
const REFUSAL_NOTICE_MS = 5000;

/**
 * Behind the cluster's load balancer (deploy/haproxy.cfg), the route key it chose for a new session
 * and hashed to pick this instance (session-ids.ts). Read from a trusted proxy only.
 */
export const ROUTE_HEADER = 'x-session-route';
/** How many times a POST /api/sessions is sent back to the load balancer for another route key. */
export const MAX_REROUTES = 16;

/** Largest body of POST /api/sessions (`{"network":{…}}` needs about 100 bytes). */
const MAX_SESSION_BODY = 2048;

/** Reads a request body of at most `max` bytes: `done(text)`, or `done(null)` past it (the rest is not read). */
function readSmallBody(req: IncomingMessage, max: number, done: (body: string | null) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on('data', (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > max) {
      over = true;
      done(null);
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (!over) done(Buffer.concat(chunks).toString('utf8'));
  });
}

/** The body of POST /api/sessions: empty, or `{"network":{…}}` (protocol.ts parseNetworkConditions). */
export function sessionRequest(body: string): { network: NetworkConditions | null } | { error: string } {
  if (body.trim() === '') return { network: null };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { error: 'Corps de requête invalide\u00a0: attendu du JSON, par exemple {"network":{"latencyMs":200}}.' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { error: 'Corps de requête invalide\u00a0: attendu un objet JSON, par exemple {"network":{"latencyMs":200}}.' };
  }
  const unknown = Object.keys(parsed).filter((k) => k !== 'network');
  if (unknown.length)
    return { error: `Corps de requête invalide\u00a0: champ inconnu «\u00a0${unknown[0].slice(0, 40)}\u00a0» (attendu\u00a0: network).` };
  const result = parseNetworkConditions((parsed as { network?: unknown }).network);
  if ('error' in result) return { error: `Conditions réseau invalides\u00a0: ${result.error}.` };
  return { network: result.conditions };
}

/** `?batch=1` on the monitor URL: every message is a JSON array of events (opt-in). */
export function monitorBatch(url: string): boolean {
  const q = url.indexOf('?');
  return q >= 0 && new URLSearchParams(url.slice(q + 1)).get('batch') === '1';
}

export function createSandbox(server: Server, options: SandboxOptions = {}): Sandbox {
  const limits = resolveLimits(options.limits);
  const registry = new SessionRegistry({ limits, ids: createSessionIds(options.sessionSecrets) });
  const tap: Tap = attachTap(server, {
    lookup: (id) => registry.get(id),
    admitClientFrames: (session, frames) => guard.admitClientFrames(session, frames),
    onClientFlood: (socket, session) => guard.onClientFlood(socket, session),
    decodeClient: (socket, session) => guard.decodeClient(socket, session),
  });
  const guard = createGuard(registry, () => tap, limits);
  const env: ScenarioEnv = { limits, tap };
  const scenarios = new Map<string, WsScenario>();
  for (const s of [
    createEchoScenario(env, false),
    createEchoScenario(env, true),
    createBroadcastScenario(env),
    createMatchScenario(env),
    createControlScenario(env),
  ]) {
    scenarios.set(s.name, s);
  }
  const httpRoutes: HttpRoute[] = [createMatchHttpRoute(env)];
  const socketIo = createSocketIoScenario(env);
  const learnerServers = createLearnerServers(env);
  /** When each IP's sessions were last told of a refused session request. */
  const refusalNoticed = new Map<string, number>();
  /** Open monitors and their sessions. */
  const monitors = new Map<MonitorSocket, Session>();

  const trust = options.trustProxy ?? null;
  let draining = false;

  function baseUrls(req: IncomingMessage, session: Session) {
    let http: string;
    if (options.publicUrl) {
      http = options.publicUrl.replace(/\/+$/, '');
    } else {
      // Behind a trusted proxy, the scheme and host the client used (wss:// when TLS ends at the proxy).
      const client = clientOf(trust, req);
      const host =
        client.host ??
        (req.headers.host && /^[A-Za-z0-9.\-:[\]]{1,255}$/.test(req.headers.host)
          ? req.headers.host
          : `${req.socket.localAddress}:${req.socket.localPort}`);
      const proto = client.proto ?? ((req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http');
      http = `${proto}://${host}`;
    }
    const path = `/s/${session.id}/`;
    return { http: `${http}${path}`, ws: `${http.replace(/^http/, 'ws')}${path}`, socketIoPath: `${path}socket.io/` };
  }

  /** Counts the socket against the session and IP limits; answers and reports when refused. */
  function admit(req: IncomingMessage, session: Session): string | null {
    const ip = clientOf(trust, req).ip;
    const refused = registry.admitSocket(session, req.socket, ip);
    if (!refused) return null;
    const message =
      refused === 'connections'
        ? `Trop de connexions ouvertes dans cette session (au plus ${limits.maxConnectionsPerSession}).`
        : refused === 'connection-rate'
          ? `Trop de nouvelles connexions dans cette session\u00a0: au plus ${limits.connectionsPerSecond} par seconde (rafale de ${limits.connectionBurst}).`
          : `Trop de connexions ouvertes depuis votre adresse (au plus ${limits.maxConnectionsPerIp}).`;
    session.limit({ limit: refused, action: 'http 429', message });
    return message;
  }

  function handleRequest(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '/';
    if (url.startsWith('/api/')) {
      api(req, res, url);
      return true;
    }
    const path = parseSessionPath(url);
    if (!path) return false;
    const session = registry.get(path.id);
    if (!path.rest.startsWith('socket.io/')) for (const [k, v] of Object.entries(CORS)) res.setHeader(k, v);
    if (!session) {
      sendJson(res, 404, { error: NO_SESSION });
      return true;
    }
    const learner = learnerServers.isLearner(session);
    // Preflights are the sandbox's (lesson clients are cross-origin only because of it); a learner's
    // server gets the other OPTIONS requests, and its preflights allow the method asked for.
    const preflight = req.headers['access-control-request-method'];
    if (req.method === 'OPTIONS' && !path.rest.startsWith('socket.io/') && (!learner || preflight !== undefined)) {
      const wanted = req.headers['access-control-request-headers'];
      if (typeof wanted === 'string' && wanted.length < 500) res.setHeader('Access-Control-Allow-Headers', wanted);
      if (learner && typeof preflight === 'string' && /^[A-Za-z]{1,20}$/.test(preflight))
        res.setHeader('Access-Control-Allow-Methods', `${preflight}, ${CORS['Access-Control-Allow-Methods']}`);
      res.writeHead(204).end();
      return true;
    }
    const refused = admit(req, session);
    if (refused) {
      sendJson(res, 429, { error: refused }, { 'Retry-After': '10' });
      return true;
    }
    if (learner) {
      // Its Socket.IO server's requests, or relayed to the learner's code (learner-server/http-relay.ts).
      learnerServers.handleRequest(req, res, { session, path });
      return true;
    }
    if (path.rest.startsWith('socket.io/')) {
      socketIo.handleRequest(req, res, session);
      return true;
    }
    const ctx = { session, path };
    for (const route of httpRoutes) if (route(req, res, ctx)) return true;
    if (scenarios.has(path.rest.replace(/\/$/, ''))) {
      sendJson(res, 426, { error: 'Cette adresse attend une connexion WebSocket (en-tête Upgrade: websocket).' }, { Upgrade: 'websocket' });
      return true;
    }
    sendJson(res, 404, { error: `Rien à l’adresse «\u00a0${path.rest}\u00a0» dans cette session.`, endpoints: SCENARIO_PATHS });
    return true;
  }

  function api(req: IncomingMessage, res: ServerResponse, url: string): void {
    const pathname = url.split('?')[0].replace(/\/$/, '');
    if (pathname === '/api/sessions') {
      if (req.method !== 'POST') {
        sendJson(res, 405, { error: 'Méthode non autorisée\u00a0: utilisez POST.' }, { Allow: 'POST' });
        return;
      }
      const learnerServer = new URLSearchParams(url.split('?')[1] ?? '').get('server') === '1';
      readSmallBody(req, MAX_SESSION_BODY, (body) => {
        if (body === null) {
          sendJson(res, 413, { error: `Corps de requête trop grand (au plus ${MAX_SESSION_BODY}\u00a0octets).` }, { Connection: 'close' });
          return;
        }
        const asked = sessionRequest(body);
        if ('error' in asked) {
          sendJson(res, 400, { error: asked.error });
          return;
        }
        createSession(req, res, learnerServer, asked.network);
      });
      return;
    }
    const m = /^\/api\/sessions\/([^/]+)$/.exec(pathname);
    if (m && (req.method === 'GET' || req.method === 'HEAD')) {
      const session = registry.get(m[1]);
      if (!session) sendJson(res, 404, { error: NO_SESSION });
      else {
        const { session: id, ...rest } = helloOf(req, session);
        sendJson(res, 200, { id, ...rest });
      }
      return;
    }
    if (parseMonitorPath(url)) {
      sendJson(res, 426, { error: 'Le moniteur est une connexion WebSocket.' }, { Upgrade: 'websocket' });
      return;
    }
    sendJson(res, 404, { error: 'Point d’accès inconnu.' });
  }

  /** The route key the cluster's load balancer chose for this new session, or undefined (none, or not from a trusted proxy). */
  function routeKeyOf(req: IncomingMessage): string | undefined {
    const value = req.headers[ROUTE_HEADER];
    return trust && isRouteKey(value) && isTrusted(trust, req.socket.remoteAddress) ? value : undefined;
  }

  /**
   * This instance takes no new session (draining, memory) but the load balancer chose it by hashing
   * a route key it drew for this request: a 307 sends the request back (same method and body,
   * RFC 9110 §15.4.8), the load balancer draws another key, most likely another instance's. Past
   * MAX_REROUTES tries (every instance refuses), false: the caller answers 503.
   */
  function reroute(res: ServerResponse, url: string): boolean {
    const query = new URLSearchParams(url.split('?')[1] ?? '');
    const tries = Number(query.get('reroute') ?? '0');
    if (!Number.isInteger(tries) || tries < 0 || tries >= MAX_REROUTES) return false;
    query.set('reroute', String(tries + 1));
    STATS.sessionsRerouted++;
    sendJson(res, 307, { error: 'Cette instance ne prend plus de session\u00a0: nouvel essai.' }, { Location: `/api/sessions?${query}` });
    return true;
  }

  function createSession(req: IncomingMessage, res: ServerResponse, learnerServer: boolean, network: NetworkConditions | null): void {
    const routeKey = routeKeyOf(req);
    if (draining) {
      if (routeKey && reroute(res, req.url ?? '')) return;
      sendJson(res, 503, { error: 'Le bac à sable redémarre\u00a0: réessayez dans une minute.' }, { 'Retry-After': '30' });
      return;
    }
    const ip = clientOf(trust, req).ip;
    const session = registry.create(ip, routeKey);
    if (session === 'memory') {
      const rerouted = routeKey !== undefined && reroute(res, req.url ?? '');
      recordLimit('memory', { action: rerouted ? 'http 307' : 'http 503' });
      if (rerouted) return;
      const message = 'Le bac à sable est plein pour le moment\u00a0: réessayez dans une minute.';
      sendJson(res, 503, { error: message }, { 'Retry-After': '30' });
      return;
    }
    if (session === 'ip') {
      const message = `Trop de sessions ouvertes depuis votre adresse (au plus ${limits.maxSessionsPerIp})\u00a0: fermez des onglets ou attendez leur expiration.`;
      recordLimit('sessions', { action: 'http 429', ip });
      // Told at most every REFUSAL_NOTICE_MS per IP: a client posting in a loop would otherwise
      // cost a scan of every session and an event per session of that IP per request.
      const now = Date.now();
      if (now - (refusalNoticed.get(ip) ?? 0) >= REFUSAL_NOTICE_MS) {
        if (refusalNoticed.size > 10_000) refusalNoticed.clear();
        refusalNoticed.set(ip, now);
        for (const s of registry.sessionsOf(ip)) s.notice({ limit: 'sessions', action: 'http 429', message });
      }
      sendJson(res, 429, { error: message }, { 'Retry-After': '60' });
      return;
    }
    if (network) {
      session.network = new NetworkLink(network, {
        connOf: (socket) => tap.connInfo(socket)?.conn,
        onDrop: (conn, mode, afterMs) => {
          if (conn) session.emit({ type: 'net-drop', conn, mode, afterMs });
        },
        silentHoldMs: limits.silentHoldMs,
      });
    }
    if (learnerServer) sendJson(res, 201, { id: session.id, hostSecret: learnerServers.enable(session) });
    else sendJson(res, 201, { id: session.id });
  }

  /** What `hello` and GET /api/sessions/<id> say of a session. */
  function helloOf(req: IncomingMessage, session: Session): HelloInput {
    const hello: HelloInput = { session: session.id, endpoints: baseUrls(req, session), scenarios: SCENARIO_PATHS };
    if (session.network) hello.network = session.network.conditions;
    return hello;
  }

  function openMonitor(monitor: MonitorSocket, session: Session, hello: HelloInput, batch: boolean): void {
    session.touch();
    monitors.set(monitor, session);
    session.monitor.subscribe(monitor, hello, { batch });
  }
  // Shared by every monitor (no closure per monitor).
  function onMonitorClose(monitor: MonitorSocket): void {
    const session = monitors.get(monitor);
    monitors.delete(monitor);
    if (!session) return;
    session.monitor.unsubscribe(monitor);
    session.touch();
  }

  function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = req.url ?? '/';
    // An upgrade pipelined behind a request whose answer is not written yet: that answer would be
    // written into the WebSocket, and shown as the upgrade's. No browser does this: cut.
    if ((socket as Duplex & { _httpMessage?: unknown })._httpMessage && (parseSessionPath(url) || parseMonitorPath(url) !== null)) {
      socket.destroy();
      return true;
    }
    const monitorId = parseMonitorPath(url);
    if (monitorId !== null) {
      const session = registry.get(monitorId);
      if (!session) refuseUpgrade(socket, 404, NO_SESSION);
      else if (session.monitor.monitorCount >= limits.maxMonitorsPerSession) {
        refuseUpgrade(socket, 429, `Trop de moniteurs ouverts sur cette session (au plus ${limits.maxMonitorsPerSession}).`);
      } else {
        const hello = helloOf(req, session);
        const batch = monitorBatch(url);
        const accepted = acceptMonitor(req, socket, head, onMonitorClose);
        if (accepted instanceof MonitorSocket) openMonitor(accepted, session, hello, batch);
        else refuseUpgrade(socket, accepted.status, accepted.message, accepted.headers);
      }
      return true;
    }
    const hostId = parseHostPath(url);
    if (hostId !== null) {
      const session = registry.get(hostId);
      if (!session) refuseUpgrade(socket, 404, NO_SESSION);
      else learnerServers.handleHostUpgrade(req, socket, head, session, baseUrls(req, session));
      return true;
    }
    if (url.startsWith('/api/')) {
      refuseUpgrade(socket, 404, 'Point d’accès inconnu.');
      return true;
    }
    const path = parseSessionPath(url);
    if (!path) return false;
    const session = registry.get(path.id);
    if (!session) {
      refuseUpgrade(socket, 404, NO_SESSION);
      return true;
    }
    const refused = admit(req, session);
    if (refused) {
      refuseUpgrade(socket, 429, refused, { 'Retry-After': '10' });
      return true;
    }
    if (learnerServers.isLearner(session)) {
      learnerServers.handleUpgrade(req, socket, head, { session, path });
      return true;
    }
    if (path.rest.startsWith('socket.io/')) {
      socketIo.handleUpgrade(req, socket, head, session);
      return true;
    }
    const scenario = scenarios.get(path.rest.replace(/\/$/, ''));
    if (!scenario) refuseUpgrade(socket, 404, `Pas de scénario «\u00a0${path.rest}\u00a0». Scénarios\u00a0: ${WS_SCENARIOS.join(', ')}.`);
    else scenario.handleUpgrade(req, socket, head, { session, path });
    return true;
  }

  async function shutdown(graceMs = 2000): Promise<void> {
    const sockets = [...registry.allWebSockets(), ...monitors.keys()];
    registry.endAll('shutdown');
    guard.stop();
    for (const s of scenarios.values()) s.close();
    learnerServers.close();
    const deadline = Date.now() + graceMs;
    while (Date.now() < deadline && sockets.some((ws) => ws.readyState !== ws.CLOSED)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const ws of sockets) if (ws.readyState !== ws.CLOSED) ws.terminate();
    tap.detach();
  }

  function drain(graceMs: number): void {
    if (draining) return;
    draining = true;
    for (const session of registry.values()) session.drainNotice(graceMs);
  }

  function notReady(): 'draining' | 'memory' | null {
    if (draining) return 'draining';
    return registry.overMemory() ? 'memory' : null;
  }

  return {
    registry,
    tap,
    limits,
    handleRequest,
    handleUpgrade,
    shutdown,
    drain,
    notReady,
    get draining() {
      return draining;
    },
    get monitorCount() {
      return monitors.size;
    },
  };
}
