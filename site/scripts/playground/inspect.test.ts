import { describe, expect, it } from 'vitest';
import { inspect } from './inspect.ts';

describe('console rendering in the runner', () => {
  it('renders values readably', () => {
    expect(inspect('texte')).toBe('texte');
    expect(inspect(['a', 1, null, undefined])).toBe('["a", 1, null, undefined]');
    expect(inspect({ a: { b: [1, 2] } })).toBe('{ a: { b: [1, 2] } }');
    expect(inspect(new Uint8Array([1, 2, 255]))).toBe('Uint8Array(3) [01 02 ff]');
    expect(inspect(new ArrayBuffer(2))).toBe('ArrayBuffer(2) [00 00]');
    // The server code's Buffer (the `buffer` package, renamed by the bundler): named Buffer all the same.
    class l extends Uint8Array {}
    Object.defineProperty(l.prototype, '_isBuffer', { value: true });
    expect(inspect(new l([1, 2, 3]))).toBe('Buffer(3) [01 02 03]');
    expect(inspect(new TypeError('boom'))).toBe('TypeError: boom');
    expect(inspect(function named() {})).toBe('[Function named]');
    expect(inspect(10n)).toBe('10n');
  });
  it('survives cycles and depth', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(inspect(a)).toBe('{ self: [Circular] }');
    expect(inspect({ a: { b: { c: { d: { e: 1 } } } } })).toBe('{ a: { b: { c: { d: {…} } } } }');
  });
});
