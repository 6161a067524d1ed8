import { describe, expect, it } from 'vitest';
import type { FrameEvent, MonitorEvent, ViolationEvent, ViolationId } from '#protocol';
import { EventFormatter, networkLine, PlainSink, spacedHex, summary, wireBytes, type StyledLine } from './terminal-view.ts';
import { VIOLATION_TEXT } from './violation-text.ts';
import { ECHO_RUN } from './fixtures.test-data.ts';

function render(f = new EventFormatter()) {
  const sink = new PlainSink();
  for (const e of ECHO_RUN) for (const line of f.format(e)) sink.write(line);
  return sink.toString();
}

describe('terminal formatting', () => {
  it('shows connections, HTTP heads and frames with direction and client', () => {
    const text = render();
    expect(text).toMatch(/A +● connexion c1 ouverte depuis 127\.0\.0\.1:5000 → \/echo/);
    expect(text).toContain('A   → HTTP GET /s/s1/echo?client=A HTTP/1.1');
    expect(text).toContain('        Upgrade: websocket');
    expect(text).toContain('A   → ▸ text (0x1)  FIN=1 RSV1=0 RSV2=0 RSV3=0  MASK=1  longueur 5 (forme 7 bits)');
    expect(text).toContain('en-tête 81 85 37 fa 21 3d  clé de masquage 37 fa 21 3d');
    expect(text).toContain('charge (démasquée) 48 65 6c 6c 6f');
    expect(text).toContain('texte «\u00a0Hello\u00a0»');
    expect(text).toContain('A   ← ▸ text (0x1)');
  });
  it('says the network conditions first, and a connection cut by them', () => {
    const line = networkLine({ latencyMs: 200, bandwidth: 16384, dropAfterMs: 5000, drop: 'silent' });
    expect(line?.map((s) => s.text).join('')).toBe(
      '⏱ Conditions réseau\u00a0: latence 200\u00a0ms, débit 16\u00a0Kio/s, coupure silencieuse après 5\u00a0s',
    );
    expect(networkLine(undefined)).toBeNull();
    const f = new EventFormatter();
    f.format({ seq: 2, t: 1, type: 'conn-open', conn: 'c1', client: 'A', remote: '127.0.0.1:5000', path: 'echo' });
    const drop: MonitorEvent = { seq: 3, t: 2, type: 'net-drop', conn: 'c1', mode: 'reset', afterMs: 5003 };
    const text = f
      .format(drop)[0]
      .map((s) => s.text)
      .join('');
    expect(text).toBe(
      'A     ✂ coupure réseau simulée de c1 après 5\u00a0s\u00a0: connexion TCP réinitialisée (RST), sans trame de fermeture',
    );
    expect(summary(drop, f)).toMatch(/^Client A\u00a0: coupure réseau simulée/);
  });
  it('makes control frames stand out with their close code', () => {
    const text = render();
    expect(text).toMatch(/A {3}→ ◆ close \(0x8\).*code 1000/);
  });
  it('annotates Engine.IO / Socket.IO packets', () => {
    expect(render()).toContain('↳ Engine.IO message (websocket) · Socket.IO EVENT nsp / «\u00a0say\u00a0»');
  });
  it('applies filters', () => {
    const f = new EventFormatter();
    f.filters = { data: false, control: true, heartbeats: true };
    const text = render(f);
    expect(text).not.toContain('▸ text');
    expect(text).toContain('◆ close');
    expect(text).not.toContain('Engine.IO');
  });
  it('hides Engine.IO heartbeats only on Engine.IO connections', () => {
    const f = new EventFormatter();
    f.filters = { data: true, control: true, heartbeats: false };
    f.format(ECHO_RUN[8]);
    const ping = { ...ECHO_RUN[5], conn: 'c2', text: '2', payload: '32', length: 1, header: '8101' } as (typeof ECHO_RUN)[number];
    expect(f.format(ping)).toEqual([]);
    expect(f.format({ ...ping, conn: 'c1' } as typeof ping).length).toBeGreaterThan(0);
  });
  it('counts bytes on the wire and summarises for screen readers', () => {
    expect(wireBytes(ECHO_RUN[4])).toEqual({ from: 'client', bytes: 11 });
    expect(wireBytes(ECHO_RUN[2])).toEqual({ from: 'client', bytes: 90 });
    const f = new EventFormatter();
    f.format(ECHO_RUN[1]);
    expect(summary(ECHO_RUN[4], f)).toBe('Trame text A vers serveur, 5 octets\u00a0: Hello.');
    expect(spacedHex('00'.repeat(40), 4)).toBe('00 00 00 00 … (+36 o)');
  });
});

/** A violating frame event of client A on c1, fields decoded from its header bytes. */
function bad(header: string, extra: Partial<FrameEvent> = {}): FrameEvent {
  const b0 = parseInt(header.slice(0, 2), 16);
  const b1 = header.length >= 4 ? parseInt(header.slice(2, 4), 16) : 0;
  return {
    seq: 20,
    t: 0,
    type: 'frame',
    conn: 'c1',
    from: 'client',
    fin: (b0 & 0x80) !== 0,
    rsv1: (b0 & 0x40) !== 0,
    rsv2: (b0 & 0x20) !== 0,
    rsv3: (b0 & 0x10) !== 0,
    opcode: b0 & 0x0f,
    opcodeName: OPCODES[b0 & 0x0f] ?? 'text',
    masked: (b1 & 0x80) !== 0,
    maskKey: null,
    length: 0,
    lengthForm: 7,
    header,
    payload: '',
    violating: true,
    ...extra,
  };
}
const OPCODES: Record<number, string> = { 1: 'text', 3: 'reserved-non-control-3', 9: 'ping', 8: 'close' };

/** A formatter that has seen client A's connection and its handshake answer (`extensions` header if given). */
function formatter(extensions?: string): EventFormatter {
  const f = new EventFormatter();
  const answer = { ...ECHO_RUN[3] } as MonitorEvent & { head: string };
  if (extensions) answer.head += `\r\nSec-WebSocket-Extensions: ${extensions}`;
  for (const e of [ECHO_RUN[1], ECHO_RUN[2], answer]) f.format(e);
  return f;
}
const text = (lines: StyledLine[]) => lines.map((l) => l.map((s) => s.text).join(''));
/** The segments drawn red, i.e. the fields marked wrong (the « trame invalide » mark aside). */
const red = (lines: StyledLine[]) =>
  lines[0].filter((s) => s.fg === 'red' && !/trame invalide|incomplète|^[▸◆] $/.test(s.text)).map((s) => s.text);

describe('violating frames in the terminal', () => {
  it('marks a reserved opcode, partial: only the opcode in red, « (incomplète) », nothing unread drawn as zero', () => {
    const lines = formatter().format(bad('8385', { partial: true }));
    expect(text(lines)).toEqual([
      'A   → ▸ reserved-non-control-3 (0x3)  FIN=1 RSV1=0 RSV2=0 RSV3=0  MASK=1  longueur 5 (forme 7 bits)  ⚠ trame invalide (incomplète)',
      '        ⚠ opcode\u00a0: opcode 0x3 réservé',
      '        en-tête 83 85 (en-tête incomplet)',
      '        charge non reçue',
    ]);
    expect(red(lines)).toEqual(['reserved-non-control-3 (0x3)']);
    expect(lines[0].find((s) => s.text.includes('trame invalide'))).toMatchObject({ fg: 'red', bold: true });
  });
  it('marks MASK=0 on an unmasked client frame, and shows its payload when complete', () => {
    const lines = formatter().format(bad('8105', { length: 5, payload: '48656c6c6f', text: 'Hello' }));
    expect(text(lines)[0]).toBe('A   → ▸ text (0x1)  FIN=1 RSV1=0 RSV2=0 RSV3=0  MASK=0  longueur 5 (forme 7 bits)  ⚠ trame invalide');
    expect(text(lines)[1]).toBe('        ⚠ MASK\u00a0: trame du client non masquée (MASK=0)');
    expect(text(lines)).toContain('        charge 48 65 6c 6c 6f');
    expect(text(lines)).toContain('        texte «\u00a0Hello\u00a0»');
    expect(red(lines)).toEqual(['MASK=0']);
    // The same bits from the server are fine.
    expect(red(formatter().format(bad('8105', { from: 'server', length: 5 })))).toEqual([]);
  });
  it('marks the length of a control frame over 125 and FIN of a fragmented one', () => {
    const big = formatter().format(bad('89fe00c8aabbccdd', { length: 200, lengthForm: 16, partial: true }));
    expect(red(big)).toEqual(['longueur 200 (forme 16 bits)']);
    expect(text(big)[1]).toBe('        ⚠ Payload len\u00a0: trame de contrôle de plus de 125 octets');
    const frag = formatter().format(bad('0980aabbccdd', { opcodeName: 'ping' }));
    expect(red(frag)).toEqual(['FIN=0']);
    expect(text(frag)[0]).toContain('◆ ping (0x9)  FIN=0');
  });
  it('marks RSV1 unless the handshake negotiated permessage-deflate; RSV2/RSV3 always', () => {
    expect(red(formatter().format(bad('c180aabbccdd')))).toEqual(['RSV1=1']);
    expect(red(formatter('permessage-deflate').format(bad('c180aabbccdd')))).toEqual([]);
    expect(red(formatter('permessage-deflate').format(bad('b180aabbccdd')))).toEqual(['RSV2=1', 'RSV3=1']);
  });
  it('a frame cut after its first byte: unknown bits shown as such', () => {
    const lines = formatter().format(bad('83', { partial: true }));
    expect(text(lines)[0]).toBe(
      'A   → ▸ reserved-non-control-3 (0x3)  FIN=1 RSV1=0 RSV2=0 RSV3=0  MASK=?  longueur non reçue  ⚠ trame invalide (incomplète)',
    );
    expect(red(lines)).toEqual(['reserved-non-control-3 (0x3)']);
  });
  it('shows violating frames whatever the filters; others keep no mark', () => {
    const f = formatter();
    f.filters = { data: false, control: false, heartbeats: false };
    expect(text(f.format(bad('8305')))[0]).toContain('⚠ trame invalide');
    expect(f.format({ ...bad('8305'), violating: undefined })).toEqual([]);
    expect(render()).not.toContain('invalide');
    expect(render()).not.toContain('incompl');
  });
  it('says it to screen readers and counts only the bytes that arrived', () => {
    const f = formatter();
    const e = bad('8385', { partial: true, length: 5 });
    expect(summary(e, f)).toBe('Trame invalide reserved-non-control-3 A vers serveur (incomplète)\u00a0: opcode 0x3 réservé.');
    expect(wireBytes(e)).toEqual({ from: 'client', bytes: 2 });
    expect(wireBytes({ ...e, partial: undefined })).toEqual({ from: 'client', bytes: 7 });
  });
});

describe('violation events in the terminal', () => {
  const violation = (extra: Partial<ViolationEvent> = {}): ViolationEvent => ({
    seq: 21,
    t: 0,
    type: 'violation',
    conn: 'c1',
    from: 'client',
    id: 'WS_ERR_RESERVED_OPCODE',
    code: 1002,
    message: 'reserved opcode 0x3',
    ...extra,
  });
  it('says the rule in French, from its id, never the server’s English detail', () => {
    const lines = text(formatter().format(violation()));
    expect(lines).toEqual([`A   → ⚠ violation du protocole (code 1002)\u00a0: ${VIOLATION_TEXT.WS_ERR_RESERVED_OPCODE}`]);
    expect(lines[0]).not.toContain('reserved opcode');
    const utf8 = text(formatter().format(violation({ id: 'WS_ERR_INVALID_UTF8', code: 1007, message: 'text message is not valid UTF-8' })));
    expect(utf8[0]).toBe('A   → ⚠ violation du protocole (code 1007)\u00a0: le message texte n’est pas de l’UTF-8 valide (RFC 6455 §8.1).');
  });
  it('an unknown id (or none, in an old record) gets a generic French text', () => {
    const unknown = violation({ id: 'WS_ERR_FROM_THE_FUTURE' as ViolationId, message: 'some English detail' });
    expect(text(formatter().format(unknown))[0]).toBe(
      'A   → ⚠ violation du protocole (code 1002)\u00a0: règle non détaillée par cette page (code 1002).',
    );
    const old: Partial<ViolationEvent> = violation();
    delete old.id;
    expect(text(formatter().format(old as ViolationEvent))[0]).toBe(
      'A   → ⚠ violation du protocole (code 1002)\u00a0: règle non détaillée par cette page (code 1002).',
    );
  });
  it('says it to screen readers in French', () => {
    expect(summary(violation(), formatter())).toBe(`Violation du protocole, code 1002\u00a0: ${VIOLATION_TEXT.WS_ERR_RESERVED_OPCODE}`);
  });
});

describe('drain notice', () => {
  const lineOf = (e: MonitorEvent) => new EventFormatter().format(e).map((l) => l.map((s) => s.text).join(''));
  it('says when the session ends, in seconds then minutes, and is announced', () => {
    const soon: MonitorEvent = { seq: 9, t: 1, type: 'draining', graceMs: 29_500 };
    expect(lineOf(soon)).toEqual([
      '⏳ Le serveur du bac à sable va redémarrer\u00a0: cette session se termine dans 30\u00a0s. Votre code reste dans l’éditeur\u202f; l’exécution suivante ouvrira une nouvelle session.',
    ]);
    expect(lineOf({ ...soon, graceMs: 300_000 })[0]).toContain('dans 5\u00a0min.');
    expect(summary(soon, new EventFormatter())).toContain('se termine dans 30\u00a0s');
  });
});
