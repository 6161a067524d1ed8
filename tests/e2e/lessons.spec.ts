// Generic test of every lesson's playgrounds, one test per lesson (Playwright runs them in parallel).
// Lessons are listed from lessons/ when this file loads; a test checks the built sidebar leads to
// each of them. Playground declarations are read from each <aw-playground data-props="…"> element.
// For each playground: the starter runs and produces its `expect` matchers, passes none of its
// checks, and the solution (button « Solution », then « Exécuter ») passes all of them.
import { globSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import type { MonitorEvent } from '#protocol';
import { evaluateCheck, satisfied } from '../../site/scripts/playground/checks.ts';
import type { PlaygroundProps } from '../../site/scripts/playground/types.ts';
import { test, expect } from './fixtures.ts';

// Soft assertions: a failing playground must not hide the others (all failures are reported).
const soft = expect.configure({ soft: true });

/**
 * How long the starter keeps running after its expectations are met before checks are judged. The
 * expectations themselves take a poll; a starter whose traffic goes on (timers, reconnections) is
 * judged on what it did in that time, so lessons keep their timers under a second or two.
 */
const SETTLE_MS = 1500;

/** The page of each lesson file: lessons/<part>/<name>.mdx is served at /<part>/<name>/. */
const LESSONS = globSync(['**/*.md', '**/*.mdx'], { cwd: fileURLToPath(new URL('../../lessons/', import.meta.url)) })
  .map((file) => `/${file.replace(/\.mdx?$/, '')}/`)
  .sort();

/** Every page the sidebar links to, the home page excepted. */
async function sidebarUrls(page: Page): Promise<string[]> {
  await page.goto('/');
  const sidebar = page.getByRole('navigation', { name: 'Principale' });
  const hrefs = await sidebar.getByRole('link').evaluateAll((as) => as.map((a) => a.getAttribute('href') ?? ''));
  return [...new Set(hrefs.filter((h) => h.startsWith('/') && h !== '/'))];
}

/**
 * Poll cadence of the expectations and checks: Playwright's default ([100, 250, 500, 1000] ms)
 * waits up to a second to see a condition met after the first two seconds, and most conditions
 * here (a reconnection, a heartbeat, a network outage) are met later than that. A poll reads only
 * the events added since the previous one (`runReader`), so polling 4 times a second costs little.
 */
const POLL_INTERVALS = [100, 250];

/**
 * The events and server console lines of one run of a playground, read incrementally: each read
 * fetches only what the page added since the last read, or everything again when the page's arrays
 * are not the ones read before (a different first event, or fewer entries than known). One reader
 * per run, created once the run has started.
 */
function runReader(page: Page, id: string): () => Promise<{ events: MonitorEvent[]; lines: string[] }> {
  const el = page.locator(`aw-playground[data-id="${id}"]`);
  let events: MonitorEvent[] = [];
  let lines: string[] = [];
  let first: string | undefined;
  const fetch = (from: { events: number; lines: number }) =>
    el.evaluate((node, from) => {
      const run = node as unknown as { events: MonitorEvent[]; serverLines: string[] };
      const head = run.events[0];
      return {
        first: head ? `${head.seq}:${head.type}` : undefined,
        events: run.events.length >= from.events ? run.events.slice(from.events) : null,
        lines: run.serverLines.length >= from.lines ? run.serverLines.slice(from.lines) : null,
      };
    }, from);
  return async () => {
    let got = await fetch({ events: events.length, lines: lines.length });
    if (!got.events || !got.lines || got.first !== first) {
      got = await fetch({ events: 0, lines: 0 });
      events = [];
      lines = [];
    }
    first = got.first;
    // A loop, not push(...): a run may hold more events than a call has room for arguments.
    for (const e of got.events ?? []) events.push(e);
    for (const l of got.lines ?? []) lines.push(l);
    return { events, lines };
  };
}

async function runAndWait(page: Page, props: PlaygroundProps, label: string) {
  const el = page.locator(`aw-playground[data-id="${props.id}"]`);
  await el.getByRole('button', { name: 'Exécuter' }).click();
  await expect(el.getByRole('status'), `${label} : exécution lancée`).toContainText('Exécution en cours');
  // One runner per page: starting a playground stops any other (their iframes would share a process).
  await expect(page.locator('iframe[sandbox]'), `${label} : un seul bac à sable actif`).toHaveCount(1);
}

test('la barre latérale mène à chaque leçon ; ses autres pages n’ont pas de bac à sable', async ({ page }) => {
  expect(LESSONS.length, 'des leçons dans lessons/').toBeGreaterThan(0);
  const urls = await sidebarUrls(page);
  expect(urls, 'les leçons de lessons/ dans la barre latérale').toEqual(expect.arrayContaining(LESSONS));
  // A playground outside lessons/ would escape the tests below.
  for (const url of urls.filter((u) => !LESSONS.includes(u))) {
    await page.goto(url);
    await expect(page.locator('aw-playground'), `${url} : un bac à sable hors de lessons/`).toHaveCount(0);
  }
});

for (const url of LESSONS) {
  test(`${url} : les bacs à sable tiennent leurs promesses`, async ({ page, pageGuard }) => {
    await page.goto(url);
    const declared = await page
      .locator('aw-playground')
      .evaluateAll((els) => els.map((e) => JSON.parse((e as HTMLElement).dataset.props!) as PlaygroundProps));
    expect(declared.length, `${url} : au moins un bac à sable`).toBeGreaterThan(0);
    // A run, its settling and its checks take seconds each, more on a busy machine.
    test.setTimeout(30_000 + declared.length * 60_000);
    await page.evaluate(() => localStorage.clear());
    for (const props of declared) {
      const where = `${url} · ${props.id}`;
      await test.step(where, async () => {
        // Learner code may log errors on purpose (lessons about failures): they are not page errors.
        pageGuard.expectConsoleError(/WebSocket connection to .* failed/);
        const el = page.locator(`aw-playground[data-id="${props.id}"]`);
        await el.scrollIntoViewIfNeeded();
        await el.getByRole('button', { name: 'Réinitialiser' }).click();

        // 1. The starter produces what the lesson announces…
        await runAndWait(page, props, `${where} (départ)`);
        const starterRun = runReader(page, props.id);
        for (const m of props.expect) {
          await soft
            .poll(async () => satisfied((await starterRun()).events, m), {
              message: `${where} : le code de départ doit produire ${JSON.stringify(m)}`,
              timeout: 15_000,
              intervals: POLL_INTERVALS,
            })
            .toBe(true);
        }
        // 2. …and passes no exercise.
        await page.waitForTimeout(SETTLE_MS);
        const starter = await starterRun();
        for (const check of props.checks) {
          soft(
            evaluateCheck(check, starter.events, starter.lines).passed,
            `${where} : « ${check.label} » réussi par le code de départ`,
          ).toBe(false);
          await soft(el.locator(`[data-check="${check.id}"]`)).toHaveAttribute('data-state', 'pending');
        }

        // 3. The solution passes every exercise.
        if (props.checks.length === 0) return;
        const solution = props.solution ?? props.serverSolution;
        soft(solution, `${where} : des exercices sans solution`).toBeTruthy();
        if (!solution) return;
        await el.getByRole('button', { name: 'Solution' }).click();
        await runAndWait(page, props, `${where} (solution)`);
        const solutionRun = runReader(page, props.id);
        for (const check of props.checks) {
          await soft
            .poll(
              async () => {
                const { events, lines } = await solutionRun();
                return evaluateCheck(check, events, lines).passed;
              },
              {
                message: `${where} : la solution doit réussir « ${check.label} »`,
                timeout: 20_000,
                intervals: POLL_INTERVALS,
              },
            )
            .toBe(true);
          await soft(el.locator(`[data-check="${check.id}"]`)).toHaveAttribute('data-state', 'passed');
        }
        if (await el.getByRole('button', { name: 'Arrêter' }).isEnabled()) await el.getByRole('button', { name: 'Arrêter' }).click();
      });
    }
    // A lesson whose exercises all passed is marked in the sidebar.
    if (declared.some((p) => p.checks.length > 0)) {
      const link = page.getByRole('navigation', { name: 'Principale' }).locator(`a[href="${url}"]`);
      await soft(link.locator('.aw-done'), `${url} : leçon marquée réussie`).toHaveCount(1);
    }
    test.info().annotations.push({ type: 'playgrounds', description: `${declared.length} bacs à sable` });
  });
}
