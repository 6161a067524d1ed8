// The differential comparison with the learner's server in Chromium: the program runs in a
// lesson's server playground (its Worker, the same runtime as runServerCode in Node), the same
// client script runs from Node against the session, and the wire seen by a monitor of the session
// must match the real Node program's. The page's own clients (labelled A, B…) are left out, and
// the console is not compared (the page's clients talk to the server too).
import { expect, test } from '@playwright/test';
import type { Page } from '@playwright/test';
import { Monitor } from '../../sandbox-server/test-helpers.ts';
import type { TestApp } from '../../sandbox-server/test-helpers.ts';
import { Clients, sleep, within } from './client-kit.ts';
import { binary } from './corpus/binary.ts';
import { closeCodes } from './corpus/close-codes.ts';
import { sioAcks } from './corpus/sio-acks.ts';
import { sioRecovery } from './corpus/sio-recovery.ts';
import { openConnections, realSocketIoReady, runReal, traceFromMonitor } from './harness.ts';
import type { Program } from './harness.ts';
import { sandboxLimits } from './trace.ts';

const LESSON = '/production/securite/';
const ID = 'verifier-origin';

interface PlaygroundElement extends HTMLElement {
  setServerCode(code: string): void;
}

const playground = (page: Page) => page.locator(`aw-playground[data-id="${ID}"]`);

/** Runs `server` in the playground; the session id, from the console's « listening » note. */
async function runInPage(page: Page, server: string): Promise<string> {
  await page.goto(LESSON);
  await playground(page).scrollIntoViewIfNeeded();
  await expect(playground(page)).toHaveAttribute('data-ready', 'true', { timeout: 20_000 });
  await playground(page).evaluate((el, code) => (el as PlaygroundElement).setServerCode(code), server);
  await playground(page).getByRole('button', { name: 'Exécuter' }).click();
  const console = playground(page).getByRole('log', { name: 'Console du serveur' });
  await expect(console).toContainText(/\/s\/[^/\s]+\//);
  return /\/s\/([^/\s]+)\//.exec((await console.textContent()) ?? '')?.[1] ?? '';
}

for (const program of [closeCodes, binary, sioAcks, sioRecovery] as Program[]) {
  test(`${program.name}: Chromium's Worker vs the real Node program`, async ({ page, baseURL }) => {
    const real = await runReal(program);
    const base = baseURL as string;
    const port = Number(new URL(base).port);
    // The page runs the program text itself (no harness prologue: the Worker dies with the page).
    const id = await runInPage(page, program.server);
    const monitor = await Monitor.open({ ws: `ws://127.0.0.1:${port}` } as TestApp, id);
    try {
      if (program.server.includes('socket.io')) await realSocketIoReady(base, id);
      const clients = new Clients({ port, prefix: `/s/${id}` });
      await within(program.client(clients), 15_000, `the client script of ${program.name} (Chromium)`);
      await clients.closeAll();
      await within(
        (async () => {
          while (openConnections(monitor.events.filter((e) => e.type !== 'conn-open' || e.client === null))) await sleep(10);
        })(),
        3000,
        'the connections to close',
      ).catch(() => {});
      const chromium = traceFromMonitor(monitor.events, id, [], true);
      expect(sandboxLimits(chromium.trace).connections).toEqual(real.trace.connections);
    } finally {
      monitor.close();
    }
  });
}
