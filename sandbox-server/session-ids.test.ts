import { describe, expect, it } from 'vitest';
import { createSessionIds, isRouteKey, MAX_SECRETS, secretsFromEnv, SESSION_ID_CHARS } from './session-ids.ts';

const A = 'secret-A-0123456789abcdefghijklmnopqrstuv';
const B = 'secret-B-0123456789abcdefghijklmnopqrstuv';

/** `id` with the character at `i` replaced by another base64url character. */
function flip(id: string, i: number): string {
  const other = id[i] === 'A' ? 'B' : 'A';
  return id.slice(0, i) + other + id.slice(i + 1);
}

describe('session ids', () => {
  it('mints URL-safe ids of 48 characters that verify with the same secret', () => {
    const ids = createSessionIds([A]);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const id = ids.mint();
      expect(id).toMatch(/^[A-Za-z0-9_-]{48}$/);
      expect(id.length).toBe(SESSION_ID_CHARS);
      expect(encodeURIComponent(id)).toBe(id);
      expect(ids.verify(id)).toBe(true);
      seen.add(id);
      // Another instance with the same secret verifies it (no shared state).
      expect(createSessionIds([A]).verify(id)).toBe(true);
    }
    expect(seen.size).toBe(200);
  });

  it('puts the route key the load balancer chose at the start, and binds it to the tag', () => {
    const ids = createSessionIds([A]);
    const id = ids.mint('0a1b2c3d');
    expect(id.startsWith('0a1b2c3d')).toBe(true);
    expect(ids.verify(id)).toBe(true);
    // Another route key on the same random part and tag: refused (a client cannot pick an instance).
    expect(ids.verify(`0a1b2c3e${id.slice(8)}`)).toBe(false);
    // A bad key is not used: a random one instead.
    for (const bad of ['short', 'has/slash', '0a1b2c3d9', 'é0a1b2c3']) {
      const other = ids.mint(bad);
      expect(other.startsWith(bad)).toBe(false);
      expect(ids.verify(other)).toBe(true);
    }
  });

  it('refuses every single-character change, truncation, extension and other shapes', () => {
    const ids = createSessionIds([A]);
    const id = ids.mint();
    for (let i = 0; i < id.length; i++) expect(ids.verify(flip(id, i))).toBe(false);
    expect(ids.verify(id.slice(0, -1))).toBe(false);
    expect(ids.verify(`${id}A`)).toBe(false);
    expect(ids.verify(id.replace(/.$/, '='))).toBe(false);
    expect(ids.verify(`${id.slice(0, 20)}/${id.slice(21)}`)).toBe(false);
    expect(ids.verify('')).toBe(false);
    expect(ids.verify('x'.repeat(48))).toBe(false);
  });

  it('refuses ids signed with another secret; with several secrets the first signs and all verify (rotation)', () => {
    const a = createSessionIds([A]);
    const b = createSessionIds([B]);
    const idA = a.mint();
    const idB = b.mint();
    expect(b.verify(idA)).toBe(false);
    expect(a.verify(idB)).toBe(false);
    // Step 1 of a rotation: B added as a second secret everywhere; A still signs.
    const both = createSessionIds([A, B]);
    expect(both.verify(idA)).toBe(true);
    expect(both.verify(idB)).toBe(true);
    expect(a.verify(both.mint())).toBe(true);
    // Step 2: B first (signs), A kept to verify the sessions still open.
    const rotated = createSessionIds([B, A]);
    const newId = rotated.mint();
    expect(b.verify(newId)).toBe(true);
    expect(a.verify(newId)).toBe(false);
    expect(rotated.verify(idA)).toBe(true);
    // Step 3: A removed: its ids no longer verify.
    expect(createSessionIds([B]).verify(idA)).toBe(false);
  });

  it('without a secret, each process has its own random one', () => {
    const one = createSessionIds();
    const two = createSessionIds();
    const id = one.mint();
    expect(one.verify(id)).toBe(true);
    expect(two.verify(id)).toBe(false);
  });

  it('route keys: 8 characters of base64url', () => {
    expect(isRouteKey('0a1b2c3d')).toBe(true);
    expect(isRouteKey('Ab_-09zZ')).toBe(true);
    for (const bad of ['0a1b2c3', '0a1b2c3d4', '0a1b.c3d', undefined, ['0a1b2c3d']]) expect(isRouteKey(bad)).toBe(false);
  });
});

describe('secretsFromEnv', () => {
  it('reads SESSION_SECRET (comma-separated, first signs) and SESSION_SECRET_FILE (one per line, # comments)', () => {
    expect(secretsFromEnv({})).toEqual([]);
    expect(secretsFromEnv({ SESSION_SECRET: A })).toEqual([A]);
    expect(secretsFromEnv({ SESSION_SECRET: `${B}, ${A}` })).toEqual([B, A]);
    const files: Record<string, string> = { '/etc/s': `# new one first\n${B}\n\n${A}\n` };
    expect(secretsFromEnv({ SESSION_SECRET_FILE: '/etc/s' }, (p) => files[p])).toEqual([B, A]);
  });

  it('refuses short secrets, too many, both variables, an empty or unreadable file, without quoting a secret', () => {
    const short = secretsFromEnv({ SESSION_SECRET: `${A},tooshort-secret` });
    expect(short).toBeInstanceOf(Error);
    expect((short as Error).message).toMatch(/n°\u00a02 a moins de 32/);
    expect((short as Error).message).not.toContain('tooshort');
    expect(
      secretsFromEnv({
        SESSION_SECRET: Array(MAX_SECRETS + 1)
          .fill(A)
          .join(','),
      }),
    ).toBeInstanceOf(Error);
    expect(secretsFromEnv({ SESSION_SECRET: A, SESSION_SECRET_FILE: '/x' })).toBeInstanceOf(Error);
    expect(secretsFromEnv({ SESSION_SECRET_FILE: '/x' }, () => '# nothing\n\n')).toBeInstanceOf(Error);
    const unreadable = secretsFromEnv({ SESSION_SECRET_FILE: '/x' }, () => {
      throw Object.assign(new Error('no'), { code: 'ENOENT' });
    });
    expect((unreadable as Error).message).toMatch(/ENOENT/);
  });
});
