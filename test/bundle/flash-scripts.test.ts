/**
 * The device-side flash scripts run by this machine's /bin/sh on a local deploy directory, with
 * real x64 bundles and the real on-device check under this machine's node: install and verify,
 * switch, roll back a failing check, prune, refuse a held lock, and repair a half-finished
 * activation (power cut between switch and check). The emulated aarch64 device runs the same
 * scripts under busybox sh in test/system/flash-e2e.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBundle, readBundleArchive, type BundleArchive } from '../../pipeline/src/bundle/index.js';
import { checksumList } from '../../pipeline/src/flash/flash-ssh.js';
import { ACTIVATE, INSTALL, PREPARE, UNLOCK, splitCheckOutput } from '../../pipeline/src/flash/remote-scripts.js';
import { parseKeyValues } from '../../pipeline/src/flash/ssh.js';

const repo = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'flash-scripts-'));
const P = join(work, 'device/home/pi/edgedistill');
const CHECK_ARGS = ['--calls', '200', '--episodes', '2', '--max-seconds', '5'];

function sh(script: string, args: string[], input = ''): { code: number | null; kv: Map<string, string>; stdout: string } {
  const r = spawnSync('sh', ['-c', script, 'sh', ...args], { input, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, kv: parseKeyValues(splitCheckOutput(r.stdout).head), stdout: r.stdout };
}

let good: BundleArchive;
let bad: BundleArchive;

beforeAll(async () => {
  // A student that is the teacher itself passes agreement and retention; budgets decide the rest.
  const policyDir = join(work, 'policy');
  mkdirSync(policyDir);
  copyFileSync(join(repo, 'models/cartpole-v1/policy.json'), join(policyDir, 'policy.json'));
  copyFileSync(join(repo, 'models/cartpole-v1/teacher.onnx'), join(policyDir, 'student.onnx'));
  const teacher = join(repo, 'models/cartpole-v1/teacher.onnx');
  const g = await createBundle({ device: 'x64-linux', policyDir, teacher, out: join(work, 'out'), name: 'good', goldenCount: 32, budgetOverride: { controlPeriodUs: 1e6, maxRssMiB: 4096 } });
  const b = await createBundle({ device: 'x64-linux', policyDir, teacher, out: join(work, 'out'), name: 'bad', goldenCount: 32, budgetOverride: { controlPeriodUs: 0.001 } });
  good = readBundleArchive(g.path);
  bad = readBundleArchive(b.path);
  mkdirSync(P, { recursive: true });
}, 120_000);

const node = process.execPath;

function prepare(token: string, id: string, breakToken = '-') {
  return sh(PREPARE, [P, token, `host=test\npid=${process.pid}\nuser=t\ntime=now\nbundle=${id}`, id, node, breakToken]);
}

function install(a: BundleArchive, token: string) {
  mkdirSync(join(P, '.upload'), { recursive: true });
  copyFileSync(a.path, join(P, '.upload', `${a.id}.tar.gz`));
  return sh(INSTALL, [P, token, a.id, String(Object.keys(a.manifest.files).length + 1)], checksumList(a));
}

const current = () => (existsSync(join(P, 'current')) ? readlinkSync(join(P, 'current')) : null);

describe('device-side flash scripts (local sh, real bundles, real check)', () => {
  it('locks, installs with every sha256 verified, switches and passes the check', () => {
    const p = prepare('tok1', good.id);
    expect(p.code).toBe(0);
    expect(p.kv.get('lock')).toBe('ok');
    expect(p.kv.get('have')).toBe('no');
    expect(p.kv.get('nodeinfo')).toBe(`${process.version} ${process.arch}`);
    const i = install(good, 'tok1');
    expect(i.code, i.stdout).toBe(0);
    expect(i.kv.get('installed')).toBe('new');
    expect(existsSync(join(P, 'releases', good.id, 'manifest.json'))).toBe(true);
    expect(existsSync(join(P, '.upload', `${good.id}.tar.gz`))).toBe(false);
    const a = sh(ACTIVATE, [P, 'tok1', good.id, node, 'runtime/edgedistill-device.mjs', '-', '-', 'yes', '3', ...CHECK_ARGS]);
    expect(a.code, a.stdout).toBe(0);
    expect(a.kv.get('checkrc')).toBe('0');
    expect(a.kv.get('switched')).toBe('yes');
    expect(a.kv.get('rolledback')).toBe('no');
    expect(current()).toBe(`releases/${good.id}`);
    expect(existsSync(join(P, '.lock'))).toBe(false);
    const report = JSON.parse(splitCheckOutput(a.stdout).checkStdout) as { passed: boolean; bundle: { manifestSha256: string } };
    expect(report.passed).toBe(true);
    expect(report.bundle.manifestSha256).toBe(good.manifestSha256);
  }, 120_000);

  it('rolls back a release whose check fails and removes it', () => {
    expect(prepare('tok2', bad.id).code).toBe(0);
    expect(install(bad, 'tok2').kv.get('installed')).toBe('new');
    const a = sh(ACTIVATE, [P, 'tok2', bad.id, node, 'runtime/edgedistill-device.mjs', good.id, '-', 'yes', '3', ...CHECK_ARGS]);
    expect(a.kv.get('checkrc')).toBe('1');
    expect(a.kv.get('rolledback')).toBe('yes');
    expect(a.kv.get('current')).toBe(good.id);
    expect(current()).toBe(`releases/${good.id}`);
    expect(existsSync(join(P, 'releases', bad.id))).toBe(false);
    expect(existsSync(join(P, 'previous'))).toBe(false);
    const report = JSON.parse(splitCheckOutput(a.stdout).checkStdout) as { passed: boolean; failed: string[] };
    expect(report.passed).toBe(false);
    expect(report.failed).toContain('student-onnx/p99LatencyUs');
  }, 120_000);

  it('refuses a tampered upload and leaves nothing half-installed', () => {
    expect(prepare('tok3', bad.id).code).toBe(0);
    mkdirSync(join(P, '.upload'), { recursive: true });
    const gz = readFileSync(bad.path);
    const sums = checksumList(bad).replace(/^[0-9a-f]{64}(  artifacts\/student\.onnx)$/m, `${'0'.repeat(64)}$1`);
    writeFileSync(join(P, '.upload', `${bad.id}.tar.gz`), gz);
    const i = sh(INSTALL, [P, 'tok3', bad.id, String(Object.keys(bad.manifest.files).length + 1)], sums);
    expect(i.code).toBe(79);
    expect(i.kv.get('error')).toMatch(/checksum mismatch on the device: .*artifacts\/student\.onnx: FAILED/);
    expect(existsSync(join(P, 'releases', bad.id))).toBe(false);
    expect(spawnSync('sh', ['-c', `ls -a ${P}/releases | grep -c incoming`], { encoding: 'utf8' }).stdout.trim()).toBe('0');
    expect(sh(UNLOCK, [P, 'tok3']).kv.get('unlocked')).toBe('yes');
  });

  it('refuses a held lock and reports its owner', () => {
    expect(prepare('tok4', good.id).kv.get('lock')).toBe('ok');
    const other = prepare('tok5', good.id);
    expect(other.code).toBe(75);
    expect(other.kv.get('lock')).toBe('held');
    expect(other.kv.get('owner.token')).toBe('tok4');
    expect(other.kv.get('owner.host')).toBe('test');
    expect(other.kv.get('devicebusy')).toBe('no');
    expect(Number(other.kv.get('lockage'))).toBeGreaterThanOrEqual(0);
    expect(sh(UNLOCK, [P, 'tok5']).kv.get('unlocked')).toBe('no'); // not ours
    expect(sh(UNLOCK, [P, 'tok4']).kv.get('unlocked')).toBe('yes');
  });

  it('repairs an activation cut short between the switch and the check', () => {
    // What a power cut after `setlink current` leaves: current -> the new release, lock with activate.
    expect(prepare('tok6', bad.id).code).toBe(0);
    expect(install(bad, 'tok6').kv.get('installed')).toBe('new');
    writeFileSync(join(P, '.lock', 'activate'), `${bad.id} ${good.id} -\n`);
    spawnSync('sh', ['-c', `ln -sfn releases/${bad.id} ${P}/current.tmp && mv -T ${P}/current.tmp ${P}/current`]);
    expect(current()).toBe(`releases/${bad.id}`);
    const p = prepare('tok7', good.id, 'tok6');
    expect(p.code).toBe(0);
    expect(p.kv.get('recovered')).toBe(bad.id);
    expect(p.kv.get('broke')).toBe('tok6');
    expect(p.kv.get('current')).toBe(good.id);
    expect(current()).toBe(`releases/${good.id}`);
    expect(sh(UNLOCK, [P, 'tok7']).kv.get('unlocked')).toBe('yes');
  });

  it('keeps the newest releases and never current or previous', () => {
    // Two old releases left by earlier flashes, older than anything else.
    for (const [id, t] of [['00000000000000aa', 1000], ['00000000000000bb', 2000]] as const) {
      mkdirSync(join(P, 'releases', id), { recursive: true });
      utimesSync(join(P, 'releases', id), t, t);
    }
    spawnSync('sh', ['-c', `ln -sfn releases/00000000000000aa ${P}/previous`]);
    expect(prepare('tok8', good.id).kv.get('have')).toBe('yes');
    const i = install(good, 'tok8');
    expect(i.kv.get('installed')).toBe('existing');
    const a = sh(ACTIVATE, [P, 'tok8', good.id, node, 'runtime/edgedistill-device.mjs', good.id, '00000000000000aa', 'no', '2', ...CHECK_ARGS]);
    expect(a.kv.get('switched')).toBe('no');
    expect(a.kv.get('checkrc')).toBe('0');
    // keep 2: current (good) and previous (aa, the oldest) stay; bb and bad's leftover go.
    expect(a.kv.get('pruned')?.split(' ').sort()).toEqual(['00000000000000bb', bad.id].sort());
    expect(existsSync(join(P, 'releases', '00000000000000aa'))).toBe(true);
    expect(current()).toBe(`releases/${good.id}`);
  }, 120_000);
});
