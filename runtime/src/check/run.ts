/**
 * `runCheck`: the on-device check of a bundle. Verifies every file against the manifest, then per
 * artifact (students first, so the memory figure is the students' alone; the teacher last):
 * golden-set outputs and actions, batch-1 latency, returns over seeded episodes; then compares
 * the figures with the manifest's budgets.
 */
import { join } from 'node:path';
import { EdgeDistillError, isEdgeDistillError } from '../errors.js';
import type { BundleArtifact } from '../bundle/manifest.js';
import { makeEnv } from '../envs/registry.js';
import type { Env } from '../envs/types.js';
import { loadPolicy } from '../policy/load.js';
import type { Policy, PolicyAction, SyncPolicy } from '../policy/types.js';
import { artifactPath, readBundleManifest, readGoldenSet, verifyBundleFiles, type ReadBundle } from './bundle.js';
import { policyReturns, randomReturns, type ReturnStats } from './episodes.js';
import { measureLatency, packRows, timerOverheadUs, type LatencyResult } from './latency.js';
import { peakRssMiB, platformFacts } from './platform.js';
import { CHECK_REPORT_FORMAT, evaluateBudgets, type ArtifactReport, type CheckReport } from './report.js';
import { actionAgreement, actionRmse, maxAbsError, returnRetention } from './stats.js';

export type CheckPhase = 'verify' | 'random' | 'load' | 'golden' | 'latency' | 'episodes' | 'done';

export interface CheckProgress {
  readonly phase: CheckPhase;
  /** Artifact being measured, or null for bundle-wide phases. */
  readonly artifact: string | null;
  readonly done: number;
  readonly total: number;
}

export interface CheckOptions {
  /** Episodes per artifact (seeds 0..N-1). Default: the manifest's `checkEpisodes`. */
  episodes?: number;
  /** Timed batch-1 calls per artifact. Default 10 000. */
  minCalls?: number;
  /** Time bound on the timed calls of one artifact, seconds (the report says when it cut in). Default 60. */
  maxSecondsPerArtifact?: number;
  /** Untimed warm-up calls per artifact (capped at 2 s). Default 1 000. */
  warmupCalls?: number;
  onProgress?: (p: CheckProgress) => void;
}

// Warm-up: 20k calls (bounded by 2 s) so the JIT has optimized a sub-microsecond compiled-JS
// policy before timing starts; after only 1k calls its p50 measured 1.05 us instead of 0.58 us
// (4-32-32-2 int8, x64): the device would report a cold start as its steady state.
export const CHECK_DEFAULTS = { minCalls: 10_000, maxSecondsPerArtifact: 60, warmupCalls: 20_000, warmupSeconds: 2 } as const;

function positiveInt(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) {
    throw new EdgeDistillError('BAD_ARGUMENT', `${name} must be a positive integer, got ${String(v)}`, { field: name });
  }
  return v;
}

/** What one artifact gave on this device, before comparison with the teacher. */
interface Measured {
  readonly artifact: BundleArtifact;
  readonly variant: string;
  readonly loadSeconds: number;
  readonly actions: PolicyAction[];
  readonly maxAbsErrorVsDesktop: number;
  readonly latency: LatencyResult;
  readonly returns: ReturnStats;
  readonly peakRssMiBAfter: number;
}

const seconds = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e9;

/**
 * Runs the check on the bundle in `bundleDir` and returns the report (the caller writes it).
 *
 * Errors: `BAD_CONFIG` (manifest or golden set), `CHECKSUM` (a file does not match the manifest;
 * nothing is measured), `UNKNOWN_ENV`, `BAD_MODEL` (an artifact does not fit the environment),
 * `UNSUPPORTED` / `RUNTIME` (a backend cannot load or run an artifact here).
 */
export async function runCheck(bundleDir: string, opts: CheckOptions = {}): Promise<CheckReport> {
  const startedAt = new Date().toISOString();
  const t0 = process.hrtime.bigint();
  const progress = (phase: CheckPhase, artifact: string | null, done: number, total: number): void => {
    opts.onProgress?.({ phase, artifact, done, total });
  };

  const bundle = readBundleManifest(bundleDir);
  const m = bundle.manifest;
  const episodes = positiveInt('episodes', opts.episodes, m.checkEpisodes);
  const minCalls = positiveInt('minCalls', opts.minCalls, CHECK_DEFAULTS.minCalls);
  const warmupCalls = opts.warmupCalls === 0 ? 0 : positiveInt('warmupCalls', opts.warmupCalls, CHECK_DEFAULTS.warmupCalls);
  const maxSeconds = opts.maxSecondsPerArtifact ?? CHECK_DEFAULTS.maxSecondsPerArtifact;
  if (!(maxSeconds > 0)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `maxSecondsPerArtifact must be a positive number, got ${String(maxSeconds)}`, { field: 'maxSecondsPerArtifact' });
  }

  // Nothing is loaded or run before every file is known to be the one the desktop built.
  verifyBundleFiles(bundle, (done, total) => progress('verify', null, done, total));

  const env = makeBundleEnv(bundle);
  const obsDim = env.observationSpace.low.length;
  const golden = readGoldenSet(bundle, obsDim);
  const inputs = packRows(golden.obs, obsDim);
  const timerUs = timerOverheadUs();

  progress('random', null, 0, 1);
  const random = await randomReturns(env, episodes);

  const teacherArt = m.artifacts.find((a) => a.role === 'teacher')!;
  const studentArts = m.artifacts.filter((a) => a.role === 'student');
  const ctx: MeasureContext = { bundle, env, inputs, golden: golden.outputs, goldenFile: join(bundle.dir, m.golden), episodes, minCalls, warmupCalls, maxSeconds, progress };
  const students: Measured[] = [];
  for (const a of studentArts) students.push(await measureArtifact(a, ctx));
  const peakRssMiBStudents = peakRssMiB();
  const teacher = await measureArtifact(teacherArt, ctx);

  const discrete = env.actionSpace.kind === 'discrete';
  const report = (x: Measured): ArtifactReport => {
    const isTeacher = x === teacher;
    const l = x.latency;
    return {
      name: x.artifact.name,
      role: x.artifact.role,
      format: x.artifact.format,
      backend: x.artifact.backend,
      path: x.artifact.path,
      variant: x.variant,
      loadSeconds: round(x.loadSeconds, 4),
      latencyUs: l,
      latencyRatioVsTeacher: isTeacher ? null : { p50: round(l.p50 / teacher.latency.p50, 4), p99: round(l.p99 / teacher.latency.p99, 4) },
      agreement: discrete ? actionAgreement(teacher.actions as number[], x.actions as number[]) : null,
      actionRmseVsTeacher: discrete ? null : actionRmse(teacher.actions as Float32Array[], x.actions as Float32Array[]),
      maxAbsErrorVsDesktop: x.maxAbsErrorVsDesktop,
      return: x.returns,
      returnRetention: nullableRound(returnRetention(x.returns.mean, teacher.returns.mean, random.mean), 6),
      peakRssMiBAfter: x.peakRssMiBAfter,
    };
  };
  const artifacts = [report(teacher), ...students.map(report)];
  const budgets = evaluateBudgets(m.budgets, artifacts, peakRssMiBStudents);
  const failed = budgets.filter((b) => !b.passed).map((b) => b.name);
  progress('done', null, 1, 1);
  return {
    format: CHECK_REPORT_FORMAT,
    device: m.device,
    bundle: { dir: bundle.dir, manifestSha256: bundle.manifestSha256, envId: m.envId, filesVerified: Object.keys(m.files).length },
    platform: platformFacts(),
    settings: { episodes, minCalls, maxSecondsPerArtifact: maxSeconds, warmupCalls, goldenObservations: inputs.length, timerOverheadUs: timerUs },
    random: { return: random },
    artifacts,
    memory: { peakRssMiBStudents, peakRssMiB: peakRssMiB() },
    budgets,
    passed: failed.length === 0,
    failed,
    startedAt,
    wallSeconds: round(seconds(t0), 3),
  };
}

const round = (v: number, digits: number): number => Number(v.toFixed(digits));
const nullableRound = (v: number | null, digits: number): number | null => (v === null ? null : round(v, digits));

function makeBundleEnv(bundle: ReadBundle): Env {
  try {
    return makeEnv(bundle.manifest.envId);
  } catch (e) {
    if (isEdgeDistillError(e)) {
      throw new EdgeDistillError(e.code, e.message, { file: bundle.manifestPath, field: 'envId', suggestion: e.suggestion, cause: e });
    }
    throw e;
  }
}

interface MeasureContext {
  readonly bundle: ReadBundle;
  readonly env: Env;
  readonly inputs: readonly Float32Array[];
  readonly golden: Record<string, number[][]>;
  readonly goldenFile: string;
  readonly episodes: number;
  readonly minCalls: number;
  readonly warmupCalls: number;
  readonly maxSeconds: number;
  readonly progress: (phase: CheckPhase, artifact: string | null, done: number, total: number) => void;
}

async function measureArtifact(a: BundleArtifact, ctx: MeasureContext): Promise<Measured> {
  const file = artifactPath(ctx.bundle, a);
  ctx.progress('load', a.name, 0, 1);
  const tLoad = process.hrtime.bigint();
  const policy = await loadPolicy(file, { backend: a.backend });
  const loadSeconds = seconds(tLoad);
  try {
    checkFits(policy, ctx.env, file);
    // Golden set: one batch-1 call per observation, as the robot makes them.
    ctx.progress('golden', a.name, 0, ctx.inputs.length);
    const sync = policy.sync ? (policy as SyncPolicy) : null;
    const outputs: Float32Array[] = [];
    const actions: PolicyAction[] = [];
    for (const x of ctx.inputs) {
      outputs.push(Float32Array.from(sync ? sync.forwardSync(x) : await policy.forward(x)));
      const act = sync ? sync.actSync(x) : await policy.act(x);
      actions.push(typeof act === 'number' ? act : Float32Array.from(act));
    }
    const recorded = ctx.golden[a.goldenKey];
    const outDim = policy.metadata.head.outDim;
    if (recorded[0].length !== outDim) {
      throw new EdgeDistillError('BAD_CONFIG', `golden outputs for '${a.goldenKey}' have ${recorded[0].length} values per row, but ${a.name} outputs ${outDim}`, {
        file: ctx.goldenFile,
        field: `outputs["${a.goldenKey}"]`,
      });
    }
    const maxAbsErrorVsDesktop = maxAbsError(outputs, recorded);

    ctx.progress('latency', a.name, 0, ctx.minCalls);
    const latency = await measureLatency(policy, ctx.inputs, {
      minCalls: ctx.minCalls,
      maxSeconds: ctx.maxSeconds,
      warmupCalls: ctx.warmupCalls,
      warmupSeconds: CHECK_DEFAULTS.warmupSeconds,
      onProgress: (done, total) => ctx.progress('latency', a.name, done, total),
    });

    ctx.progress('episodes', a.name, 0, ctx.episodes);
    const returns = await policyReturns(ctx.env, policy, ctx.episodes, (done, total) => ctx.progress('episodes', a.name, done, total));
    return {
      artifact: a,
      variant: policy.metadata.artifact.variant,
      loadSeconds,
      actions,
      maxAbsErrorVsDesktop,
      latency,
      returns,
      peakRssMiBAfter: peakRssMiB(),
    };
  } catch (e) {
    if (isEdgeDistillError(e)) throw e;
    throw new EdgeDistillError('RUNTIME', `measuring ${a.name} failed: ${(e as Error)?.message ?? String(e)}`, { file, cause: e });
  } finally {
    await policy.dispose().catch(() => {});
  }
}

/** The artifact must take this environment's observations and give its actions. */
function checkFits(policy: Policy, env: Env, file: string): void {
  const md = policy.metadata;
  const obsDim = env.observationSpace.low.length;
  if (md.obsDim !== obsDim) {
    throw new EdgeDistillError('BAD_MODEL', `takes ${md.obsDim} observation values, but ${env.id} gives ${obsDim}`, { file, field: 'obsDim' });
  }
  const want = env.actionSpace;
  const got = md.actionSpace;
  const same =
    want.kind === 'discrete'
      ? got.kind === 'discrete' && got.n === want.n && got.start === want.start
      : got.kind === 'box' && got.low.length === want.low.length;
  if (!same) {
    const show = (s: typeof want): string => (s.kind === 'discrete' ? `Discrete(${s.n}, start=${s.start})` : `Box(${s.low.length})`);
    throw new EdgeDistillError('BAD_MODEL', `its action space ${show(got)} is not ${env.id}'s ${show(want)}`, { file, field: 'actionSpace' });
  }
}
