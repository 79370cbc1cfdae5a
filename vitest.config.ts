import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Suites that need apt packages (python3-onnx, python3-torch, sshd, qemu) live in test/system and
    // run from .ci/run after it installs them: `npm run test:system`.
    exclude: ['test/system/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // vitest defaults to cores - 1 workers: on the 2-core CI machine that would be one.
    maxWorkers: 2,
  },
});
