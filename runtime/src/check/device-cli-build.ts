/**
 * How to bundle the device CLI (for `edgedistill bundle`, which owns esbuild): one ESM file for
 * Node 18+, with the backend packages left external. They are imported only when an artifact needs
 * them and are resolved like any package from the bundled file's location: a `node_modules`
 * directory next to it or in a parent directory (ESM `import()` does not read NODE_PATH).
 *
 * @example
 * import { build } from 'esbuild';
 * await build(deviceCliBuildOptions('out/release/edgedistill-device.mjs'));
 */
import { fileURLToPath } from 'node:url';

/** Packages the bundled CLI imports at run time (each only behind a dynamic import). */
export const DEVICE_CLI_EXTERNALS: readonly string[] = ['onnxruntime-node', 'onnxruntime-web', '@litertjs/core'];

/** The TypeScript entry of `edgedistill-device` (runtime/bin/edgedistill-device.ts). */
export function deviceCliEntry(): string {
  return fileURLToPath(new URL('../../bin/edgedistill-device.ts', import.meta.url));
}

/** esbuild options (a plain object: the runtime does not depend on esbuild). */
export function deviceCliBuildOptions(outfile: string): {
  entryPoints: string[];
  outfile: string;
  bundle: true;
  platform: 'node';
  format: 'esm';
  target: string;
  external: string[];
  legalComments: 'none';
} {
  return {
    entryPoints: [deviceCliEntry()],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node18',
    external: [...DEVICE_CLI_EXTERNALS],
    legalComments: 'none',
  };
}
