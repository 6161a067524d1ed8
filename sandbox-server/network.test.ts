// The network conditions' validation (the sandbox's answer to POST /api/sessions) and the line the
// terminal shows, both in protocol.ts; the sockets themselves: network.integration.test.ts.
import { describe, expect, it } from 'vitest';
import { networkConditionsText, parseNetworkConditions, rateText } from '#protocol';

describe('parseNetworkConditions', () => {
  it('keeps the fields given, fills in the drop mode, and treats "nothing that changes the traffic" as none', () => {
    expect(parseNetworkConditions(undefined)).toEqual({ conditions: null });
    expect(parseNetworkConditions({})).toEqual({ conditions: null });
    expect(parseNetworkConditions({ latencyMs: 0 })).toEqual({ conditions: null });
    expect(parseNetworkConditions({ latencyMs: 2000, bandwidth: 1024 })).toEqual({ conditions: { latencyMs: 2000, bandwidth: 1024 } });
    expect(parseNetworkConditions({ dropAfterMs: 1000 })).toEqual({ conditions: { dropAfterMs: 1000, drop: 'reset' } });
    expect(parseNetworkConditions({ dropAfterMs: 60000, drop: 'silent' })).toEqual({ conditions: { dropAfterMs: 60000, drop: 'silent' } });
    expect(parseNetworkConditions({ dropAfterMs: 2000, dropJitterMs: 6000, drop: 'silent' })).toEqual({
      conditions: { dropAfterMs: 2000, dropJitterMs: 6000, drop: 'silent' },
    });
    expect(parseNetworkConditions({ dropAfterMs: 2000, dropJitterMs: 0 })).toEqual({ conditions: { dropAfterMs: 2000, drop: 'reset' } });
  });

  it('refuses what is out of bounds, not an integer, unknown, or a drop without its time', () => {
    const bad = [
      { latencyMs: 2001 },
      { latencyMs: -1 },
      { latencyMs: '200' },
      { bandwidth: 1023 },
      { bandwidth: 1048577 },
      { bandwidth: 16384.5 },
      { dropAfterMs: 999 },
      { dropAfterMs: 60001 },
      { dropAfterMs: 5000, drop: 'RESET' },
      { drop: 'silent' },
      { dropJitterMs: 1000 },
      { dropAfterMs: 2000, dropJitterMs: -1 },
      { dropAfterMs: 2000, dropJitterMs: 60001 },
      { dropAfterMs: 2000, dropJitterMs: 0.5 },
      { latency: 200 },
      [200],
      'lent',
    ];
    for (const input of bad) {
      const result = parseNetworkConditions(input);
      expect('error' in result, JSON.stringify(input)).toBe(true);
    }
    expect(parseNetworkConditions({ bandwidth: 1023 })).toEqual({
      error: 'bandwidth\u00a0: attendu un entier de 1024 à 1048576, reçu 1023',
    });
    expect(parseNetworkConditions({ dropJitterMs: 1000 })).toEqual({
      error: 'dropJitterMs\u00a0: demande dropAfterMs (le moment de la coupure)',
    });
  });
});

describe('networkConditionsText', () => {
  it('says the conditions in French, with no-break spaces', () => {
    expect(networkConditionsText({ latencyMs: 200, bandwidth: 16384, dropAfterMs: 5000, drop: 'silent' })).toBe(
      'Conditions réseau\u00a0: latence 200\u00a0ms, débit 16\u00a0Kio/s, coupure silencieuse après 5\u00a0s',
    );
    expect(networkConditionsText({ latencyMs: 1500, dropAfterMs: 2500, drop: 'reset' })).toBe(
      'Conditions réseau\u00a0: latence 1,5\u00a0s, coupure brutale (RST) après 2,5\u00a0s',
    );
    expect(networkConditionsText({ dropAfterMs: 2000, dropJitterMs: 6000, drop: 'silent' })).toBe(
      'Conditions réseau\u00a0: coupure silencieuse entre 2\u00a0s et 8\u00a0s (au hasard pour chaque connexion)',
    );
    expect(rateText(1048576)).toBe('1\u00a0Mio/s');
    expect(rateText(1500)).toBe('1\u00a0500\u00a0o/s');
    expect(rateText(65536)).toBe('64\u00a0Kio/s');
  });
});
