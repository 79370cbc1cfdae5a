import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { EXIT, exitCodeFor } from './exit-codes.js';

/** Options every command takes. */
export interface CommonOptions {
  json?: boolean;
  quiet?: boolean;
}

export const isTTY = (): boolean => Boolean(process.stdout.isTTY) && !process.env.CI;

/** Colour only on a TTY (and never when NO_COLOR is set). */
export function colour(code: number, s: string): string {
  return isTTY() && !process.env.NO_COLOR ? `\x1b[${code}m${s}\x1b[0m` : s;
}
/** For text written to stderr: colour only when stderr itself is a terminal. */
export function errRed(s: string): string {
  return process.stderr.isTTY && !process.env.CI && !process.env.NO_COLOR ? `\x1b[31m${s}\x1b[0m` : s;
}
export const green = (s: string) => colour(32, s);
export const red = (s: string) => colour(31, s);
export const bold = (s: string) => colour(1, s);
export const dim = (s: string) => colour(2, s);

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Wraps a command action: maps errors to one printed form and one exit code (Vite-style single exit
 * path). With --json, errors are printed as JSON on stdout too, so scripts always get JSON.
 */
export function action<A extends unknown[]>(
  fn: (...args: A) => Promise<number | void> | number | void,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    const opts = args.find((a) => typeof a === 'object' && a !== null && !Array.isArray(a)) as
      | CommonOptions
      | undefined;
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : EXIT.ok;
    } catch (e) {
      if (e instanceof EdgeDistillError) {
        if (opts?.json) printJson(e.toJSON());
        process.stderr.write(`${errRed(e.format())}\n`);
        process.exitCode = exitCodeFor(e.code);
      } else {
        const err = e as Error;
        if (opts?.json) printJson({ error: 'INTERNAL', message: String(err?.message ?? e) });
        process.stderr.write(`${errRed('internal error:')} ${err?.stack ?? String(e)}\n`);
        process.exitCode = EXIT.failure;
      }
    }
  };
}

/** Parses "32,32" into [32, 32] with a clear error naming the flag. */
export function parseIntList(flag: string, value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const nums = parts.map((p) => Number(p));
  if (parts.length === 0 || nums.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `${flag} expects positive integers separated by commas, got "${value}"`, {
      field: flag,
    });
  }
  return nums;
}

export function parseNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `${flag} expects a number, got "${value}"`, { field: flag });
  }
  return n;
}
