/**
 * Shared pieces of `npm run bench`: the run context, `{skipped}` results, machine facts, a child
 * process runner, and a small .npy writer for the data the PyTorch peer reads.
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');

/** A part that could not run: why, instead of numbers. */
export interface Skipped {
  skipped: string;
}

export const skip = (reason: string): Skipped => ({ skipped: reason });
export const isSkipped = (x: unknown): x is Skipped => typeof x === 'object' && x !== null && typeof (x as Skipped).skipped === 'string';

/** Runs f; a throw becomes `{skipped: message}` so one broken part never stops the others. */
export async function guard<T>(what: string, f: () => Promise<T> | T, log: (s: string) => void): Promise<T | Skipped> {
  try {
    return await f();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    log(`  ${what}: skipped (${msg.split('\n')[0]})`);
    return skip(`${what} failed: ${msg.split('\n')[0]}`);
  }
}

export interface BenchContext {
  readonly quick: boolean;
  /** Scratch directory for this run (removed at the end unless --keep). */
  readonly workDir: string;
  /** Python with PyTorch: $EDGEDISTILL_PYTHON, else Debian's /usr/bin/python3. */
  readonly python: string;
  readonly log: (s: string) => void;
  /** Results of sections that ran earlier in this run (later ones reuse what they made). */
  readonly shared: Map<string, unknown>;
}

/** Load average (1, 5, 15 min) rounded to 2 decimals. */
export const load = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);

export function machineFacts(): Record<string, unknown> {
  const c = cpus();
  let os: string | null = null;
  try {
    const rel = readFileSync('/etc/os-release', 'utf8');
    os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(rel)?.[1] ?? null;
  } catch {
    /* not Linux */
  }
  let kernel: string | null = null;
  try {
    kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
  } catch {
    /* no uname */
  }
  return {
    cpu: c[0]?.model?.trim() ?? 'unknown',
    cores: c.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform} ${process.arch}`,
    os,
    kernel,
  };
}

export interface ChildResult {
  code: number | null;
  signal: string | null;
  seconds: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command to completion (no shell), capturing output; kills its process group on timeout. */
export function runChild(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutSeconds: number; input?: string },
): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, opts.timeoutSeconds * 1000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, seconds: (performance.now() - t0) / 1000, stdout, stderr, timedOut });
    });
  });
}

/** A .npy file (format 1.0, C order, little endian) of float32 or uint32 values. */
export function encodeNpyArray(data: Float32Array | Uint32Array, shape: readonly number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : '<u4';
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  // Little-endian hosts (x64, arm64) store typed arrays in file order.
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}

/** Median of finite numbers, or null. */
export function median(xs: readonly (number | null | undefined)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
