// `npm run bench`: measures, in this run on this machine, the sandbox against plain ws and the
// playground in Chromium, then prints a summary with each figure next to its target.
// Parts can be chosen: `npm run bench -- echo memory latency browser relay relay-sessions` (default: all);
// `npm run bench -- cluster` (HAProxy + 3 instances, bench/cluster.ts) runs only when named.
// Monitors read one JSON event per message (the protocol's default); `--batch` makes the bench's
// monitors opt in to `?batch=1` (JSON arrays of events) instead. The mode is printed.
// Every figure printed is measured here; nothing is hard-coded. BENCH_IDLE_CONNECTIONS sets the
// number of idle connections of the memory part (default 2000), BENCH_ECHO_RUNS the rounds of the
// echo part (default 3); BENCH_RELAY_SESSIONS the sessions of the relay-sessions part (default 2000),
// BENCH_RELAY_RATE their messages per second each (default 1), BENCH_RELAY_RUNS its rounds (default
// 3); BENCH_RELAY_RTT_MESSAGES the round trips of each series of the relay part (default 500);
// BENCH_CPU_PROF a directory where each sandbox server child writes its CPU profile (--cpu-prof).
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { BENCH_DIR, fmt, killAll, sleep, startChild, type Child } from './lib.ts';
import { BENCH_LIMITS } from './limits.ts';

const batch = process.argv.includes('--batch');
const parts = process.argv.slice(2).filter((a) => a !== '--batch');
const monitorMode = batch
  ? 'monitors opt in to ?batch=1 (JSON arrays of events)'
  : 'monitors in the default mode (one JSON event per message)';
const want = (p: string) => (parts.length === 0 && p !== 'cluster') || parts.includes(p);
const SERVER = join(BENCH_DIR, 'server.ts');
const started = performance.now();

interface Row {
  figure: string;
  value: string;
  target: string;
  pass: boolean | null;
}
const rows: Row[] = [];
const row = (figure: string, value: string, target: string, pass: boolean | null) => rows.push({ figure, value, target, pass });

async function server(kind: 'plain' | 'plain-coalesced' | 'sandbox', gc = false): Promise<Child & { port: number; pid: number }> {
  // BENCH_CPU_PROF=<dir>: the sandbox servers write a V8 CPU profile there when they stop (--cpu-prof).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const child = startChild(SERVER, [kind], { execArgv: [...(gc ? ['--expose-gc'] : []), ...prof] });
  const ready = await child.next<{ port: number; pid: number }>('ready', 30_000);
  return Object.assign(child, { port: ready.port, pid: ready.pid });
}

const log = (s = '') => console.log(s);
log(`Atelier WebSocket — benchmark (${new Date().toISOString()})`);
log(
  `Node ${process.version}, ${cpus().length} CPU (${cpus()[0]?.model.trim()}), ${fmt(totalmem() / 2 ** 30, 1)} GiB; everything on 127.0.0.1`,
);
log(`Sandbox limits raised for the load (createAppServer limits option): ${JSON.stringify(BENCH_LIMITS)}`);
log('  (defaults: 50 msg/s per session, burst 100, 20 sessions and 100 connections per IP — they would refuse this load by design)');
log(`Monitor mode: ${monitorMode}`);

// ---------------------------------------------------------------------------------------------
// 1. Echo throughput
if (want('echo')) {
  const load = { connections: 16, window: 64, warmupMs: 2000, measureMs: 8000 };
  // Rounds interleave the three servers (a drift of the machine's load touches all of them); each
  // figure is the median of its rounds.
  const rounds = Math.max(1, Number(process.env.BENCH_ECHO_RUNS ?? 3));
  log();
  log(
    `1. Echo throughput: ${load.connections} connections × ${load.window} pipelined 32-byte text messages, ` +
      `${load.warmupMs / 1000} s warm-up + ${load.measureMs / 1000} s measured; load client and server in separate processes; ` +
      `${rounds} interleaved rounds, medians`,
  );
  const modes = ['plain', 'plain-coalesced', 'sandbox'] as const;
  const label = (mode: (typeof modes)[number]) =>
    mode === 'plain'
      ? 'plain ws 8.23 (perMessageDeflate off)'
      : mode === 'plain-coalesced'
        ? "plain ws 8.23 + the sandbox's write coalescing (one socket write per TCP read), for a like-for-like ratio"
        : `sandbox echo (tap + decoders + 1 monitor per session of 2 clients; ${batch ? 'monitor ?batch=1' : 'monitor one event per message'}; replies coalesced)`;
  const runs: Record<string, Record<string, number>[]> = { plain: [], 'plain-coalesced': [], sandbox: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const mode of modes) {
      const srv = await server(mode);
      const clientMode = mode === 'sandbox' ? 'sandbox' : 'plain';
      const client = startChild(join(BENCH_DIR, 'echo-client.ts'), [
        JSON.stringify({ mode: clientMode, port: srv.port, serverPid: srv.pid, batch, ...load }),
      ]);
      const r = await client.next<Record<string, number>>('result', 60_000);
      await client.stop();
      await srv.stop();
      runs[mode].push(r);
      log(`   round ${round}, ${label(mode)}`);
      log(
        `      ${fmt(r.echoesPerSecond)} echoes/s; server CPU ${fmt(r.serverCpuSeconds, 2)} s in ${fmt(r.seconds, 2)} s → ` +
          `${fmt(r.echoesPerServerCpuSecond)} echoes per server CPU-second; load client CPU ${fmt(r.clientCpuSeconds, 2)} s`,
      );
      if (mode === 'sandbox') {
        log(
          `      monitors read ${fmt(r.monitorEventsPerSecond)} events/s (${fmt(r.monitorEventsPerSecond / r.echoesPerSecond, 2)} per echo); ` +
            `dropped events ${r.dropped}, limit events ${r.limitEvents}, connections closed early ${r.closedEarly}`,
        );
      }
    }
  }
  const median = (mode: string, key: string) => [...runs[mode].map((r) => r[key])].sort((a, b) => a - b)[runs[mode].length >> 1];
  const perCpu = (mode: string) => median(mode, 'echoesPerServerCpuSecond');
  const perSecond = (mode: string) => median(mode, 'echoesPerSecond');
  const ratioCpu = perCpu('sandbox') / perCpu('plain');
  const ratioRate = perSecond('sandbox') / perSecond('plain');
  const ratioLike = perCpu('sandbox') / perCpu('plain-coalesced');
  for (const mode of modes) log(`   median, ${mode}: ${fmt(perSecond(mode))} echoes/s, ${fmt(perCpu(mode))} per server CPU-second`);
  log(`   ratio sandbox / plain: ${fmt(ratioCpu, 2)}× per server CPU-second, ${fmt(ratioRate, 2)}× in messages/s`);
  log(
    `   ratio sandbox / plain with the same coalescing (what the tap, decoders and monitor cost): ${fmt(ratioLike, 2)}× per server CPU-second`,
  );
  const dropped = runs.sandbox.reduce((n, r) => n + r.dropped, 0);
  row('Echo: plain ws', `${fmt(perSecond('plain'))} msg/s, ${fmt(perCpu('plain'))}/CPU-s`, '—', null);
  row(
    'Echo: sandbox (tap+monitor)',
    `${fmt(perSecond('sandbox'))} msg/s, ${fmt(perCpu('sandbox'))}/CPU-s, ${dropped} events dropped`,
    '—',
    null,
  );
  row(`Echo ratio per server CPU-s${batch ? ' [batch]' : ''}`, `${fmt(ratioCpu, 2)}×`, '≥ 0.6×', ratioCpu >= 0.6);
  row('Echo ratio in msg/s', `${fmt(ratioRate, 2)}×`, '(≥ 0.6×)', ratioRate >= 0.6);
  row('Echo ratio vs coalesced plain ws, per CPU-s', `${fmt(ratioLike, 2)}×`, '(≥ 0.6×)', ratioLike >= 0.6);
}

// ---------------------------------------------------------------------------------------------
// 2. Memory per idle connection
if (want('memory')) {
  const N = Number(process.env.BENCH_IDLE_CONNECTIONS ?? 2000);
  log();
  log(
    `2. Memory per idle connection: ${N} idle WebSockets; server RSS before and after, after a warm-up batch of 100 connections opened and closed, ` +
      "measured two ways: (a) after 3 full GCs (--expose-gc); (b) after V8's memory-reducing GC, which also gives back the young generation " +
      'V8 grew during the setup (median of 3 runs)',
  );
  type Mem = { rss: number; heapUsed: number; external: number; newSpace: number; oldSpace: number; gc: boolean };
  const variants = [
    { name: 'plain ws', mode: 'plain' as const, perSession: 1 },
    { name: 'sandbox, 2 clients + 1 monitor per session', mode: 'sandbox' as const, perSession: 2 },
    { name: 'sandbox, 1 client + 1 monitor per session', mode: 'sandbox' as const, perSession: 1 },
  ];
  const perConn: number[] = [];
  const perConnReduced: number[] = [];
  const heapReduced: number[] = [];
  // One server per run: a memory-reducing GC before the connections would change what (a)
  // measures. (b) is run RUNS times and its median kept: RSS moves by a few MiB from run to run
  // (allocator and page effects), the JS heap does not.
  const RUNS = 3;
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
  for (const v of variants) {
    const reduced: { rss: number; heap: number }[] = [];
    for (const reduce of [false, ...Array<boolean>(RUNS).fill(true)]) {
      const srv = await server(v.mode, true);
      const warm = startChild(join(BENCH_DIR, 'idle-client.ts'), [
        JSON.stringify({ mode: v.mode, port: srv.port, connections: 100, perSession: v.perSession }),
      ]);
      await warm.next('connected', 60_000);
      warm.send({ type: 'close' });
      await warm.stop();
      await sleep(500);
      const before = await srv.ask<Mem>({ type: 'mem', reduce });
      const client = startChild(join(BENCH_DIR, 'idle-client.ts'), [
        JSON.stringify({ mode: v.mode, port: srv.port, connections: N, perSession: v.perSession, batch }),
      ]);
      const c = await client.next<{ sockets: number }>('connected', 120_000);
      await sleep(1000);
      const after = await srv.ask<Mem>({ type: 'mem', reduce });
      client.send({ type: 'close' });
      await client.stop();
      await srv.stop();
      const per = (after.rss - before.rss) / N;
      const heap = (after.heapUsed - before.heapUsed) / N;
      if (reduce) reduced.push({ rss: per, heap });
      else perConn.push(per);
      if (!reduce) log(`   ${v.name}: ${c.sockets} client sockets (${N} learner connections)${before.gc ? '' : ' [no GC available]'}`);
      log(
        `      (${reduce ? 'b' : 'a'}) RSS +${fmt((after.rss - before.rss) / 2 ** 20, 1)} MiB = ${fmt(per / 1024, 1)} KiB per learner connection ` +
          `(JS heap ${fmt(heap / 1024, 1)} KiB, external ${fmt((after.external - before.external) / N / 1024, 1)} KiB); ` +
          `V8 new space ${fmt(before.newSpace / 2 ** 20, 1)} → ${fmt(after.newSpace / 2 ** 20, 1)} MiB, old space ${fmt(before.oldSpace / 2 ** 20, 1)} → ${fmt(after.oldSpace / 2 ** 20, 1)} MiB`,
      );
    }
    perConnReduced.push(median(reduced.map((r) => r.rss)));
    heapReduced.push(median(reduced.map((r) => r.heap)));
    log(
      `      (b) median of ${RUNS}: ${fmt(perConnReduced.at(-1)! / 1024, 1)} KiB RSS, JS heap ${fmt(heapReduced.at(-1)! / 1024, 1)} KiB per learner connection`,
    );
  }
  const ratio = (a: number[], i: number) => a[i] / a[0];
  log(
    `   ratio sandbox / plain, (b): ${fmt(ratio(perConnReduced, 1), 2)}× (2 clients per session), ${fmt(ratio(perConnReduced, 2), 2)}× (1 client per session); ` +
      `(a): ${fmt(ratio(perConn, 1), 2)}×, ${fmt(ratio(perConn, 2), 2)}×; kernel socket buffers not included`,
  );
  row('Idle conn: plain ws (b)', `${fmt(perConnReduced[0] / 1024, 1)} KiB RSS`, '—', null);
  row(
    'Idle conn: sandbox, 2 cl./session (b)',
    `${fmt(perConnReduced[1] / 1024, 1)} KiB RSS (${fmt(ratio(perConnReduced, 1), 2)}×)`,
    '≤ 2× plain',
    ratio(perConnReduced, 1) <= 2,
  );
  row(
    'Idle conn: sandbox, 1 cl./session (b)',
    `${fmt(perConnReduced[2] / 1024, 1)} KiB RSS (${fmt(ratio(perConnReduced, 2), 2)}×)`,
    '(≤ 2× plain)',
    ratio(perConnReduced, 2) <= 2,
  );
  row(
    'Idle conn: JS heap only, 2 cl./session (b)',
    `${fmt(heapReduced[1] / 1024, 1)} vs ${fmt(heapReduced[0] / 1024, 1)} KiB (${fmt(ratio(heapReduced, 1), 2)}×)`,
    '(≤ 2× plain)',
    ratio(heapReduced, 1) <= 2,
  );
  row(
    'Idle conn: sandbox, 2 cl./session (a)',
    `${fmt(perConn[1] / 1024, 1)} KiB vs ${fmt(perConn[0] / 1024, 1)} KiB RSS (${fmt(ratio(perConn, 1), 2)}×)`,
    '(≤ 2× plain)',
    ratio(perConn, 1) <= 2,
  );
}

// ---------------------------------------------------------------------------------------------
// 3. Frame-to-monitor latency with 2 000 sessions
if (want('latency')) {
  const opts = { sessions: 2000, seconds: 25 };
  log();
  log(
    `3. Frame → monitor latency: ${opts.sessions} sessions × (1 monitor + 2 echo clients), each client sends 1 message/s ` +
      `(random phase) for ${opts.seconds} s; time from ws.send in the load process to the monitor's frame event in the same process; ${monitorMode}`,
  );
  const srv = await server('sandbox');
  const client = startChild(join(BENCH_DIR, 'latency-client.ts'), [JSON.stringify({ port: srv.port, serverPid: srv.pid, batch, ...opts })]);
  await client.next('measuring', 120_000);
  await srv.ask({ type: 'eld-reset' });
  await client.next('measured', 120_000);
  const eld = await srv.ask<{ p50: number; p99: number; max: number; heapUsed: number; rss: number }>({ type: 'eld' });
  const r = await client.next<Record<string, number>>('result', 60_000);
  await client.stop();
  await srv.stop();
  log(
    `   ${r.sockets} sockets on each side (setup ${fmt(r.setupSeconds, 1)} s); sent ${r.sent}, received by monitors ${r.received}, ` +
      `lost ${r.lost}, unmatched ${r.unknown}, dropped events ${r.dropped}, limit events ${r.limits}`,
  );
  log(
    `   latency p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, max ${fmt(r.max, 2)} ms (mean ${fmt(r.mean, 2)} ms); ` +
      `server CPU ${fmt(r.serverCpuShare * 100)} %, load process CPU ${fmt(r.clientCpuShare * 100)} %`,
  );
  log(
    `   event-loop delay while sending: server p99 ${fmt(eld.p99, 1)} ms, max ${fmt(eld.max, 1)} ms; load process p99 ${fmt(r.clientLoopDelayP99, 1)} ms, ` +
      `max ${fmt(r.clientLoopDelayMax, 1)} ms; server heap at the end ${fmt(eld.heapUsed / 2 ** 20)} MiB, RSS ${fmt(eld.rss / 2 ** 20)} MiB`,
  );
  row('Latency p50 (2 000 sessions)', `${fmt(r.p50, 1)} ms`, '—', null);
  row(`Latency p99 (2 000 sessions)${batch ? ' [batch]' : ''}`, `${fmt(r.p99, 1)} ms (max ${fmt(r.max, 1)})`, '≤ 100 ms', r.p99 <= 100);
  row('Latency: events lost', `${r.lost} of ${r.sent} (dropped ${r.dropped})`, '0', r.lost === 0 && r.dropped === 0);
}

// ---------------------------------------------------------------------------------------------
// 4. Browser
if (want('browser')) {
  const { browserBench } = await import('./browser.ts');
  log();
  log('4. Browser (Playwright + /usr/bin/chromium, production server: dist/ + sandbox-server/main.ts)');
  const b = await browserBench(log);
  row('Run → first frame line, p50', `${fmt(b.run.p50, 1)} ms (n=${b.run.n})`, '≤ 50 ms', b.run.p50 <= 50);
  row('Run → first frame line, p95', `${fmt(b.run.p95, 1)} ms`, '—', null);
  row('First run on a fresh page, p50', `${fmt(b.coldRun.p50, 1)} ms (n=${b.coldRun.n})`, '(≤ 50 ms)', b.coldRun.p50 <= 50);
  row('JS on lesson load (gzip)', `${fmt(b.js.gzip / 1024, 1)} KiB in ${b.js.files.length} files`, '≤ 30 KB', b.js.gzip <= 30_000);
  row('Monaco request → ready, p50', `${fmt(b.monaco.p50)} ms (n=${b.monaco.n})`, '—', null);
}

// ---------------------------------------------------------------------------------------------
// 5. Relay round trip in Chromium (issue 11: the learner's server code in the browser Worker)
if (want('relay')) {
  const { relayBrowserBench } = await import('./relay-browser.ts');
  log();
  log(
    '5. Relay round trip: an external Node ws client sends 32-byte text messages one at a time (25 ms after each reply: under the default 50 msg/s) ' +
      "and times send → reply; the learner's echo server runs in Chromium's Worker (/production/securite/, verifier-origin), " +
      'vs the built-in echo scenario of a normal session (with a monitor) — interleaved blocks of 50; production server, default limits',
  );
  const b = await relayBrowserBench(log);
  row('Relay round trip p50 (browser Worker)', `${fmt(b.relay.p50, 2)} ms (n=${b.relay.n})`, '≤ 2 ms', b.relay.p50 <= 2);
  row('Relay round trip p99 (browser Worker)', `${fmt(b.relay.p99, 2)} ms (max ${fmt(b.relay.max, 1)})`, '≤ 10 ms', b.relay.p99 <= 10);
  row('Built-in echo round trip p50 / p99', `${fmt(b.echo.p50, 2)} / ${fmt(b.echo.p99, 2)} ms`, '—', null);
  row('Relay to a Node host p50 / p99', `${fmt(b.nodeHost.p50, 2)} / ${fmt(b.nodeHost.p99, 2)} ms`, '—', null);
}

// ---------------------------------------------------------------------------------------------
// 6. Server CPU and memory per session: relayed echo server vs built-in echo
if (want('relay-sessions')) {
  const K = Number(process.env.BENCH_RELAY_SESSIONS ?? 2000);
  const rate = Number(process.env.BENCH_RELAY_RATE ?? 1);
  const rounds = Math.max(1, Number(process.env.BENCH_RELAY_RUNS ?? 3));
  const load = { sessions: K, rate, warmupSeconds: 3, seconds: 20 };
  log();
  log(
    `6. Server CPU and memory per session: ${K} sessions, one echo client each sending a 32-byte text message ${rate}×/s (random phase), ` +
      `${load.warmupSeconds} s warm-up + ${load.seconds} s measured, no monitors; relayed: the learner's echo server run by the façade runtime ` +
      '(HostLink + runServerCode) in a host process of its own; built-in: the echo scenario. Sandbox, hosts and clients in separate processes; ' +
      'sandbox CPU from /proc/<pid>/stat; memory: sandbox RSS and JS heap after a memory-reducing GC, fresh server vs K sessions connected' +
      (rounds > 1 ? `; ${rounds} interleaved rounds, medians` : ''),
  );
  type Mem = { rss: number; heapUsed: number };
  type Res = { cpuPerSession: number; cpuPerMessage: number; rss: number; heap: number; p50: number; p99: number };
  const results: Record<'builtin' | 'relay', Res[]> = { builtin: [], relay: [] };
  for (let round = 1; round <= rounds; round++) {
    for (const mode of ['builtin', 'relay'] as const) {
      const srv = await server('sandbox', true);
      const before = await srv.ask<Mem>({ type: 'mem', reduce: true });
      let hosts: Child | null = null;
      let hostPid: number | undefined;
      let ids: string[] = [];
      let hostSetup = 0;
      if (mode === 'relay') {
        hosts = startChild(join(BENCH_DIR, 'relay-hosts.ts'), [JSON.stringify({ port: srv.port, sessions: K })]);
        const h = await hosts.next<{ ids: string[]; pid: number; setupSeconds: number }>('hosts', 600_000);
        ({ ids, pid: hostPid, setupSeconds: hostSetup } = h);
      }
      const client = startChild(join(BENCH_DIR, 'session-load-client.ts'), [
        JSON.stringify({ mode, port: srv.port, serverPid: srv.pid, hostPid, ...load }),
      ]);
      if (mode === 'relay') client.send({ type: 'ids', ids });
      const c = await client.next<{ sockets: number; setupSeconds: number }>('connected', 600_000);
      const r = await client.next<Record<string, number>>('result', (load.warmupSeconds + load.seconds + 30) * 1000);
      const after = await srv.ask<Mem>({ type: 'mem', reduce: true });
      const hostStats = hosts ? await hosts.ask<{ errors: number; firstError: string; closedEarly: number }>({ type: 'stats' }) : null;
      client.send({ type: 'close' });
      await client.stop();
      await hosts?.stop();
      await srv.stop();
      const cpuShare = r.serverCpuSeconds / r.seconds;
      const res: Res = {
        cpuPerSession: cpuShare / K,
        cpuPerMessage: r.serverCpuSeconds / r.replies,
        rss: (after.rss - before.rss) / K,
        heap: (after.heapUsed - before.heapUsed) / K,
        p50: r.p50,
        p99: r.p99,
      };
      results[mode].push(res);
      log(
        `   round ${round}, ${mode === 'relay' ? "relayed (learner's echo server in the host process)" : 'built-in echo scenario'}: ` +
          `${c.sockets} clients connected in ${fmt(c.setupSeconds, 1)} s${mode === 'relay' ? ` (hosts set up in ${fmt(hostSetup, 1)} s)` : ''}`,
      );
      log(
        `      sent ${r.sent}, replies ${r.replies}, lost ${r.lost}, unmatched ${r.unknown}, closed early ${r.closedEarly}` +
          (hostStats
            ? `; host errors ${hostStats.errors}${hostStats.firstError ? ` (${hostStats.firstError})` : ''}, host channels closed early ${hostStats.closedEarly}`
            : ''),
      );
      log(
        `      sandbox CPU ${fmt(r.serverCpuSeconds, 2)} s in ${fmt(r.seconds, 1)} s = ${fmt(cpuShare * 100, 1)} % of a core → ` +
          `${fmt(res.cpuPerSession * 1e6, 1)} µs/s per session, ${fmt(res.cpuPerMessage * 1e6, 1)} µs per echo` +
          (mode === 'relay' ? `; host process CPU ${fmt((r.hostCpuSeconds / r.seconds) * 100, 1)} %` : '') +
          `; client process CPU ${fmt((r.clientCpuSeconds / r.seconds) * 100, 1)} %`,
      );
      log(
        `      sandbox RSS ${fmt(before.rss / 2 ** 20, 1)} → ${fmt(after.rss / 2 ** 20, 1)} MiB = ${fmt(res.rss / 1024, 1)} KiB per session; ` +
          `JS heap ${fmt(before.heapUsed / 2 ** 20, 1)} → ${fmt(after.heapUsed / 2 ** 20, 1)} MiB = ${fmt(res.heap / 1024, 1)} KiB per session; ` +
          `reply time p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms, max ${fmt(r.max, 1)} ms`,
      );
    }
  }
  const med = (mode: 'builtin' | 'relay', k: keyof Res) => {
    const xs = results[mode].map((x) => x[k]).sort((a, b) => a - b);
    const m = xs.length >> 1;
    return xs.length % 2 ? xs[m] : (xs[m - 1] + xs[m]) / 2;
  };
  const ratio = (k: keyof Res) => med('relay', k) / med('builtin', k);
  log(
    `   ratio relayed / built-in: sandbox CPU ${fmt(ratio('cpuPerMessage'), 2)}× per echo (${fmt(ratio('cpuPerSession'), 2)}× per session-second), RSS per session ${fmt(ratio('rss'), 2)}×, JS heap per session ${fmt(ratio('heap'), 2)}×`,
  );
  row(
    `Relayed vs built-in: sandbox CPU (K=${K}, ${rate}/s)`,
    `${fmt(med('relay', 'cpuPerMessage') * 1e6, 1)} vs ${fmt(med('builtin', 'cpuPerMessage') * 1e6, 1)} µs/echo (${fmt(ratio('cpuPerMessage'), 2)}×)`,
    '≤ 1.5×',
    ratio('cpuPerMessage') <= 1.5,
  );
  row(
    `Relayed vs built-in: sandbox RSS/session (K=${K})`,
    `${fmt(med('relay', 'rss') / 1024, 1)} vs ${fmt(med('builtin', 'rss') / 1024, 1)} KiB (${fmt(ratio('rss'), 2)}×)`,
    '≤ 1.5×',
    ratio('rss') <= 1.5,
  );
  row(
    `Relayed vs built-in: JS heap/session (K=${K})`,
    `${fmt(med('relay', 'heap') / 1024, 1)} vs ${fmt(med('builtin', 'heap') / 1024, 1)} KiB (${fmt(ratio('heap'), 2)}×)`,
    '(≤ 1.5×)',
    ratio('heap') <= 1.5,
  );
  row(
    `Relayed vs built-in: reply p50 / p99 (K=${K})`,
    `${fmt(med('relay', 'p50'), 1)} / ${fmt(med('relay', 'p99'), 1)} vs ${fmt(med('builtin', 'p50'), 1)} / ${fmt(med('builtin', 'p99'), 1)} ms`,
    '—',
    null,
  );
}

// ---------------------------------------------------------------------------------------------
// 7. The cluster: HAProxy + 3 instances (issue 13)
if (want('cluster')) {
  const { clusterBench } = await import('./cluster.ts');
  log();
  log(
    `7. Cluster (npm run cluster: HAProxy ${'2.6'} + 3 instances of sandbox-server/main.ts, bench limits): the latency part's load ` +
      '(S sessions × 1 monitor + 2 echo clients, 1 msg/s each) on one instance directly, then through HAProxy over the 3',
  );
  const series = await clusterBench(log);
  for (const s of series) {
    row(`Cluster: ${s.name}, S=${s.sessions}, p99`, `${fmt(s.p99, 1)} ms (p50 ${fmt(s.p50, 1)})`, '≤ 100 ms', s.p99 <= 100);
    row(`Cluster: ${s.name}, lost`, `${s.lost} of ${s.sent} (dropped ${s.dropped})`, '0', s.lost === 0 && s.dropped === 0);
  }
}

// ---------------------------------------------------------------------------------------------
log();
log('Summary');
const w0 = Math.max(6, ...rows.map((r) => r.figure.length));
const w1 = Math.max(8, ...rows.map((r) => r.value.length));
const w2 = Math.max(6, ...rows.map((r) => r.target.length));
log(`| ${'Figure'.padEnd(w0)} | ${'Measured'.padEnd(w1)} | ${'Target'.padEnd(w2)} | Result |`);
log(`|${'-'.repeat(w0 + 2)}|${'-'.repeat(w1 + 2)}|${'-'.repeat(w2 + 2)}|--------|`);
for (const r of rows) {
  const res = r.pass === null ? '' : r.pass ? 'PASS' : 'MISS';
  log(`| ${r.figure.padEnd(w0)} | ${r.value.padEnd(w1)} | ${r.target.padEnd(w2)} | ${res.padEnd(6)} |`);
}
log('(targets in parentheses are informational variants of the one above)');
log(`Total time ${fmt((performance.now() - started) / 1000, 0)} s`);
killAll();
process.exit(0);
