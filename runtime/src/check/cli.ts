/**
 * `edgedistill-device`: the device-side CLI. Depends on nothing but node:util's parseArgs (it is
 * bundled by esbuild into one .mjs for devices); parsing and printing only, the work is
 * `runCheck`.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EdgeDistillError, isEdgeDistillError, type ErrorCode } from '../errors.js';
import { CHECK_REPORT_FILE, formatReport, summaryLine, writeCheckReport, type CheckReport } from './report.js';
import { runCheck, CHECK_DEFAULTS, type CheckProgress } from './run.js';

/** 0 all budgets met; 1 a budget failed; 2 bad bundle or arguments; 3 runtime failure; 130 interrupted. */
export const EXIT = { ok: 0, budgetFailed: 1, badBundle: 2, failure: 3, interrupted: 130 } as const;

/** A bundle that cannot be trusted or read as one is 2; a device that cannot run it is 3. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'CHECKSUM':
    case 'BAD_CONFIG':
    case 'BAD_MODEL':
    case 'BAD_ARGUMENT':
    case 'UNKNOWN_ENV':
    case 'BAD_OBSERVATION':
      return EXIT.badBundle;
    default:
      return EXIT.failure;
  }
}

export const HELP = `Usage: edgedistill-device check [BUNDLE_DIR] [options]

Checks a bundle on this device. First every file's sha256 is verified against
manifest.json (nothing runs if one differs); then the teacher and each student
are measured: latency of one act() at batch 1 (p50/p90/p99/max over ${CHECK_DEFAULTS.minCalls} calls),
agreement with the teacher on the golden set, error against the outputs recorded
on the desktop, returns over seeded episodes, peak memory. The figures are
compared with the bundle's budgets and written to BUNDLE_DIR/${CHECK_REPORT_FILE}.

Arguments:
  BUNDLE_DIR          release directory holding manifest.json (default: .)

Options:
  --episodes N        episodes per artifact, seeds 0..N-1 (default: the manifest's checkEpisodes)
  --calls N           timed calls per artifact (default ${CHECK_DEFAULTS.minCalls})
  --max-seconds S     time bound on one artifact's timed calls (default ${CHECK_DEFAULTS.maxSecondsPerArtifact})
  --out FILE          write the report to FILE instead of BUNDLE_DIR/${CHECK_REPORT_FILE}
  --json              print the report as JSON on stdout (errors as JSON too)
  --quiet             print only the verdict line; no progress
  -h, --help          show this help

Exit codes: 0 every budget met, 1 a budget failed, 2 bad bundle (missing or
invalid manifest, tampered or missing file) or bad arguments, 3 runtime failure
(backend missing or failing here, I/O), 130 interrupted.

Example:
  $ cd /home/pi/edgedistill/current && node edgedistill-device.mjs check
  $ edgedistill-device check /home/pi/edgedistill/current --json --out /tmp/report.json
`;

export interface CliIo {
  readonly stdout: { write(s: string): unknown };
  readonly stderr: { write(s: string): unknown; isTTY?: boolean };
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new EdgeDistillError('BAD_ARGUMENT', `--${name} expects a positive integer, got "${v}"`, { field: `--${name}` });
  return n;
}

function numFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new EdgeDistillError('BAD_ARGUMENT', `--${name} expects a positive number, got "${v}"`, { field: `--${name}` });
  return n;
}

/** Progress on stderr, one rewritten line, at most ten times a second. */
function progressPrinter(stderr: CliIo['stderr']): { update: (p: CheckProgress) => void; clear: () => void } {
  let last = 0;
  let shown = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.done !== 0 && p.done !== p.total) return;
      last = now;
      shown = true;
      const what = p.artifact ? `${p.artifact}: ${p.phase}` : p.phase;
      stderr.write(`\r\x1b[K${what} ${p.done}/${p.total}`);
    },
    clear() {
      if (shown) stderr.write('\r\x1b[K');
    },
  };
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
        episodes: { type: 'string' },
        calls: { type: 'string' },
        'max-seconds': { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    json = values.json === true;
    const [command, dirArg, ...extra] = positionals;
    if (values.help) {
      io.stdout.write(HELP);
      return EXIT.ok;
    }
    if (command === undefined) {
      io.stderr.write(HELP);
      return EXIT.badBundle;
    }
    if (command !== 'check') {
      throw new EdgeDistillError('BAD_ARGUMENT', `unknown command "${command}"`, { suggestion: 'the only command is `check` (see --help)' });
    }
    if (extra.length > 0) throw new EdgeDistillError('BAD_ARGUMENT', `unexpected argument "${extra[0]}"`, { suggestion: 'one BUNDLE_DIR at most' });

    const dir = resolve(dirArg ?? '.');
    const out = values.out !== undefined ? resolve(values.out) : join(dir, CHECK_REPORT_FILE);
    const showProgress = !values.quiet && io.stderr.isTTY === true;
    const bar = showProgress ? progressPrinter(io.stderr) : null;
    let report: CheckReport;
    try {
      report = await runCheck(dir, {
        episodes: intFlag('episodes', values.episodes),
        minCalls: intFlag('calls', values.calls),
        maxSecondsPerArtifact: numFlag('max-seconds', values['max-seconds']),
        onProgress: bar ? bar.update : undefined,
      });
    } finally {
      bar?.clear();
    }
    let writeError: unknown = null;
    try {
      writeCheckReport(out, report);
    } catch (e) {
      writeError = e;
    }
    if (writeError) {
      // The measurements are not lost: printed with the error (one JSON document under --json).
      const err = isEdgeDistillError(writeError) ? writeError : new EdgeDistillError('IO', String(writeError), { file: out });
      if (json) io.stdout.write(`${JSON.stringify({ ...err.toJSON(), report }, null, 2)}\n`);
      else io.stdout.write(`${formatReport(report)}\n`);
      io.stderr.write(`${err.format()}\n`);
      return exitCodeFor(err.code);
    }
    if (json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (values.quiet) io.stdout.write(`${summaryLine(report)}\n`);
    else io.stdout.write(`${formatReport(report)}\nreport: ${out}\n`);
    return report.passed ? EXIT.ok : EXIT.budgetFailed;
  } catch (e) {
    return reportError(e, json, io);
  }
}

function reportError(e: unknown, json: boolean, io: CliIo): number {
  let err: EdgeDistillError | null = isEdgeDistillError(e) ? e : null;
  const code = (e as { code?: unknown })?.code;
  if (!err && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    err = new EdgeDistillError('BAD_ARGUMENT', (e as Error).message, { suggestion: 'see edgedistill-device --help' });
  }
  if (err) {
    if (json) io.stdout.write(`${JSON.stringify(err.toJSON(), null, 2)}\n`);
    io.stderr.write(`${err.format()}\n`);
    return exitCodeFor(err.code);
  }
  const x = e as Error;
  if (json) io.stdout.write(`${JSON.stringify({ error: 'INTERNAL', message: String(x?.message ?? e) }, null, 2)}\n`);
  io.stderr.write(`internal error: ${x?.stack ?? String(e)}\n`);
  return EXIT.failure;
}
