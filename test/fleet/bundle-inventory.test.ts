/**
 * `edgedistill bundle --inventory`: one bundle per distinct device profile of the (limited) fleet,
 * and `flash --inventory` matching each host to the bundle for its profile, through the real CLI.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { distill, writeDistillArtifacts } from '../../pipeline/src/distill/index.js';
import { bundlesByProfile } from '../../pipeline/src/fleet/run.js';

const repo = resolve(import.meta.dirname, '../..');
const cli = join(repo, 'pipeline/bin/edgedistill.js');
const teacher = join(repo, 'models/cartpole-v1/teacher.onnx');
const work = mkdtempSync(join(tmpdir(), 'bundle-inventory-'));

function edgedistill(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [cli, ...args], { cwd: repo, env: { ...process.env, NO_COLOR: '1' }, timeout: 240_000 }, (err, stdout, stderr) => {
      done({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

const inventory = join(work, 'fleet.yml');
writeFileSync(
  inventory,
  `all:
  children:
    arm64:
      vars: { edgedistill_device: rpi4-arm64 }
      hosts:
        pi1: { ansible_host: 127.0.0.1, ansible_port: 1 }
        pi2: { ansible_host: 127.0.0.1, ansible_port: 1 }
    zeros:
      vars: { edgedistill_device: rpi-zero2w-armv7 }
      hosts:
        zero1: { ansible_host: 127.0.0.1, ansible_port: 1 }
`,
);

describe('bundle and flash from an inventory', () => {
  const student = join(work, 'student');
  beforeAll(async () => {
    const { student: s, report } = await distill({ teacher, envId: 'CartPole-v1', hidden: [16, 16], seed: 0 });
    await writeDistillArtifacts(student, s, report);
  }, 120_000);

  it('a mixed fleet gets one bundle per profile from one call; --limit narrows it', async () => {
    const r = await edgedistill('bundle', '--inventory', inventory, '--policy', student, '--teacher', teacher, '--out', join(work, 'dist'), '--json');
    expect(r.code, r.stderr).toBe(0);
    const { bundles } = JSON.parse(r.stdout) as { bundles: { device: string; arch: string; path: string; hosts: string[] }[] };
    expect(bundles.map((b) => [b.device, b.arch, b.hosts])).toEqual([
      ['rpi4-arm64', 'arm64', ['pi1', 'pi2']],
      ['rpi-zero2w-armv7', 'armv7', ['zero1']],
    ]);
    const byProfile = bundlesByProfile([], join(work, 'dist'));
    expect([...byProfile.keys()].sort()).toEqual(['rpi-zero2w-armv7', 'rpi4-arm64']);

    const one = await edgedistill('bundle', '--inventory', inventory, '--limit', 'zeros', '--policy', student, '--teacher', teacher, '--out', join(work, 'dist-zero'), '--json');
    expect(one.code, one.stderr).toBe(0);
    expect((JSON.parse(one.stdout) as { bundles: unknown[] }).bundles).toHaveLength(1);

    // flash matches hosts to bundles by profile; port 1 is closed, so every host fails to connect (exit 3)
    const f = await edgedistill('flash', '--bundles-dir', join(work, 'dist'), '--inventory', inventory, '--retries', '1', '--json');
    expect(f.code).toBe(3);
    const res = JSON.parse(f.stdout) as { results: { host: string; profile: string; release: string; error: string }[] };
    expect(res.results.map((x) => [x.host, x.profile])).toEqual([
      ['pi1', 'rpi4-arm64'],
      ['pi2', 'rpi4-arm64'],
      ['zero1', 'rpi-zero2w-armv7'],
    ]);
    expect(res.results[2].release).toBe(bundles[1].path.match(/-([0-9a-f]{16})\.tar\.gz$/)?.[1]);
    for (const x of res.results) expect(x.error).toMatch(/Connection refused/);
  }, 600_000);

  it('check --inventory: an unreachable host is a device error (exit 3) after its retries, named in the table', async () => {
    const logs = join(work, 'check-logs');
    const r = await edgedistill('check', '--inventory', inventory, '--limit', 'pi1', '--retries', '1', '--log-dir', logs, '--json');
    expect(r.code).toBe(3);
    const j = JSON.parse(r.stdout) as { summary: { hosts: number; ok: number }; results: { host: string; ok: boolean; attempts: number; error: string; log: string }[] };
    expect(j.summary).toMatchObject({ hosts: 1, ok: 0 });
    expect(j.results[0]).toMatchObject({ host: 'pi1', ok: false, attempts: 1 });
    expect(j.results[0].error).toMatch(/Connection refused/);
    expect(readFileSync(j.results[0].log, 'utf8')).toMatch(/<CHECK script[\s\S]*result: FAILED/);
    const table = await edgedistill('check', '--inventory', inventory, '--limit', 'pi1', '--retries', '1');
    expect(table.code).toBe(3);
    expect(table.stdout).toMatch(/pi1 .*Connection refused/);
  }, 120_000);

  it('check refuses missing or mixed targets with the flag named (exit 2)', async () => {
    const none = await edgedistill('check');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--target/);
    const mixed = await edgedistill('check', '--inventory', inventory, '--target', 'ssh://pi@127.0.0.1:1');
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/--target and --inventory do not mix/);
    const limit = await edgedistill('check', '--target', 'ssh://pi@127.0.0.1:1', '--limit', 'pi1');
    expect(limit.code).toBe(2);
    expect(limit.stderr).toMatch(/--limit .*need --inventory/);
  }, 60_000);

  it('refuses an inventory host without a profile when bundling', async () => {
    const bad = join(work, 'noprofile.ini');
    writeFileSync(bad, '[pis]\npi1 ansible_host=127.0.0.1\n');
    const r = await edgedistill('bundle', '--inventory', bad, '--policy', student, '--out', join(work, 'x'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no edgedistill_device for host\(s\) pi1/);
  }, 120_000);
});
