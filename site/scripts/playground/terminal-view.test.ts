import { describe, expect, it } from 'vitest';
import { EventFormatter, PlainSink, spacedHex, summary, wireBytes } from './terminal-view.ts';
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
  it('makes control frames stand out with their close code', () => {
    const text = render();
    expect(text).toMatch(/A   → ◆ close \(0x8\).*code 1000/);
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
