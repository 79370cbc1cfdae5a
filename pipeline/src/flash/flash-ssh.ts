/**
 * Flashing one device over SSH: lock, upload (rsync, resumable; scp when rsync is missing), unpack
 * and verify every sha256 on the device, switch `current` atomically, run the on-device check,
 * roll back if it fails, prune old releases, unlock. See remote-scripts.ts for the device side.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { BundleArchive } from '../bundle/read.js';
import { MANIFEST_FILE } from '../bundle/build.js';
import { RUNTIME_ENTRY_PATH } from '../bundle/entry.js';
import { nodeArchOf, type DeviceArch } from '../devices/profile.js';
import { judgeLock, newToken, ownerFor, ownerLines, parseOwner } from './lock.js';
import { satisfies } from './node-range.js';
import { ACTIVATE, INSTALL, PREPARE, UNLOCK, splitCheckOutput } from './remote-scripts.js';
import { NO_CHECK, summarizeCheck, type CheckSummary, type DeviceFacts, type FlashResult } from './result.js';
import { logged, parseKeyValues, remoteSpec, rsyncRsh, runRemoteScript, sshErrorText, sshOptionArgs, type RunResult, type SshOptions } from './ssh.js';
import type { SshTarget } from './target.js';
import { saveReport } from './save-report.js';

export type FlashPhase = 'connect' | 'lock' | 'upload' | 'verify' | 'check' | 'done' | 'failed';

export interface FlashOptions extends SshOptions {
  /** Releases kept on the device (default: the profile's deploy.keepReleases). */
  readonly keep?: number;
  /** Node on the device when the target does not say (?node=); default the profile's deploy.nodePath. */
  readonly nodePath?: string;
  /** A lock older than this is stale (default 3600 s). */
  readonly lockTimeoutSeconds?: number;
  /** Time allowed for the on-device check (default 3600 s). */
  readonly checkTimeoutSeconds?: number;
  /** Time allowed for the upload (default 3600 s). */
  readonly uploadTimeoutSeconds?: number;
  /** Extra arguments for `edgedistill-device check` (e.g. --calls 2000). */
  readonly checkArgs?: readonly string[];
  /** Save each device's check-report.json under OUT/<label>/. */
  readonly outDir?: string;
  readonly upload?: 'auto' | 'rsync' | 'scp';
  /** Upload bandwidth limit, KiB/s (slow or shared links). */
  readonly bwlimitKiB?: number;
  readonly onProgress?: (phase: FlashPhase, detail: string) => void;
}

interface Facts extends DeviceFacts {
  readonly current: string | null;
  readonly previous: string | null;
  readonly have: boolean;
}

const none = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);

function deviceFacts(kv: Map<string, string>): Facts {
  const info = kv.get('nodeinfo')?.split(' ');
  const free = Number(kv.get('freekb'));
  return {
    uname: none(kv.get('uname')),
    nodePath: kv.get('nodepath') === 'missing' ? null : none(kv.get('nodepath')),
    nodeVersion: info && info[0] !== 'broken' ? (info[0] ?? null) : null,
    nodeArch: info?.[1] ?? null,
    rsync: kv.has('rsync') ? kv.get('rsync') === 'yes' : null,
    freeKiB: Number.isFinite(free) ? free : null,
    current: none(kv.get('current')),
    previous: none(kv.get('previous')),
    have: kv.get('have') === 'yes',
  };
}

function failure(r: RunResult, what: string): EdgeDistillError {
  const kv = parseKeyValues(r.stdout);
  const msg = kv.get('error') ?? sshErrorText(r);
  return new EdgeDistillError('DEVICE', `${what}: ${msg}`);
}

/** Checksum list for `sha256sum -c` on the device: every manifest file, and manifest.json itself. */
export function checksumList(a: BundleArchive): string {
  const lines = Object.entries(a.manifest.files).map(([p, f]) => `${f.sha256}  ${p}`);
  lines.push(`${a.manifestSha256}  ${MANIFEST_FILE}`);
  return `${lines.sort().join('\n')}\n`;
}

async function upload(a: BundleArchive, t: SshTarget, o: FlashOptions, remotePath: string, method: 'rsync' | 'scp'): Promise<number> {
  const t0 = Date.now();
  const timeoutMs = (o.uploadTimeoutSeconds ?? 3600) * 1000;
  let r: RunResult;
  if (method === 'rsync') {
    let last = -1;
    const limit = o.bwlimitKiB ? [`--bwlimit=${o.bwlimitKiB}`] : [];
    r = await logged(o, 'rsync', ['--partial', '--chmod=F644', '--info=progress2', ...limit, '-e', rsyncRsh(t, o), a.path, remoteSpec(t, remotePath)], {
      timeoutMs,
      onStdout: (chunk) => {
        const m = /(\d{1,3})%/g;
        let pct: RegExpExecArray | null;
        let got = -1;
        while ((pct = m.exec(chunk))) got = Number(pct[1]);
        if (got >= 0 && got !== last) {
          last = got;
          o.onProgress?.('upload', `rsync ${got}% of ${(a.bytes / 1048576).toFixed(1)} MiB`);
        }
      },
    });
  } else {
    // scp takes the port as -P, not -p.
    const opts = sshOptionArgs(t, o).map((x, i, arr) => (x === '-p' && arr[i + 1] === String(t.port) ? '-P' : x));
    o.onProgress?.('upload', `scp ${(a.bytes / 1048576).toFixed(1)} MiB`);
    const limit = o.bwlimitKiB ? ['-l', String(Math.max(1, Math.round(o.bwlimitKiB * 8)))] : [];
    r = await logged(o, 'scp', ['-q', ...limit, ...opts, a.path, remoteSpec(t, remotePath)], { timeoutMs });
  }
  if (r.code !== 0) throw new EdgeDistillError('DEVICE', `upload with ${method} failed: ${sshErrorText(r)}`);
  return (Date.now() - t0) / 1000;
}

/** Flashes one ssh target; never throws (errors are in the result). */
export async function flashSsh(a: BundleArchive, t: SshTarget, o: FlashOptions = {}): Promise<FlashResult> {
  const t0 = Date.now();
  const progress = (p: FlashPhase, d: string) => o.onProgress?.(p, d);
  const profile = a.manifest.profile as { arch?: DeviceArch; deploy?: { path?: string; nodePath?: string; keepReleases?: number }; nodeRange?: string };
  const deployPath = t.path ?? profile.deploy?.path ?? null;
  const nodeWanted = t.node ?? o.nodePath ?? profile.deploy?.nodePath ?? '/usr/bin/node';
  const keep = o.keep ?? profile.deploy?.keepReleases ?? 3;
  const entry = a.manifest.runtime?.entry ?? RUNTIME_ENTRY_PATH;
  const token = newToken();
  const owner = ownerFor(token, a.id);
  const warnings: string[] = [];
  const recovered: string[] = [];
  let facts: Facts | null = null;
  let locked = false;
  let uploadInfo: FlashResult['upload'] = null;
  let installed: FlashResult['installed'] = null;
  let switched = false;
  let rolledBack = false;
  let pruned: string[] = [];
  let releaseAfter: string | null = null;
  let check: CheckSummary = NO_CHECK;

  const result = (error: string | null): FlashResult => {
    const ok = error === null && check.ran && check.passed === true && !rolledBack;
    progress(ok ? 'done' : 'failed', error ?? (rolledBack ? 'check failed: rolled back' : 'ok'));
    return {
      target: t.raw,
      label: t.label,
      ok,
      release: a.id,
      releaseBefore: facts?.current ?? null,
      releaseAfter: releaseAfter ?? facts?.current ?? null,
      installed,
      upload: uploadInfo,
      switched,
      rolledBack,
      pruned,
      check,
      device: {
        uname: facts?.uname ?? null,
        nodePath: facts?.nodePath ?? null,
        nodeVersion: facts?.nodeVersion ?? null,
        nodeArch: facts?.nodeArch ?? null,
        rsync: facts?.rsync ?? null,
        freeKiB: facts?.freeKiB ?? null,
      },
      recovered,
      warnings,
      error,
      seconds: (Date.now() - t0) / 1000,
    };
  };

  try {
    if (!deployPath) throw new EdgeDistillError('BAD_ARGUMENT', `no deploy path: give one in the target (ssh://host/path)`, { field: '--target' });
    const P = deployPath;
    progress('connect', `ssh ${t.label}`);
    const prepare = (breakToken: string) => runRemoteScript(t, o, PREPARE, [P, token, ownerLines(owner), a.id, nodeWanted, breakToken], { timeoutMs: 120_000 });
    let r = await prepare('-');
    if (r.code === 75) {
      const kv = parseKeyValues(r.stdout);
      const lockOwner = parseOwner(kv, 'owner.');
      const verdict = judgeLock(lockOwner, Number(kv.get('lockage') ?? 0), kv.get('devicebusy') === 'yes', o.lockTimeoutSeconds ?? 3600);
      if (!verdict.stale || !lockOwner.token) {
        throw new EdgeDistillError('DEVICE', `refused: ${verdict.why}`, {
          suggestion: 'wait for it to finish; a lock whose flash died is taken over automatically (same machine: at once; another machine: after --lock-timeout)',
        });
      }
      progress('lock', `breaking stale lock (${verdict.why})`);
      recovered.push(`broke stale lock: ${verdict.why}`);
      r = await prepare(lockOwner.token);
      if (r.code === 75) throw new EdgeDistillError('DEVICE', 'refused: the device lock was taken by another flash meanwhile');
    }
    const kv = parseKeyValues(r.stdout);
    if (r.code !== 0) throw failure(r, `cannot prepare ${t.label}`);
    locked = true;
    if (kv.has('recovered')) recovered.push(`repaired an unfinished activation of ${kv.get('recovered')}: previous release restored`);
    facts = deviceFacts(kv);
    if (kv.has('nodefallback')) warnings.push(`${kv.get('nodefallback')} not found on the device; using ${facts.nodePath}`);
    if (!facts.nodePath || !facts.nodeVersion) {
      throw new EdgeDistillError('DEVICE', `node not found or not working on ${t.label} (looked for ${nodeWanted})`, { suggestion: 'install Node.js there, or give its path: ssh://host/path?node=/path/to/node' });
    }
    const wantArch = profile.arch ? nodeArchOf(profile.arch) : null;
    if (wantArch && facts.nodeArch !== wantArch) {
      throw new EdgeDistillError('DEVICE', `bundle is for ${a.manifest.device} (node arch ${wantArch}) but node on ${t.label} is ${facts.nodeArch} (uname -m ${facts.uname})`, {
        suggestion: 'bundle for the right device profile (edgedistill bundle --device ...)',
      });
    }
    if (profile.nodeRange && !satisfies(facts.nodeVersion, profile.nodeRange)) {
      warnings.push(`node ${facts.nodeVersion} on the device is outside the profile's range ${profile.nodeRange}`);
    }
    const needKiB = Math.ceil((a.bytes * 4) / 1024);
    if (facts.freeKiB !== null && facts.freeKiB < needKiB) {
      throw new EdgeDistillError('DEVICE', `not enough space on ${t.label}: ${facts.freeKiB} KiB free, about ${needKiB} KiB needed`);
    }

    const resumable = Math.min(Number(kv.get('uploaded') ?? 0) || 0, a.bytes);
    const sums = checksumList(a);
    const nfiles = Object.keys(a.manifest.files).length + 1;
    const install = () => runRemoteScript(t, o, INSTALL, [P, token, a.id, String(nfiles)], { input: sums, timeoutMs: 600_000 });
    const doUpload = async () => {
      const method = o.upload === 'scp' || (o.upload !== 'rsync' && facts?.rsync === false) ? 'scp' : 'rsync';
      progress('upload', `${method} ${(a.bytes / 1048576).toFixed(1)} MiB`);
      const seconds = await upload(a, t, o, `${P}/.upload/${a.id}.tar.gz`, method);
      uploadInfo = { method, bytes: a.bytes, seconds, resumedBytes: method === 'rsync' ? resumable : 0 };
    };
    if (!facts.have) await doUpload();
    else uploadInfo = { method: 'none', bytes: 0, seconds: 0, resumedBytes: 0 };
    progress('verify', `unpack and sha256sum -c ${nfiles} files`);
    let ir = await install();
    if (ir.code === 77) {
      warnings.push(`release ${a.id} on the device was damaged (${parseKeyValues(ir.stdout).get('damaged') ?? ''}); uploaded again`);
      await doUpload();
      ir = await install();
    }
    if (ir.code !== 0) throw failure(ir, `install on ${t.label} failed`);
    installed = parseKeyValues(ir.stdout).get('installed') === 'new' ? 'new' : 'existing';

    progress('check', `${facts.nodePath} ${entry} check`);
    const ar = await runRemoteScript(
      t,
      o,
      ACTIVATE,
      [P, token, a.id, facts.nodePath, entry, facts.current ?? '-', facts.previous ?? '-', installed === 'new' ? 'yes' : 'no', String(keep), ...(o.checkArgs ?? [])],
      { timeoutMs: (o.checkTimeoutSeconds ?? 3600) * 1000 },
    );
    const parts = splitCheckOutput(ar.stdout);
    const akv = parseKeyValues(parts.head);
    if (ar.code !== 0 || !akv.has('checkrc')) {
      if (ar.code === 255 || ar.timedOut || ar.code === null) {
        // The connection went: the device finishes (and rolls back) on its own, ACTIVATE ignores hang-ups.
        locked = false;
        throw failure(ar, `activation on ${t.label} did not report back (the device completes the check, rolls back if it fails, and unlocks)`);
      }
      throw failure(ar, `activation on ${t.label} failed`); // the script stopped early: the lock is still ours
    }
    locked = false; // ACTIVATE released it
    switched = akv.get('switched') === 'yes';
    rolledBack = akv.get('rolledback') === 'yes';
    releaseAfter = none(akv.get('current'));
    pruned = (akv.get('pruned') ?? '').split(' ').filter(Boolean);
    check = summarizeCheck(Number(akv.get('checkrc')), parts.checkStdout, parts.checkStderr);
    if (o.outDir && check.report) check = { ...check, savedTo: await saveReport(o.outDir, t.label, check.report) };
    if (!check.passed) {
      const why = check.failed.length ? `budgets failed: ${check.failed.join(', ')}` : (check.error ?? `check exit ${check.exitCode}`);
      return result(rolledBack ? `check failed (${why}); rolled back to ${releaseAfter ?? 'no release'}` : `check failed (${why})`);
    }
    return result(null);
  } catch (e) {
    const msg = e instanceof EdgeDistillError ? e.message + (e.suggestion ? ` (${e.suggestion})` : '') : String((e as Error)?.message ?? e);
    if (locked && deployPath) {
      await runRemoteScript(t, o, UNLOCK, [deployPath, token], { timeoutMs: 60_000 }).catch(() => undefined);
    }
    return result(msg);
  }
}

