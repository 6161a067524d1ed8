// Helpers of the learner-server integration tests: a learner-server session, and a host channel
// driven by the same façade runtime the browser Worker loads (HostLink + runServerCode), with its
// console lines and every message the sandbox sent kept for assertions.
import type WebSocket from 'ws';
import { hostFrameMessages } from '#protocol/host';
import type { SandboxToHost } from '#protocol/host';
import { HostLink } from '../../site/scripts/playground/server-runtime/host-link.ts';
import { openWs, sleep, within } from '../test-helpers.ts';
import type { TestApp } from '../test-helpers.ts';

export interface Host {
  ws: WebSocket;
  link: HostLink;
  /** Console lines of the server code, as "<level>: <text>". */
  logs: string[];
  /** Every message the sandbox sent on the host channel. */
  received: SandboxToHost[];
}

/** POST /api/sessions?server=1: a session whose server is the learner's code. */
export async function learnerSession(app: TestApp): Promise<{ id: string; secret: string }> {
  const res = await fetch(`${app.http}/api/sessions?server=1`, { method: 'POST', signal: AbortSignal.timeout(5000) });
  if (res.status !== 201) throw new Error(`POST /api/sessions?server=1 → ${res.status}`);
  const body = (await res.json()) as { id: string; hostSecret: string };
  return { id: body.id, secret: body.hostSecret };
}

/** Resolves once `check()` holds, polling every 5 ms; rejects after `ms` naming `what`. */
export function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  return within(
    (async () => {
      while (!check()) await sleep(5);
    })(),
    ms,
    what,
  );
}

/** Opens the host channel of session `id`, authenticates with `secret` and waits for `ready`. */
export async function openHost(app: TestApp, id: string, secret: string): Promise<Host> {
  const logs: string[] = [];
  const received: SandboxToHost[] = [];
  const ws = await openWs(`${app.ws}/api/sessions/${id}/host`);
  const say =
    (level: string) =>
    (...args: unknown[]) =>
      logs.push(`${level}: ${args.map(String).join(' ')}`);
  const link = HostLink.overText((text) => ws.send(text), {
    log: say('log'),
    info: say('info'),
    warn: say('warn'),
    error: say('error'),
  });
  const ready = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      // A frame may hold several messages (protocol/host.ts): each is kept and handled in order.
      for (const message of hostFrameMessages(data.toString()) as SandboxToHost[]) {
        received.push(message);
        link.receive(message);
        if (message.t === 'ready') resolve();
      }
    });
  });
  ws.send(JSON.stringify({ t: 'auth', secret }));
  await within(ready, 5000, 'ready');
  return { ws, link, logs, received };
}
