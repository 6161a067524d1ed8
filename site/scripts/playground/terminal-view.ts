// Monitor events → styled lines, behind a tiny sink interface so the formatting is testable
// with a plain-text sink and drawn by xterm.js in the page (terminal-xterm.ts).
import { networkConditionsText } from '#protocol';
import type { FrameEvent, MonitorEvent, NetworkConditions } from '#protocol';
import { clientOf, learnClient, type ClientMap } from './checks.ts';
import { frameFaults, headerInfo, type FaultField, type FrameFault } from './frame-diagram.ts';
import { violationText } from './violation-text.ts';

export type Color = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray';
export interface Segment {
  text: string;
  fg?: Color;
  bold?: boolean;
  dim?: boolean;
}
export type StyledLine = Segment[];

export interface TerminalSink {
  write(line: StyledLine): void;
  clear(): void;
}

/** Which kinds of traffic are shown. */
export interface TerminalFilters {
  data: boolean;
  control: boolean;
  heartbeats: boolean;
}

const CLIENT_COLORS: Color[] = ['cyan', 'magenta', 'yellow', 'green', 'blue'];
const DIRECTION_COLOR: Record<'client' | 'server', Color> = { client: 'green', server: 'blue' };

function clientColor(label: string | null | undefined): Color {
  if (!label) return 'gray';
  const i = label.charCodeAt(0) - 65;
  return i >= 0 && i < 26 ? CLIENT_COLORS[i % CLIENT_COLORS.length] : 'gray';
}

const lineText = (line: StyledLine): string => line.map((s) => s.text).join('');

/** "68656c6c6f" → "68 65 6c 6c 6f", cut after `max` bytes with an ellipsis. */
export function spacedHex(hex: string, max = 32): string {
  const bytes = hex.match(/../g) ?? [];
  const shown = bytes.slice(0, max).join(' ');
  return bytes.length > max ? `${shown} … (+${bytes.length - max} o)` : shown;
}

const quote = (s: string, max = 160) => {
  const clean = s.replace(/\r/g, '\\r').replace(/\n/g, '\\n');
  return `«\u00a0${clean.length > max ? clean.slice(0, max) + '…' : clean}\u00a0»`;
};

/** Bytes on the wire of an event, by direction (HTTP heads and bodies, WebSocket frames). */
export function wireBytes(e: MonitorEvent): { from: 'client' | 'server'; bytes: number } | null {
  // A partial frame: only what arrived (its declared length may be an unread zero, or not all there).
  if (e.type === 'frame') return { from: e.from, bytes: e.header.length / 2 + (e.partial ? e.payload.length / 2 : e.length) };
  if (e.type === 'http') return { from: e.from, bytes: e.headLength + (e.bodyLength ?? 0) };
  if (e.type === 'http-body') return { from: e.from, bytes: e.length };
  return null;
}

const dim = (text: string): Segment => ({ text, dim: true });
const isControlOpcode = (op: number) => op >= 8;
const HEARTBEATS = new Set(['ping', 'pong']);

/**
 * Formats monitor events. Keeps the state it needs (Engine.IO heartbeat frames to hide with their
 * annotation, permessage-deflate per connection). Client labels: read from the map it is given (the
 * playground's run state owns and learns it); without one, the formatter learns its own.
 */
export class EventFormatter {
  readonly clients: ClientMap;
  /** Does the formatter learn client labels itself (no map given)? */
  private readonly learns: boolean;
  /** Connections that carry Engine.IO (their "2"/"3" frames are heartbeats). */
  readonly eioConns = new Set<string>();
  filters: TerminalFilters = { data: true, control: true, heartbeats: true };
  /** permessage-deflate per connection, from its 101 answer (tells whether RSV1 is allowed). */
  readonly deflate = new Map<string, boolean>();

  constructor(clients?: ClientMap) {
    this.clients = clients ?? new Map();
    this.learns = !clients;
  }

  /** Fields of a violating frame that break the protocol (none for other frames). */
  faultsOf(e: FrameEvent): FrameFault[] {
    return frameFaults(e, { deflate: this.deflate.get(e.conn) });
  }

  /**
   * Client label of an event, for the prefix: "A", "B"… (per request / Engine.IO session when
   * known, else per connection), "ext." for an external client, "·" for an event without connection.
   */
  labelOf(e: MonitorEvent): { text: string; color: Color } {
    if (!('conn' in e) || typeof e.conn !== 'string') return { text: '·', color: 'gray' };
    const label = clientOf(e, this.clients);
    return label ? { text: label, color: clientColor(label) } : { text: 'ext.', color: 'gray' };
  }

  private prefix(e: MonitorEvent, from?: 'client' | 'server'): Segment[] {
    const who = this.labelOf(e);
    const segs: Segment[] = [{ text: who.text.padEnd(4), fg: who.color, bold: true }];
    if (from) segs.push({ text: from === 'client' ? '→ ' : '← ', fg: DIRECTION_COLOR[from], bold: true });
    else segs.push({ text: '  ' });
    return segs;
  }

  /** Is the event hidden by the current filters? */
  hidden(e: MonitorEvent): boolean {
    if (e.type === 'frame') {
      // A protocol violation is always shown, like the violation event that follows it.
      if (e.violating) return false;
      if (isControlOpcode(e.opcode)) return !this.filters.control;
      if (!this.filters.data) return true;
      if (!this.filters.heartbeats && this.eioConns.has(e.conn) && (e.text === '2' || e.text === '3')) return true;
      return false;
    }
    if (e.type === 'message') return !this.filters.data;
    if (e.type === 'eio') {
      if (HEARTBEATS.has(e.packet)) return !this.filters.heartbeats;
      return !this.filters.data;
    }
    return false;
  }

  /** Lines for one event (empty when filtered out). A map of its own learns from it even when hidden. */
  format(e: MonitorEvent): StyledLine[] {
    if (this.learns) learnClient(e, this.clients);
    if (e.type === 'conn-open' && e.path.startsWith('socket.io')) this.eioConns.add(e.conn);
    if (e.type === 'eio') this.eioConns.add(e.conn);
    if (e.type === 'http' && e.from === 'server' && / 101 /.test(e.head.split('\r\n', 1)[0])) {
      this.deflate.set(e.conn, /^sec-websocket-extensions:.*permessage-deflate/im.test(e.head));
    }
    if (this.hidden(e)) return [];
    switch (e.type) {
      case 'hello':
        return [[{ text: `Session ${e.session} prête — ${e.endpoints.ws}`, fg: 'gray' }]];
      case 'conn-open':
        return [[...this.prefix(e), { text: `● connexion ${e.conn} ouverte depuis ${e.remote} → /${e.path}`, bold: true }]];
      case 'conn-close':
        return [
          [
            ...this.prefix(e),
            { text: `○ connexion ${e.conn} fermée (${e.reason}) — reçu ${e.bytesIn} o, envoyé ${e.bytesOut} o`, fg: 'gray' },
          ],
        ];
      case 'http': {
        const [start, ...headers] = e.head.split('\r\n');
        const lines: StyledLine[] = [
          [
            ...this.prefix(e, e.from),
            { text: 'HTTP ', fg: DIRECTION_COLOR[e.from], bold: true },
            { text: start, bold: true },
            dim(`  (en-tête ${e.headLength} o${e.bodyLength ? `, corps ${e.bodyLength} o` : ''})`),
          ],
        ];
        for (const h of headers) lines.push([{ text: '        ' }, dim(h)]);
        if (e.body) lines.push([{ text: '        ' }, { text: quote(e.body, 400) }]);
        return lines;
      }
      case 'http-body':
        return [[...this.prefix(e, e.from), dim(`corps +${e.length} o `), { text: quote(e.text, 400) }]];
      case 'frame':
        return this.frameLines(e);
      case 'message':
        if (e.frames <= 1 && !e.compressed) return [];
        return [
          [
            ...this.prefix(e, e.from),
            {
              text: `⇒ message ${e.opcode === 1 ? 'texte' : 'binaire'} réassemblé\u00a0: ${e.length} o en ${e.frames} trame${e.frames > 1 ? 's' : ''}${e.compressed ? ', décompressé' : ''} `,
              fg: DIRECTION_COLOR[e.from],
            },
            { text: e.text !== undefined ? quote(e.text) : spacedHex(e.data ?? '', 16) },
          ],
        ];
      case 'eio': {
        const segs: Segment[] = [
          { text: '        ↳ ' },
          { text: `Engine.IO ${e.packet}`, fg: 'magenta' },
          dim(` (${e.transport}${e.sid ? `, sid ${e.sid}` : ''})`),
        ];
        if (e.sio) {
          segs.push({ text: ` · Socket.IO ${e.sio.typeName}`, fg: 'magenta', bold: true });
          segs.push(dim(` nsp ${e.sio.nsp}`));
          if (e.sio.id !== undefined) segs.push(dim(` id ${e.sio.id}`));
          if (e.sio.event) segs.push({ text: ` «\u00a0${e.sio.event}\u00a0»`, bold: true });
          if (e.sio.data !== undefined) segs.push({ text: ` ${truncate(JSON.stringify(e.sio.data), 160)}` });
        } else if (e.attachment) {
          segs.push({ text: ` · pièce jointe ${e.attachment.num + 1}/${e.attachment.of}`, fg: 'magenta' });
        } else if (e.data) {
          segs.push({ text: ` ${truncate(e.data, 160)}` });
        }
        return [segs];
      }
      case 'violation':
        return [
          [
            ...this.prefix(e, e.from),
            { text: `⚠ violation du protocole (code ${e.code})\u00a0: ${violationText(e)}`, fg: 'red', bold: true },
          ],
        ];
      case 'limit':
        return [
          [
            ...this.prefix(e),
            { text: `⛔ limite «\u00a0${e.limit}\u00a0» dépassée → ${e.action}\u00a0: ${e.message}`, fg: 'red', bold: true },
          ],
        ];
      case 'info':
        return [[...this.prefix(e), { text: `ℹ ${e.message}`, fg: 'yellow' }]];
      case 'rooms': {
        const parts = Object.entries(e.rooms).map(([room, ids]) => `${room}\u00a0: ${ids.map((id) => this.socketLabel(e, id)).join(', ')}`);
        return [[{ text: '        ' }, dim(`rooms (${e.nsp}) → ${parts.join('\u202f; ') || 'aucune'}`)]];
      }
      case 'dropped':
        return [[{ text: `… ${e.count} évènements perdus (le moniteur n’a pas suivi)`, fg: 'red' }]];
      case 'net-drop':
        return [[...this.prefix(e), { text: `✂ ${netDropText(e.conn, e.mode, e.afterMs)}`, fg: 'red', bold: true }]];
      case 'draining':
        return [[{ text: `⏳ ${drainingText(e.graceMs)}`, fg: 'yellow', bold: true }]];
      case 'end':
        return [[{ text: e.reason === 'expired' ? 'Session expirée.' : 'Le serveur s’arrête.', fg: 'red', bold: true }]];
      default:
        return [];
    }
  }

  private socketLabel(e: { sockets: Record<string, { client: string | null }> }, id: string): string {
    return this.clients.get(`sio:${id}`) ?? e.sockets[id]?.client ?? id;
  }

  private frameLines(e: FrameEvent): StyledLine[] {
    const control = isControlOpcode(e.opcode);
    const color: Color = control ? 'yellow' : DIRECTION_COLOR[e.from];
    const faults = this.faultsOf(e);
    const wrong = new Set<FaultField>(faults.map((x) => x.field));
    // A faulty field is drawn red and bold, the way Wireshark paints a malformed field.
    const field = (name: FaultField, text: string, base: Segment = { text: '' }): Segment =>
      wrong.has(name) ? { text, fg: 'red', bold: true } : { ...base, text };
    // Bits of header bytes that did not arrive (partial frame) are unknown, not zero.
    const info = headerInfo(e);
    const b0 = info.bytes >= 1;
    const flag = (name: string, v: boolean, known: boolean) => `${name}=${known ? (v ? 1 : 0) : '?'}`;
    const length = e.partial ? info.length : e.length;
    const lengthText =
      length === null
        ? 'longueur non reçue'
        : `longueur ${length} (forme ${info.len7 === null ? e.lengthForm : info.len7 === 126 ? 16 : info.len7 === 127 ? 64 : 7} bits)`;
    const head: StyledLine = [
      ...this.prefix(e, e.from),
      { text: control ? '◆ ' : '▸ ', fg: e.violating ? 'red' : color, bold: true },
      field('opcode', b0 ? `${e.opcodeName} (0x${e.opcode.toString(16)})` : 'opcode non reçu', { text: '', fg: color, bold: true }),
      { text: '  ' },
      field('FIN', flag('FIN', e.fin, b0)),
      { text: ' ' },
      field('RSV1', flag('RSV1', e.rsv1, b0)),
      { text: ' ' },
      field('RSV2', flag('RSV2', e.rsv2, b0)),
      { text: ' ' },
      field('RSV3', flag('RSV3', e.rsv3, b0)),
      { text: '  ' },
      field('MASK', flag('MASK', e.masked, info.bytes >= 2)),
      { text: '  ' },
      wrong.has('Payload len') || wrong.has('Extended payload length') ? { text: lengthText, fg: 'red', bold: true } : { text: lengthText },
    ];
    if (e.code !== undefined) head.push({ text: `  code ${e.code}${e.reason ? ` «\u00a0${e.reason}\u00a0»` : ''}`, fg: color, bold: true });
    if (e.violating) head.push({ text: '  ⚠ trame invalide', fg: 'red', bold: true });
    if (e.partial) head.push({ text: ' (incomplète)', fg: 'red' });
    const lines: StyledLine[] = [head];
    // One line per broken rule, under the frame: which field, and why.
    for (const x of faults) lines.push([{ text: '        ' }, { text: `⚠ ${x.field}\u00a0: ${x.reason}`, fg: 'red', bold: true }]);
    const hex: StyledLine = [{ text: '        ' }, dim('en-tête '), { text: spacedHex(e.header, 14) }];
    const headerSize = info.len7 === null ? null : 2 + (info.len7 === 126 ? 2 : info.len7 === 127 ? 8 : 0) + (e.masked ? 4 : 0);
    if (headerSize === null || info.bytes < headerSize) hex.push(dim(' (en-tête incomplet)'));
    if (e.maskKey) hex.push(dim('  clé de masquage '), { text: spacedHex(e.maskKey), fg: 'yellow' });
    lines.push(hex);
    if (e.partial) {
      // What did not arrive is said, rather than drawn as an empty payload.
      if ((length ?? 1) > 0 && e.payload.length === 0) lines.push([{ text: '        ' }, dim('charge non reçue')]);
      else if (e.payload.length > 0) lines.push([{ text: '        ' }, dim('charge reçue '), { text: spacedHex(e.payload) + ' …' }]);
    } else if (e.length > 0) {
      lines.push([
        { text: '        ' },
        dim(e.masked ? 'charge (démasquée) ' : 'charge '),
        { text: spacedHex(e.payload) + (e.truncated ? ' …' : '') },
      ]);
    }
    if (e.text !== undefined && e.length > 0) lines.push([{ text: '        ' }, dim('texte '), { text: quote(e.text), bold: true }]);
    return lines;
  }
}

/** The first line of a run in a session with network conditions (none: no line). */
export function networkLine(network: NetworkConditions | undefined): StyledLine | null {
  return network ? [{ text: `⏱ ${networkConditionsText(network)}`, fg: 'yellow', bold: true }] : null;
}

/** « coupure réseau simulée de c1 après 5 s : … » */
export function netDropText(conn: string, mode: 'reset' | 'silent', afterMs: number): string {
  const after = `${(afterMs / 1000).toLocaleString('fr-FR', { maximumFractionDigits: 1 })}\u00a0s`;
  return mode === 'silent'
    ? `coupure réseau simulée de ${conn} après ${after}\u00a0: plus aucun octet ne passe, dans aucun sens, mais la connexion TCP reste ouverte (seul un battement de cœur le détecte)`
    : `coupure réseau simulée de ${conn} après ${after}\u00a0: connexion TCP réinitialisée (RST), sans trame de fermeture`;
}

/** The page's words for a drain notice (`draining`): when the session ends, and what happens next. */
export function drainingText(graceMs: number): string {
  const seconds = Math.max(0, Math.ceil(graceMs / 1000));
  const delay = seconds < 120 ? `${seconds}\u00a0s` : `${Math.ceil(seconds / 60)}\u00a0min`;
  return `Le serveur du bac à sable va redémarrer\u00a0: cette session se termine dans ${delay}. Votre code reste dans l’éditeur\u202f; l’exécution suivante ouvrira une nouvelle session.`;
}

function truncate(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) + '…' : s;
}

/** A sink that keeps plain text lines (tests, accessible log, export). */
export class PlainSink implements TerminalSink {
  lines: string[] = [];
  write(line: StyledLine): void {
    this.lines.push(lineText(line));
  }
  clear(): void {
    this.lines = [];
  }
  toString(): string {
    return this.lines.join('\n');
  }
}

/** One short sentence per event for screen readers (null: not announced). */
export function summary(e: MonitorEvent, f: EventFormatter): string | null {
  const who = f.labelOf(e).text;
  const dir = 'from' in e ? (e.from === 'client' ? `${who} vers serveur` : `serveur vers ${who}`) : who;
  switch (e.type) {
    case 'conn-open':
      return `Client ${who}\u00a0: connexion ouverte vers /${e.path}.`;
    case 'conn-close':
      return `Client ${who}\u00a0: connexion fermée (${e.reason}).`;
    case 'http':
      return `HTTP ${dir}\u00a0: ${e.head.split('\r\n')[0]}.`;
    case 'frame': {
      if (e.violating) {
        const why = f
          .faultsOf(e)
          .map((x) => x.reason)
          .join(', ');
        return `Trame invalide ${e.opcodeName} ${dir}${e.partial ? ' (incomplète)' : ''}${why ? `\u00a0: ${why}` : ''}.`;
      }
      return `Trame ${e.opcodeName} ${dir}, ${e.length} octets${e.text ? `\u00a0: ${truncate(e.text, 80)}` : ''}${e.code !== undefined ? `, code ${e.code}` : ''}.`;
    }
    case 'violation':
      return `Violation du protocole, code ${e.code}\u00a0: ${violationText(e)}`;
    case 'limit':
      return `Limite dépassée\u00a0: ${e.message}.`;
    case 'info':
      return `Information\u00a0: ${e.message}.`;
    case 'net-drop':
      return `Client ${who}\u00a0: ${netDropText(e.conn, e.mode, e.afterMs)}.`;
    case 'draining':
      return drainingText(e.graceMs);
    default:
      return null;
  }
}
