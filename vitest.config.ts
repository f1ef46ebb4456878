import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // End-to-end suites start servers and databases; PGlite alone takes ~4 s to boot.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites share PostgreSQL/Redis and the 2-core machine; run files one at a time.
    fileParallelism: false,
    globalSetup: ['test/global-setup.ts'],
  },
});
