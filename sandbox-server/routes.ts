// Path shapes the sandbox owns. Pure helpers shared by the router and the tap.

export interface SessionPath {
  id: string;
  /** Path after `/s/<id>/`, without the query (e.g. "echo", "socket.io/", "match/poll"). */
  rest: string;
  query: URLSearchParams;
}

/** Parses `/s/<id>/<rest>?query`; null for other paths. */
export function parseSessionPath(url: string | undefined): SessionPath | null {
  if (!url?.startsWith('/s/')) return null;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const slash = path.indexOf('/', 3);
  if (slash < 0) return null;
  return { id: path.slice(3, slash), rest: path.slice(slash + 1), query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)) };
}

/** Parses `/api/sessions/<id>/monitor`; returns the id or null. */
export function parseMonitorPath(url: string | undefined): string | null {
  if (!url) return null;
  const m = /^\/api\/sessions\/([^/?]+)\/monitor\/?(?:\?.*)?$/.exec(url);
  return m ? m[1] : null;
}

/** Parses `/api/sessions/<id>/host` (the learner server's host channel); returns the id or null. */
export function parseHostPath(url: string | undefined): string | null {
  if (!url) return null;
  const m = /^\/api\/sessions\/([^/?]+)\/host\/?(?:\?.*)?$/.exec(url);
  return m ? m[1] : null;
}

/** The `client` label (A, B…) from a query, or null when absent or not a short label. */
export function clientLabel(query: URLSearchParams): string | null {
  const value = query.get('client');
  return value && /^[A-Za-z0-9_-]{1,16}$/.test(value) ? value : null;
}
