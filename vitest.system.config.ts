import { defineConfig } from 'vitest/config';

// System suites: need Debian packages (python3-onnx, python3-torch, openssh-server, qemu-user-static,
// chromium, ansible) that .ci/run installs before running them.
export default defineConfig({
  test: {
    include: ['test/system/**/*.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
