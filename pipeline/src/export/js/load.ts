/**
 * Running a compiled module as the runtime does: imported from its file (never from the string we
 * generated), checked against the contract, and timed.
 */
import { readFileSync, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { checkStandaloneSource, validateCompiledModule, type CompiledPolicyModule } from '@edgedistill/runtime';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

/** Imports a compiled module file (a changed file is re-imported: the URL carries its mtime). */
export async function importModuleFile(file: string): Promise<CompiledPolicyModule & { forwardInto?: (obs: ArrayLike<number>, out: Float32Array) => Float32Array }> {
  const source = readFileSync(file, 'utf8');
  checkStandaloneSource(source, file);
  const url = `${pathToFileURL(file).href}?v=${statSync(file).mtimeMs}-${source.length}`;
  let ns: unknown;
  try {
    ns = await import(/* @vite-ignore */ url);
  } catch (e) {
    throw new EdgeDistillError('BAD_MODEL', `cannot import compiled module: ${(e as Error).message}`, { file, cause: e });
  }
  return validateCompiledModule(ns, file).module as CompiledPolicyModule;
}

export interface ActLatency {
  /** Median over batches of the mean time per act() call, in microseconds. */
  readonly p50Us: number;
  readonly p99Us: number;
  readonly calls: number;
}

/**
 * Times `act` at batch 1 on the given observations (row-major, obsDim each), cycling through them:
 * `batches` timed runs of `perBatch` calls each, after a warm-up. Per-call timers cost about as much
 * as a call, so each sample is a batch mean.
 */
export function benchAct(mod: CompiledPolicyModule, obs: Float32Array, obsDim: number, batches = 2000, perBatch = 100): ActLatency {
  const rows = obs.length / obsDim;
  const views = Array.from({ length: rows }, (_, r) => obs.subarray(r * obsDim, (r + 1) * obsDim));
  let sink = 0;
  for (let i = 0; i < 20_000; i++) {
    const a = mod.act(views[i % rows]);
    sink += typeof a === 'number' ? a : a[0];
  }
  const samples = new Float64Array(batches);
  let r = 0;
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) {
      const a = mod.act(views[r]);
      sink += typeof a === 'number' ? a : a[0];
      r = r + 1 === rows ? 0 : r + 1;
    }
    samples[b] = Number(process.hrtime.bigint() - t0) / perBatch / 1000;
  }
  samples.sort();
  if (Number.isNaN(sink)) throw new Error('unreachable'); // keeps the calls observable
  return { p50Us: samples[Math.floor(batches * 0.5)], p99Us: samples[Math.floor(batches * 0.99)], calls: batches * perBatch };
}
