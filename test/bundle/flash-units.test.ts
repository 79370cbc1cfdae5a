/** Flash helpers with hand-checked answers: targets, node ranges, lock verdicts, report summaries, quoting. */
import { execFileSync, spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { judgeLock, parseTarget, pidAlive, satisfies, shQuote, summarizeCheck } from '../../pipeline/src/flash/index.js';
import { mapLimit } from '../../pipeline/src/flash/fleet.js';
import { ACTIVATE, CHECK, INSTALL, PREPARE, UNLOCK, splitCheckOutput } from '../../pipeline/src/flash/remote-scripts.js';
import { rsyncRsh, sshBaseArgs } from '../../pipeline/src/flash/ssh.js';

describe('targets', () => {
  it('parses ssh URLs with user, port, path and node', () => {
    expect(parseTarget('ssh://pi@robot1.local:2222/home/pi/edgedistill?node=/opt/node/bin/node')).toEqual({
      kind: 'ssh',
      raw: 'ssh://pi@robot1.local:2222/home/pi/edgedistill?node=/opt/node/bin/node',
      label: 'pi@robot1.local:2222',
      user: 'pi',
      host: 'robot1.local',
      port: 2222,
      path: '/home/pi/edgedistill',
      node: '/opt/node/bin/node',
    });
    const alias = parseTarget('ssh://robot1');
    expect(alias.kind === 'ssh' && [alias.user, alias.host, alias.port, alias.path, alias.node]).toEqual([null, 'robot1', null, null, null]);
    const v6 = parseTarget('ssh://root@[::1]:22/srv/x');
    expect(v6.kind === 'ssh' && v6.host).toBe('::1');
    expect(parseTarget('dir:/mnt/sd/home/pi/edgedistill')).toMatchObject({ kind: 'dir', path: '/mnt/sd/home/pi/edgedistill' });
  });

  it('refuses what it cannot pass safely to ssh, naming the flag', () => {
    for (const bad of ['robot1', 'scp://x/y', 'dir:relative/path', 'ssh://pi:secret@x/y', 'ssh://x/home/pi/my dir', "ssh://x/a'b", 'ssh://x/y?colour=red', 'ssh://x/y?node=node']) {
      let err: unknown;
      try {
        parseTarget(bad);
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(EdgeDistillError);
      expect((err as EdgeDistillError).field).toBe('--target');
    }
  });

  it('builds ssh arguments with batch mode and never disables host-key checking', () => {
    const t = parseTarget('ssh://pi@h:2200/p');
    if (t.kind !== 'ssh') throw new Error('ssh');
    const args = sshBaseArgs(t, { identity: '/k/id', knownHosts: '/k/known', configFile: '/k/cfg' });
    expect(args).toEqual(['-T', '-F', '/k/cfg', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=30', '-o', 'ServerAliveInterval=15', '-o', 'ServerAliveCountMax=4', '-i', '/k/id', '-o', 'IdentitiesOnly=yes', '-o', 'UserKnownHostsFile=/k/known', '-p', '2200', 'pi@h']);
    expect(args.join(' ')).not.toMatch(/StrictHostKeyChecking/);
    expect(rsyncRsh(t, { identity: '/my keys/id' })).toBe("ssh -o BatchMode=yes -o ConnectTimeout=30 -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -i '/my keys/id' -o IdentitiesOnly=yes -p 2200");
  });
});

describe('node version ranges', () => {
  it('matches hand-checked cases', () => {
    expect(satisfies('v20.20.2', '>=20.19')).toBe(true);
    expect(satisfies('v20.11.0', '>=20.19')).toBe(false);
    expect(satisfies('v22.1.0', '>=20.19 <24')).toBe(true);
    expect(satisfies('v24.0.0', '>=20.19 <24')).toBe(false);
    expect(satisfies('v16.20.2', '^16 || >=20.19')).toBe(true);
    expect(satisfies('v18.0.0', '^16 || >=20.19')).toBe(false);
    expect(satisfies('v20.19.0', '~20.19')).toBe(true);
    expect(satisfies('v20.20.0', '~20.19')).toBe(false);
    expect(satisfies('v20.5.1', '20')).toBe(true);
    expect(satisfies('garbage', '>=1')).toBe(false);
  });
});

describe('device locks', () => {
  it('takes over only locks whose flash is gone, and never one still checking on the device', () => {
    const dead = spawnSync('true').pid as number;
    expect(pidAlive(process.pid)).toBe(true);
    const here = hostname();
    expect(pidAlive(dead)).toBe(false);
    expect(judgeLock({ host: here, pid: dead, user: 'u', time: 't' }, 5, false, 3600)).toMatchObject({ stale: true, why: expect.stringContaining('process is gone') });
    expect(judgeLock({ host: here, pid: process.pid }, 5, false, 3600)).toMatchObject({ stale: false });
    expect(judgeLock({ host: 'other-machine', pid: 1 }, 5, false, 3600)).toMatchObject({ stale: false, why: expect.stringContaining('being flashed by') });
    expect(judgeLock({ host: 'other-machine', pid: 1 }, 7200, false, 3600)).toMatchObject({ stale: true, why: expect.stringContaining('7200s old') });
    expect(judgeLock({ host: here, pid: dead }, 7200, true, 3600)).toMatchObject({ stale: false, why: expect.stringContaining('still checking') });
  });
});

describe('check summaries', () => {
  const report = {
    format: 'edgedistill.check-report/1',
    platform: { arch: 'arm64', nodeVersion: 'v20.20.2' },
    artifacts: [
      { role: 'teacher', latencyUs: { p99: 900 } },
      { role: 'student', latencyUs: { p99: 120.5 } },
      { role: 'student', latencyUs: { p99: 80 } },
    ],
    passed: false,
    failed: ['student-onnx/agreement'],
  };

  it('reads the worst student p99, the verdict and the platform', () => {
    const s = summarizeCheck(1, JSON.stringify(report), '');
    expect(s).toMatchObject({ ran: true, passed: false, exitCode: 1, p99Us: 120.5, failed: ['student-onnx/agreement'], arch: 'arm64', nodeVersion: 'v20.20.2', error: null });
  });

  it('keeps the error of a check that could not run', () => {
    const s = summarizeCheck(2, JSON.stringify({ error: 'CHECKSUM', message: 'artifacts/x.onnx does not match' }), '');
    expect(s).toMatchObject({ passed: false, p99Us: null, report: null, error: 'CHECKSUM: artifacts/x.onnx does not match' });
    expect(summarizeCheck(127, '', 'sh: node: not found\n').error).toBe('sh: node: not found');
  });

  it('splits the device script output at its markers', () => {
    const parts = splitCheckOutput('checkrc=1\nrolledback=yes\n--- check stdout ---\n{"a":1}\n--- check stderr ---\noops\n--- end ---\n');
    expect(parts).toEqual({ head: 'checkrc=1\nrolledback=yes\n', checkStdout: '{"a":1}\n', checkStderr: 'oops\n' });
  });
});

describe('shell plumbing', () => {
  it('quotes any argument for sh', () => {
    for (const s of ["it's", 'a b', '$(rm -rf /)', '"q"', 'back\\slash', 'new\nline', '']) {
      expect(execFileSync('sh', ['-c', `printf '%s' ${shQuote(s)}`], { encoding: 'utf8' })).toBe(s);
    }
  });

  it('ships device scripts that POSIX sh parses', () => {
    for (const [name, script] of Object.entries({ PREPARE, INSTALL, ACTIVATE, UNLOCK, CHECK })) {
      const r = spawnSync('sh', ['-n', '-c', script], { encoding: 'utf8' });
      expect(r.status, `${name}: ${r.stderr}`).toBe(0);
    }
  });

  it('runs at most N at a time and keeps the order', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, n * 5));
      running--;
      return n * 10;
    });
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });
});
