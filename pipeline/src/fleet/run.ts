/**
 * Flashing a fleet from an inventory: each host gets the bundle for its device profile; hosts run
 * in parallel (concurrency limit), transient SSH failures are retried with exponential back-off
 * (never a host-key mismatch), every ssh/rsync command and its output goes to a per-host log, and
 * a canary option flashes N hosts first and goes on only if all of them pass their check.
 * One host's failure never touches another host: each has its own lock, release and rollback.
 */
import { appendFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { readBundleArchive, type BundleArchive } from '../bundle/read.js';
import { flashSsh, type FlashOptions, type FlashPhase } from '../flash/flash-ssh.js';
import { mapLimit } from '../flash/fleet.js';
import { checkRemote, type CheckOptions } from '../flash/remote-check.js';
import { ACTIVATE, CHECK, INSTALL, PREPARE, UNLOCK } from '../flash/remote-scripts.js';
import type { FlashResult, RemoteCheckResult } from '../flash/result.js';
import { labelDir } from '../flash/save-report.js';
import { shQuote, type RunResult } from '../flash/ssh.js';
import { hostTarget, type InventoryHost } from './inventory.js';

/** How an SSH failure should be treated. */
export type FailureKind = 'hostkey' | 'transient' | 'permanent';

/**
 * Host-key problems are refused at once (a changed key may be an attacker; retrying cannot help);
 * connection refused/reset/timed out and ssh's exit 255 are transient.
 */
export function classifyFailure(text: string): FailureKind {
  if (/host key verification failed|remote host identification has changed|host key (?:for .* )?(?:has changed|mismatch)|no \S+ host key is known/i.test(text)) return 'hostkey';
  if (/connection refused|connection timed out|timed out|operation timed out|connection reset|connection closed|kex_exchange_identification|no route to host|network is unreachable|broken pipe|\bexit 255\b|lost connection|connection to .* closed/i.test(text)) return 'transient';
  return 'permanent';
}

/** Back-off before attempt `n` (1-based retries): base * 2^(n-1), capped, with +-20% jitter. */
export function backoffMs(n: number, baseMs: number, capMs = 60_000, rnd: () => number = Math.random): number {
  const d = Math.min(capMs, baseMs * 2 ** (n - 1));
  return Math.round(d * (0.8 + 0.4 * rnd()));
}

/** A flash that failed before it touched the release (connect, lock, upload) is safe to run again. */
export function retryable(r: FlashResult): boolean {
  if (r.ok || r.switched || r.rolledBack || r.check.ran || !r.error) return false;
  if (/did not report back|refused:/.test(r.error)) return false; // the device finishes on its own / someone holds it
  return classifyFailure(r.error) === 'transient';
}

const SCRIPT_NAMES: [string, string][] = [
  [PREPARE, 'PREPARE'],
  [INSTALL, 'INSTALL'],
  [ACTIVATE, 'ACTIVATE'],
  [UNLOCK, 'UNLOCK'],
  [CHECK, 'CHECK'],
];

/** One log file per host: every command (scripts by name, see remote-scripts.ts), exit, output. */
export class HostLog {
  readonly file: string | null;
  constructor(dir: string | undefined, host: string) {
    if (!dir) {
      this.file = null;
      return;
    }
    mkdirSync(resolve(dir), { recursive: true });
    this.file = join(resolve(dir), `${labelDir(host)}.log`);
    writeFileSync(this.file, `# edgedistill fleet log for ${host}, started ${new Date().toISOString()}\n`);
  }
  line(text: string): void {
    if (this.file) appendFileSync(this.file, `[${new Date().toISOString()}] ${text}\n`);
  }
  command = (cmd: string, args: readonly string[], r: RunResult, ms: number): void => {
    if (!this.file) return;
    const shown = args.map((a) => {
      for (const [s, n] of SCRIPT_NAMES) if (a.includes(shQuote(s))) return a.replace(shQuote(s), `<${n} script, pipeline/src/flash/remote-scripts.ts>`);
      return /^[A-Za-z0-9_./=:@%+,-]+$/.test(a) ? a : shQuote(a);
    });
    this.line(
      `$ ${cmd} ${shown.join(' ')}\n  exit ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''} after ${(ms / 1000).toFixed(1)} s\n` +
        `  --- stdout ---\n${indent(r.stdout)}  --- stderr ---\n${indent(r.stderr)}`,
    );
  };
}

const indent = (s: string) => (s ? `${s.replace(/\r/g, '\n').split('\n').filter((l, i, a) => l !== '' || i < a.length - 1).map((l) => `  | ${l}`).join('\n')}\n` : '');

export interface HostFlashResult extends FlashResult {
  /** Inventory host name. */
  readonly host: string;
  readonly device: FlashResult['device'];
  readonly profile: string | null;
  readonly attempts: number;
  /** A host that was not flashed (canary failed, no bundle for its profile). */
  readonly skipped: string | null;
  readonly log: string | null;
}

export interface InventoryFlashOptions extends Omit<FlashOptions, 'onProgress' | 'commandLog'> {
  readonly concurrency?: number;
  /** Attempts per host for transient SSH failures (default 3). */
  readonly retries?: number;
  /** First back-off, ms (default 2000; doubles each retry). */
  readonly retryBaseMs?: number;
  /** Flash these many hosts first; go on only if every one of them passes. */
  readonly canary?: number;
  /** One log file per host. */
  readonly logDir?: string;
  readonly onProgress?: (host: string, phase: FlashPhase | 'retry' | 'skipped', detail: string) => void;
}

/** Bundles by device profile id: from the paths given, or every .tar.gz in a directory (newest wins). */
export function bundlesByProfile(paths: readonly string[], dir?: string): Map<string, BundleArchive> {
  const files = [...paths];
  if (dir) {
    const d = resolve(dir);
    let names: string[];
    try {
      names = readdirSync(d);
    } catch (e) {
      throw new EdgeDistillError('IO', `cannot read bundles directory: ${(e as Error).message}`, { file: d, field: '--bundles-dir' });
    }
    const found = names.filter((n) => n.endsWith('.tar.gz')).map((n) => join(d, n));
    found.sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs); // later (newer) replaces earlier
    files.push(...found);
  }
  const out = new Map<string, BundleArchive>();
  for (const f of files) {
    const a = readBundleArchive(f);
    const prev = out.get(a.manifest.device);
    if (prev && paths.includes(f) && paths.includes(prev.path)) {
      throw new EdgeDistillError('BAD_ARGUMENT', `two bundles for device ${a.manifest.device}: ${prev.path} and ${a.path}`, { field: 'bundle' });
    }
    out.set(a.manifest.device, a);
  }
  return out;
}

function skippedResult(h: InventoryHost, why: string, release: string | null): HostFlashResult {
  const t = hostTarget(h);
  return {
    target: t.raw,
    label: h.name,
    host: h.name,
    profile: h.device,
    ok: false,
    release: release ?? '',
    releaseBefore: null,
    releaseAfter: null,
    installed: null,
    upload: null,
    switched: false,
    rolledBack: false,
    pruned: [],
    check: { ran: false, passed: null, exitCode: null, p99Us: null, failed: [], arch: null, nodeVersion: null, report: null, savedTo: null, error: null, skipped: why },
    device: { uname: null, nodePath: null, nodeVersion: null, nodeArch: null, rsync: null, freeKiB: null },
    recovered: [],
    warnings: [],
    error: why,
    seconds: 0,
    attempts: 0,
    skipped: why,
    log: null,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Flashes one host with retries; never throws. */
export async function flashHost(h: InventoryHost, bundles: ReadonlyMap<string, BundleArchive>, o: InventoryFlashOptions): Promise<HostFlashResult> {
  const archive = h.device ? bundles.get(h.device) : bundles.size === 1 ? [...bundles.values()][0] : undefined;
  if (!archive) {
    return skippedResult(h, h.device ? `no bundle for device profile ${h.device} (bundles: ${[...bundles.keys()].join(', ') || 'none'})` : 'no edgedistill_device for this host and more than one bundle', null);
  }
  const log = new HostLog(o.logDir, h.name);
  const t = hostTarget(h);
  log.line(`host ${h.name}: ${t.raw} profile ${h.device ?? '(from bundle)'} bundle ${archive.path} release ${archive.id}`);
  const opts: FlashOptions = {
    ...o,
    identity: h.identity ?? o.identity,
    knownHosts: h.knownHosts ?? o.knownHosts,
    onProgress: (p, d) => {
      log.line(`phase ${p}: ${d}`);
      o.onProgress?.(h.name, p, d);
    },
    commandLog: log.command,
  };
  const max = Math.max(1, o.retries ?? 3);
  let r: FlashResult | null = null;
  let attempt = 0;
  const t0 = Date.now();
  for (attempt = 1; attempt <= max; attempt++) {
    r = await flashSsh(archive, t, opts);
    if (!retryable(r) || attempt === max) break;
    const wait = backoffMs(attempt, o.retryBaseMs ?? 2000);
    log.line(`attempt ${attempt} failed (transient: ${r.error}); retrying in ${(wait / 1000).toFixed(1)} s`);
    o.onProgress?.(h.name, 'retry', `attempt ${attempt} failed (${r.error}); retry in ${(wait / 1000).toFixed(1)} s`);
    await sleep(wait);
  }
  const res = r as FlashResult;
  let error = res.error;
  if (error && classifyFailure(error) === 'hostkey') error = `host key mismatch, refused (not retried): ${error}`;
  log.line(`result: ${res.ok ? 'ok' : 'FAILED'} after ${attempt} attempt(s); before ${res.releaseBefore ?? '-'} after ${res.releaseAfter ?? '-'}; ${error ?? 'no error'}`);
  return { ...res, error, label: h.name, host: h.name, profile: h.device ?? archive.manifest.device, attempts: Math.min(attempt, max), skipped: null, log: log.file, seconds: (Date.now() - t0) / 1000 };
}

export interface InventoryFlashOutcome {
  readonly results: HostFlashResult[];
  readonly canary: { readonly hosts: readonly string[]; readonly passed: boolean } | null;
  readonly wallSeconds: number;
}

/** Flashes every host (canary hosts first when asked). Results in inventory order. */
export async function flashInventory(hosts: readonly InventoryHost[], bundles: ReadonlyMap<string, BundleArchive>, o: InventoryFlashOptions = {}): Promise<InventoryFlashOutcome> {
  const t0 = Date.now();
  const limit = o.concurrency ?? 4;
  const n = Math.max(0, Math.min(o.canary ?? 0, hosts.length));
  if (n === 0) return { results: await mapLimit(hosts, limit, (h) => flashHost(h, bundles, o)), canary: null, wallSeconds: (Date.now() - t0) / 1000 };
  const first = hosts.slice(0, n);
  const firstResults = await mapLimit(first, limit, (h) => flashHost(h, bundles, o));
  const passed = firstResults.every((r) => r.ok);
  const rest = hosts.slice(n);
  const restResults = passed
    ? await mapLimit(rest, limit, (h) => flashHost(h, bundles, o))
    : rest.map((h) => {
        const why = `skipped: canary failed on ${firstResults.filter((r) => !r.ok).map((r) => r.host).join(', ')}`;
        o.onProgress?.(h.name, 'skipped', why);
        return skippedResult(h, why, h.device ? (bundles.get(h.device)?.id ?? null) : null);
      });
  return { results: [...firstResults, ...restResults], canary: { hosts: first.map((h) => h.name), passed }, wallSeconds: (Date.now() - t0) / 1000 };
}

export interface HostCheckResult extends RemoteCheckResult {
  readonly host: string;
  readonly attempts: number;
  readonly log: string | null;
}

/** The on-device check of the current release on every host, with the same retries and logs. */
export async function checkInventory(
  hosts: readonly InventoryHost[],
  o: Omit<CheckOptions, 'commandLog' | 'onProgress'> & {
    concurrency?: number;
    retries?: number;
    retryBaseMs?: number;
    logDir?: string;
    onProgress?: (host: string, detail: string) => void;
  } = {},
): Promise<HostCheckResult[]> {
  return mapLimit(hosts, o.concurrency ?? 4, async (h) => {
    const log = new HostLog(o.logDir, h.name);
    const t = hostTarget(h);
    log.line(`host ${h.name}: ${t.raw} check of the current release`);
    const max = Math.max(1, o.retries ?? 3);
    let r: RemoteCheckResult | null = null;
    let attempt = 1;
    for (; attempt <= max; attempt++) {
      r = await checkRemote(t, {
        ...o,
        identity: h.identity ?? o.identity,
        knownHosts: h.knownHosts ?? o.knownHosts,
        commandLog: log.command,
        onProgress: (d) => o.onProgress?.(h.name, d),
      });
      if (r.ok || !r.error || r.check.ran || classifyFailure(r.error) !== 'transient' || attempt === max) break;
      const wait = backoffMs(attempt, o.retryBaseMs ?? 2000);
      o.onProgress?.(h.name, `attempt ${attempt} failed (${r.error}); retry in ${(wait / 1000).toFixed(1)} s`);
      await sleep(wait);
    }
    const res = r as RemoteCheckResult;
    let error = res.error;
    if (error && classifyFailure(error) === 'hostkey') error = `host key mismatch, refused (not retried): ${error}`;
    log.line(`result: ${res.ok ? 'ok' : 'FAILED'} after ${Math.min(attempt, max)} attempt(s); release ${res.release ?? '-'}; ${error ?? 'no error'}`);
    return { ...res, error, label: h.name, host: h.name, attempts: Math.min(attempt, max), log: log.file };
  });
}

const pad = (rows: string[][]) => {
  const w = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((x, c) => x.padEnd(w[c])).join('  ').trimEnd()).join('\n');
};

/** The fleet summary: per host the release before and after, check, p99, attempts, error. */
export function formatFleetTable(results: readonly HostFlashResult[]): string {
  const rows = [['host', 'profile', 'result', 'before', 'after', 'check', 'p99 us', 'tries', 'time', 'error']];
  for (const r of results) {
    const check = !r.check.ran ? '-' : r.check.passed ? 'passed' : 'FAILED';
    rows.push([
      r.host,
      r.profile ?? '-',
      r.ok ? 'ok' : r.skipped ? 'skipped' : r.rolledBack ? 'rolled back' : 'FAILED',
      r.releaseBefore ?? '-',
      r.releaseAfter ?? '-',
      check,
      r.check.p99Us === null ? '-' : r.check.p99Us.toFixed(0),
      String(r.attempts),
      `${r.seconds.toFixed(1)}s`,
      r.error ?? '',
    ]);
  }
  const ok = results.filter((r) => r.ok).length;
  return `${pad(rows)}\n${ok}/${results.length} hosts ok`;
}

/** JSON form of one host (the full check report left out). */
export function fleetJson(r: HostFlashResult) {
  return {
    host: r.host,
    target: r.target,
    profile: r.profile,
    ok: r.ok,
    release: r.release,
    releaseBefore: r.releaseBefore,
    releaseAfter: r.releaseAfter,
    installed: r.installed,
    switched: r.switched,
    rolledBack: r.rolledBack,
    check: { ran: r.check.ran, passed: r.check.passed, p99Us: r.check.p99Us, failed: r.check.failed, arch: r.check.arch, savedTo: r.check.savedTo, error: r.check.error },
    attempts: r.attempts,
    skipped: r.skipped,
    error: r.error,
    seconds: r.seconds,
    log: r.log,
    warnings: r.warnings,
    recovered: r.recovered,
  };
}
