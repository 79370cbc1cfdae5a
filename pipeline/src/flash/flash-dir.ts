/**
 * Flashing into a directory: the deploy path inside a mounted SD-card root file system
 * (`dir:/mnt/sdroot/home/pi/edgedistill`). Same layout, lock and atomic switch as over SSH, done
 * with local file operations. The on-device check is NOT run here: it measures the device's own
 * latency and backends, which this machine cannot stand in for (another CPU, often another arch);
 * run `edgedistill check --target ssh://...` once the device has booted.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { BundleArchive } from '../bundle/read.js';
import { MANIFEST_FILE } from '../bundle/build.js';
import { judgeLock, newToken, ownerFileText, ownerFor, parseOwner } from './lock.js';
import { NO_CHECK, type FlashResult } from './result.js';
import { parseKeyValues } from './ssh.js';
import type { FlashOptions } from './flash-ssh.js';
import type { DirTarget } from './target.js';

export const DIR_CHECK_SKIPPED = 'dir target: the check runs on the device; use `edgedistill check --target ssh://...` after it boots';

function fsyncPath(p: string): void {
  try {
    const fd = openSync(p, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* some file systems (vfat) refuse fsync on directories */
  }
}

function readLinkRelease(P: string, name: string): string | null {
  try {
    return readlinkSync(join(P, name)).replace(/^releases\//, '');
  } catch {
    return null;
  }
}

function setLink(P: string, name: string, release: string | null): void {
  if (release === null) {
    rmSync(join(P, name), { force: true });
    return;
  }
  const tmp = join(P, `${name}.tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(`releases/${release}`, tmp);
  renameSync(tmp, join(P, name)); // rename(2) replaces the old link atomically
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Files of a release that do not match the manifest (empty when all match). */
function releaseProblems(dir: string, a: BundleArchive): string[] {
  const bad: string[] = [];
  const want: [string, string][] = [...Object.entries(a.manifest.files).map(([p, f]) => [p, f.sha256] as [string, string]), [MANIFEST_FILE, a.manifestSha256]];
  for (const [p, h] of want) {
    try {
      if (sha256(readFileSync(join(dir, p))) !== h) bad.push(`${p}: sha256 differs`);
    } catch {
      bad.push(`${p}: missing`);
    }
  }
  return bad;
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) n += e.isDirectory() ? countFiles(join(dir, e.name)) : e.isFile() ? 1 : 0;
  return n;
}

function writeFileSynced(path: string, data: Uint8Array, mode: number): void {
  const fd = openSync(path, 'w', mode);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flashes into a local directory; never throws (errors are in the result). */
export async function flashDir(a: BundleArchive, t: DirTarget, o: FlashOptions = {}): Promise<FlashResult> {
  const t0 = Date.now();
  const P = t.path;
  const progress = o.onProgress ?? (() => undefined);
  const profile = a.manifest.profile as { deploy?: { keepReleases?: number } };
  const keep = o.keep ?? profile.deploy?.keepReleases ?? 3;
  const token = newToken();
  const owner = ownerFor(token, a.id);
  const lockDir = join(P, '.lock');
  const recovered: string[] = [];
  let locked = false;
  let before: string | null = null;
  let after: string | null = null;
  let installed: FlashResult['installed'] = null;
  let switched = false;
  const pruned: string[] = [];
  const t1 = Date.now();
  const finish = (error: string | null): FlashResult => {
    progress(error ? 'failed' : 'done', error ?? 'ok (check skipped)');
    return {
      target: t.raw,
      label: t.label,
      ok: error === null,
      release: a.id,
      releaseBefore: before,
      releaseAfter: after ?? before,
      installed,
      upload: installed === 'new' ? { method: 'copy', bytes: a.bytes, seconds: (Date.now() - t1) / 1000, resumedBytes: 0 } : null,
      switched,
      rolledBack: false,
      pruned,
      check: { ...NO_CHECK, skipped: DIR_CHECK_SKIPPED },
      device: { uname: null, nodePath: null, nodeVersion: null, nodeArch: null, rsync: null, freeKiB: null },
      recovered,
      warnings: [],
      error,
      seconds: (Date.now() - t0) / 1000,
    };
  };
  try {
    progress('lock', P);
    try {
      mkdirSync(join(P, 'releases'), { recursive: true });
    } catch (e) {
      throw new EdgeDistillError('IO', `cannot create ${join(P, 'releases')}: ${(e as Error).message}`, { file: P });
    }
    const tryLock = (): boolean => {
      try {
        mkdirSync(lockDir);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    };
    if (!tryLock()) {
      let text = '';
      try {
        text = readFileSync(join(lockDir, 'owner'), 'utf8');
      } catch {
        /* a lock without an owner file: judged by age */
      }
      const lockOwner = parseOwner(parseKeyValues(text));
      let age = 0;
      try {
        age = Math.round((Date.now() - statSync(lockDir).mtimeMs) / 1000);
      } catch {
        /* gone meanwhile */
      }
      const verdict = judgeLock(lockOwner, age, false, o.lockTimeoutSeconds ?? 3600);
      if (!verdict.stale) throw new EdgeDistillError('DEVICE', `refused: ${verdict.why}`);
      const act = join(lockDir, 'activate');
      if (existsSync(act)) {
        const [aid, prev, prevprev] = readFileSync(act, 'utf8').trim().split(/\s+/);
        setLink(P, 'current', prev && prev !== '-' ? prev : null);
        setLink(P, 'previous', prevprev && prevprev !== '-' ? prevprev : null);
        recovered.push(`repaired an unfinished activation of ${aid}`);
      }
      const stale = join(P, `.lock.stale.${token}`);
      renameSync(lockDir, stale);
      rmSync(stale, { recursive: true, force: true });
      recovered.push(`broke stale lock: ${verdict.why}`);
      if (!tryLock()) throw new EdgeDistillError('DEVICE', 'refused: the lock was taken by another flash meanwhile');
    }
    locked = true;
    writeFileSync(join(lockDir, 'owner'), ownerFileText(owner));
    for (const n of readdirSync(join(P, 'releases'))) if (n.startsWith('.incoming-')) rmSync(join(P, 'releases', n), { recursive: true, force: true });
    for (const n of readdirSync(P)) if (n.startsWith('.lock.stale.') || n === 'current.tmp' || n === 'previous.tmp') rmSync(join(P, n), { recursive: true, force: true });
    before = readLinkRelease(P, 'current');
    const previous = readLinkRelease(P, 'previous');

    const R = join(P, 'releases', a.id);
    progress('verify', R);
    if (existsSync(R)) {
      if (releaseProblems(R, a).length === 0) installed = 'existing';
      else rmSync(R, { recursive: true, force: true });
    }
    if (!installed) {
      progress('upload', `copy ${a.files.size} files`);
      const inc = join(P, 'releases', `.incoming-${a.id}-${token}`);
      mkdirSync(inc, { recursive: true });
      for (const e of a.entries) {
        const dest = join(inc, e.path);
        if (e.type === 'dir') mkdirSync(dest, { recursive: true, mode: 0o755 });
        else if (e.type === 'file') {
          mkdirSync(join(dest, '..'), { recursive: true });
          writeFileSynced(dest, e.data, e.mode & 0o777 || 0o644);
        }
      }
      const bad = releaseProblems(inc, a);
      const n = countFiles(inc);
      if (bad.length > 0 || n !== a.files.size) {
        rmSync(inc, { recursive: true, force: true });
        throw new EdgeDistillError('CHECKSUM', `written files do not verify: ${bad.slice(0, 3).join(', ') || `${n} files, expected ${a.files.size}`}`, { file: inc });
      }
      fsyncPath(inc);
      renameSync(inc, R);
      fsyncPath(join(P, 'releases'));
      installed = 'new';
    }
    if (before !== a.id) {
      writeFileSync(join(lockDir, 'activate'), `${a.id} ${before ?? '-'} ${previous ?? '-'}\n`);
      setLink(P, 'current', a.id);
      if (before) setLink(P, 'previous', before);
      const now = new Date();
      utimesSync(R, now, now);
      fsyncPath(P);
      rmSync(join(lockDir, 'activate'), { force: true });
      switched = true;
    }
    after = a.id;

    // prune: keep `keep` releases: current and previous, then the newest others by activation time
    const cur = readLinkRelease(P, 'current');
    const prev = readLinkRelease(P, 'previous');
    const rels = readdirSync(join(P, 'releases'))
      .filter((n) => !n.startsWith('.'))
      .map((n) => ({ n, m: statSync(join(P, 'releases', n)).mtimeMs }))
      .sort((x, y) => y.m - x.m);
    let kept = (cur ? 1 : 0) + (prev && prev !== cur ? 1 : 0);
    for (const { n } of rels) {
      if (n === cur || n === prev) continue;
      if (kept < keep) {
        kept++;
        continue;
      }
      rmSync(join(P, 'releases', n), { recursive: true, force: true });
      pruned.push(n);
    }
    return finish(null);
  } catch (e) {
    const msg = e instanceof EdgeDistillError ? e.message : String((e as Error)?.message ?? e);
    return finish(msg);
  } finally {
    if (locked) rmSync(lockDir, { recursive: true, force: true });
  }
}
