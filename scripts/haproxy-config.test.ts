import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { haproxyConfig, PRODUCTION_EXAMPLE } from './haproxy-config.ts';

describe('haproxy configuration', () => {
  it('deploy/haproxy.cfg is what haproxyConfig writes for the production example (node scripts/haproxy-config.ts > deploy/haproxy.cfg)', () => {
    expect(readFileSync(new URL('../deploy/haproxy.cfg', import.meta.url), 'utf8')).toBe(haproxyConfig(PRODUCTION_EXAMPLE));
  });

  it('routes by the route key of the id, with a fresh key for each new session, and keeps draining instances for their sessions', () => {
    const cfg = haproxyConfig({ ...PRODUCTION_EXAMPLE, source: '127.0.0.2', log: undefined });
    const sessions = cfg.slice(cfg.indexOf('\nbackend sessions'), cfg.indexOf('\nbackend pages'));
    const pages = cfg.slice(cfg.indexOf('\nbackend pages'));
    expect(sessions).toMatch(/balance hash var\(txn\.route\)\n {2}hash-type consistent/);
    expect(sessions).toContain('option httpchk GET /healthz');
    expect(sessions).toContain('http-reuse never');
    expect(sessions).not.toContain('hash-balance-factor');
    expect(sessions).toContain('no option redispatch');
    expect(pages).toContain('option httpchk GET /readyz');
    expect(cfg).toContain('path,field(3,/),bytes(0,8) if { path_beg /s/ }');
    expect(cfg).toContain('path,field(4,/),bytes(0,8) if { path_beg /api/sessions/ } !create_path');
    expect(cfg).toContain('http-request del-header X-Session-Route');
    expect(cfg.indexOf('del-header X-Session-Route')).toBeLessThan(cfg.indexOf('set-header X-Session-Route'));
    expect(cfg.match(/ source 127\.0\.0\.2/g)?.length).toBe(2 * PRODUCTION_EXAMPLE.servers.length);
    expect(cfg).not.toMatch(/^\s*log/m);
    // Explicit server ids (the ring's positions), in both backends.
    for (const server of PRODUCTION_EXAMPLE.servers)
      expect(cfg.split(`server ${server.name} ${server.address} id ${server.id} `).length).toBe(3);
    // Logs never carry the URI (a session id is a capability).
    expect(haproxyConfig(PRODUCTION_EXAMPLE)).not.toMatch(/%r\b|%HU|%HP|option httplog/);
  });
});
