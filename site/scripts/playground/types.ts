// Props of <Playground>, serialized as JSON into the element's data-props attribute.
import type { Check, Matcher } from './checks.ts';

export interface PlaygroundProps {
  /** Unique in the lesson: storage key and share-link key. */
  id: string;
  title: string;
  /** Starter code (editable). */
  code: string;
  solution?: string;
  /** Number of clients (A, B, C…) running the code; default 1. */
  clients: number;
  /** Fixed code for some clients by index (read-only); clients without one run the editor's code. */
  perClientCode?: (string | null)[];
  checks: Check[];
  /** Matchers the starter must produce when run (generic e2e test). */
  expect: Matcher[];
}

export const clientLabel = (index: number) => String.fromCharCode(65 + index);
