import { describe, expect, it } from 'vitest';
import { VIOLATION_CODES, VIOLATION_IDS } from '#protocol';
import { VIOLATION_TEXT, violationText } from './violation-text.ts';

describe('French text of each violation', () => {
  it('every id of the protocol has its text, and no text is left over', () => {
    expect(VIOLATION_IDS.length).toBeGreaterThan(40);
    expect(Object.keys(VIOLATION_TEXT).sort()).toEqual([...VIOLATION_IDS].sort());
    expect(Object.keys(VIOLATION_CODES)).toEqual(VIOLATION_IDS);
    for (const id of VIOLATION_IDS) expect(violationText({ id, code: VIOLATION_CODES[id] })).toBe(VIOLATION_TEXT[id]);
  });

  it('texts are distinct clauses: lower-case start, final period', () => {
    const texts = Object.values(VIOLATION_TEXT);
    expect(new Set(texts).size).toBe(texts.length);
    for (const text of texts) {
      expect(text, text).toMatch(/^[a-zàâçéèêëîïôûù]/);
      expect(text, text).toMatch(/\.$/);
    }
  });

  it('French typography: a no-break space before « : ; ! ? » and inside guillemets, typographic apostrophes', () => {
    for (const text of [...Object.values(VIOLATION_TEXT), violationText({ id: 'X' as never, code: 1002 })]) {
      // Every : ; ! ? follows a no-break space (U+00A0) or a narrow one (U+202F).
      expect(text, text).not.toMatch(/(^|[^\u00a0\u202f])[:;!?]/);
      expect(text, text).not.toMatch(/«(?!\u00a0)/);
      expect(text, text).not.toMatch(/(?<!\u00a0)»/);
      expect(text, text).not.toContain("'");
      expect(text, text).not.toMatch(/ {2}|\s$/);
    }
  });

  it('an id the page does not know gets a generic French text with the code', () => {
    expect(violationText({ id: 'WS_ERR_NEW' as never, code: 1007 })).toBe('règle non détaillée par cette page (code 1007).');
    expect(violationText({ id: 'toString' as never, code: 1002 })).toBe('règle non détaillée par cette page (code 1002).');
  });
});
