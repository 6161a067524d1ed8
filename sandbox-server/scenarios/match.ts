// A live football score feed, one per session, served three ways so a lesson can compare wire cost:
//   WebSocket  /s/<id>/match          a snapshot, then one small JSON event per tick
//   HTTP       /s/<id>/match/poll     a JSON snapshot; ?wait=1 long-polls for the next event
//                                     (?since=<n> answers at once if event n+1 already exists)
//   SSE        /s/<id>/match/events   text/event-stream, one `match` event per tick; with a
//                                     Last-Event-ID header, the remembered events after it first
// `?interval=<ms>` (bounded by the limits) sets the session's feed pace on any of them. The feed's
// timer runs only while someone listens.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebSocket } from 'ws';
import { clamp } from '../limits.ts';
import type { Limits } from '../limits.ts';
import type { Session } from '../sessions.ts';
import { createWss, sendJson, trackLearnerSocket } from './common.ts';
import type { HttpRoute, ScenarioEnv, WsScenario } from './common.ts';

export interface MatchEvent {
  n: number;
  minute: number;
  kind: 'coup d’envoi' | 'but' | 'tir' | 'corner' | 'carton' | 'fin';
  team?: 'home' | 'away';
  score: { home: number; away: number };
}

export interface MatchSnapshot {
  home: string;
  away: string;
  minute: number;
  score: { home: number; away: number };
  /** Number of the last event (0 before the first). */
  n: number;
  last: MatchEvent | null;
}

const HOME = 'Goélands';
const AWAY = 'Castors';
const KEEP = 32;

export class MatchFeed {
  private n = 0;
  private minute = 0;
  private score = { home: 0, away: 0 };
  private readonly recent: MatchEvent[] = [];
  private readonly listeners = new Set<(e: MatchEvent) => void>();
  private timer: NodeJS.Timeout | null = null;
  interval: number;
  private readonly random: () => number;

  constructor(interval: number, random: () => number = Math.random) {
    this.interval = interval;
    this.random = random;
  }

  snapshot(): MatchSnapshot {
    return {
      home: HOME,
      away: AWAY,
      minute: this.minute,
      score: { ...this.score },
      n: this.n,
      last: this.recent.at(-1) ?? null,
    };
  }

  /** Events after number `since` still remembered. */
  since(since: number): MatchEvent[] {
    return this.recent.filter((e) => e.n > since);
  }

  setInterval(ms: number): void {
    if (ms === this.interval) return;
    this.interval = ms;
    if (this.timer) {
      this.stop();
      this.start();
    }
  }

  subscribe(fn: (e: MatchEvent) => void): () => void {
    this.listeners.add(fn);
    this.start();
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0) this.stop();
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private start(): void {
    if (this.timer || this.listeners.size === 0) return;
    this.timer = setInterval(() => this.tick(), this.interval);
  }

  /** Advances the match by one event and tells the listeners. */
  tick(): MatchEvent {
    let kind: MatchEvent['kind'];
    let team: MatchEvent['team'];
    if (this.minute >= 90) {
      this.minute = 0;
      this.score = { home: 0, away: 0 };
      kind = 'coup d’envoi';
    } else {
      this.minute = Math.min(90, this.minute + 1 + Math.floor(this.random() * 5));
      team = this.random() < 0.5 ? 'home' : 'away';
      const r = this.random();
      kind = this.minute === 90 ? 'fin' : r < 0.15 ? 'but' : r < 0.55 ? 'tir' : r < 0.85 ? 'corner' : 'carton';
      if (kind === 'but') this.score[team]++;
      if (kind === 'fin') team = undefined;
    }
    const event: MatchEvent = { n: ++this.n, minute: this.minute, kind, ...(team ? { team } : {}), score: { ...this.score } };
    this.recent.push(event);
    if (this.recent.length > KEEP) this.recent.shift();
    for (const fn of [...this.listeners]) fn(event);
    return event;
  }
}

/** The session's feed, created on first use; `?interval=` adjusts its pace. */
export function feedOf(session: Session, limits: Limits, query: URLSearchParams): MatchFeed {
  const feed = session.getState('match', () => {
    const f = new MatchFeed(limits.matchIntervalDefault);
    session.onEnd(() => f.stop());
    return f;
  });
  const raw = query.get('interval');
  if (raw !== null && raw !== '' && Number.isFinite(Number(raw))) {
    feed.setInterval(clamp(Math.round(Number(raw)), limits.matchIntervalMin, limits.matchIntervalMax));
  }
  return feed;
}

// The subscription is made here, not in the upgrade callback, so it does not keep the request alive.
function follow(ws: WebSocket, feed: MatchFeed): void {
  ws.send(JSON.stringify({ type: 'snapshot', ...feed.snapshot() }));
  const off = feed.subscribe((e) => ws.send(JSON.stringify({ type: 'event', ...e })));
  ws.on('close', off);
}

export function createMatchScenario(env: ScenarioEnv): WsScenario {
  const wss = createWss(env.limits);
  return {
    name: 'match',
    handleUpgrade(req, socket, head, { session, path }) {
      const feed = feedOf(session, env.limits, path.query);
      wss.handleUpgrade(req, socket, head, (ws) => {
        trackLearnerSocket(ws, req, session, env);
        follow(ws, feed);
      });
    },
    close: () => wss.close(),
  };
}

/** GET /s/<id>/match/poll and /s/<id>/match/events. */
export function createMatchHttpRoute(env: ScenarioEnv): HttpRoute {
  return (req, res, { session, path }) => {
    if (path.rest !== 'match/poll' && path.rest !== 'match/events') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'Méthode non autorisée\u00a0: utilisez GET.' }, { Allow: 'GET, HEAD' });
      return true;
    }
    const feed = feedOf(session, env.limits, path.query);
    if (path.rest === 'match/poll') poll(res, feed, path.query, env.limits);
    else sse(req, res, feed);
    return true;
  };
}

function poll(res: ServerResponse, feed: MatchFeed, query: URLSearchParams, limits: Limits): void {
  const wait = query.get('wait') === '1';
  const sinceRaw = query.get('since');
  const since = sinceRaw !== null && /^\d+$/.test(sinceRaw) ? Number(sinceRaw) : null;
  if (!wait || (since !== null && feed.snapshot().n > since)) {
    sendJson(res, 200, { ...feed.snapshot(), events: since !== null ? feed.since(since) : [] });
    return;
  }
  let done = false;
  /** Ends the wait once (event, timeout or client gone); false if it had already ended. */
  const stop = (): boolean => {
    if (done) return false;
    done = true;
    off();
    clearTimeout(timer);
    return true;
  };
  const off = feed.subscribe((e) => {
    if (stop()) sendJson(res, 200, { ...feed.snapshot(), events: [e] });
  });
  const timer = setTimeout(() => {
    if (stop()) res.writeHead(204, { 'Cache-Control': 'no-store' }).end();
  }, limits.longPollMs);
  // The response's close, not the socket's: a keep-alive socket carries many polls, and a listener
  // on it would stay (one more per poll) until the connection ends.
  res.once('close', stop);
}

function sse(req: IncomingMessage, res: ServerResponse, feed: MatchFeed): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store',
    'X-Accel-Buffering': 'no',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const write = (e: MatchEvent) => res.write(`id: ${e.n}\nevent: match\ndata: ${JSON.stringify(e)}\n\n`);
  res.write(`retry: 3000\nevent: snapshot\ndata: ${JSON.stringify(feed.snapshot())}\n\n`);
  // Resumption (WHATWG HTML §9.2.4): a reconnecting EventSource sends the id of the last event it
  // got; the events after it that the feed still remembers (at most KEEP) are replayed first.
  const lastId = req.headers['last-event-id'];
  if (typeof lastId === 'string' && /^\d{1,15}$/.test(lastId)) for (const e of feed.since(Number(lastId))) write(e);
  const off = feed.subscribe(write);
  res.on('close', off);
}
