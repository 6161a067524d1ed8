// Differential test of the frame decoder against ws 8.23's own Receiver, in-process: for mutated
// client streams (stress/mutate.ts, the fuzz's generator), the close code the decoder reports
// (first violation, or the client's valid close frame that ws echoes) must be the code ws sends.
// The fuzz (stress/fuzz.ts) checks the same over TCP against the running sandbox.
import { describe, expect, it } from 'vitest';
import type { ViolationId } from '#protocol';
import { makeCase, pieces } from '../../stress/mutate.ts';
import type { FuzzCase } from '../../stress/mutate.ts';
import { wsVerdict } from '../../stress/ws-oracle.ts';
import { FrameDecoder } from './frame-decoder.ts';

/**
 * The close code the decoder's items say ws sends, or null when they say it does not close; with
 * the id of the violation when there is one.
 */
function decoderVerdict(c: FuzzCase): { code: number | null; id?: ViolationId } {
  const d = new FrameDecoder({ role: 'client', deflate: c.deflate !== 'off', noContextTakeover: c.deflate === 'nct' });
  for (const piece of pieces(c)) {
    for (const item of d.push(piece)) {
      if (item.type === 'violation') return { code: item.code, id: item.id };
      if (item.type === 'frame' && item.opcode === 0x8 && !item.violating) return { code: item.code ?? 1005 };
    }
  }
  return { code: null };
}

describe('the decoder agrees with ws on the close code', () => {
  it('for 3,000 mutated client streams (deflate on and off)', async () => {
    const seed = 20261207;
    const mismatches: string[] = [];
    const ids = new Set<ViolationId>();
    let closed = 0;
    for (let id = 0; id < 3000; id++) {
      const c = makeCase(seed, id);
      const ws = await wsVerdict(pieces(c), { deflate: c.deflate !== 'off', clientNoContextTakeover: c.deflate === 'nct' });
      const ours = decoderVerdict(c);
      if (ws.code !== null) closed++;
      if (ours.id) ids.add(ours.id);
      if (ours.code !== ws.code && mismatches.length < 10) {
        mismatches.push(
          `case ${id} (${c.deflate}, ${c.mutations.join('+')}): ws ${ws.code} (${ws.reason}), decoder ${ours.code} (${ours.id ?? 'no violation'}), bytes ${Buffer.from(c.bytes).toString('hex').slice(0, 120)}`,
        );
      }
    }
    expect(mismatches).toEqual([]);
    // Only WebSocket rules can be found in frames, and the generator reaches many of them.
    expect([...ids].filter((i) => !i.startsWith('WS_ERR_'))).toEqual([]);
    expect(ids.size).toBeGreaterThanOrEqual(15); // 19 of the 20 (a client sends no masked server frame)
    // The generator must mostly produce streams ws closes on, or the test proves little.
    expect(closed).toBeGreaterThan(1500);
  }, 60_000);
});
