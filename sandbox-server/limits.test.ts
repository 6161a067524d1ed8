import { describe, expect, it } from 'vitest';
import { limitsFromEnv, limitsToEnv } from './limits.ts';

describe('limitsToEnv', () => {
  it('gives the environment limitsFromEnv reads back', () => {
    const limits = { maxSessionsPerIp: 40, messagesPerSecond: 1_000_000, sessionIdleMs: 60_000 };
    const env = limitsToEnv(limits);
    expect(env).toMatchObject({ SANDBOX_MAX_SESSIONS_PER_IP: '40', SANDBOX_SESSION_IDLE_MS: '60000' });
    expect(limitsFromEnv(env)).toEqual(limits);
  });
});
