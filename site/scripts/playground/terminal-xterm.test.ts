import { describe, expect, it } from 'vitest';
import { toAnsi, visible } from './terminal-xterm.ts';

describe('xterm sink', () => {
  it('never passes control characters from the wire to the terminal', () => {
    expect(visible('a\x1b[2Jb\x7f\u0085')).toBe('a\\x1b[2Jb\\x7f\\x85');
    expect(toAnsi([{ text: 'x\x1b', fg: 'red', bold: true }])).toBe('\x1b[1;31mx\\x1b\x1b[0m');
    expect(toAnsi([{ text: 'dim', dim: true }, { text: ' plain' }])).toBe('\x1b[90mdim\x1b[0m plain');
  });
});
