// The HAProxy configuration of a cluster of sandbox instances (deploy/README.md explains each
// choice). One function writes it for `npm run cluster`, for the cluster's integration test and for
// deploy/haproxy.cfg (a unit test checks that file is exactly what it writes for the production
// example), so the configuration documented is the configuration tested.
//
// Routing: every request naming a session (/s/<id>/…, /api/sessions/<id>…) goes to the backend
// `sessions`, which picks the instance by a consistent hash of the id's route key (its first 8
// characters, session-ids.ts). POST /api/sessions goes there too, with a route key the proxy draws
// (X-Session-Route) and hashes the same way: the instance that creates the session is the one
// every later request of the session reaches. Everything else (the site's pages) goes to `pages`.

export interface HaproxyServer {
  name: string;
  /**
   * The server's `id`: HAProxy places a server on the consistent-hash ring by its id, which defaults
   * to its position in the list. Explicit and never reused, so that removing a line does not move
   * the servers after it on the ring (and their sessions).
   */
  id: number;
  /** host:port of the instance. */
  address: string;
}

export interface HaproxyOptions {
  /** The `bind` line's arguments (e.g. "127.0.0.1:8080", or ":443 ssl crt … alpn http/1.1"). */
  bind: string;
  /** "https" when TLS ends at this proxy. */
  proto: 'http' | 'https';
  servers: readonly HaproxyServer[];
  /** Address the proxy connects from (the instances' TRUST_PROXY), or none. */
  source?: string;
  /** Largest number of client connections (each costs 2 descriptors: client and instance). */
  maxconn: number;
  /** Health checks: interval and failures before an instance is out (the sessions backend). */
  checkInterMs: number;
  checkFall: number;
  checkRise: number;
  /** Logs to this target (e.g. "/dev/log local0"), none: no logs. */
  log?: string;
  /** Text put at the top (comments). */
  header?: string;
}

const ms = (n: number) => (n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`);

export function haproxyConfig(o: HaproxyOptions): string {
  const source = o.source ? ` source ${o.source}` : '';
  const check = `check inter ${ms(o.checkInterMs)} fall ${o.checkFall} rise ${o.checkRise}`;
  const servers = (extra: string) => o.servers.map((s) => `  server ${s.name} ${s.address} id ${s.id} ${extra}`).join('\n');
  const lines = [
    o.header ?? '',
    'global',
    // Every proxied connection holds two descriptors (client side, instance side): HAProxy sets its
    // own descriptor limit from maxconn (about 2 × maxconn), which must stay under the hard limit.
    `  maxconn ${o.maxconn}`,
    o.log ? `  log ${o.log}` : '',
    '',
    'defaults',
    '  mode http',
    o.log ? '  log global' : '',
    // No URI in the logs: the session id in it is the session's capability.
    o.log ? '  log-format "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc %ac/%fc/%bc/%sc/%rc %HM"' : '',
    // Appends the client's address to X-Forwarded-For (the instances read the rightmost one that is
    // not a trusted proxy: TRUST_PROXY).
    '  option forwardfor',
    '  timeout connect 5s',
    // Inactivity of plain HTTP: longer than the longest silence of a sandbox response in progress (a
    // match feed's SSE stream at its slowest pace, SANDBOX_MATCH_INTERVAL_MAX: 60 s; a long poll: 25 s).
    '  timeout client 90s',
    '  timeout server 90s',
    '  timeout http-request 10s',
    '  timeout http-keep-alive 10s',
    // An open WebSocket, monitor, SSE stream may stay silent for minutes (a session expires after
    // 30 min without traffic): the tunnel timeout covers that, not the client/server ones.
    '  timeout tunnel 1h',
    '  timeout client-fin 30s',
    '  timeout check 5s',
    '',
    'frontend public',
    `  bind ${o.bind}`,
    `  maxconn ${o.maxconn}`,
    `  http-request set-header X-Forwarded-Proto ${o.proto}`,
    '  http-request set-header X-Forwarded-Host %[req.hdr(host)]',
    // Operations endpoints answer on each instance's own address, not through the proxy.
    '  http-request deny deny_status 404 if { path /metrics /healthz /readyz }',
    // The route key of a new session is the proxy's to choose, never the client's.
    '  http-request del-header X-Session-Route',
    '  acl create method POST',
    '  acl create_path path /api/sessions /api/sessions/',
    // A fresh route key per POST /api/sessions (not a secret: the id's capability is the random
    // part the instance draws with crypto.randomBytes; rand/uuid are not for security).
    '  http-request set-var(txn.route) uuid,bytes(0,8) if create create_path',
    '  http-request set-header X-Session-Route %[var(txn.route)] if create create_path',
    '  http-request set-var(txn.route) path,field(3,/),bytes(0,8) if { path_beg /s/ }',
    '  http-request set-var(txn.route) path,field(4,/),bytes(0,8) if { path_beg /api/sessions/ } !create_path',
    '  use_backend sessions if { var(txn.route) -m found }',
    '  default_backend pages',
    '',
    'backend sessions',
    // The route key (8 characters) hashed on a ring: adding or removing an instance moves only the
    // keys of its arcs. No hash-balance-factor: it would send a key elsewhere under load, where its
    // session does not exist.
    '  balance hash var(txn.route)',
    '  hash-type consistent sdbm avalanche',
    // One instance connection per client connection: the instance's tap attributes a connection to
    // the session of its request heads, and the per-IP limits count its client. Shared idle
    // connections would carry several clients' requests.
    '  http-reuse never',
    // Alive, not ready: a draining instance keeps its sessions until its grace period ends (it
    // answers the new sessions' POST with a 307, and the browser asks again). Only a dead instance
    // leaves the ring (its sessions are gone anyway).
    '  option httpchk GET /healthz',
    '  http-check expect status 200',
    // Never send a request to another instance than the hash's (its session is not there).
    '  retries 2',
    '  no option redispatch',
    servers(`${check} weight 100${source}`),
    '',
    'backend pages',
    '  balance roundrobin',
    '  http-reuse never',
    // Ready: a draining instance serves no more pages.
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  option redispatch',
    servers(`${check}${source}`),
    '',
  ];
  return `${lines
    .filter((l, i) => l !== '' || lines[i - 1] !== '')
    .join('\n')
    .trim()}\n`;
}

/** The production example in deploy/haproxy.cfg: TLS here, three instances on a private network. */
export const PRODUCTION_EXAMPLE: HaproxyOptions = {
  header: [
    '# Atelier WebSocket: HAProxy (Debian package, 2.6) in front of N sandbox instances.',
    '# Written by scripts/haproxy-config.ts (PRODUCTION_EXAMPLE); explained in deploy/README.md.',
    '# Adapt the certificate, the addresses of the instances and maxconn; the instances run with',
    '# TRUST_PROXY=<this proxy address> and the same SESSION_SECRET.',
  ].join('\n'),
  bind: ':443 ssl crt /etc/haproxy/certs/atelier.pem alpn http/1.1',
  proto: 'https',
  servers: [
    { name: 'a1', id: 1, address: '10.0.0.11:4321' },
    { name: 'a2', id: 2, address: '10.0.0.12:4321' },
    { name: 'a3', id: 3, address: '10.0.0.13:4321' },
  ],
  maxconn: 9500,
  checkInterMs: 2000,
  checkFall: 3,
  checkRise: 2,
  log: '/dev/log local0',
};

// `node scripts/haproxy-config.ts > deploy/haproxy.cfg` rewrites the example.
if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(haproxyConfig(PRODUCTION_EXAMPLE));
