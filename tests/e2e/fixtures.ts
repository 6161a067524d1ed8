// Shared Playwright fixture: every test fails on a console error, an uncaught page error,
// or a request that leaves the machine (the site must work offline).
import { test as base, expect } from '@playwright/test';

const LOCAL = /^(https?|wss?):\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//;
const INTERNAL = /^(data|blob|about|chrome-extension):/;

interface PageGuard {
  consoleErrors: string[];
  outside: string[];
  /** Console errors a test expects (e.g. the 404 of a missing page) are not failures. */
  expectConsoleError(pattern: RegExp): void;
}

export const test = base.extend<{ pageGuard: PageGuard }>({
  pageGuard: [
    async ({ page }, use) => {
      const expected: RegExp[] = [];
      const guard: PageGuard = {
        consoleErrors: [],
        outside: [],
        expectConsoleError: (pattern) => expected.push(pattern),
      };
      page.on('console', (msg) => {
        if (msg.type() === 'error' && !expected.some((p) => p.test(msg.text()))) guard.consoleErrors.push(msg.text());
      });
      page.on('pageerror', (err) => guard.consoleErrors.push(String(err)));
      page.on('request', (req) => {
        const url = req.url();
        if (!LOCAL.test(url) && !INTERNAL.test(url)) guard.outside.push(url);
      });
      await use(guard);
      expect(guard.consoleErrors, 'erreurs de console').toEqual([]);
      expect(guard.outside, 'requêtes hors de la machine').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
