import { defineConfig } from '@playwright/test';
import e2e from '../../playwright.config.ts';

// The Chromium variant of the differential tests (chromium.spec.ts): a few programs run in a
// lesson's server playground (the learner server's Worker in Chromium) instead of Node.
// `npx playwright test -c tests/differential` (builds the site first if it is out of date).
// Its own port, so that it can run beside the end-to-end tests.
const port = Number(process.env.DIFFERENTIAL_E2E_PORT ?? 4391);

export default defineConfig({
  testDir: '.',
  testMatch: 'chromium.spec.ts',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  workers: 1,
  retries: 0,
  reporter: [['list']],
  // The browser as the end-to-end tests launch it (Debian's Chromium, the same flags).
  use: { ...e2e.use, baseURL: `http://127.0.0.1:${port}` },
  webServer: {
    command: 'npm start',
    cwd: '../..',
    env: { PORT: String(port), HOST: '127.0.0.1' },
    url: `http://127.0.0.1:${port}/`,
    reuseExistingServer: false,
    timeout: 180_000,
    stdout: 'pipe',
  },
});
