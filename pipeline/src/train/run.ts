/**
 * What every trainer shares around its loop: options, metric logging (stable names, JSON lines in
 * OUT/metrics.jsonl), a progress bar (TTY only), periodic text lines for logs, recent episodic
 * returns, and atomic checkpoints of the current policy.
 */
import { mkdirSync, openSync, writeSync, fsyncSync, closeSync, renameSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import type { EnvOptions } from '@edgedistill/runtime/envs';
import type { PolicyModel } from '../ir/types.js';
import { policyToText } from '../ir/serialize.js';
import type { BackendInfo } from './backend.js';
import { evaluatePolicy } from './evaluate.js';

/** Options common to every algorithm (the algorithm's own hyper-parameters come separately). */
export interface RunOptions {
  envId: string;
  seed: number;
  /** Hidden layer sizes of the actor (the shipped network). */
  hidden: number[];
  /** Output directory for checkpoints and metrics; null writes nothing. */
  outDir: string | null;
  /** Write a checkpoint every this many environment steps (0: never). */
  checkpointEvery: number;
  /** Progress bar (only honoured on a TTY). */
  progress: boolean;
  /** Text progress lines (for logs when not on a TTY), at most every `logEverySec` seconds. */
  log: ((line: string) => void) | null;
  logEverySec: number;
  backend: BackendInfo;
  /**
   * Model selection as RL Zoo's EvalCallback: every `evalEvery` env steps (0: never), evaluate the
   * deterministic policy on `selectEpisodes` episodes with reset seeds SELECT_SEED_START + e (apart
   * from the 0..99 used to report the final score) and ship the best one seen (the final included).
   */
  evalEvery: number;
  selectEpisodes: number;
  /** Also evaluate the starting policy (step 0) as a candidate (fine-tuning: the student as it came in). */
  selectAtStart?: boolean;
  /** Environment options (gravity, pole length, ...) for every env the run builds. */
  envOptions?: EnvOptions;
  /**
   * Start the actor from these weights instead of a fresh init (PPO only: fine-tuning a student).
   * Its obsNorm is kept fixed and applied to actor and critic inputs.
   */
  initActor?: PolicyModel | null;
  /**
   * Called every `every` env steps with the current policy (online distillation); training waits
   * for it. The returned text, if any, shows on the progress bar / log.
   */
  onInterval?: { every: number; run: (step: number, model: PolicyModel) => Promise<string | void> } | null;
}

/** Reset seeds of the model-selection episodes; disjoint from the reporting seeds 0..99. */
export const SELECT_SEED_START = 10_000;

/** What a trainer returns: the actor as an IR model plus provenance for the card. */
export interface TrainOutput {
  model: PolicyModel;
  algorithm: string;
  hyperParameters: Record<string, unknown>;
  envSteps: number;
  wallTimeSec: number;
  episodes: number;
  /** Mean training return over the last 20 episodes (stochastic / exploring policy). */
  recentReturn: number | null;
  /** When model selection ran: the step and selection score of the shipped model. */
  selected: {
    step: number;
    meanReturn: number;
    episodes: number;
    seedStart: number;
    evaluations: number;
    /** Every evaluation in order: env steps and mean return on the selection seeds. */
    curve: { step: number; meanReturn: number }[];
  } | null;
  /** Gradient updates per second of wall time, and env steps per second. */
  updatesPerSec: number;
  stepsPerSec: number;
}

/** Writes `text` to `path` atomically: temp file, fsync, rename. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}


export class RunContext {
  readonly start = performance.now();
  private readonly recent: number[] = [];
  episodes = 0;
  private bar: cliProgress.SingleBar | null = null;
  private lastLog = 0;
  private lastCheckpoint = 0;
  private lastMetrics: Record<string, number> = {};
  private lastEval = 0;
  private lastInterval = 0;
  private intervalNote = '-';
  private evaluations = 0;
  private best: { model: PolicyModel; step: number; mean: number } | null = null;
  private readonly curve: { step: number; meanReturn: number }[] = [];

  constructor(readonly opts: RunOptions, readonly totalSteps: number) {
    if (opts.outDir) mkdirSync(opts.outDir, { recursive: true });
    opts.log?.(`${opts.envId}: ${totalSteps} env steps, seed ${opts.seed}, backend ${opts.backend.description}`);
    if (opts.progress && process.stderr.isTTY) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `{bar} {value}/{total} steps | return {ret} | {sps} steps/s | eta {eta_formatted}${opts.onInterval ? ' | student {stu}' : ''}`,
          stream: process.stderr,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(totalSteps, 0, { ret: '-', sps: '-', stu: '-' });
    }
  }

  elapsedSec(): number {
    return (performance.now() - this.start) / 1000;
  }

  recentReturn(): number | null {
    if (this.recent.length === 0) return null;
    return this.recent.reduce((a, b) => a + b, 0) / this.recent.length;
  }

  /** Records finished episodes (charts/episodic_return, charts/episodic_length). */
  episode(step: number, ret: number, len: number): void {
    this.episodes++;
    this.recent.push(ret);
    if (this.recent.length > 20) this.recent.shift();
    this.metrics(step, { 'charts/episodic_return': ret, 'charts/episodic_length': len });
  }

  /** Appends metrics to OUT/metrics.jsonl under their stable names. */
  metrics(step: number, m: Record<string, number>): void {
    Object.assign(this.lastMetrics, m);
    if (this.opts.outDir) appendFileSync(join(this.opts.outDir, 'metrics.jsonl'), `${JSON.stringify({ step, ...m })}\n`);
  }

  /** Called once per loop iteration with the env steps done so far. */
  async tick(step: number, snapshot: () => PolicyModel): Promise<void> {
    const sps = Math.round(step / Math.max(this.elapsedSec(), 1e-9));
    const rr = this.recentReturn();
    this.bar?.update(step, { ret: rr === null ? '-' : rr.toFixed(1), sps, stu: this.intervalNote });
    const now = performance.now();
    if (this.opts.log && now - this.lastLog > this.opts.logEverySec * 1000) {
      this.lastLog = now;
      const losses = Object.entries(this.lastMetrics)
        .filter(([k]) => k.startsWith('losses/'))
        .map(([k, v]) => `${k.slice(7)} ${Number(v).toPrecision(3)}`)
        .join(', ');
      this.opts.log(
        `step ${step}/${this.totalSteps} | ${this.elapsedSec().toFixed(0)}s | ${sps} steps/s | episodes ${this.episodes} | ` +
          `return(last 20) ${rr === null ? '-' : rr.toFixed(2)}${losses ? ` | ${losses}` : ''}`,
      );
    }
    if (this.opts.evalEvery > 0 && step - this.lastEval >= this.opts.evalEvery) {
      this.lastEval = step;
      this.select(snapshot(), step);
    }
    if (this.opts.outDir && this.opts.checkpointEvery > 0 && step - this.lastCheckpoint >= this.opts.checkpointEvery) {
      this.lastCheckpoint = step;
      this.checkpoint(snapshot(), step);
    }
    const iv = this.opts.onInterval;
    if (iv && iv.every > 0 && step - this.lastInterval >= iv.every) {
      this.lastInterval = step;
      const note = await iv.run(step, snapshot());
      if (note) {
        this.intervalNote = note;
        this.bar?.update(step, { stu: note });
        this.opts.log?.(`step ${step}: ${note}`);
      }
    }
  }

  checkpoint(model: PolicyModel, step: number): void {
    if (!this.opts.outDir) return;
    writeFileAtomic(join(this.opts.outDir, 'policy.json'), policyToText({ ...model, card: { ...model.card, checkpointStep: step } }));
  }

  /** Evaluates `model` now as a selection candidate (when model selection is on). */
  selectNow(model: PolicyModel, step: number): void {
    if (this.opts.evalEvery <= 0) return;
    this.lastEval = step;
    this.select(model, step);
  }

  private select(model: PolicyModel, step: number): void {
    const { stats } = evaluatePolicy(model, this.opts.envId, this.opts.selectEpisodes, SELECT_SEED_START, this.opts.envOptions);
    this.evaluations++;
    this.curve.push({ step, meanReturn: stats.mean });
    this.metrics(step, { 'eval/mean_return': stats.mean });
    this.opts.log?.(`eval at step ${step}: mean return ${stats.mean.toFixed(2)} over ${stats.episodes} episodes`);
    // Strictly better: on a tie the earlier checkpoint (with selectAtStart, the start) stays.
    if (!this.best || stats.mean > this.best.mean) this.best = { model, step, mean: stats.mean };
  }

  /** The model to ship: the final one, or with model selection the best evaluated (final included). */
  finalModel(model: PolicyModel, step: number): { model: PolicyModel; selected: TrainOutput['selected'] } {
    if (this.opts.evalEvery <= 0) return { model, selected: null };
    if (this.lastEval !== step) this.select(model, step);
    const b = this.best!;
    return {
      model: b.model,
      selected: { step: b.step, meanReturn: b.mean, episodes: this.opts.selectEpisodes, seedStart: SELECT_SEED_START, evaluations: this.evaluations, curve: [...this.curve] },
    };
  }

  close(): void {
    this.bar?.stop();
  }
}
