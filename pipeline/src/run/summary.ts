/**
 * The run's summary: sizes, agreement, return retention and the latency ratio, gathered from what
 * each stage reported (figures are copied, never recomputed), and the stage table with times.
 * Pure: ./run.ts gathers the stage outputs, the CLI and the report print these.
 */
import type { CheckReport } from '../../../runtime/src/check/report.js';
import type { CompressReport } from '../compress/report.js';
import type { DistillReport } from '../distill/distill.js';
import type { ArtifactsManifest } from '../export/index.js';

export const STAGES = ['teacher', 'distill', 'compress', 'export', 'bundles', 'check', 'report'] as const;
export type StageName = (typeof STAGES)[number];

export interface StageRecord {
  readonly name: StageName;
  readonly status: 'ok' | 'failed' | 'skipped' | 'not run';
  /** Wall time of the stage, seconds (null when it did not run). */
  readonly seconds: number | null;
  /** Its output directory (relative to out), when it has one. */
  readonly dir: string | null;
  /** One line: what it did, or why it failed or was skipped. */
  readonly detail: string;
}

export interface TeacherFacts {
  readonly file: string;
  readonly params: number | null;
  readonly bytes: number | null;
  readonly outputKind: string;
}

export interface BundleFacts {
  readonly device: string;
  readonly file: string;
  readonly bytes: number;
  readonly artifacts: number;
}

/** What the stages produced, as far as the run got. */
export interface StageOutputs {
  readonly env: string;
  readonly teacher: TeacherFacts | null;
  readonly distill: DistillReport | null;
  readonly compress: CompressReport | null;
  readonly artifacts: ArtifactsManifest | null;
  readonly bundles: readonly BundleFacts[];
  readonly check: CheckReport | null;
}

export interface RunSummary {
  readonly env: string;
  readonly ok: boolean;
  readonly failedStage: StageName | null;
  readonly failure: string | null;
  readonly stages: readonly StageRecord[];
  readonly wallSeconds: number;
  readonly size: {
    readonly teacherParams: number | null;
    readonly teacherBytes: number | null;
    readonly studentHidden: number[] | null;
    readonly studentParams: number | null;
    /** Student parameters / teacher parameters. */
    readonly paramShare: number | null;
    /** What the student's numbers mean after compress (float32, float16, int8). */
    readonly semantics: string | null;
    /** Smallest artifact that passed the parity gate. */
    readonly smallest: { readonly format: string; readonly bytes: number; readonly shareOfTeacherBytes: number | null } | null;
    readonly artifacts: readonly { readonly format: string; readonly bytes: number; readonly status: string }[];
  };
  readonly agreement: {
    readonly distill: number | null;
    readonly compress: number | null;
    /** Exported artifacts vs the teacher on the golden set: lowest and highest over those that ran. */
    readonly export: { readonly min: number; readonly max: number } | null;
    readonly device: { readonly device: string; readonly min: number; readonly artifact: string } | null;
  };
  readonly retention: {
    readonly distill: number | null;
    readonly compress: number | null;
    readonly device: { readonly device: string; readonly min: number; readonly artifact: string } | null;
  };
  /** Teacher p50 over the fastest student's p50 on the checked device (> 1: the student is faster). */
  readonly latency: { readonly device: string; readonly teacherP50Us: number; readonly student: string; readonly studentP50Us: number; readonly ratio: number } | null;
  readonly bundles: readonly BundleFacts[];
  readonly check: { readonly device: string; readonly passed: boolean; readonly budgets: number; readonly failed: readonly string[] } | null;
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function minOver<T>(xs: readonly T[], f: (x: T) => number | null): { x: T; v: number } | null {
  let best: { x: T; v: number } | null = null;
  for (const x of xs) {
    const v = f(x);
    if (isNum(v) && (best === null || v < best.v)) best = { x, v };
  }
  return best;
}

export function buildSummary(o: StageOutputs, stages: readonly StageRecord[], wallSeconds: number): RunSummary {
  const failed = stages.find((s) => s.status === 'failed') ?? null;
  const c = o.compress;
  const d = o.distill;
  const teacherParams = o.teacher?.params ?? c?.teacher.params ?? d?.teacher.params ?? null;
  const studentParams = c?.result.params ?? d?.student.params ?? null;
  const arts = (o.artifacts?.artifacts ?? []).map((a) => ({ format: a.format, bytes: a.bytes, status: a.status, agree: a.actionAgreementVsTeacher }));
  const passing = arts.filter((a) => a.status === 'pass');
  const smallest = passing.length ? passing.reduce((a, b) => (b.bytes < a.bytes ? b : a)) : null;
  // Over every artifact that ran (failed ones too: their figure is the reason they failed).
  const exportAgree = arts.filter((a) => a.status !== 'not run').map((a) => a.agree).filter(isNum);
  const ch = o.check;
  const students = ch ? ch.artifacts.filter((a) => a.role === 'student') : [];
  const devAgree = minOver(students, (a) => a.agreement);
  const devRet = minOver(students, (a) => a.returnRetention);
  const teacherRow = ch?.artifacts.find((a) => a.role === 'teacher') ?? null;
  const fastest = minOver(students, (a) => a.latencyUs.p50);
  const tBytes = o.teacher?.bytes ?? null;
  return {
    env: o.env,
    ok: failed === null,
    failedStage: failed?.name ?? null,
    failure: failed?.detail ?? null,
    stages,
    wallSeconds,
    size: {
      teacherParams,
      teacherBytes: tBytes,
      studentHidden: c?.result.hidden ?? d?.student.hidden ?? null,
      studentParams,
      paramShare: isNum(teacherParams) && isNum(studentParams) && teacherParams > 0 ? studentParams / teacherParams : null,
      semantics: c?.result.semantics ?? (d ? 'float32' : null),
      smallest: smallest ? { format: smallest.format, bytes: smallest.bytes, shareOfTeacherBytes: isNum(tBytes) && tBytes > 0 ? smallest.bytes / tBytes : null } : null,
      artifacts: arts.map((a) => ({ format: a.format, bytes: a.bytes, status: a.status })),
    },
    agreement: {
      distill: d?.agreement ?? null,
      compress: c?.result.agreement ?? null,
      export: exportAgree.length ? { min: Math.min(...exportAgree), max: Math.max(...exportAgree) } : null,
      device: ch && devAgree ? { device: ch.device, min: devAgree.v, artifact: devAgree.x.name } : null,
    },
    retention: {
      distill: d?.returnRetention ?? null,
      compress: c?.result.returnRetention ?? null,
      device: ch && devRet ? { device: ch.device, min: devRet.v, artifact: devRet.x.name } : null,
    },
    latency:
      ch && teacherRow && fastest && fastest.v > 0
        ? { device: ch.device, teacherP50Us: teacherRow.latencyUs.p50, student: fastest.x.name, studentP50Us: fastest.v, ratio: teacherRow.latencyUs.p50 / fastest.v }
        : null,
    bundles: o.bundles,
    check: ch ? { device: ch.device, passed: ch.passed, budgets: ch.budgets.length, failed: ch.failed } : null,
  };
}

// ---- text ----

export const pct = (v: number | null | undefined, digits = 1): string => (isNum(v) ? `${(v * 100).toFixed(digits)}%` : '-');

export function bytesText(n: number | null | undefined): string {
  if (!isNum(n)) return '-';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

const us = (v: number) => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));

/** The stage table: name, status, seconds, detail. */
export function stageRows(s: RunSummary): string[][] {
  return s.stages.map((st) => [st.name, st.status, st.seconds === null ? '' : `${st.seconds.toFixed(1)} s`, st.detail]);
}

/** The figures, one line each: size, agreement, retention, latency. */
export function figureLines(s: RunSummary): string[] {
  const out: string[] = [];
  const z = s.size;
  if (z.studentParams !== null) {
    const small = z.smallest ? `; smallest file ${z.smallest.format} ${bytesText(z.smallest.bytes)}${z.smallest.shareOfTeacherBytes !== null ? ` (${pct(z.smallest.shareOfTeacherBytes, 2)} of the teacher's ${bytesText(z.teacherBytes)})` : ''}` : '';
    out.push(
      `size:      student ${z.studentHidden?.join('x') ?? '?'} ${z.semantics ?? ''}, ${z.studentParams} params${z.paramShare !== null ? ` = ${pct(z.paramShare, 2)} of the teacher's ${z.teacherParams}` : ''}${small}`,
    );
  }
  const a = s.agreement;
  const agree = [
    a.distill !== null ? `${pct(a.distill, 2)} after distill` : null,
    a.compress !== null ? `${pct(a.compress, 2)} after compress (${z.semantics})` : null,
    a.export ? `${a.export.min === a.export.max ? pct(a.export.min) : `${pct(a.export.min)}-${pct(a.export.max)}`} for the exported artifacts (golden set)${s.size.artifacts.some((x) => x.status === 'fail') ? ', failed ones included' : ''}` : null,
    a.device ? `${pct(a.device.min)} lowest on ${a.device.device} (${a.device.artifact})` : null,
  ].filter(Boolean);
  if (agree.length) out.push(`agreement: ${agree.join(', ')}`);
  const r = s.retention;
  const ret = [
    r.distill !== null ? `${pct(r.distill)} after distill` : null,
    r.compress !== null ? `${pct(r.compress)} after compress` : null,
    r.device ? `${pct(r.device.min)} lowest on ${r.device.device} (${r.device.artifact})` : null,
  ].filter(Boolean);
  if (ret.length) out.push(`retention: ${ret.join(', ')}`);
  const l = s.latency;
  if (l) {
    const x = l.ratio >= 1 ? `${l.ratio.toFixed(l.ratio >= 10 ? 0 : 1)}x faster` : `${(1 / l.ratio).toFixed(1)}x slower`;
    out.push(`latency:   ${l.student} p50 ${us(l.studentP50Us)} us vs teacher ${us(l.teacherP50Us)} us on ${l.device}: ${x}`);
  }
  if (s.check) out.push(`check:     ${s.check.device}: ${s.check.passed ? `all ${s.check.budgets} budgets met` : `${s.check.failed.length} of ${s.check.budgets} budgets not met: ${s.check.failed.join(', ')}`}`);
  for (const b of s.bundles) out.push(`bundle:    ${b.device}: ${b.file} (${bytesText(b.bytes)}, ${b.artifacts} artifacts)`);
  return out;
}
