// A learner-server host in Node for the benchmark: a session created with POST
// /api/sessions?server=1, its host channel opened and authenticated, and the learner's code run
// by the same façade runtime the browser Worker loads (HostLink + runServerCode), as
// sandbox-server/learner-server/test-host.ts does for the tests.
import type WebSocket from 'ws';
import { HostLink, type ServerConsole } from '../site/scripts/playground/server-runtime/host-link.ts';
import { runServerCode } from '../site/scripts/playground/server-runtime/run.ts';
import { openWs } from './lib.ts';

/** The learner's echo server of the relay benchmarks (text stays text, binary stays binary). */
export const ECHO_SERVER_CODE =
  "const { WebSocketServer } = require('ws');\n" +
  "new WebSocketServer({ port: 1 }).on('connection', (ws) => ws.on('message', (m, b) => ws.send(m, { binary: b })));\n";

export interface RelayHost {
  id: string;
  ws: WebSocket;
  link: HostLink;
}

/** `base` is host:port. Resolves once the host is accepted (`ready`) and `code` ran. */
export async function openRelayHost(base: string, code: string, console: ServerConsole, timeoutMs = 20_000): Promise<RelayHost> {
  const res = await fetch(`http://${base}/api/sessions?server=1`, { method: 'POST', signal: AbortSignal.timeout(timeoutMs) });
  if (res.status !== 201) throw new Error(`POST /api/sessions?server=1 → ${res.status}`);
  const { id, hostSecret } = (await res.json()) as { id: string; hostSecret: string };
  const ws = await openWs(`ws://${base}/api/sessions/${id}/host`, timeoutMs);
  const link = HostLink.overText((text) => ws.send(text), console);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`host ${id}: no ready within ${timeoutMs} ms`)), timeoutMs);
    ws.on('message', (data) => {
      if (link.receiveText(data.toString()).some((m) => m.t === 'ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    ws.once('close', (c) => reject(new Error(`host ${id}: channel closed (${c}) before ready`)));
    ws.send(JSON.stringify({ t: 'auth', secret: hostSecret }));
  });
  runServerCode(code, link);
  return { id, ws, link };
}
