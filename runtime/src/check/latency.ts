/**
 * Batch-1 latency of a policy's `act` on this device: what one control step costs the robot.
 *
 * Honest and cheap by construction:
 * - every input is a preallocated Float32Array view into one buffer of golden observations, and the
 *   calls cycle through them, so neither the branch predictor nor a cache sees one input only;
 * - each call is timed alone with `process.hrtime.bigint()` into a preallocated Float64Array (no
 *   allocation of ours between the two clock reads); async backends are timed around the awaited
 *   call, so the promise machinery a robot pays for is included;
 * - the `js` backend runs through its synchronous path (`actSync`), as a control loop would.
 * Warm-up calls (JIT, caches, ORT's first-run allocations) are made first and not recorded.
 */
import type { Policy, SyncPolicy } from '../policy/types.js';
import { summarizeLatency, type LatencySummary } from './stats.js';

export interface LatencyOptions {
  /** Timed calls to make (the sample size), unless `maxSeconds` runs out first. */
  readonly minCalls: number;
  /** Time bound for the timed calls, seconds. */
  readonly maxSeconds: number;
  /** Warm-up calls before timing (fewer if `warmupSeconds` runs out first). */
  readonly warmupCalls: number;
  readonly warmupSeconds: number;
  /** Called between timed calls now and then (not inside a timed region). */
  readonly onProgress?: (done: number, total: number) => void;
}

export interface LatencyResult extends LatencySummary {
  readonly warmupCalls: number;
  /** True when the time bound stopped the timed calls before `minCalls`. */
  readonly stoppedByTimeBound: boolean;
  /** Wall time of warm-up and timed calls, seconds. */
  readonly seconds: number;
  /** Which entry point was timed. */
  readonly call: 'actSync' | 'await act';
}

/** Anything a call returns goes here, so no compiler can drop a call as unused. */
let sink = 0;
const consume = (a: unknown): void => {
  sink = (sink + (typeof a === 'number' ? a : 1)) | 0;
};

/** Calls between checks of the clock and progress reports. */
const CHECK_EVERY = 1024;

export async function measureLatency(policy: Policy, inputs: readonly Float32Array[], opts: LatencyOptions): Promise<LatencyResult> {
  if (inputs.length === 0) throw new RangeError('measureLatency: no inputs');
  const samples = new Float64Array(Math.max(1, opts.minCalls));
  const start = process.hrtime.bigint();
  const r = policy.sync ? measureSync(policy as SyncPolicy, inputs, samples, opts) : await measureAsync(policy, inputs, samples, opts);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  opts.onProgress?.(r.calls, samples.length);
  return {
    ...summarizeLatency(samples, r.calls),
    warmupCalls: r.warmup,
    stoppedByTimeBound: r.calls < opts.minCalls,
    seconds,
    call: policy.sync ? 'actSync' : 'await act',
  };
}

const nsOf = (s: number): bigint => BigInt(Math.round(s * 1e9));

function measureSync(policy: SyncPolicy, inputs: readonly Float32Array[], samples: Float64Array, opts: LatencyOptions): { warmup: number; calls: number } {
  const k = inputs.length;
  const total = samples.length;
  let t = process.hrtime.bigint();
  const warmEnd = t + nsOf(opts.warmupSeconds);
  let warmup = 0;
  while (warmup < opts.warmupCalls) {
    consume(policy.actSync(inputs[warmup % k]));
    warmup++;
    if (warmup % CHECK_EVERY === 0 && process.hrtime.bigint() > warmEnd) break;
  }
  const end = process.hrtime.bigint() + nsOf(opts.maxSeconds);
  let n = 0;
  let j = 0;
  while (n < total) {
    const x = inputs[j];
    j = j + 1 === k ? 0 : j + 1;
    const t0 = process.hrtime.bigint();
    const a = policy.actSync(x);
    t = process.hrtime.bigint();
    samples[n++] = Number(t - t0);
    consume(a);
    if (n % CHECK_EVERY === 0) {
      opts.onProgress?.(n, total);
      if (t > end) break;
    }
  }
  return { warmup, calls: n };
}

async function measureAsync(policy: Policy, inputs: readonly Float32Array[], samples: Float64Array, opts: LatencyOptions): Promise<{ warmup: number; calls: number }> {
  const k = inputs.length;
  const total = samples.length;
  let t = process.hrtime.bigint();
  const warmEnd = t + nsOf(opts.warmupSeconds);
  let warmup = 0;
  while (warmup < opts.warmupCalls) {
    consume(await policy.act(inputs[warmup % k]));
    warmup++;
    if (warmup % CHECK_EVERY === 0 && process.hrtime.bigint() > warmEnd) break;
  }
  const end = process.hrtime.bigint() + nsOf(opts.maxSeconds);
  let n = 0;
  let j = 0;
  while (n < total) {
    const x = inputs[j];
    j = j + 1 === k ? 0 : j + 1;
    const t0 = process.hrtime.bigint();
    const a = await policy.act(x);
    t = process.hrtime.bigint();
    samples[n++] = Number(t - t0);
    consume(a);
    if (n % CHECK_EVERY === 0) {
      opts.onProgress?.(n, total);
      if (t > end) break;
    }
  }
  return { warmup, calls: n };
}

/**
 * Median cost of one `process.hrtime.bigint()` pair with nothing between, microseconds: the floor
 * under every figure above (reported, not subtracted).
 */
export function timerOverheadUs(pairs = 10_000): number {
  const s = new Float64Array(pairs);
  for (let i = 0; i < pairs; i++) {
    const t0 = process.hrtime.bigint();
    const t1 = process.hrtime.bigint();
    s[i] = Number(t1 - t0);
  }
  return summarizeLatency(s, pairs).p50;
}

/** Packs rows into one Float32Array and returns a view per row (allocated once, up front). */
export function packRows(rows: readonly ArrayLike<number>[], width: number): Float32Array[] {
  const buf = new Float32Array(rows.length * width);
  const views: Float32Array[] = new Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    buf.set(rows[r], r * width);
    views[r] = buf.subarray(r * width, (r + 1) * width);
  }
  return views;
}

