// Monitor events → styled lines, behind a tiny sink interface so the formatting is testable
// with a plain-text sink and drawn by xterm.js in the page (terminal-xterm.ts).
import type { FrameEvent, MonitorEvent } from '../../../sandbox-server/protocol.ts';
import { clientOf, learnClient, type ClientMap } from './checks.ts';

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
  if (e.type === 'frame') return { from: e.from, bytes: e.header.length / 2 + e.length };
  if (e.type === 'http') return { from: e.from, bytes: e.headLength + (e.bodyLength ?? 0) };
  if (e.type === 'http-body') return { from: e.from, bytes: e.length };
  return null;
}

const dim = (text: string): Segment => ({ text, dim: true });
const isControlOpcode = (op: number) => op >= 8;
const HEARTBEATS = new Set(['ping', 'pong']);

/**
 * Formats monitor events. Keeps the state it needs (client labels per connection, Engine.IO
 * heartbeat frames to hide with their annotation).
 */
export class EventFormatter {
  readonly clients: ClientMap = new Map();
  /** Connections that carry Engine.IO (their "2"/"3" frames are heartbeats). */
  readonly eioConns = new Set<string>();
  filters: TerminalFilters = { data: true, control: true, heartbeats: true };

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

  /** Lines for one event (empty when filtered out). Updates connection labels even when hidden. */
  format(e: MonitorEvent): StyledLine[] {
    learnClient(e, this.clients);
    if (e.type === 'conn-open' && e.path.startsWith('socket.io')) this.eioConns.add(e.conn);
    if (e.type === 'eio') this.eioConns.add(e.conn);
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
          [...this.prefix(e, e.from), { text: `⚠ violation du protocole (code ${e.code})\u00a0: ${e.message}`, fg: 'red', bold: true }],
        ];
      case 'limit':
        return [[...this.prefix(e), { text: `⛔ limite «\u00a0${e.limit}\u00a0» dépassée → ${e.action}\u00a0: ${e.message}`, fg: 'red', bold: true }]];
      case 'info':
        return [[...this.prefix(e), { text: `ℹ ${e.message}`, fg: 'yellow' }]];
      case 'rooms': {
        const parts = Object.entries(e.rooms).map(([room, ids]) => `${room}\u00a0: ${ids.map((id) => this.socketLabel(e, id)).join(', ')}`);
        return [[{ text: '        ' }, dim(`rooms (${e.nsp}) → ${parts.join('\u202f; ') || 'aucune'}`)]];
      }
      case 'dropped':
        return [[{ text: `… ${e.count} évènements perdus (le moniteur n’a pas suivi)`, fg: 'red' }]];
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
    const bits = `FIN=${e.fin ? 1 : 0} RSV1=${e.rsv1 ? 1 : 0} RSV2=${e.rsv2 ? 1 : 0} RSV3=${e.rsv3 ? 1 : 0}`;
    const head: StyledLine = [
      ...this.prefix(e, e.from),
      { text: control ? '◆ ' : '▸ ', fg: color, bold: true },
      { text: `${e.opcodeName} (0x${e.opcode.toString(16)})`, fg: color, bold: true },
      { text: `  ${bits}  MASK=${e.masked ? 1 : 0}  longueur ${e.length} (forme ${e.lengthForm} bits)` },
    ];
    if (e.code !== undefined) head.push({ text: `  code ${e.code}${e.reason ? ` «\u00a0${e.reason}\u00a0»` : ''}`, fg: color, bold: true });
    const lines: StyledLine[] = [head];
    const hex: StyledLine = [{ text: '        ' }, dim('en-tête '), { text: spacedHex(e.header, 14) }];
    if (e.maskKey) hex.push(dim('  clé de masquage '), { text: spacedHex(e.maskKey), fg: 'yellow' });
    lines.push(hex);
    if (e.length > 0) {
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
    case 'frame':
      return `Trame ${e.opcodeName} ${dir}, ${e.length} octets${e.text ? `\u00a0: ${truncate(e.text, 80)}` : ''}${e.code !== undefined ? `, code ${e.code}` : ''}.`;
    case 'violation':
      return `Violation du protocole, code ${e.code}\u00a0: ${e.message}.`;
    case 'limit':
      return `Limite dépassée\u00a0: ${e.message}.`;
    case 'info':
      return `Information\u00a0: ${e.message}.`;
    default:
      return null;
  }
}
