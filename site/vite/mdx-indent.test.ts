import { describe, expect, it } from 'vitest';
import { protectTemplateIndentation } from './mdx-indent.ts';

describe('protectTemplateIndentation', () => {
  it('escapes leading whitespace inside attribute template literals only', () => {
    const src = '  indented prose\n<P code={`a\n  b\n\tc\n`} other="x" />\n  more';
    const out = protectTemplateIndentation(src);
    expect(out).toBe('  indented prose\n<P code={`a\n\\x20\\x20b\n\\tc\n`} other="x" />\n  more');
    // The escaped literal evaluates to the original text.
    const literal = out.slice(out.indexOf('`'), out.lastIndexOf('`') + 1);
    expect(new Function(`return ${literal}`)()).toBe('a\n  b\n\tc\n');
  });
  it('handles several attributes, escaped backticks and ${} expressions', () => {
    const src = 'x={`1\n  \\`q\\` ${"`"}\n`} y={`2\n    z`}';
    const out = protectTemplateIndentation(src);
    expect(out).toBe('x={`1\n\\x20\\x20\\`q\\` ${"`"}\n`} y={`2\n\\x20\\x20\\x20\\x20z`}');
  });
  it('leaves sources without attribute templates alone', () => {
    expect(protectTemplateIndentation('# Titre\n\n```js\n  code\n```\n')).toBe('# Titre\n\n```js\n  code\n```\n');
  });
});
