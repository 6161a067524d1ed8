// « Connecter votre propre client »: the session's addresses and commands for wscat, websocat and
// Python, filled in when the box is first opened.
import { $, type Part, type PartContext } from './parts.ts';
import type { SessionClient } from './session-client.ts';

export function connectPart(ctx: Pick<PartContext, 'root' | 'props' | 'status'>, session: SessionClient): Part {
  // A learner-server session has no built-in scenarios: every path reaches the lesson's server.
  const hasServer = ctx.props.server !== undefined;
  const box = $(ctx.root, '.aw-pg-connect-body');
  const show = async () => {
    try {
      const hello = await session.connect();
      const ws = hello.endpoints.ws;
      const echo = hasServer ? ws : `${ws}echo`;
      box.querySelector('.aw-pg-connect-urls')!.textContent = hasServer
        ? [`${ws}   (WebSocket\u00a0: le serveur de la leçon, quel que soit le chemin)`, `${hello.endpoints.http}   (HTTP)`].join('\n')
        : hello.scenarios.map((s) => `${ws}${s}`).join('\n');
      box.querySelector('.aw-pg-cmd-wscat')!.textContent = `npx wscat -c "${echo}"`;
      box.querySelector('.aw-pg-cmd-websocat')!.textContent = `websocat "${echo}"`;
      box.querySelector('.aw-pg-cmd-python')!.textContent = `python3 -m websockets "${echo}"`;
      box.querySelector('.aw-pg-cmd-python-script')!.textContent = [
        'import asyncio',
        'from websockets.asyncio.client import connect',
        '',
        'async def main():',
        `    async with connect("${echo}") as ws:`,
        '        await ws.send("Bonjour depuis Python")',
        '        print(await ws.recv())',
        '',
        'asyncio.run(main())',
      ].join('\n');
      box.hidden = false;
    } catch (err) {
      ctx.status(err instanceof Error ? err.message : String(err));
    }
  };
  $<HTMLDetailsElement>(ctx.root, '.aw-pg-connect').addEventListener('toggle', (e) => {
    if ((e.currentTarget as HTMLDetailsElement).open) void show();
  });
  return {};
}
