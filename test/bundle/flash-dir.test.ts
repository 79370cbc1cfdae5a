/**
 * `dir:` targets (a mounted SD-card root): same layout, lock and atomic switch as over SSH, with
 * local file operations; no check (it needs the device). Small hand-made bundles keep this fast.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBundleArchive, writeTarGz, type BundleArchive } from '../../pipeline/src/bundle/index.js';
import { DIR_CHECK_SKIPPED, flashFleet } from '../../pipeline/src/flash/index.js';

const work = mkdtempSync(join(tmpdir(), 'flash-dir-'));
const P = join(work, 'sdroot/home/pi/edgedistill');
const target = `dir:${P}`;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A minimal bundle: a manifest listing one runtime file and one artifact. */
function tinyBundle(tag: string, keep = 2): BundleArchive {
  const files = { 'artifacts/student.onnx': Buffer.from(`weights ${tag}`), 'runtime/edgedistill-device.mjs': Buffer.from('// runtime\n') };
  const manifest = {
    format: 'edgedistill.bundle/1',
    device: 'rpi4-arm64',
    profile: { id: 'rpi4-arm64', arch: 'arm64', deploy: { keepReleases: keep } },
    files: Object.fromEntries(Object.entries(files).map(([p, b]) => [p, { sha256: sha(b), bytes: b.length }])),
  };
  const path = join(work, `${tag}.tar.gz`);
  writeFileSync(
    path,
    writeTarGz([{ path: 'manifest.json', type: 'file', data: Buffer.from(JSON.stringify(manifest)) }, ...Object.entries(files).map(([p, data]) => ({ path: p, type: 'file' as const, data }))], 0),
  );
  return readBundleArchive(path);
}

const link = (name: string) => (existsSync(join(P, name)) ? readlinkSync(join(P, name)) : null);
const sleepers: number[] = [];
afterAll(() => {
  for (const pid of sleepers) process.kill(pid, 'SIGKILL');
});

describe('flash into a directory', () => {
  const a = tinyBundle('a');
  const b = tinyBundle('b');
  const c = tinyBundle('c');

  it('installs, verifies and switches current; the check is left to the device', async () => {
    const { results } = await flashFleet(a, [target]);
    const r = results[0];
    expect(r.error).toBeNull();
    expect(r).toMatchObject({ ok: true, installed: 'new', switched: true, releaseBefore: null, releaseAfter: a.id, rolledBack: false });
    expect(r.check).toMatchObject({ ran: false, skipped: DIR_CHECK_SKIPPED });
    expect(link('current')).toBe(`releases/${a.id}`); // relative: valid wherever the card is mounted
    expect(readFileSync(join(P, 'current/artifacts/student.onnx'), 'utf8')).toBe('weights a');
    expect(statSync(join(P, 'current/manifest.json')).mode & 0o777).toBe(0o644);
    expect(existsSync(join(P, '.lock'))).toBe(false);
  });

  it('keeps the replaced release as previous and prunes beyond --keep', async () => {
    await flashFleet(b, [target]);
    expect([link('current'), link('previous')]).toEqual([`releases/${b.id}`, `releases/${a.id}`]);
    const { results } = await flashFleet(c, [target], { keep: 2 });
    expect(results[0]).toMatchObject({ ok: true, releaseBefore: b.id, releaseAfter: c.id, pruned: [a.id] });
    expect([link('current'), link('previous')]).toEqual([`releases/${c.id}`, `releases/${b.id}`]);
    expect(existsSync(join(P, 'releases', a.id))).toBe(false);
  });

  it('re-verifies a release already there and reinstalls a damaged one', async () => {
    writeFileSync(join(P, 'releases', c.id, 'artifacts/student.onnx'), 'bit rot');
    const { results } = await flashFleet(c, [target]);
    expect(results[0]).toMatchObject({ ok: true, installed: 'new', switched: false });
    expect(readFileSync(join(P, 'current/artifacts/student.onnx'), 'utf8')).toBe('weights c');
    const again = await flashFleet(c, [target]);
    expect(again.results[0]).toMatchObject({ installed: 'existing', switched: false });
  });

  it('refuses while a live flash holds the lock, naming it', async () => {
    const sleeper = spawn('sleep', ['60']);
    sleepers.push(sleeper.pid as number);
    mkdirSync(join(P, '.lock'));
    writeFileSync(join(P, '.lock/owner'), `token=live\nhost=${hostname()}\npid=${sleeper.pid}\nuser=alice\ntime=2026-01-01T00:00:00Z\n`);
    const { results } = await flashFleet(b, [target]);
    expect(results[0].ok).toBe(false);
    expect(results[0].error).toMatch(new RegExp(`refused: the device is being flashed by alice@${hostname()} \\(pid ${sleeper.pid}`));
    expect(link('current')).toBe(`releases/${c.id}`);
    expect(existsSync(join(P, '.lock/owner'))).toBe(true); // not ours: left alone
  });

  it('takes over the lock of a flash that died, and repairs its half-done switch', async () => {
    const dead = spawnSync('true').pid as number;
    writeFileSync(join(P, '.lock/owner'), `token=dead\nhost=${hostname()}\npid=${dead}\nuser=bob\ntime=2026-01-01T00:00:00Z\n`);
    // It died after switching current to b but before finishing: the activate record says what to restore.
    writeFileSync(join(P, '.lock/activate'), `${b.id} ${c.id} -\n`);
    spawnSync('sh', ['-c', `ln -sfn releases/${b.id} ${P}/current`]);
    const { results } = await flashFleet(a, [target]);
    expect(results[0].error).toBeNull();
    expect(results[0].recovered.join(' ')).toMatch(/repaired an unfinished activation.*broke stale lock: lock of bob@/s);
    expect(results[0].releaseBefore).toBe(c.id);
    expect([link('current'), link('previous')]).toEqual([`releases/${a.id}`, `releases/${c.id}`]);
  });

  it('takes over an old lock from another machine only after the lock timeout', async () => {
    mkdirSync(join(P, '.lock'));
    writeFileSync(join(P, '.lock/owner'), 'token=x\nhost=far-away\npid=1\nuser=carol\ntime=2026-01-01T00:00:00Z\n');
    const young = await flashFleet(b, [target], { lockTimeoutSeconds: 3600 });
    expect(young.results[0].error).toMatch(/refused: the device is being flashed by carol@far-away/);
    const old = Date.now() / 1000 - 7200;
    utimesSync(join(P, '.lock'), old, old);
    const later = await flashFleet(b, [target], { lockTimeoutSeconds: 3600 });
    expect(later.results[0]).toMatchObject({ ok: true, releaseAfter: b.id });
    expect(later.results[0].recovered[0]).toMatch(/carol@far-away .* is \d+s old \(timeout 3600s\)/);
  });
});
