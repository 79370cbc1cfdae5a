/**
 * The golden set a bundle ships: observations the teacher visits (seeded episodes of the policy's
 * environment) and, per artifact, the raw outputs it gave on the desktop, so the device can tell a
 * broken backend from a slow one. An existing golden.json in the export directory is reused (its
 * observations and any outputs it already has); missing outputs are recorded here, on the
 * device's own backend when this machine can run it.
 */
import { readFileSync } from 'node:fs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { makeEnv } from '@edgedistill/runtime/envs';
import { loadPolicy, type Policy } from '@edgedistill/runtime';
import { base64ToFloats } from '../ir/serialize.js';
import type { BackendId, GoldenSet } from '../../../runtime/src/bundle/manifest.js';
import type { PlannedArtifact } from './artifacts.js';

export interface GoldenOptions {
  readonly envId: string;
  /** Number of observations (default 256). */
  readonly count?: number;
  /** Seed of the first episode (default 10 000, away from the check's seeds 0..N-1). */
  readonly seed?: number;
  /** Keep every k-th observation of an episode, so one long episode does not fill the set (default 3). */
  readonly stride?: number;
}

/** What the bundle writes as golden.json: the contract's GoldenSet plus where the outputs came from. */
export interface RecordedGoldenSet extends GoldenSet {
  readonly recorded: {
    readonly envId: string;
    readonly seed: number | null;
    readonly stride: number | null;
    /** goldenKey -> backend that produced the outputs on the desktop (no host name: bundles stay reproducible). */
    readonly backends: Record<string, string>;
    readonly hostArch: string;
  };
}

async function openOnHost(a: PlannedArtifact): Promise<{ policy: Policy; backend: string }> {
  try {
    const policy = await loadPolicy(a.file, { backend: a.backend });
    return { policy, backend: a.backend };
  } catch {
    // The device's backend does not run here (e.g. ort-node for another OS): the default one does.
    const policy = await loadPolicy(a.file);
    return { policy, backend: policy.backend };
  }
}

/** Teacher-visited observations: seeded episodes, every `stride`-th observation, `count` of them. */
export async function teacherObservations(teacher: PlannedArtifact, o: GoldenOptions): Promise<number[][]> {
  const count = o.count ?? 256;
  const seed = o.seed ?? 10_000;
  const stride = o.stride ?? 3;
  const env = makeEnv(o.envId);
  const { policy } = await openOnHost(teacher);
  const obs: number[][] = [];
  try {
    for (let ep = 0; ep < 1000 && obs.length < count; ep++) {
      let { obs: x } = env.reset({ seed: seed + ep });
      for (let t = 0; obs.length < count; t++) {
        if (t % stride === 0) obs.push(Array.from(x));
        const step = env.step(await policy.act(x));
        x = step.obs;
        if (step.terminated || step.truncated) break;
      }
    }
  } finally {
    await policy.dispose();
  }
  if (obs.length === 0) throw new EdgeDistillError('RUNTIME', 'the teacher visited no observations', { file: teacher.file });
  return obs;
}

/** Raw outputs of one artifact for each observation. */
export async function recordOutputs(a: PlannedArtifact, obs: readonly number[][]): Promise<{ rows: number[][]; backend: string }> {
  const { policy, backend } = await openOnHost(a);
  try {
    const rows: number[][] = [];
    for (const o of obs) rows.push(Array.from(await policy.forward(o)));
    return { rows, backend };
  } finally {
    await policy.dispose();
  }
}

/**
 * A golden set found next to the artifacts: the bundle contract's form (`obs` as rows of numbers,
 * `outputs` per goldenKey) or the exporter's (`edgedistill-golden`: float32 `obs` in base64,
 * `rows` x `obsDim`; its IR outputs are not per artifact, so they are recorded again here).
 */
export function readExistingGolden(file: string): GoldenSet {
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new EdgeDistillError('BAD_CONFIG', `cannot read the golden set: ${(e as Error).message}`, { file, cause: e });
  }
  const obsDim = v?.obsDim;
  if (typeof obsDim !== 'number' || !Number.isInteger(obsDim) || obsDim < 1) {
    throw new EdgeDistillError('BAD_CONFIG', 'golden set has no valid obsDim', { file, field: 'obsDim' });
  }
  if (typeof v.obs === 'string') {
    const rows = Number(v.rows);
    if (!Number.isInteger(rows) || rows < 1) throw new EdgeDistillError('BAD_CONFIG', 'golden set rows must be a positive integer', { file, field: 'rows' });
    const flat = base64ToFloats(v.obs, rows * obsDim, 'obs', file);
    const obs: number[][] = [];
    for (let r = 0; r < rows; r++) obs.push(Array.from(flat.subarray(r * obsDim, (r + 1) * obsDim)));
    return { obsDim, obs, outputs: {} };
  }
  if (!Array.isArray(v.obs) || v.obs.length === 0) throw new EdgeDistillError('BAD_CONFIG', 'golden set must hold a non-empty obs array', { file, field: 'obs' });
  const outputs = v.outputs && typeof v.outputs === 'object' ? (v.outputs as Record<string, number[][]>) : {};
  return { obsDim, obs: v.obs as number[][], outputs };
}

/**
 * The golden set for these artifacts (teacher first in `artifacts`): reuses `existing` when given,
 * records what is missing.
 */
export async function buildGoldenSet(artifacts: readonly PlannedArtifact[], o: GoldenOptions, existing: string | null): Promise<RecordedGoldenSet> {
  const teacher = artifacts.find((a) => a.role === 'teacher');
  if (!teacher) throw new EdgeDistillError('BAD_ARGUMENT', 'the golden set needs a teacher artifact');
  const prior = existing ? readExistingGolden(existing) : null;
  let obs = prior ? prior.obs : await teacherObservations(teacher, o);
  // A larger set from the exporter is thinned evenly (the device runs every row per artifact).
  const want = o.count ?? 256;
  let outputsUsable = true;
  if (prior && obs.length > want) {
    const step = obs.length / want;
    obs = Array.from({ length: want }, (_, i) => prior.obs[Math.floor(i * step)]);
    outputsUsable = false;
  }
  const outputs: Record<string, number[][]> = {};
  const backends: Record<string, string> = {};
  for (const a of artifacts) {
    const have = outputsUsable ? prior?.outputs[a.name] : undefined;
    if (have && have.length === obs.length) {
      outputs[a.name] = have;
      backends[a.name] = 'from golden set';
      continue;
    }
    const r = await recordOutputs(a, obs);
    outputs[a.name] = r.rows;
    backends[a.name] = r.backend as BackendId;
  }
  return {
    obsDim: obs[0].length,
    obs,
    outputs,
    recorded: {
      envId: o.envId,
      seed: prior ? null : (o.seed ?? 10_000),
      stride: prior ? null : (o.stride ?? 3),
      backends,
      hostArch: `${process.platform}/${process.arch}`,
    },
  };
}
