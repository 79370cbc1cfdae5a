/**
 * The check report (`check-report.json`): schema, budget verdicts, the human table, and the atomic
 * write. Figures are as measured; budgets compare them with the manifest's limits.
 */
import { writeFileAtomicSync } from '../util/atomic-write.js';
import type { BackendId, Budgets } from '../bundle/manifest.js';
import type { LatencyResult } from './latency.js';
import type { ReturnStats } from './episodes.js';
import type { PlatformFacts } from './platform.js';

export const CHECK_REPORT_FORMAT = 'edgedistill.check-report/1' as const;
export const CHECK_REPORT_FILE = 'check-report.json';

export interface ArtifactReport {
  readonly name: string;
  readonly role: 'teacher' | 'student';
  /** Export format from the manifest (onnx, js-int8, tflite-int8, ...). */
  readonly format: string;
  readonly backend: BackendId;
  /** Path in the bundle. */
  readonly path: string;
  /** What the artifact says about itself: fp32, int8, fp16 or unknown. */
  readonly variant: string;
  /** Seconds from loadPolicy to a ready policy. */
  readonly loadSeconds: number;
  /** Batch-1 latency of `act` in microseconds, and how it was measured. */
  readonly latencyUs: LatencyResult;
  /** This artifact's latency over the teacher's (p50 / p99); null for the teacher. */
  readonly latencyRatioVsTeacher: { readonly p50: number; readonly p99: number } | null;
  /** Discrete actions: share of golden observations where it picks the teacher's action (on this device). */
  readonly agreement: number | null;
  /** Continuous actions: RMS difference from the teacher's action on the golden set; else null. */
  readonly actionRmseVsTeacher: number | null;
  /** Largest |output - output recorded on the desktop| over the golden set (`golden.outputs[goldenKey]`). */
  readonly maxAbsErrorVsDesktop: number;
  readonly return: ReturnStats;
  /** (return - random) / (teacher - random); null when the teacher does not beat random. */
  readonly returnRetention: number | null;
  /** Peak RSS of the process once this artifact was measured, MiB. */
  readonly peakRssMiBAfter: number;
}

export interface BudgetResult {
  /** `<artifact>/<figure>` or the figure alone for process-wide ones, e.g. `student-js/p99LatencyUs`. */
  readonly name: string;
  /** The manifest field (`budgets.<budget>`) the limit comes from. */
  readonly budget: keyof Budgets;
  readonly artifact: string | null;
  readonly op: '<=' | '>=';
  readonly limit: number;
  /** Measured figure; null when it cannot be computed (the budget then fails). */
  readonly value: number | null;
  readonly passed: boolean;
  readonly note?: string;
}

export interface CheckReport {
  readonly format: typeof CHECK_REPORT_FORMAT;
  /** Device profile id the bundle was built for. */
  readonly device: string;
  readonly bundle: {
    readonly dir: string;
    /** sha256 of manifest.json: names the exact bundle checked. */
    readonly manifestSha256: string;
    readonly envId: string;
    /** Files verified against their sha256 before anything ran. */
    readonly filesVerified: number;
  };
  readonly platform: PlatformFacts;
  readonly settings: {
    readonly episodes: number;
    readonly minCalls: number;
    readonly maxSecondsPerArtifact: number;
    readonly warmupCalls: number;
    readonly goldenObservations: number;
    /** Median cost of one hrtime pair: the floor under every latency figure (not subtracted). */
    readonly timerOverheadUs: number;
  };
  /** Uniform random policy over the same seeded episodes: the zero of return retention. */
  readonly random: { readonly return: ReturnStats };
  /** Teacher first, then students in manifest order. */
  readonly artifacts: readonly ArtifactReport[];
  readonly memory: {
    /** Peak RSS with the students loaded and measured, before the teacher was loaded: the memory budget's figure. */
    readonly peakRssMiBStudents: number;
    /** Peak RSS of the whole check (teacher included). */
    readonly peakRssMiB: number;
  };
  readonly budgets: readonly BudgetResult[];
  readonly passed: boolean;
  /** Names of the failed budgets. */
  readonly failed: readonly string[];
  readonly startedAt: string;
  readonly wallSeconds: number;
}

function budget(
  name: string,
  key: keyof Budgets,
  artifact: string | null,
  op: '<=' | '>=',
  limit: number,
  value: number | null,
  note?: string,
): BudgetResult {
  const passed = value !== null && Number.isFinite(value) && (op === '<=' ? value <= limit : value >= limit);
  return note === undefined ? { name, budget: key, artifact, op, limit, value, passed } : { name, budget: key, artifact, op, limit, value, passed, note };
}

/**
 * Each student's p99 latency within the control period, agreement and retention floors
 * (agreement only for discrete actions), and the memory ceiling.
 */
export function evaluateBudgets(b: Budgets, artifacts: readonly ArtifactReport[], peakRssMiBStudents: number): BudgetResult[] {
  const out: BudgetResult[] = [];
  for (const a of artifacts) {
    if (a.role !== 'student') continue;
    out.push(budget(`${a.name}/p99LatencyUs`, 'controlPeriodUs', a.name, '<=', b.controlPeriodUs, a.latencyUs.p99));
    if (a.agreement !== null) out.push(budget(`${a.name}/agreement`, 'minAgreement', a.name, '>=', b.minAgreement, a.agreement));
    out.push(
      budget(
        `${a.name}/returnRetention`,
        'minReturnRetention',
        a.name,
        '>=',
        b.minReturnRetention,
        a.returnRetention,
        a.returnRetention === null ? 'the teacher does not beat the random policy here, so retention is undefined' : undefined,
      ),
    );
  }
  out.push(budget('peakRssMiB', 'maxRssMiB', null, '<=', b.maxRssMiB, peakRssMiBStudents));
  return out;
}

// ---- human output ----

function num(v: number | null | undefined, digits: number): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  return v.toFixed(digits);
}

/** Latency with 2 significant decimals below 10 us, fewer above. */
function lat(v: number): string {
  return num(v, v < 10 ? 2 : v < 1000 ? 1 : 0);
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c < 4 ? cell.padEnd(widths[c]) : cell.padStart(widths[c])))
      .join('  ')
      .trimEnd(),
  );
}

/** The compact table `edgedistill-device check` prints. */
export function formatReport(r: CheckReport): string {
  const p = r.platform;
  const lines = [
    `bundle ${r.bundle.dir} (device profile ${r.device}, manifest sha256 ${r.bundle.manifestSha256.slice(0, 12)}, ${r.bundle.filesVerified} files verified)`,
    `on ${p.hostname}: ${p.board ?? p.cpuModel} (${p.cores} cores), ${p.os} ${p.arch} ${p.osRelease}, node ${p.nodeVersion}`,
    `${r.bundle.envId}, ${r.settings.episodes} episodes (seeds 0..${r.settings.episodes - 1}), ${r.settings.goldenObservations} golden observations; latency of one act() at batch 1, us`,
    '',
  ];
  const rows: string[][] = [
    ['artifact', 'role', 'backend', 'format', 'calls', 'p50', 'p90', 'p99', 'max', 'x teacher', 'agree', 'max|err|', 'return', 'sd', 'retention'],
  ];
  for (const a of r.artifacts) {
    const l = a.latencyUs;
    rows.push([
      a.name,
      a.role,
      a.backend,
      a.format,
      `${l.calls}${l.stoppedByTimeBound ? '*' : ''}`,
      lat(l.p50),
      lat(l.p90),
      lat(l.p99),
      lat(l.max),
      a.latencyRatioVsTeacher ? num(a.latencyRatioVsTeacher.p50, 3) : '-',
      a.agreement !== null ? num(a.agreement, 3) : a.actionRmseVsTeacher !== null ? `rmse ${num(a.actionRmseVsTeacher, 3)}` : '-',
      a.maxAbsErrorVsDesktop === 0 ? '0' : a.maxAbsErrorVsDesktop.toExponential(1),
      num(a.return.mean, 1),
      num(a.return.std, 1),
      num(a.returnRetention, 3),
    ]);
  }
  const rnd = r.random.return;
  rows.push(['random', '-', '-', '-', '-', '', '', '', '', '', '', '', num(rnd.mean, 1), num(rnd.std, 1), '0']);
  lines.push(...table(rows));
  if (r.artifacts.some((a) => a.latencyUs.stoppedByTimeBound)) lines.push('* time bound reached before the planned number of calls');
  lines.push(
    `timer overhead ${num(r.settings.timerOverheadUs, 3)} us per call (included); peak RSS ${num(r.memory.peakRssMiBStudents, 1)} MiB with the students, ${num(r.memory.peakRssMiB, 1)} MiB in all`,
    '',
    'budgets:',
  );
  const brows = r.budgets.map((b) => [
    b.passed ? 'pass' : 'FAIL',
    b.name,
    `${b.value === null ? '-' : num(b.value, b.budget === 'controlPeriodUs' ? 2 : b.budget === 'maxRssMiB' ? 1 : 3)} ${b.op} ${b.limit}`,
    b.note ?? '',
  ]);
  for (const row of brows) lines.push(`  ${row[0]}  ${row[1].padEnd(Math.max(...brows.map((x) => x[1].length)))}  ${row[2]}${row[3] ? `  (${row[3]})` : ''}`);
  lines.push('', summaryLine(r));
  return lines.join('\n');
}

/** One line: PASSED, or FAILED with the failed budgets' names. */
export function summaryLine(r: CheckReport): string {
  return r.passed
    ? `PASSED: ${r.budgets.length} budgets met on ${r.platform.hostname} (${r.wallSeconds.toFixed(1)} s)`
    : `FAILED: ${r.failed.length} of ${r.budgets.length} budgets not met: ${r.failed.join(', ')}`;
}

// ---- atomic write ----

/** Re-exported under the name the check's public entry has always used. */
export { writeFileAtomicSync as writeFileAtomic } from '../util/atomic-write.js';

/** Writes the report as pretty JSON, atomically. */
export function writeCheckReport(path: string, report: CheckReport): void {
  writeFileAtomicSync(path, `${JSON.stringify(report, null, 2)}\n`);
}
