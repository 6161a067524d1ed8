// What the process really holds, for the memory budget. RSS is no guide after a burst: V8 keeps
// its pages, so RSS alone would refuse sessions long after the memory was free again. The JS heap
// in use plus external buffers is closer, but counts garbage until the next major collection, and
// an idle process may not run one for minutes: when that figure is over the budget, it is
// confirmed after a full collection, run at most every CONFIRM_EVERY_MS and only then.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Shortest time between two confirming collections (each pauses the process for a few ms). */
export const CONFIRM_EVERY_MS = 10_000;

/** JS heap in use plus memory outside it (Buffers, zlib). */
export function liveMemory(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

let collect: (() => void) | null | undefined;
/**
 * V8's full collection. `gc` exists only with --expose-gc; setting the flag at run time makes a
 * new context get it (the process keeps its own flags otherwise).
 */
function fullCollection(): (() => void) | null {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    } catch {
      collect = null;
    }
  }
  return collect;
}

export interface MemoryGauge {
  /** True when the live memory is over `budget`, confirmed after a full collection. */
  over(budget: number, now?: number): boolean;
}

export function createMemoryGauge(measure: () => number = liveMemory): MemoryGauge {
  let confirmedAt = -Infinity;
  let confirmed = 0;
  return {
    over(budget, now = Date.now()) {
      if (measure() <= budget) return false;
      if (now - confirmedAt >= CONFIRM_EVERY_MS) {
        confirmedAt = now;
        fullCollection()?.();
        confirmed = measure();
      }
      return confirmed > budget;
    },
  };
}
