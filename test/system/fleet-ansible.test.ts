// `edgedistill flash BUNDLE --emit-ansible DIR` run with Debian's ansible-playbook against 2 emulated
// aarch64 devices (scripts/device: real sshd on loopback, ARM root under qemu-user, NO python on the
// device, so the role runs in its raw mode: raw tasks on the device, scp from the controller).
// The end state must be the one `edgedistill flash` makes: releases/<same id>, `current` pointing
// at it, every file matching the manifest, check-report.json written by the on-device check, lock
// released; `edgedistill flash` of the same bundle then finds the release installed and verified.
// A bundle whose check fails is rolled back by the play's rescue. Needs root, apt's ansible.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distill, writeDistillArtifacts } from '../../pipeline/src/distill/index.js';
import { edgedistill, run, scripts, teacher, type Device, type Run } from './device-helpers.js';

const CHECK = '--calls 300 --max-seconds 10';



const prefix = `fans${process.pid}`;
const devices: Device[] = [];
let work: string;
let inventory: string;
let student: string;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const deployDir = (d: Device) => join(d.device_root, d.deploy_path);
const current = (d: Device) => {
  try {
    return readlinkSync(join(deployDir(d), 'current'));
  } catch {
    return null;
  }
};

async function bundle(name: string, budget: string): Promise<{ path: string; id: string; manifestSha256: string }> {
  const r = await edgedistill('bundle', '--device', 'rpi4-arm64', '--policy', student, '--teacher', teacher, '--out', join(work, 'dist'), '--name', name, '--episodes', '2', '--budget-override', budget, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { path: string; id: string; manifestSha256: string };
}

async function playbook(bundlePath: string, dir: string): Promise<Run> {
  const e = await edgedistill('flash', bundlePath, '--emit-ansible', dir, `--check-args=${CHECK}`, '--json');
  expect(e.code, e.stderr).toBe(0);
  const emitted = JSON.parse(e.stdout) as { playbook: string; mode: string };
  expect(emitted.mode).toBe('raw');
  return run('ansible-playbook', ['-i', inventory, emitted.playbook, '--forks', '2'], {
    env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0', ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp'), ANSIBLE_HOST_KEY_CHECKING: 'True' },
    cwd: work,
  });
}

describe('the emitted Ansible playbook deploys like edgedistill flash (2 emulated devices, raw mode)', () => {
  beforeAll(async () => {
    const which = await run('ansible-playbook', ['--version']);
    expect(which.code, 'ansible-playbook is missing: scripts/ci-apt.sh installs Debian\'s ansible').toBe(0);
    const setup = await run('bash', [join(scripts, 'setup-host.sh'), '--arch', 'arm64']);
    expect(setup.code, setup.stderr).toBe(0);
    work = mkdtempSync(join(tmpdir(), 'fleet-ansible-'));
    for (const n of [`${prefix}-1`, `${prefix}-2`]) {
      const s = await run('bash', [join(scripts, 'start.sh'), n, '--arch', 'arm64'], { timeoutMs: 300_000 });
      expect(s.code, s.stderr).toBe(0);
      devices.push(JSON.parse(s.stdout) as Device);
    }
    // The device's sshd: key auth and a known_hosts file, passed through the inventory.
    inventory = join(work, 'hosts.ini');
    writeFileSync(
      inventory,
      [
        '[pis]',
        ...devices.map(
          (d) => `${d.name} ansible_host=127.0.0.1 ansible_port=${d.port} ansible_user=${d.user} ansible_ssh_private_key_file=${d.identity_file} "ansible_ssh_common_args=-o UserKnownHostsFile=${d.known_hosts_file} -o StrictHostKeyChecking=yes"`,
        ),
        '[pis:vars]',
        'edgedistill_device=rpi4-arm64',
        `edgedistill_node=${devices[0].node_path}`,
        'edgedistill_ansible_mode=raw',
        '',
      ].join('\n'),
    );
    student = join(work, 'cartpole-student');
    const { student: s, report } = await distill({ teacher, envId: 'CartPole-v1', hidden: [16, 16], seed: 0 });
    expect(report.targetsMet).toBe(true);
    await writeDistillArtifacts(student, s, report);
  });

  afterAll(async () => {
    for (const d of devices) await run('bash', [join(scripts, 'stop.sh'), d.name]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  let good: { path: string; id: string; manifestSha256: string };

  it('installs, verifies, switches and checks on both devices', async () => {
    good = await bundle('good', 'controlPeriodUs=250000');
    const r = await playbook(good.path, join(work, 'deploy-good'));
    expect(r.code, r.stdout.slice(-4000) + r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`${devices[0].name} +: ok=\\d+ +changed=\\d+ +unreachable=0 +failed=0`));
    console.log(`[fleet-ansible] playbook on 2 devices: ${(r.ms / 1000).toFixed(1)} s`);
    const emitted = join(work, 'deploy-good');
    for (const f of ['site.yml', 'roles/edgedistill_deploy/tasks/main.yml', 'roles/edgedistill_deploy/tasks/raw.yml', 'roles/edgedistill_deploy/tasks/modules.yml', 'roles/edgedistill_deploy/defaults/main.yml', 'roles/edgedistill_deploy/handlers/main.yml']) {
      expect(existsSync(join(emitted, f)), f).toBe(true);
    }
    const modules = readFileSync(join(emitted, 'roles/edgedistill_deploy/tasks/modules.yml'), 'utf8');
    for (const m of ['ansible.builtin.copy', 'ansible.builtin.unarchive', 'ansible.builtin.stat', 'state: link', 'mv', 'rescue:']) expect(modules).toContain(m);

    for (const d of devices) {
      const P = deployDir(d);
      expect(current(d)).toBe(`releases/${good.id}`); // same relative link and release name as edgedistill flash
      const R = join(P, 'releases', good.id);
      const manifestBytes = readFileSync(join(R, 'manifest.json'));
      expect(sha(manifestBytes).slice(0, 16)).toBe(good.id);
      const manifest = JSON.parse(manifestBytes.toString()) as { files: Record<string, { sha256: string }> };
      for (const [p, f] of Object.entries(manifest.files)) expect(sha(readFileSync(join(R, p))), p).toBe(f.sha256);
      const report = JSON.parse(readFileSync(join(R, 'check-report.json'), 'utf8')) as { passed: boolean; platform: { arch: string }; bundle: { manifestSha256: string } };
      expect(report.passed).toBe(true);
      expect(report.platform.arch).toBe('arm64');
      expect(report.bundle.manifestSha256).toBe(good.manifestSha256);
      expect(existsSync(join(P, '.lock'))).toBe(false);
      expect(readdirSync(join(P, 'releases'))).toEqual([good.id]);
      expect(readdirSync(join(P, '.upload'))).toEqual([]);
    }
  });

  it('edgedistill flash finds the Ansible-installed release verified and current', async () => {
    const d = devices[0];
    const r = await edgedistill('flash', good.path, '--target', `ssh://${d.ssh_host_alias}${d.deploy_path}`, '--ssh-config', d.ssh_config_file, `--check-args=${CHECK}`, '--json');
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const res = (JSON.parse(r.stdout) as { results: { ok: boolean; installed: string; releaseBefore: string; releaseAfter: string; switched: boolean }[] }).results[0];
    // installed "existing": the device's sha256sum -c over the release passed; nothing uploaded or switched
    expect(res).toMatchObject({ ok: true, installed: 'existing', releaseBefore: good.id, releaseAfter: good.id, switched: false });
  });

  it('rolls back with block/rescue when the check fails on the device', async () => {
    const bad = await bundle('impossible', 'controlPeriodUs=0.001');
    const r = await playbook(bad.path, join(work, 'deploy-bad'));
    expect(r.code).not.toBe(0);
    expect(r.stdout).toMatch(/rescued=1/);
    expect(r.stdout).toMatch(new RegExp(`failed on ${devices[1].name} and was rolled back to ${good.id}`));
    for (const d of devices) {
      expect(current(d)).toBe(`releases/${good.id}`);
      expect(existsSync(join(deployDir(d), 'releases', bad.id))).toBe(false);
      expect(existsSync(join(deployDir(d), '.lock'))).toBe(false);
    }
  });

  it('modules mode (copy, unarchive, stat, file state=link) on a target with python: this machine, x64-linux bundle', async () => {
    // The emulated devices have no python, so the modules variant runs against this machine through
    // ansible_connection=local, with a bundle for the x64-linux profile and a temp deploy path.
    const r64 = await edgedistill('bundle', '--device', 'x64-linux', '--policy', student, '--teacher', teacher, '--out', join(work, 'dist64'), '--episodes', '2', '--json');
    expect(r64.code, r64.stderr).toBe(0);
    const b64 = JSON.parse(r64.stdout) as { path: string; id: string; manifestSha256: string };
    const e = await edgedistill('flash', b64.path, '--emit-ansible', join(work, 'deploy-modules'), '--ansible-mode', 'modules', `--check-args=${CHECK}`, '--json');
    expect(e.code, e.stderr).toBe(0);
    const P = join(work, 'local-root/home/pi/edgedistill');
    const inv = join(work, 'local.ini');
    writeFileSync(inv, `[local]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3 edgedistill_path=${P} edgedistill_node=${process.execPath} edgedistill_device=x64-linux\n`);
    const r = await run('ansible-playbook', ['-i', inv, join(work, 'deploy-modules/site.yml')], { env: { ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_RETRY_FILES_ENABLED: '0' }, cwd: work });
    expect(r.code, r.stdout.slice(-4000) + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Unpack into releases[\s\S]*changed: \[localhost\]/);
    expect(readlinkSync(join(P, 'current'))).toBe(`releases/${b64.id}`);
    const R = join(P, 'releases', b64.id);
    const manifest = JSON.parse(readFileSync(join(R, 'manifest.json'), 'utf8')) as { files: Record<string, { sha256: string }> };
    for (const [p, f] of Object.entries(manifest.files)) expect(sha(readFileSync(join(R, p))), p).toBe(f.sha256);
    expect((JSON.parse(readFileSync(join(R, 'check-report.json'), 'utf8')) as { passed: boolean }).passed).toBe(true);
    expect(existsSync(join(P, '.lock'))).toBe(false);
  });
});
