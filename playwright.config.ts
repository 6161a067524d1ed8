import { defineConfig } from '@playwright/test';

// End-to-end tests run against the production server (`npm start`: built site + sandbox).
// Chromium: Debian's by default; CHROMIUM_PATH overrides it, and CHROMIUM_PATH="" uses
// Playwright's own browser (after `npx playwright install chromium`).
const port = Number(process.env.E2E_PORT ?? 4321);
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export default defineConfig({
  testDir: 'tests/e2e',
  // Sized for a loaded 2-core CI machine: the site, the sandbox and two Chromiums share it. Tests
  // that do more (axe on a playground, a lesson's playgrounds) raise their own budget.
  timeout: 60_000,
  expect: { timeout: 10_000 },
  // Tests are independent (each has its own browser context, storage and sandbox session), so
  // tests of one file spread over the workers: one test per lesson keeps them busy. Three workers
  // on 2 cores (E2E_WORKERS overrides): the lesson tests wait for real timers and network cuts
  // while another test computes; measured 199.7 s with 3 against 223.3–235.9 s with 2 (2026-12-07).
  fullyParallel: true,
  workers: Number(process.env.E2E_WORKERS ?? 3),
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: executablePath || undefined,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  webServer: {
    command: `npm start`,
    env: { PORT: String(port), HOST: '127.0.0.1' },
    url: `http://127.0.0.1:${port}/`,
    reuseExistingServer: false,
    timeout: 180_000,
    stdout: 'pipe',
  },
});
