/**
 * The on-device check of this machine's bundle, done the way a device does it: the .tar.gz is
 * unpacked (safe extraction: every entry checked first) into a release directory, and the bundled
 * device CLI runs from there in its own Node process:
 *   node <release>/runtime/edgedistill-device.mjs check <release> --json ...
 * It verifies every file's sha256, measures the teacher and the students, and writes
 * <release>/check-report.json.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EdgeDistillError, type ErrorCode } from '@edgedistill/runtime/errors';
import type { CheckReport } from '../../../runtime/src/check/report.js';
import type { BundleManifest } from '../../../runtime/src/bundle/manifest.js';
import { RUNTIME_ENTRY_PATH } from '../bundle/entry.js';
import { extractSafe, readSafeTarGz } from '../util/safe-tar.js';

export interface DeviceCheckOptions {
  readonly episodes: number;
  readonly minCalls: number;
  readonly maxSeconds: number;
  /** Node to run the device CLI with (default: this one). */
  readonly node?: string;
  /** Kill the check after this long (default 15 minutes). */
  readonly timeoutSeconds?: number;
}

export interface DeviceCheckResult {
  /** The unpacked release directory. */
  readonly dir: string;
  /** <dir>/check-report.json. */
  readonly reportFile: string;
  readonly report: CheckReport;
  /** The device CLI's exit code: 0 every budget met, 1 a budget failed. */
  readonly exitCode: number;
  /** The command line that ran. */
  readonly command: string[];
}

/** Unpacks a bundle into `dest` (replaced if it exists); returns its manifest. */
export function unpackBundle(bundle: string, dest: string): BundleManifest {
  let gz: Buffer;
  try {
    gz = readFileSync(bundle);
  } catch (e) {
    throw new EdgeDistillError('IO', `cannot read bundle: ${(e as Error).message}`, { file: bundle, cause: e });
  }
  const entries = readSafeTarGz(gz, bundle);
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dirname(dest), { recursive: true });
  extractSafe(entries, dest);
  const manifest = JSON.parse(readFileSync(join(dest, 'manifest.json'), 'utf8')) as BundleManifest;
  // Node looks for packages in parent directories too: one missing from the bundle would be found
  // in the repository's node_modules here and hide a broken bundle. A device has no such fallback.
  for (const p of manifest.runtime?.packages ?? []) {
    if (!existsSync(join(dest, 'runtime/node_modules', p.name, 'package.json'))) {
      throw new EdgeDistillError('CHECKSUM', `the bundle lists runtime package ${p.name}@${p.version} but does not hold it`, { file: bundle, field: `runtime.packages` });
    }
  }
  return manifest;
}

const KNOWN_CODES = new Set<string>(['BAD_ARGUMENT', 'BAD_CONFIG', 'BAD_MODEL', 'UNSUPPORTED', 'BAD_OBSERVATION', 'BAD_ACTION', 'ENV_STATE', 'UNKNOWN_ENV', 'BAD_TRAJECTORY', 'PARITY', 'CHECKSUM', 'DEVICE', 'RUNTIME', 'IO']);

/** Runs the bundled device CLI on an unpacked release directory. */
export function runDeviceCheck(dir: string, o: DeviceCheckOptions): Promise<DeviceCheckResult> {
  const entry = join(dir, RUNTIME_ENTRY_PATH);
  const args = [entry, 'check', dir, '--json', '--episodes', String(o.episodes), '--calls', String(o.minCalls), '--max-seconds', String(o.maxSeconds)];
  const node = o.node ?? process.execPath;
  return new Promise((resolvePromise, reject) => {
    execFile(node, args, { cwd: dir, maxBuffer: 64 * 1024 * 1024, timeout: (o.timeoutSeconds ?? 900) * 1000, env: { ...process.env, NODE_OPTIONS: '' } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code as number) : null) : 0;
      let parsed: unknown = null;
      try {
        parsed = JSON.parse(stdout);
      } catch {
        /* not JSON: crashed before printing */
      }
      if ((code === 0 || code === 1) && parsed && typeof parsed === 'object' && 'artifacts' in parsed) {
        resolvePromise({ dir, reportFile: join(dir, 'check-report.json'), report: parsed as CheckReport, exitCode: code, command: [node, ...args] });
        return;
      }
      const j = parsed as { error?: string; message?: string; file?: string; field?: string; suggestion?: string; details?: [] } | null;
      if (j && typeof j.error === 'string' && typeof j.message === 'string') {
        const c = (KNOWN_CODES.has(j.error) ? j.error : 'RUNTIME') as ErrorCode;
        reject(new EdgeDistillError(c, `the device check exited ${code}: ${j.message}`, { file: j.file, field: j.field, suggestion: j.suggestion, details: j.details }));
        return;
      }
      const killed = err && (err as { killed?: boolean }).killed;
      const tail = stderr.trim().split('\n').slice(-5).join('\n');
      reject(
        new EdgeDistillError('RUNTIME', killed ? `the device check did not finish within ${o.timeoutSeconds ?? 900} s` : `the device check exited ${code ?? (err as { signal?: string })?.signal}: ${tail || (err as Error)?.message}`, {
          file: entry,
        }),
      );
    });
  });
}
