// Fault injection for `edgedistill flash` against an emulated aarch64 device (scripts/device: a real
// sshd on loopback, an ARM root under qemu-user). Every case starts from a device running a good
// release, attempts another bundle while one fault is injected, and then proves three things:
// the flash exits non-zero, its message names the fault, and the device still runs its previous
// release (`current` points at it AND the real on-device check passes on it, run through
// `edgedistill check`). Faults: the upload's SSH link cut mid-transfer, a full disk on the device,
// a failing on-device check, two flashes at once, and a changed host key. Needs root (as in CI).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { distill, writeDistillArtifacts } from '../../pipeline/src/distill/index.js';
import { cli, edgedistill, run, scripts, teacher, type Device, type Run } from './device-helpers.js';

// qemu-user on a loaded 2-core host: p99 of 5-40 ms (see flash-e2e.test.ts), so the latency budget
// is raised for the emulated device. R2 and R3 differ from R1 only in that budget, which gives
// them other manifests, hence other release ids.
const R1_BUDGET = 'controlPeriodUs=250000';
const R2_BUDGET = 'controlPeriodUs=240000';
const R3_BUDGET = 'controlPeriodUs=230000';
const CHECK_ARGS = '--check-args=--calls 1000 --max-seconds 20';



/** Like run, but hands the child out first (so a test can hurt it while it runs). */
function start(cmd: string, args: string[]): { child: ChildProcess; done: Promise<Run> } {
  const t0 = Date.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((ok, fail) => {
    child.on('error', fail);
    child.on('close', (code, signal) => ok({ code, signal, stdout, stderr, ms: Date.now() - t0 }));
  });
  return { child, done };
}



interface BundleJson {
  path: string;
  id: string;
  bytes: number;
  manifestSha256: string;
}

interface FlashResultJson {
  ok: boolean;
  error: string | null;
  releaseBefore: string | null;
  releaseAfter: string | null;
  rolledBack: boolean;
  installed: string | null;
  check: { ran: boolean; passed: boolean | null; failed: string[] };
}

interface CheckJson {
  results: { ok: boolean; release: string | null; error: string | null; check: { passed: boolean | null; report: { platform: { arch: string }; bundle: { manifestSha256: string } } | null } }[];
}

const name = `flash-faults-${process.pid}`;
let dev: Device;
let work: string;
let studentDir: string;
let target: string;
let r1: BundleJson;
let r2: BundleJson;
let r3: BundleJson;
let faults = 0;
const produced: { fault: string; exit: number | null; message: string }[] = [];
const mounts: string[] = [];
const children: ChildProcess[] = [];

const onDevice = (command: string) => run('ssh', ['-F', dev.ssh_config_file, dev.ssh_host_alias, command], 300_000);
const deployOnHost = () => join(dev.device_root, dev.deploy_path);
const currentOnDevice = async () => (await onDevice(`readlink ${dev.deploy_path}/current || true`)).stdout.trim();

async function bundle(nameArg: string, budget: string): Promise<BundleJson> {
  const r = await edgedistill('bundle', '--device', 'rpi4-arm64', '--policy', studentDir, '--teacher', teacher, '--name', nameArg, '--out', join(work, 'dist'), '--budget-override', budget, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as BundleJson;
}

const flashArgs = (b: BundleJson, ...extra: string[]) => [cli, 'flash', b.path, '--target', target, '--ssh-config', dev.ssh_config_file, CHECK_ARGS, '--json', ...extra];

function flashResult(r: Run): FlashResultJson {
  const json = JSON.parse(r.stdout) as { results: FlashResultJson[] };
  expect(json.results).toHaveLength(1);
  return json.results[0];
}

function record(fault: string, r: Run, message: string): void {
  produced.push({ fault, exit: r.code, message });
  console.log(`[flash-faults] ${fault}: exit ${r.code}; ${message}`);
}

/**
 * The device runs `release`: `current` points at it, no lock or half-installed release is left,
 * and the real on-device check of the current release passes and reports that bundle.
 */
async function expectRunning(release: BundleJson): Promise<void> {
  expect(await currentOnDevice()).toBe(`releases/${release.id}`);
  expect(existsSync(join(deployOnHost(), '.lock')), 'device lock left behind').toBe(false);
  expect(readdirSync(join(deployOnHost(), 'releases')).filter((f) => f.startsWith('.incoming'))).toEqual([]);
  const r = await edgedistill('check', '--target', target, '--ssh-config', dev.ssh_config_file, '--out', join(work, 'check-reports'), CHECK_ARGS, '--json');
  expect(r.code, r.stderr + r.stdout).toBe(0);
  const res = (JSON.parse(r.stdout) as CheckJson).results[0];
  expect(res).toMatchObject({ ok: true, release: release.id, error: null });
  expect(res.check.passed).toBe(true);
  expect(res.check.report?.platform.arch).toBe('arm64');
  expect(res.check.report?.bundle.manifestSha256).toBe(release.manifestSha256);
}

/** Processes below `pid` (from /proc), with their command lines. */
function descendants(pid: number): { pid: number; cmd: string[] }[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const out: { pid: number; cmd: string[] }[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp !== p) continue;
      try {
        out.push({ pid: c, cmd: readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').filter(Boolean) });
      } catch {
        /* gone */
      }
      walk(c);
    }
  };
  walk(pid);
  return out;
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 300_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const uploadedBytes = (b: BundleJson) => {
  const dir = join(deployOnHost(), '.upload');
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((f) => f.includes(b.id))
    .reduce((s, f) => {
      try {
        return s + statSync(join(dir, f)).size;
      } catch {
        return s;
      }
    }, 0);
};

describe('flash faults on an emulated aarch64 device: the previous release keeps running', () => {
  beforeAll(async () => {
    const setup = await run('bash', [join(scripts, 'setup-host.sh'), '--arch', 'arm64'], 900_000);
    expect(setup.code, setup.stderr).toBe(0);
    const started = await run('bash', [join(scripts, 'start.sh'), name, '--arch', 'arm64'], 600_000);
    expect(started.code, started.stderr).toBe(0);
    dev = JSON.parse(started.stdout) as Device;
    target = `ssh://${dev.ssh_host_alias}${dev.deploy_path}`;
    work = mkdtempSync(join(tmpdir(), 'flash-faults-'));
    studentDir = join(work, 'cartpole-student');
    const { student, report } = await distill({ teacher, envId: 'CartPole-v1', hidden: [16, 16], seed: 0 });
    expect(report.targetsMet).toBe(true);
    await writeDistillArtifacts(studentDir, student, report);
    r1 = await bundle('r1', R1_BUDGET);
    r2 = await bundle('r2', R2_BUDGET);
    r3 = await bundle('r3', R3_BUDGET);
    expect(new Set([r1.id, r2.id, r3.id]).size).toBe(3);
    // The good release every case starts from, flashed as a user would.
    const r = await run('node', flashArgs(r1));
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(flashResult(r)).toMatchObject({ ok: true, releaseAfter: r1.id });
    await expectRunning(r1);
  });

  afterAll(async () => {
    for (const c of children) {
      if (c.pid && c.exitCode === null && c.signalCode === null) {
        try {
          process.kill(-c.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    for (const m of mounts) await run('umount', ['-l', m]);
    if (dev) await run('bash', [join(scripts, 'stop.sh'), name]);
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`[flash-faults] faults injected: ${faults}`);
    console.log(`[flash-faults] summary ${JSON.stringify({ faultsInjected: faults, produced })}`);
  });

  it('a changed host key: flash refuses before logging in, and says so', async () => {
    // known_hosts naming the device's address with another key, as after a re-imaged SD card or
    // a man in the middle.
    const keyFile = join(work, 'other_host_key');
    const gen = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile]);
    expect(gen.code, gen.stderr).toBe(0);
    const otherKey = readFileSync(`${keyFile}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    const real = readFileSync(dev.known_hosts_file, 'utf8');
    const fake = real.replace(/ssh-ed25519 \S+/g, otherKey);
    expect(fake).not.toBe(real);
    const fakeFile = join(work, 'known_hosts.changed');
    writeFileSync(fakeFile, fake);
    const logFile = join(dirname(dev.ssh_config_file), 'sshd.log');
    const acceptedBefore = (readFileSync(logFile, 'utf8').match(/Accepted publickey/g) ?? []).length;
    expect(acceptedBefore).toBeGreaterThan(0); // the log does record logins

    faults++;
    const r = await run('node', flashArgs(r2, '--known-hosts', fakeFile));
    expect(r.code).toBe(3);
    const res = flashResult(r);
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/Host key verification failed/);
    expect(res.error).toMatch(/host key .*(has changed|changed)|REMOTE HOST IDENTIFICATION HAS CHANGED/i);
    expect(res.check.ran).toBe(false);
    record('changed host key', r, res.error as string);
    // Never logged in: sshd recorded no new login, nothing was uploaded, no lock was taken.
    const acceptedAfter = (readFileSync(logFile, 'utf8').match(/Accepted publickey/g) ?? []).length;
    expect(acceptedAfter).toBe(acceptedBefore);
    expect(uploadedBytes(r2)).toBe(0);
    await expectRunning(r1);
  });

  it('a failing on-device check (impossible budget): rolled back, the previous release runs', async () => {
    const impossible = await bundle('impossible', 'controlPeriodUs=0.001');
    faults++;
    const r = await run('node', flashArgs(impossible));
    expect(r.code).toBe(1);
    const res = flashResult(r);
    expect(res).toMatchObject({ ok: false, rolledBack: true, releaseBefore: r1.id, releaseAfter: r1.id });
    expect(res.check.passed).toBe(false);
    expect(res.check.failed).toContain('student-onnx/p99LatencyUs');
    expect(res.error).toMatch(new RegExp(`check failed \\(budgets failed: .*p99LatencyUs.*\\); rolled back to ${r1.id}`));
    record('failing on-device check', r, res.error as string);
    expect(existsSync(join(deployOnHost(), 'releases', impossible.id))).toBe(false);
    await expectRunning(r1);
  });

  it('the SSH link dropped mid-upload: the upload fails cleanly, the lock is released, the previous release runs', async () => {
    // 200 KiB/s: the bundle takes many seconds to upload, so the cut lands in the middle.
    const flash = start('node', flashArgs(r2, '--bwlimit', '200'));
    children.push(flash.child);
    await waitFor('the upload to be under way', () => uploadedBytes(r2) > 128 * 1024);
    expect(uploadedBytes(r2)).toBeLessThan(r2.bytes);
    // Cut the link: the ssh that carries rsync's data (a pulled cable, as seen from the laptop).
    const link = descendants(flash.child.pid as number).filter((p) => p.cmd[0]?.endsWith('ssh') && p.cmd.some((a) => a.includes('rsync')));
    expect(link.length, JSON.stringify(descendants(flash.child.pid as number))).toBe(1);
    faults++;
    process.kill(link[0].pid, 'SIGKILL');
    const r = await flash.done;
    expect(r.code).toBe(3);
    const res = flashResult(r);
    expect(res.ok).toBe(false);
    expect(res.error).toMatch(/upload with rsync failed: .*(connection unexpectedly closed|broken pipe|error in rsync protocol|unexplained error)/i);
    expect(res.check.ran).toBe(false);
    record('ssh link dropped mid-upload', r, res.error as string);
    expect(existsSync(join(deployOnHost(), 'releases', r2.id))).toBe(false);
    await expectRunning(r1);
  });

  it('the device disk full during the upload: the flash fails with "No space left", the previous release runs', async () => {
    // A 256 KiB file system over the device's upload directory. Device sessions bind-mount their
    // root non-recursively (scripts/device/start.sh), which would hide a host mount below it, so
    // this device's ForceCommand is made to bind it recursively.
    const enter = join(dirname(dev.ssh_config_file), 'enter');
    const text = readFileSync(enter, 'utf8');
    expect(text).toMatch(/mount --bind "\$root" "\$root"/);
    writeFileSync(enter, text.replace('mount --bind "$root" "$root"', 'mount --rbind "$root" "$root"'));
    const uploadDir = join(deployOnHost(), '.upload');
    mkdirSync(uploadDir, { recursive: true });
    const m = await run('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', uploadDir]);
    expect(m.code, m.stderr).toBe(0);
    mounts.push(uploadDir);
    try {
      const seen = await onDevice(`df -Pk ${dev.deploy_path}/.upload | awk 'NR==2 {print $2}'`);
      expect(Number(seen.stdout.trim()), seen.stderr).toBeLessThanOrEqual(256); // the device sees the small disk
      faults++;
      const r = await run('node', flashArgs(r2));
      expect(r.code).toBe(3);
      const res = flashResult(r);
      expect(res.ok).toBe(false);
      expect(res.error).toMatch(/upload with rsync failed: .*No space left on device/);
      expect(res.check.ran).toBe(false);
      record('device disk full', r, res.error as string);
      expect(existsSync(join(deployOnHost(), 'releases', r2.id))).toBe(false);
      await expectRunning(r1);
    } finally {
      const u = await run('umount', [uploadDir]);
      expect(u.code, u.stderr).toBe(0);
      mounts.splice(mounts.indexOf(uploadDir), 1);
    }
  });

  it('two flashes at once: one is refused with "being flashed by user@host (pid)", the other installs; the device runs the winner', async () => {
    // Both slowed down so the first to take the lock still holds it when the other asks.
    faults++;
    const a = start('node', flashArgs(r2, '--bwlimit', '1000'));
    const b = start('node', flashArgs(r3, '--bwlimit', '1000'));
    children.push(a.child, b.child);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const results = [
      { bundle: r2, run: ra, res: flashResult(ra) },
      { bundle: r3, run: rb, res: flashResult(rb) },
    ];
    const winners = results.filter((x) => x.run.code === 0);
    const losers = results.filter((x) => x.run.code !== 0);
    expect(winners.length, JSON.stringify(results.map((x) => x.res.error))).toBe(1);
    expect(losers.length).toBe(1);
    const [win] = winners;
    const [lose] = losers;
    expect(lose.run.code).toBe(3);
    expect(lose.res.error).toMatch(/^refused: (the device is being flashed|a flash) by \S+@\S+ \(pid \d+, since \S+\)/);
    expect(lose.res.check.ran).toBe(false);
    record('concurrent second flash', lose.run, lose.res.error as string);
    expect(win.res).toMatchObject({ ok: true, releaseBefore: r1.id, releaseAfter: win.bundle.id });
    expect(existsSync(join(deployOnHost(), 'releases', lose.bundle.id))).toBe(false);
    // Consistent: the device runs the winner (checked), and R1 is kept as `previous` for rollback.
    await expectRunning(win.bundle);
    expect((await onDevice(`readlink ${dev.deploy_path}/previous`)).stdout.trim()).toBe(`releases/${r1.id}`);
  });
});
