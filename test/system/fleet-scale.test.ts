// Fleet flash from an Ansible inventory against 8 emulated aarch64 devices (scripts/device: one real
// sshd per device on loopback, commands chrooted into an ARM root under qemu-user), in one
// `edgedistill flash --inventory` command each time, with per-host logs. One device is then given a
// wrong host key in its known_hosts: it must be refused at once (no retries, no upload), keep its
// previous release, and not disturb the other seven. Wall times go to test-artifacts/fleet-scale.json
// for `npm run bench` (bench/fleet.ts). Budgets: the rpi4-arm64 profile's, with the latency budget
// raised to 250 ms for qemu (as in flash-e2e.test.ts) and few check calls/episodes so it fits here.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distill, writeDistillArtifacts } from '../../pipeline/src/distill/index.js';
import { edgedistill, repo, run, scripts, teacher, type Device, type Run } from './device-helpers.js';

const N = 8;
const CHECK_ARGS = '--check-args=--calls 300 --max-seconds 10';




interface HostJson {
  host: string;
  ok: boolean;
  releaseBefore: string | null;
  releaseAfter: string | null;
  installed: string | null;
  attempts: number;
  error: string | null;
  check: { ran: boolean; passed: boolean | null; p99Us: number | null; savedTo: string | null };
  log: string | null;
}
interface FleetJson {
  wallSeconds: number;
  summary: { hosts: number; ok: number; failed: number };
  results: HostJson[];
}

const prefix = `fscale${process.pid}`;
const devices: Device[] = [];
let work: string;
let inventory: string;
let student: string;
const timings: { devices: number; wallSeconds: number; note: string }[] = [];

const current = (d: Device) => {
  try {
    return readlinkSync(join(d.device_root, d.deploy_path, 'current')).replace(/^releases\//, '');
  } catch {
    return null;
  }
};

function writeInventory(badKnownHosts: Map<string, string> = new Map()): void {
  const lines = ['# written by fleet-scale.test.ts', '[fleet]'];
  for (const d of devices) {
    lines.push(
      `${d.name} ansible_host=127.0.0.1 ansible_port=${d.port} ansible_user=${d.user} ansible_ssh_private_key_file=${d.identity_file} "ansible_ssh_common_args=-o UserKnownHostsFile=${badKnownHosts.get(d.name) ?? d.known_hosts_file}"`,
    );
  }
  lines.push('', '[fleet:vars]', 'edgedistill_device=rpi4-arm64', `edgedistill_path=${devices[0].deploy_path}`, `edgedistill_node=${devices[0].node_path}`, '');
  writeFileSync(inventory, lines.join('\n'));
}

async function bundle(name: string): Promise<{ path: string; id: string }> {
  const r = await edgedistill('bundle', '--inventory', inventory, '--policy', student, '--teacher', teacher, '--out', join(work, 'dist', name), '--name', name, '--episodes', '2', '--budget-override', 'controlPeriodUs=250000', '--json');
  expect(r.code, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout) as { bundles: { path: string; id: string; device: string; hosts: string[] }[] };
  expect(j.bundles).toHaveLength(1); // one profile in this fleet
  expect(j.bundles[0].hosts).toHaveLength(N);
  return j.bundles[0];
}

async function flash(b: string, ...extra: string[]): Promise<{ r: Run; json: FleetJson }> {
  const r = await edgedistill('flash', b, '--inventory', inventory, '--concurrency', '4', '--retries', '2', CHECK_ARGS, '--check-timeout', '900', '--json', ...extra);
  let json: FleetJson;
  try {
    json = JSON.parse(r.stdout) as FleetJson;
  } catch {
    throw new Error(`flash printed no JSON (exit ${r.code}): ${r.stderr.slice(-2000)}`);
  }
  return { r, json };
}

describe(`fleet flash of ${N} emulated aarch64 devices from an inventory`, () => {
  beforeAll(async () => {
    const setup = await run('bash', [join(scripts, 'setup-host.sh'), '--arch', 'arm64'], 900_000);
    expect(setup.code, setup.stderr).toBe(0);
    work = mkdtempSync(join(tmpdir(), 'fleet-scale-'));
    inventory = join(work, 'hosts.ini');
    // Two at a time: each start checks its device over ssh under qemu.
    const names = Array.from({ length: N }, (_, i) => `${prefix}-${i + 1}`);
    for (let i = 0; i < names.length; i += 2) {
      const started = await Promise.all(names.slice(i, i + 2).map((n) => run('bash', [join(scripts, 'start.sh'), n, '--arch', 'arm64'], 300_000)));
      for (const s of started) {
        expect(s.code, s.stderr).toBe(0);
        devices.push(JSON.parse(s.stdout) as Device);
      }
    }
    student = join(work, 'cartpole-student');
    const { student: s, report } = await distill({ teacher, envId: 'CartPole-v1', hidden: [16, 16], seed: 0 });
    expect(report.targetsMet).toBe(true);
    await writeDistillArtifacts(student, s, report);
    writeInventory();
  });

  afterAll(async () => {
    if (timings.length) {
      mkdirSync(join(repo, 'test-artifacts'), { recursive: true });
      writeFileSync(join(repo, 'test-artifacts/fleet-scale.json'), `${JSON.stringify({ machine: '2 shared cores, emulated aarch64 (qemu-user)', concurrency: 4, runs: timings }, null, 2)}\n`);
    }
    for (const d of devices) await run('bash', [join(scripts, 'stop.sh'), d.name]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  let first: { path: string; id: string };

  it('flashes and checks all 8 devices in one command, one log per host', async () => {
    first = await bundle('good');
    const logs = join(work, 'logs-1');
    const { r, json } = await flash(first.path, '--log-dir', logs, '--out', join(work, 'reports-1'));
    expect(r.code, r.stderr + JSON.stringify(json.results.filter((x) => !x.ok))).toBe(0);
    expect(json.summary).toEqual({ hosts: N, ok: N, failed: 0 });
    for (const h of json.results) {
      expect(h).toMatchObject({ ok: true, releaseBefore: null, releaseAfter: first.id, installed: 'new', attempts: 1, error: null });
      expect(h.check.passed).toBe(true);
      expect(h.check.p99Us).toBeGreaterThan(0);
      const log = readFileSync(h.log as string, 'utf8');
      expect(log).toMatch(/\$ ssh .*<PREPARE script/);
      expect(log).toMatch(/\$ rsync /);
      expect(log).toMatch(/<ACTIVATE script[\s\S]*checkrc=0/);
    }
    expect(readdirSync(logs).sort()).toEqual(devices.map((d) => `${d.name}.log`).sort());
    for (const d of devices) expect(current(d)).toBe(first.id);
    timings.push({ devices: N, wallSeconds: r.ms / 1000, note: 'first flash: upload, verify, check on every device' });
    console.log(`[fleet-scale] ${N} devices flashed and checked in ${(r.ms / 1000).toFixed(1)} s (concurrency 4)`);
  });

  it('a device with a wrong host key is refused at once and keeps its release; the other 7 move on', async () => {
    const bad = devices[N - 1];
    // known_hosts naming this device's address with another device's key: a changed host key.
    const otherKey = readFileSync(devices[0].known_hosts_file, 'utf8').trim().split('\n')[0].split(' ').slice(1).join(' ');
    const wrong = join(work, 'wrong_known_hosts');
    writeFileSync(wrong, `[127.0.0.1]:${bad.port},[localhost]:${bad.port} ${otherKey}\n`);
    writeInventory(new Map([[bad.name, wrong]]));
    const second = await bundle('second');
    expect(second.id).not.toBe(first.id);
    const { r, json } = await flash(second.path, '--log-dir', join(work, 'logs-2'));
    expect(r.code).toBe(3);
    expect(json.summary).toEqual({ hosts: N, ok: N - 1, failed: 1 });
    for (const h of json.results.filter((x) => x.host !== bad.name)) {
      expect(h, JSON.stringify(h)).toMatchObject({ ok: true, releaseBefore: first.id, releaseAfter: second.id, installed: 'new' });
      expect(h.check.passed).toBe(true);
    }
    const failed = json.results.find((x) => x.host === bad.name) as HostJson;
    expect(failed.ok).toBe(false);
    expect(failed.attempts).toBe(1); // never retried
    expect(failed.error).toMatch(/host key mismatch, refused/);
    expect(failed.error).toMatch(/Host key verification failed/);
    expect(failed.check.ran).toBe(false);
    expect(current(bad)).toBe(first.id);
    expect(existsSync(join(bad.device_root, bad.deploy_path, 'releases', second.id))).toBe(false);
    expect(existsSync(join(bad.device_root, bad.deploy_path, '.lock'))).toBe(false);
    for (const d of devices.slice(0, N - 1)) expect(current(d)).toBe(second.id);
    expect(readFileSync(failed.log as string, 'utf8')).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    timings.push({ devices: N, wallSeconds: r.ms / 1000, note: 'second flash, one device refused (wrong host key)' });
    console.log(`[fleet-scale] ${N} devices (1 refused) in ${(r.ms / 1000).toFixed(1)} s`);
  });

  it('flashing a subset with --limit and a canary: times for 2 devices', async () => {
    writeInventory();
    const { r, json } = await flash(first.path, '--limit', `${devices[0].name},${devices[1].name}`, '--canary', '1');
    expect(r.code, r.stderr).toBe(0);
    expect(json.results.map((x) => x.host)).toEqual([devices[0].name, devices[1].name]);
    for (const h of json.results) expect(h).toMatchObject({ ok: true, installed: 'existing', releaseAfter: first.id });
    expect(current(devices[2])).not.toBe(first.id); // outside the limit: untouched
    timings.push({ devices: 2, wallSeconds: r.ms / 1000, note: 'rollback to an installed release (no upload), canary 1' });
  });

  it('check --inventory re-checks the current release of the hosts it is limited to, with logs and saved reports', async () => {
    const pick = [devices[0], devices[2]];
    const logs = join(work, 'check-logs');
    const out = join(work, 'check-reports');
    const r = await edgedistill('check', '--inventory', inventory, '--limit', pick.map((d) => d.name).join(','), '--log-dir', logs, '--out', out, CHECK_ARGS, '--check-timeout', '900', '--json');
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { summary: { hosts: number; ok: number }; results: { host: string; ok: boolean; release: string; attempts: number; log: string; check: { passed: boolean; p99Us: number; savedTo: string } }[] };
    expect(json.summary).toMatchObject({ hosts: 2, ok: 2 });
    expect(json.results.map((x) => x.host)).toEqual(pick.map((d) => d.name));
    for (const [i, h] of json.results.entries()) {
      expect(h.release).toBe(current(pick[i])); // what is live on that device, whichever release it is
      expect(h.attempts).toBe(1);
      expect(h.check.passed).toBe(true);
      expect(h.check.p99Us).toBeGreaterThan(0);
      expect(existsSync(h.check.savedTo)).toBe(true);
      expect(readFileSync(h.log, 'utf8')).toMatch(/<CHECK script/);
    }
    expect(readdirSync(logs).sort()).toEqual(pick.map((d) => `${d.name}.log`).sort());
    // A limit that matches nothing is bad input (exit 2), not an empty success.
    const none = await edgedistill('check', '--inventory', inventory, '--limit', 'no-such-host', '--json');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no-such-host/);
  });
});
