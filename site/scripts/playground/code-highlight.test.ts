import { describe, expect, it } from 'vitest';
import { type Token, tokenize } from './code-highlight.ts';

const kinds = (code: string) =>
  tokenize(code)
    .filter((t) => t.kind)
    .map((t) => [t.kind, t.text]);

describe('tokenize', () => {
  it('colours keywords, literals, strings, numbers and comments', () => {
    expect(kinds("const ws = new WebSocket('ws://x'); // ouvre\nif (n > 0x1F && ok === true) return 1.5e3;")).toEqual([
      ['keyword', 'const'],
      ['keyword', 'new'],
      ['string', "'ws://x'"],
      ['comment', '// ouvre'],
      ['keyword', 'if'],
      ['number', '0x1F'],
      ['literal', 'true'],
      ['keyword', 'return'],
      ['number', '1.5e3'],
    ]);
  });

  it('keeps escapes, template literals over lines and block comments whole', () => {
    // A template literal with a placeholder, written without one in this file.
    const template = '`x $' + '{y}\nz`';
    expect(kinds(`"a\\"b" ${template} /* un\ndeux */ .5`)).toEqual([
      ['string', '"a\\"b"'],
      ['string', template],
      ['comment', '/* un\ndeux */'],
      ['number', '.5'],
    ]);
  });

  it('does not colour names that contain a keyword or a number', () => {
    expect(kinds('constant in2 x.return _if $new')).toEqual([['keyword', 'return']]);
  });

  it('ends an unterminated string at its line, an unterminated comment at the end', () => {
    expect(kinds("'abc\nlet x /* reste")).toEqual([
      ['string', "'abc"],
      ['keyword', 'let'],
      ['comment', '/* reste'],
    ]);
  });

  it('never changes the text: the tokens joined are the code (random inputs)', () => {
    const alphabet = ['a', 'const', ' ', '\n', "'", '"', '`', '\\', '/', '*', '.', '1', 'e', 'x', '$', '{', '}', 'é', '😀', '\t'];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const code = Array.from({ length: rand(40) }, () => alphabet[rand(alphabet.length)]).join('');
      const tokens: Token[] = tokenize(code);
      expect(tokens.map((t) => t.text).join('')).toBe(code);
      expect(tokens.every((t) => t.text.length > 0)).toBe(true);
    }
  });
});
