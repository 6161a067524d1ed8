import { describe, expect, it } from 'vitest';
import type { WireNote } from '../wire/common.ts';
import { noteText } from './notes.ts';

const NOTES: WireNote[] = ['INFLATE_INPUT_LIMIT', 'INFLATE_OUTPUT_LIMIT', 'INFLATE_HISTORY_LOST'];

describe('French text of the decoders’ notes', () => {
  it('each note has its own sentence, with its bound in Mio', () => {
    expect(new Set(NOTES.map(noteText)).size).toBe(NOTES.length);
    expect(noteText('INFLATE_INPUT_LIMIT')).toContain('1\u00a0Mio');
    expect(noteText('INFLATE_OUTPUT_LIMIT')).toContain('16\u00a0Mio');
  });

  it('French typography: no-break space before « : ; ! ? » and inside guillemets, typographic apostrophes', () => {
    for (const text of NOTES.map(noteText)) {
      expect(text, text).toMatch(/^[A-ZÀÉ].*\.$/);
      expect(text, text).not.toMatch(/(^|[^\u00a0\u202f])[:;!?]/);
      expect(text, text).not.toMatch(/«(?!\u00a0)/);
      expect(text, text).not.toMatch(/(?<!\u00a0)»/);
      expect(text, text).not.toContain("'");
      expect(text, text).not.toMatch(/\b(not|message over|inflated|context is lost)\b/);
    }
  });
});
