/**
 * The device-side runtime as one ES module: runtime/bin/edgedistill-device.ts bundled by esbuild
 * for Node (esm), with the backend packages external (they ship as files under
 * runtime/node_modules, only those the device uses). Deterministic: paths in the output are
 * relative to the repository, no timestamps, no source maps.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { EXTERNAL_PACKAGES } from './runtime-files.js';

export const REPO_ROOT = resolve(import.meta.dirname, '../../..');
/** The device CLI's source (written by the runtime side). */
export const DEFAULT_RUNTIME_ENTRY = join(REPO_ROOT, 'runtime/bin/edgedistill-device.ts');
/** Where the bundled entry lives inside a bundle. */
export const RUNTIME_ENTRY_PATH = 'runtime/edgedistill-device.mjs';

/** Node major version esbuild targets, from a profile's nodeRange lower bound (default 20). */
export function nodeTargetOf(nodeRange: string): string {
  const m = />=?\s*(\d+)(?:\.(\d+))?/.exec(nodeRange);
  const major = m ? Number(m[1]) : 20;
  const minor = m && m[2] !== undefined ? Number(m[2]) : 0;
  return `node${major}.${minor}`;
}

/** Bundles `entry` into one ESM file for Node; returns its bytes. */
export async function bundleRuntimeEntry(entry = DEFAULT_RUNTIME_ENTRY, target = 'node20.19'): Promise<Uint8Array> {
  if (!existsSync(entry)) {
    throw new EdgeDistillError('UNSUPPORTED', `the on-device runtime entry is missing: ${entry}`, {
      file: entry,
      suggestion: 'the device CLI (runtime/bin/edgedistill-device.ts) must exist to build a bundle',
    });
  }
  const esbuild = await import('esbuild');
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      absWorkingDir: REPO_ROOT,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target,
      write: false,
      outfile: join(REPO_ROOT, RUNTIME_ENTRY_PATH),
      external: [...EXTERNAL_PACKAGES],
      sourcemap: false,
      legalComments: 'none',
      logLevel: 'silent',
      // The entry is run as `node edgedistill-device.mjs`: a shebang would be dropped by esbuild anyway.
      banner: { js: '// edgedistill-device: bundled by `edgedistill bundle` (esbuild); backend packages live in ./node_modules' },
    });
  } catch (e) {
    const msg = (e as { errors?: { text: string; location?: { file: string; line: number } }[] }).errors
      ?.map((x) => `${x.location ? `${x.location.file}:${x.location.line}: ` : ''}${x.text}`)
      .join('; ');
    throw new EdgeDistillError('UNSUPPORTED', `esbuild could not bundle the runtime: ${msg ?? (e as Error).message}`, { file: entry, cause: e });
  }
  const out = result.outputFiles?.[0];
  if (!out) throw new EdgeDistillError('UNSUPPORTED', 'esbuild produced no output', { file: entry });
  return out.contents;
}
