/** Per-target results of flash and remote check, and the summary table both print. */

/** The few figures of a check report (runtime/src/check/report.ts) a fleet table shows. */
export interface CheckSummary {
  readonly ran: boolean;
  /** Budgets all met (null when the check did not run or gave no report). */
  readonly passed: boolean | null;
  /** Exit code of `edgedistill-device check` (0 pass, 1 budget failed, 2 bad bundle, 3 runtime failure). */
  readonly exitCode: number | null;
  /** Worst student p99 latency at batch 1, microseconds. */
  readonly p99Us: number | null;
  readonly failed: readonly string[];
  /** The report's platform.arch (`arm64`, `arm`, `x64`) and node version. */
  readonly arch: string | null;
  readonly nodeVersion: string | null;
  /** The whole check-report.json, when there was one. */
  readonly report: Record<string, unknown> | null;
  /** Where the report was saved on this machine (--out). */
  readonly savedTo: string | null;
  /** The check's error when it failed without a report (last stderr lines). */
  readonly error: string | null;
  /** Why it did not run, when it did not. */
  readonly skipped: string | null;
}

export interface DeviceFacts {
  readonly uname: string | null;
  readonly nodePath: string | null;
  readonly nodeVersion: string | null;
  readonly nodeArch: string | null;
  readonly rsync: boolean | null;
  readonly freeKiB: number | null;
}

export interface FlashResult {
  readonly target: string;
  readonly label: string;
  readonly ok: boolean;
  /** Bundle id (releases/<id>). */
  readonly release: string;
  readonly releaseBefore: string | null;
  readonly releaseAfter: string | null;
  /** new: uploaded and unpacked; existing: already on the device (verified again). */
  readonly installed: 'new' | 'existing' | null;
  /** How the bundle got there; resumedBytes: a partial upload of an interrupted flash that rsync continued from. */
  readonly upload: { readonly method: 'rsync' | 'scp' | 'copy' | 'none'; readonly bytes: number; readonly seconds: number; readonly resumedBytes: number } | null;
  readonly switched: boolean;
  readonly rolledBack: boolean;
  readonly pruned: readonly string[];
  readonly check: CheckSummary;
  readonly device: DeviceFacts;
  /** A stale lock that was broken, or a half-finished activation that was repaired. */
  readonly recovered: readonly string[];
  readonly warnings: readonly string[];
  readonly error: string | null;
  readonly seconds: number;
}

export interface RemoteCheckResult {
  readonly target: string;
  readonly label: string;
  readonly ok: boolean;
  readonly release: string | null;
  readonly check: CheckSummary;
  readonly error: string | null;
  readonly seconds: number;
}

export const NO_CHECK: CheckSummary = {
  ran: false,
  passed: null,
  exitCode: null,
  p99Us: null,
  failed: [],
  arch: null,
  nodeVersion: null,
  report: null,
  savedTo: null,
  error: null,
  skipped: null,
};

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the figures out of the check's `--json` stdout (a report, or an error object). */
export function summarizeCheck(exitCode: number | null, stdout: string, stderr: string): CheckSummary {
  let report: Record<string, unknown> | null = null;
  let error: string | null = null;
  const text = stdout.trim();
  if (text) {
    try {
      const v = JSON.parse(text) as unknown;
      if (isRecord(v) && typeof v.format === 'string' && Array.isArray(v.artifacts)) report = v;
      else if (isRecord(v) && typeof v.error === 'string') {
        error = `${v.error}: ${String(v.message ?? '')}`;
        if (isRecord(v.report)) report = v.report;
      }
    } catch {
      error = `unreadable check output: ${text.slice(0, 200)}`;
    }
  }
  if (!report && !error) error = stderr.trim().split('\n').slice(-3).join(' / ') || `check exited with ${exitCode}`;
  let p99: number | null = null;
  if (report && Array.isArray(report.artifacts)) {
    for (const a of report.artifacts as unknown[]) {
      if (!isRecord(a) || a.role !== 'student' || !isRecord(a.latencyUs)) continue;
      const v = a.latencyUs.p99;
      if (typeof v === 'number' && Number.isFinite(v)) p99 = p99 === null ? v : Math.max(p99, v);
    }
  }
  const platform = report && isRecord(report.platform) ? report.platform : null;
  return {
    ran: true,
    passed: report ? report.passed === true : exitCode === 0 ? null : false,
    exitCode,
    p99Us: p99,
    failed: report && Array.isArray(report.failed) ? (report.failed as unknown[]).map(String) : [],
    arch: platform && typeof platform.arch === 'string' ? platform.arch : null,
    nodeVersion: platform && typeof platform.nodeVersion === 'string' ? platform.nodeVersion : null,
    report,
    savedTo: null,
    error: report ? null : error,
    skipped: null,
  };
}

function pad(rows: string[][]): string[] {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(w[c])).join('  ').trimEnd());
}

const p99Text = (c: CheckSummary) => (c.p99Us === null ? '-' : c.p99Us < 10 ? c.p99Us.toFixed(2) : c.p99Us.toFixed(1));
const checkText = (c: CheckSummary) => (!c.ran ? (c.skipped ? 'skipped' : '-') : c.passed === true ? 'passed' : c.passed === false ? 'FAILED' : `exit ${c.exitCode}`);

/** The end-of-flash table: one row per target. */
export function formatFlashTable(results: readonly FlashResult[]): string {
  const rows = [['target', 'result', 'before', 'after', 'check', 'p99 us', 'time', 'error']];
  for (const r of results) {
    const why = r.error ?? (r.check.ran && r.check.passed === false ? `budgets failed: ${r.check.failed.join(', ') || r.check.error || '?'}` : '');
    rows.push([
      r.label,
      r.ok ? 'ok' : r.rolledBack ? 'rolled back' : 'FAILED',
      r.releaseBefore ?? '-',
      r.releaseAfter ?? '-',
      checkText(r.check),
      p99Text(r.check),
      `${r.seconds.toFixed(1)}s`,
      why,
    ]);
  }
  return pad(rows).join('\n');
}

export function formatCheckTable(results: readonly RemoteCheckResult[]): string {
  const rows = [['target', 'release', 'check', 'p99 us', 'arch', 'node', 'report', 'error']];
  for (const r of results) {
    const why = r.error ?? (r.check.passed === false ? `budgets failed: ${r.check.failed.join(', ') || r.check.error || '?'}` : '');
    rows.push([r.label, r.release ?? '-', checkText(r.check), p99Text(r.check), r.check.arch ?? '-', r.check.nodeVersion ?? '-', r.check.savedTo ?? '-', why]);
  }
  return pad(rows).join('\n');
}
