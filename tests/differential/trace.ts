// What a differential run is compared on: per TCP connection, the ordered list of what crossed
// the wire, one line per HTTP head, body piece, WebSocket frame, reassembled message or violation,
// with what legitimately differs between two runs normalised out. Pure: the events come from the
// sandbox's wire decoders (sandbox-server/wire/) in both runs.
//
// Normalised out: masking keys (and frame headers, which hold them), Date / ETag / Host and every
// header not listed below, header order, the session prefix `/s/<id>` of request targets, the
// Engine.IO polling cache buster `t=…`, Engine.IO session ids and Socket.IO socket ids (named
// <eio1>, <sock1>… in order of appearance), connection state recovery's pids and offsets
// (<pid1>, <offset1>…), timestamps and sequence numbers.
// Kept: direction, opcode, FIN, RSV1, masking (yes/no), payloads (text or hex), close codes and
// reasons, HTTP methods, targets, statuses with their reason phrase, bodies, and the headers below.

/** Any decoded event (a monitor event or a ConnectionDecoder item): fields read without narrowing. */
export type WireEvent = Record<string, any> & { type: string };

/** Request headers compared (lower case). */
export const REQUEST_HEADERS = ['origin', 'sec-websocket-protocol', 'content-type'];
/** Response headers compared (lower case), besides every `x-…` header. */
export const RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'transfer-encoding',
  'connection',
  'cache-control',
  'upgrade',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
  'set-cookie',
];

export interface Trace {
  /** One list of lines per TCP connection, in the order the connections sent their first request. */
  connections: string[][];
  /** What the server code printed (`level: text`), in order, without the sandbox's own notes. */
  console: string[];
}

/** A run: its trace, and the sandbox's notes in the server console (`[bac à sable] …`), not compared. */
export interface Run {
  trace: Trace;
  notes: string[];
}

/** The sandbox's own lines in the server console (listening URL, warnings about unsupported options). */
const SANDBOX_NOTE = /^\w+: \[bac à sable\]/;

/**
 * Documented limits of the sandbox (site/scripts/playground/server-runtime/README.md), rewritten in
 * the sandbox's trace before any comparison: each is a deliberate bound, not a fidelity bug.
 * - Engine.IO `maxPayload` in the open packet: socket.io's default `maxHttpBufferSize` (1e6) is
 *   capped at the sandbox's maxPayload (64 KiB); an explicit smaller value travels unchanged (and
 *   over polling, the Content-Length of the response that carries it).
 */
export function sandboxLimits(trace: Trace): Trace {
  const rewrite = (line: string) => {
    const count = line.match(/\\?"maxPayload\\?":65536\b/g)?.length ?? 0;
    if (count === 0) return line;
    // Two more digits each: a polling response's Content-Length grows with them.
    return line
      .replace(/(\\?"maxPayload\\?":)65536\b/g, (_all, key: string) => `${key}1000000`)
      .replace(/content-length: (\d+)/, (_all, n: string) => `content-length: ${Number(n) + 2 * count}`);
  };
  return { connections: trace.connections.map((lines) => lines.map(rewrite)), console: trace.console };
}

/** Engine.IO and Socket.IO ids of a run, in order of appearance, with their placeholders. */
function collectIds(connections: WireEvent[][]): Map<string, string> {
  const ids = new Map<string, string>();
  let eio = 0;
  let sock = 0;
  let offset = 0;
  const add = (id: unknown, label: () => string, min = 8) => {
    if (typeof id === 'string' && id.length >= min && !ids.has(id)) ids.set(id, label());
  };
  // Connection state recovery: a namespace whose CONNECT answer had a pid appends an offset (a
  // yeast id: the time in base 64, 7 characters or more) to each event it sends.
  const recovering = new Set<string>();
  for (const events of connections) {
    for (const e of events) {
      if (e.type !== 'eio') continue;
      const packet = e.sio as { type?: number; nsp?: string; data?: unknown } | undefined;
      if (e.from === 'server' && packet?.type === 0 && (packet.data as { pid?: unknown } | undefined)?.pid)
        recovering.add(packet.nsp ?? '/');
      if (e.from === 'server' && packet?.type === 2 && recovering.has(packet.nsp ?? '/') && Array.isArray(packet.data))
        add(packet.data[packet.data.length - 1], () => `<offset${++offset}>`, 7);
      if (e.packet === 'open' && typeof e.data === 'string') {
        try {
          add((JSON.parse(e.data) as { sid?: unknown }).sid, () => `<eio${++eio}>`);
        } catch {
          // Not JSON: the line shows it as it is.
        }
      }
      const sio = e.sio as { type?: number; data?: { sid?: unknown; pid?: unknown } } | undefined;
      if (e.from === 'server' && sio?.type === 0 && sio.data && typeof sio.data === 'object') {
        add(sio.data.sid, () => `<sock${++sock}>`);
        add(sio.data.pid, () => `<pid${sock}>`);
      }
    }
  }
  return ids;
}

function replaceIds(text: string, ids: Map<string, string>): string {
  let out = text;
  // Longest first: an id may begin with another (yeast offsets of the same millisecond: `X`, then `X.0`).
  for (const [id, label] of [...ids].sort((a, b) => b[0].length - a[0].length)) out = out.split(id).join(label);
  return out;
}

/** Start line and selected headers of an HTTP head, as one line. */
function renderHead(e: WireEvent, prefix: string, norm: (s: string) => string): string {
  const [start, ...lines] = String(e.head).split('\r\n');
  const headers = new Map<string, string[]>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
  }
  let first = start;
  if (e.from === 'client') {
    const [method, target = '', version = ''] = start.split(' ');
    let path = prefix && target.startsWith(prefix) ? target.slice(prefix.length) || '/' : target;
    path = path.replace(/([?&])t=[^&]*/, '$1t=<t>');
    first = `${method} ${path} ${version}`;
  }
  const extra = e.from === 'client' ? [] : [...headers.keys()].filter((name) => name.startsWith('x-')).sort();
  const wanted = [...(e.from === 'client' ? REQUEST_HEADERS : RESPONSE_HEADERS), ...extra];
  const shown = wanted.flatMap((name) => (headers.get(name) ?? []).map((v) => `${name}: ${v}`));
  const body = e.body === undefined ? '' : ` body=${JSON.stringify(e.body)}${e.truncated ? ' (truncated)' : ''}`;
  return norm(`${e.from} ${first}${shown.length ? ` [${shown.join(' | ')}]` : ''}${body}`);
}

function renderFrame(e: WireEvent, norm: (s: string) => string): string {
  const flags = `${e.fin ? '' : ' !FIN'}${e.rsv1 ? ' RSV1' : ''}${e.masked ? ' masked' : ''}`;
  let content: string;
  if (e.opcode === 0x8) content = e.code === undefined ? '(no code)' : `${e.code} ${JSON.stringify(e.reason ?? '')}`;
  else if (typeof e.text === 'string') content = JSON.stringify(e.text);
  else content = `hex:${e.payload}`;
  return norm(`${e.from} ${e.opcodeName}${flags} ${content}${e.truncated ? ' (truncated)' : ''}`);
}

/** The lines of one connection. */
function renderConnection(events: WireEvent[], prefix: string, norm: (s: string) => string): string[] {
  const lines: string[] = [];
  let body: { from: string; text: string } | null = null;
  const flush = () => {
    if (body) lines.push(norm(`${body.from} body-piece ${JSON.stringify(body.text)}`));
    body = null;
  };
  for (const e of events) {
    if (e.type === 'http-body') {
      // Streamed bodies arrive in pieces cut wherever TCP cut them: consecutive pieces are one.
      if (body && body.from === e.from) body.text += e.text;
      else {
        flush();
        body = { from: e.from, text: e.text };
      }
      continue;
    }
    flush();
    switch (e.type) {
      case 'http':
        lines.push(renderHead(e, prefix, norm));
        break;
      case 'frame':
        lines.push(renderFrame(e, norm));
        break;
      case 'message':
        lines.push(
          norm(
            `${e.from} message(${e.opcode === 1 ? 'text' : 'binary'}, ${e.frames} frames${e.compressed ? ', compressed' : ''}) ${
              e.opcode === 1 ? JSON.stringify(e.text) : `hex:${e.data}`
            }`,
          ),
        );
        break;
      case 'violation':
        lines.push(`${e.from} violation ${e.id}`);
        break;
    }
  }
  flush();
  return lines;
}

/**
 * An Engine.IO polling GET answered with a lone noop packet (`6`): engine.io closes the pending poll
 * that way when the transport upgrades to WebSocket. Whether the client had a poll pending at that
 * moment is a matter of timing (how fast the CONNECT answer came), not of what the server wrote.
 */
function isNoopPoll(events: WireEvent[]): boolean {
  const heads = events.filter((e) => e.type === 'http');
  return (
    heads.length === 2 &&
    /^GET \S*[?&]transport=polling\b/.test(String(heads[0].head)) &&
    heads[1].from === 'server' &&
    heads[1].body === '6'
  );
}

/**
 * The trace of a run: `connections` holds each TCP connection's decoded events in order (with the
 * `eio` events, used for the ids only), `prefix` is the path prefix to strip from request targets.
 */
export function buildTrace(connections: WireEvent[][], consoleLines: string[], prefix: string): Run {
  connections = connections.filter((events) => !isNoopPoll(events));
  const ids = collectIds(connections);
  const norm = (s: string) => replaceIds(s, ids);
  return {
    trace: {
      connections: connections.map((events) => renderConnection(events, prefix, norm)).filter((lines) => lines.length > 0),
      console: consoleLines.filter((l) => !SANDBOX_NOTE.test(l)).map(norm),
    },
    notes: consoleLines.filter((l) => SANDBOX_NOTE.test(l)),
  };
}

/**
 * A known difference's rewrite: in every connection, each run of consecutive lines equal to `from`
 * becomes `to`.
 */
export function replaceLines(trace: Trace, from: string[], to: string[]): Trace {
  const connections = trace.connections.map((lines) => {
    const out: string[] = [];
    for (let i = 0; i < lines.length; ) {
      if (from.length > 0 && from.every((l, k) => lines[i + k] === l)) {
        out.push(...to);
        i += from.length;
      } else {
        out.push(lines[i++]);
      }
    }
    return out;
  });
  return { connections, console: trace.console };
}

/** A known difference's rewrite of the console: `to` in place of the lines `from` matches (none: dropped). */
export function replaceConsole(trace: Trace, from: RegExp, to: string[] = []): Trace {
  const out: string[] = [];
  let done = false;
  for (const line of trace.console) {
    if (from.test(line)) {
      if (!done) out.push(...to);
      done = true;
    } else out.push(line);
  }
  return { connections: trace.connections, console: out };
}
