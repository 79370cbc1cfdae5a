/**
 * Online distillation (`edgedistill train --distill-into 32,32`): while a teacher trains, one
 * persistent student is distilled from the teacher's current policy at intervals. Each interval
 * is a short DAgger run (`distill`) that starts from the previous interval's student (warm start;
 * the optimizer state starts afresh), so when training ends a deployable student exists too.
 * At the end every interval's student is scored against the final teacher on the same states,
 * which shows whether the student kept up.
 */
import { makeEnv, type EnvOptions } from '@edgedistill/runtime/envs';
import { act } from '../ir/forward.js';
import type { PolicyModel } from '../ir/types.js';
import { distill, type DistillReport } from './distill.js';
import { teacherFromPolicy } from './teacher.js';

export interface OnlineDistillOptions {
  envId: string;
  envOptions?: EnvOptions;
  hidden: readonly number[];
  seed?: number;
  /** Training samples (gradient steps x batch) per interval. */
  samplesPerInterval?: number;
  /** Evaluation episodes per interval (teacher, student and random returns). */
  episodes?: number;
  numEnvs?: number;
  /** Vector steps per DAgger round. */
  stepsPerRound?: number;
  /** States of the final-teacher comparison (about). */
  finalStates?: number;
}

export interface OnlineInterval {
  interval: number;
  /** Teacher env steps when the interval ran. */
  step: number;
  final: boolean;
  teacherReturn: number | null;
  studentReturn: number | null;
  returnRetention: number | null;
  /** Held-out agreement (or action error) with the teacher of this interval. */
  agreement: number | null;
  actionError: number | null;
  samples: number;
  seconds: number;
  stopReason: DistillReport['stopReason'];
  /** This interval's student against the final teacher, on the final teacher's states (set by finish()). */
  agreementWithFinalTeacher: number | null;
  actionErrorVsFinalTeacher: number | null;
}

export interface OnlineSummary {
  hidden: number[];
  intervals: number;
  samplesPerInterval: number;
  episodesPerInterval: number;
  seconds: number;
  finalStates: number;
  history: OnlineInterval[];
}

export class OnlineDistiller {
  student: PolicyModel | null = null;
  report: DistillReport | null = null;
  readonly history: OnlineInterval[] = [];
  private readonly students: PolicyModel[] = [];
  private seconds = 0;
  private finalStates = 0;
  readonly samplesPerInterval: number;
  readonly episodes: number;

  constructor(readonly opts: OnlineDistillOptions) {
    this.samplesPerInterval = opts.samplesPerInterval ?? 51_200;
    this.episodes = opts.episodes ?? 20;
  }

  /** Distills the current teacher into the student (warm-started from the previous interval). */
  async update(step: number, teacher: PolicyModel, final = false): Promise<OnlineInterval> {
    const t0 = performance.now();
    const k = this.history.length;
    const { student, report } = await distill({
      teacher: teacherFromPolicy(teacher, `teacher at step ${step}`),
      envId: this.opts.envId,
      envOptions: this.opts.envOptions,
      hidden: this.student ? undefined : [...this.opts.hidden],
      initFrom: this.student,
      initFromName: this.student ? `student of interval ${k - 1}` : undefined,
      // A new seed per interval: new rollouts, not the same start states again.
      seed: (this.opts.seed ?? 0) + k,
      maxSamples: this.samplesPerInterval,
      episodes: this.episodes,
      numEnvs: this.opts.numEnvs ?? 16,
      stepsPerRound: this.opts.stepsPerRound ?? 256,
      trainStepsPerRound: 100,
      checkEvery: 50,
      heldOutStates: 2000,
    });
    this.student = { ...student, card: { ...student.card, onlineInterval: k, teacherStep: step } };
    this.report = report;
    this.students.push(this.student);
    const seconds = (performance.now() - t0) / 1000;
    this.seconds += seconds;
    const entry: OnlineInterval = {
      interval: k,
      step,
      final,
      teacherReturn: report.teacher.return?.mean ?? null,
      studentReturn: report.student.return?.mean ?? null,
      returnRetention: report.returnRetention,
      agreement: report.agreement,
      actionError: report.actionError,
      samples: report.samples,
      seconds,
      stopReason: report.stopReason,
      agreementWithFinalTeacher: null,
      actionErrorVsFinalTeacher: null,
    };
    this.history.push(entry);
    return entry;
  }

  /** Scores every interval's student against the final teacher on states the final teacher visits. */
  finish(finalTeacher: PolicyModel): void {
    const states = finalTeacherStates(finalTeacher, this.opts.envId, this.opts.envOptions, this.opts.finalStates ?? 2000);
    this.finalStates = states.length;
    const ref = states.map((o) => act(finalTeacher, o));
    this.students.forEach((s, k) => {
      const m = compareActions(ref, states.map((o) => act(s, o)));
      this.history[k].agreementWithFinalTeacher = m.agreement;
      this.history[k].actionErrorVsFinalTeacher = m.actionError;
    });
  }

  summary(): OnlineSummary {
    return {
      hidden: [...this.opts.hidden],
      intervals: this.history.length,
      samplesPerInterval: this.samplesPerInterval,
      episodesPerInterval: this.episodes,
      seconds: this.seconds,
      finalStates: this.finalStates,
      history: this.history.map((h) => ({ ...h })),
    };
  }
}

/** States from deterministic episodes of `teacher` (reset seeds 20000 + e), every 4th step kept. */
export function finalTeacherStates(teacher: PolicyModel, envId: string, envOptions: EnvOptions | undefined, count: number): Float32Array[] {
  const env = makeEnv(envId, envOptions);
  const start = env.actionSpace.kind === 'discrete' ? env.actionSpace.start : 0;
  const out: Float32Array[] = [];
  for (let e = 0; out.length < count && e < 1000; e++) {
    let obs = env.reset({ seed: 20_000 + e }).obs;
    for (let t = 0; out.length < count; t++) {
      if (t % 4 === 0) out.push(Float32Array.from(obs));
      const a = act(teacher, obs);
      const r = env.step(typeof a === 'number' ? a + start : a);
      obs = r.obs;
      if (r.terminated || r.truncated) break;
    }
  }
  return out;
}

/** Share of equal discrete actions, or mean absolute difference of continuous ones. */
export function compareActions(ref: readonly (number | Float32Array)[], got: readonly (number | Float32Array)[]): { agreement: number | null; actionError: number | null } {
  if (ref.length === 0) return { agreement: null, actionError: null };
  if (typeof ref[0] === 'number') {
    let same = 0;
    ref.forEach((a, i) => (same += a === got[i] ? 1 : 0));
    return { agreement: same / ref.length, actionError: null };
  }
  let err = 0;
  let n = 0;
  ref.forEach((a, i) => {
    const b = got[i] as Float32Array;
    (a as Float32Array).forEach((v, j) => {
      err += Math.abs(v - b[j]);
      n++;
    });
  });
  return { agreement: null, actionError: err / n };
}
