// A sandbox session seen from the page: POST /api/sessions, then the monitor WebSocket that
// streams the MonitorEvents, opened with `?batch=1`: each message is a JSON array of events (the
// first one is `hello`, with the learner endpoints). Listeners get every message as a `message`
// event, including those the server sends as a frame marked `wholeMessage`.
import { messageOfFrame } from '#protocol';
import type { CreateSessionResponse, HelloEvent, MonitorEvent, NetworkConditions } from '#protocol';

export type SessionListener = (event: MonitorEvent) => void;

export class SessionClient {
  private ready: Promise<HelloEvent> | null = null;
  private listeners = new Set<SessionListener>();

  private readonly base: string;
  private readonly server: boolean;
  private readonly network: NetworkConditions | undefined;
  /** Host channel of a learner-server session (its URL and secret), once the session exists. */
  host: { url: string; secret: string } | null = null;

  /**
   * `server`: the session's server is the learner's code (POST /api/sessions?server=1); `network`:
   * the conditions the sandbox applies to every connection of the session (sent in the POST body).
   */
  constructor(base: string = location.origin, options: { server?: boolean; network?: NetworkConditions } = {}) {
    this.base = base;
    this.server = options.server ?? false;
    this.network = options.network;
  }

  /** Adds a listener; returns its removal (bench/browser.ts listens during one run only). */
  onEvent(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves with the hello event of a live session, creating the session and monitor if needed. */
  connect(): Promise<HelloEvent> {
    this.ready ??= this.open().catch((err) => {
      this.ready = null;
      throw err;
    });
    return this.ready;
  }

  private deliver(event: MonitorEvent): void {
    for (const l of this.listeners) l(event);
  }

  private async open(): Promise<HelloEvent> {
    const res = await fetch(new URL(this.server ? '/api/sessions?server=1' : '/api/sessions', this.base), {
      method: 'POST',
      ...(this.network ? { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ network: this.network }) } : {}),
    });
    if (res.status !== 201 && res.status !== 200) {
      // The server's refusals (429, 503) carry a French message for the learner: show it.
      const body = (await res.json().catch(() => null)) as { error?: unknown } | null;
      if (typeof body?.error === 'string' && body.error.length < 300) throw new Error(body.error);
      throw new Error(
        res.status === 429
          ? 'Trop de sessions ouvertes\u00a0: réessayez dans un instant.'
          : `Le bac à sable ne répond pas (HTTP ${res.status}).`,
      );
    }
    const { id, hostSecret } = (await res.json()) as CreateSessionResponse;
    const url = new URL(`/api/sessions/${encodeURIComponent(id)}/monitor`, this.base);
    if (hostSecret) {
      const hostUrl = new URL(`/api/sessions/${encodeURIComponent(id)}/host`, this.base);
      hostUrl.protocol = hostUrl.protocol === 'https:' ? 'wss:' : 'ws:';
      this.host = { url: hostUrl.href, secret: hostSecret };
    }
    // Batched mode (protocol/README.md): each message is a JSON array of the events of one server flush.
    url.searchParams.set('batch', '1');
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(url);
    return new Promise<HelloEvent>((resolve, reject) => {
      socket.onmessage = (msg) => {
        let parsed: MonitorEvent | MonitorEvent[];
        try {
          parsed = JSON.parse(String(msg.data));
        } catch {
          return;
        }
        // Tolerate batched messages (an array of events) as well as one event per message.
        for (const event of Array.isArray(parsed) ? parsed : [parsed]) {
          if (event.type === 'hello') resolve(event);
          this.deliver(event);
          // A one-frame message comes as its frame only: listeners get its `message` event too.
          const message = event.type === 'frame' ? messageOfFrame(event) : null;
          if (message) this.deliver(message);
        }
      };
      socket.onclose = () => {
        // The next connect() opens a new session (reject is a no-op once hello resolved).
        this.ready = null;
        reject(new Error('Le moniteur du bac à sable s’est fermé.'));
      };
    });
  }
}
