// What runs inside the learner server's Worker (in the same sandboxed iframe as the clients),
// before the learner's server code. Bundled on its own as an IIFE (site/vite/playground-plugin.ts).
// It opens the session's host channel, installs `require`, `module`, `Buffer`, `process` and a
// console that reports to the page, and tells the iframe when the host is accepted, so the clients
// start only then.
//
// The secret: the learner's code never sees it. It stays in this closure, and it is sent (`auth`)
// before the learner's code runs: `install` resolves once the channel is open and authenticated
// (or failed), and only then does the boot script load the code. Were the code run first, it could
// read the secret by patching a builtin the runtime calls later (JSON.stringify for the `auth`
// message, say) and send it out (importScripts of any URL is a request). On the learner's own page
// that would change nothing (the code is the host already), but a shared link runs someone else's
// code with the viewer's session: with the secret, its author could take the session's host
// channel once the viewer presses « Arrêter », and answer the viewer's next runs in its place.
import { Buffer } from 'buffer';
import type { SandboxToHost } from '#protocol/host';
import { defineGlobal, installReporting } from '../worker-report.ts';
import { HostLink } from './host-link.ts';
import { createRequire } from './run.ts';

/** Settings passed by the iframe bootstrap. */
export interface ServerRuntimeConfig {
  /** ws:// URL of /api/sessions/<id>/host. */
  hostUrl: string;
  secret: string;
  maxLogs: number;
}

/** Posted to the iframe besides the console messages. */
export type ServerSignal = { t: '__server-ready' } | { t: '__server-failed'; text: string };

const scope = self as unknown as Parameters<typeof installReporting>[0];

/** Resolves once the host channel is open and `auth` sent (or the channel failed): the learner's code may run. */
function install(cfg: ServerRuntimeConfig): Promise<void> {
  const report = installReporting(scope, cfg.maxLogs);
  const say =
    (level: 'log' | 'info' | 'warn' | 'error') =>
    (...args: unknown[]) =>
      (scope.console as Record<string, (...a: unknown[]) => void>)[level](...args);
  const NativeWebSocket = WebSocket;
  const channel = new NativeWebSocket(cfg.hostUrl);
  const queue: string[] = [];
  // The commands of one run of the server code leave in one frame (host-link.ts, protocol/host.ts).
  const link = HostLink.overText(
    (text) => {
      if (channel.readyState === NativeWebSocket.OPEN) channel.send(text);
      else queue.push(text);
    },
    { log: say('log'), info: say('info'), warn: say('warn'), error: say('error') },
  );
  // What a listener of the server code throws is reported as uncaught (with its line), and the
  // frame's next messages are still handled.
  const rethrow = (err: unknown) =>
    queueMicrotask(() => {
      throw err;
    });
  let ready = false;
  let authenticated!: () => void;
  const started = new Promise<void>((resolve) => (authenticated = resolve));
  channel.onopen = () => {
    channel.send(JSON.stringify({ t: 'auth', secret: cfg.secret }));
    for (const text of queue.splice(0)) channel.send(text);
    authenticated();
  };
  channel.onmessage = (ev) => {
    let messages: SandboxToHost[];
    try {
      messages = link.receiveText(String(ev.data), rethrow);
    } catch {
      return; // not JSON
    }
    if (!ready && messages.some((m) => m.t === 'ready')) {
      ready = true;
      scope.postMessage({ t: '__server-ready' } satisfies ServerSignal);
    }
  };
  channel.onclose = (ev) => {
    authenticated(); // the code runs anyway, to show what fails
    const text = `Canal du serveur fermé (code ${ev.code}${ev.reason ? ` : ${ev.reason}` : ''}) : le serveur de la leçon ne reçoit plus rien.`;
    if (!ready) scope.postMessage({ t: '__server-failed', text } satisfies ServerSignal);
    else report({ t: 'error', kind: 'error', text, line: null });
  };

  const module = { exports: {} as unknown };
  defineGlobal(scope, 'require', createRequire(link));
  defineGlobal(scope, 'module', module);
  defineGlobal(scope, 'exports', module.exports);
  defineGlobal(scope, 'Buffer', Buffer);
  defineGlobal(scope, 'global', scope);
  defineGlobal(scope, 'setImmediate', (fn: (...a: unknown[]) => void, ...args: unknown[]) => setTimeout(fn, 0, ...args));
  defineGlobal(
    scope,
    'process',
    Object.freeze({
      env: Object.freeze({}),
      argv: ['node', 'serveur.js'],
      platform: 'browser',
      nextTick: (fn: (...a: unknown[]) => void, ...args: unknown[]) => queueMicrotask(() => fn(...args)),
    }),
  );
  // The clients' globals make no sense here (server code reaches its clients through `ws` and `http`).
  for (const name of ['WebSocket', 'EventSource', 'fetch', 'XMLHttpRequest']) defineGlobal(scope, name, undefined);
  return started;
}

scope.__awInstallServer = install;
