/**
 * Environment throughput: env-steps per second, single thread, random actions, for each built-in env.
 * `<id>` is the vector env (numEnvs copies, SoA state, same-step auto-reset, no allocation per step);
 * `<id>/single` is one `Env` through `step()` (allocates the observation it returns).
 * Each measurement runs for about `seconds` after a short warm-up; actions come from an inline
 * xorshift so the PRNG costs little next to the dynamics.
 */
import { BUILTIN_ENV_IDS, makeEnv, makeVectorEnv, type Space } from '@edgedistill/runtime/envs';

export interface EnvBenchOptions {
  seconds?: number;
  numEnvs?: number;
}

type Result = Record<string, { stepsPerSecond: number; numEnvs: number }>;

let xs = 0x9e3779b9;
function rand(): number {
  xs ^= xs << 13;
  xs ^= xs >>> 17;
  xs ^= xs << 5;
  return (xs >>> 0) / 4294967296;
}

function fillActions(space: Space, out: Int32Array | Float32Array): void {
  if (space.kind === 'discrete') for (let i = 0; i < out.length; i++) out[i] = space.start + ((rand() * space.n) | 0);
  else {
    const lo = space.low[0];
    const span = space.high[0] - lo;
    for (let i = 0; i < out.length; i++) out[i] = lo + span * rand();
  }
}

/** Runs `chunk()` (which does `perChunk` env-steps) for ~seconds; returns steps per second. */
function timeIt(chunk: () => void, perChunk: number, seconds: number): number {
  const warmEnd = performance.now() + Math.min(200, seconds * 200);
  while (performance.now() < warmEnd) chunk();
  let steps = 0;
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  let now = t0;
  while (now < end) {
    chunk();
    steps += perChunk;
    now = performance.now();
  }
  return steps / ((now - t0) / 1000);
}

export async function benchEnvs(opts: EnvBenchOptions = {}): Promise<Result> {
  const seconds = opts.seconds ?? 1;
  const numEnvs = opts.numEnvs ?? 64;
  const out: Result = {};
  for (const id of BUILTIN_ENV_IDS) {
    const venv = makeVectorEnv(id, numEnvs);
    venv.reset({ seed: 0 });
    const acts = venv.singleActionSpace.kind === 'discrete' ? new Int32Array(numEnvs) : new Float32Array(numEnvs);
    const rounds = 64;
    const rate = timeIt(
      () => {
        for (let r = 0; r < rounds; r++) {
          fillActions(venv.singleActionSpace, acts);
          venv.step(acts);
        }
      },
      rounds * numEnvs,
      seconds,
    );
    out[id] = { stepsPerSecond: Math.round(rate), numEnvs };
  }
  for (const id of BUILTIN_ENV_IDS) {
    const env = makeEnv(id);
    env.reset({ seed: 0 });
    const space = env.actionSpace;
    const one = space.kind === 'discrete' ? new Int32Array(1) : new Float32Array(1);
    const rate = timeIt(
      () => {
        for (let r = 0; r < 1024; r++) {
          fillActions(space, one);
          const res = env.step(space.kind === 'discrete' ? one[0] : (one as Float32Array));
          if (res.terminated || res.truncated) env.reset();
        }
      },
      1024,
      seconds,
    );
    out[`${id}/single`] = { stepsPerSecond: Math.round(rate), numEnvs: 1 };
  }
  return out;
}
