import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['sandbox-server/**/*.test.ts', 'site/**/*.test.ts', 'tests/unit/**/*.test.ts', 'scripts/**/*.test.ts', 'stress/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
