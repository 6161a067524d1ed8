// The memory gauge: a figure over the budget is confirmed after a full collection, at most every
// CONFIRM_EVERY_MS; garbage alone (gone after the collection) refuses nothing.
import { describe, expect, it } from 'vitest';
import { CONFIRM_EVERY_MS, createMemoryGauge, liveMemory } from './memory.ts';

describe('memory gauge', () => {
  it('under the budget: no collection, not over', () => {
    let calls = 0;
    const gauge = createMemoryGauge(() => (calls++, 100));
    expect(gauge.over(500, 0)).toBe(false);
    expect(calls).toBe(1);
  });

  it('over before a collection but not after (garbage): not over', () => {
    const readings = [900, 300];
    const gauge = createMemoryGauge(() => readings.shift() ?? 300);
    expect(gauge.over(500, 0)).toBe(false);
  });

  it('over after the collection: over, and confirmed again only CONFIRM_EVERY_MS later', () => {
    const readings = [900, 800, 900, 900, 100];
    const gauge = createMemoryGauge(() => readings.shift() ?? 100);
    expect(gauge.over(500, 0)).toBe(true); // 900, confirmed 800
    expect(gauge.over(500, 1000)).toBe(true); // 900, last confirmation stands
    expect(gauge.over(500, CONFIRM_EVERY_MS)).toBe(false); // 900, confirmed 100
  });

  it('a real full collection frees garbage the heap figure still counted', () => {
    let garbage: object[] | null = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `x${i}` }));
    const before = liveMemory();
    garbage = null;
    const gauge = createMemoryGauge();
    // Budget between the figure with garbage and the live heap: only a collection tells them apart.
    expect(gauge.over(before - 8 * 1024 * 1024)).toBe(false);
    expect(garbage).toBeNull();
  });
});
