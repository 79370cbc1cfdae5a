/**
 * Fleet: wall time of `edgedistill flash` (upload, verify, switch, on-device check) to 1, 2, 4 and 8
 * emulated aarch64 devices at once (scripts/device: qemu-user + chroot behind a real sshd each).
 * Opt-in (it needs root, binfmt and qemu, and starts up to 8 sshds): EDGEDISTILL_BENCH_FLEET=1.
 * Devices are named bench-fleet-K, started once, reused for every fleet size and stopped at the end.
 * qemu-user on a shared desktop is far slower than a real Pi, so the fleet bundle's latency and
 * memory budgets are relaxed (EMULATED_BUDGETS): the check then passes and no rollback runs, and
 * the figure is the time of a successful flash + check. Agreement and retention budgets stay.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportedStudent, TEACHER } from './student.js';
import { REPO_ROOT, runChild, type BenchContext } from './util.js';

export const EMULATED_BUDGETS = { controlPeriodUs: 1_000_000, maxRssMiB: 16_384 } as const;

interface DeviceInfo {
  name: string;
  ssh_config_file: string;
  deploy_path: string;
  node_path: string;
}

export function fleetSkipReason(): string | null {
  if (process.env.EDGEDISTILL_BENCH_FLEET !== '1') return 'opt-in: set EDGEDISTILL_BENCH_FLEET=1 (starts up to 8 emulated devices; needs root, qemu-user-static, binfmt-support, openssh-server)';
  if (process.getuid?.() !== 0) return 'needs root (scripts/device chroots and starts sshd)';
  if (!existsSync(join(REPO_ROOT, 'scripts/device/start.sh'))) return 'scripts/device/start.sh does not exist';
  return null;
}

export async function benchFleet(ctx: BenchContext): Promise<Record<string, unknown>> {
  const why = fleetSkipReason();
  if (why) return { skipped: why };
  const sizes = ctx.quick ? [1, 2] : [1, 2, 4, 8];
  const maxN = Math.max(...sizes);
  const exp = await exportedStudent(ctx);
  const { createBundle } = await import('../pipeline/src/bundle/index.js');
  ctx.log('  fleet: bundle for rpi4-arm64');
  const bundle = await createBundle({ device: 'rpi4-arm64', policyDir: exp.dir, teacher: TEACHER, out: join(ctx.workDir, 'fleet-bundle'), name: 'cartpole', budgetOverride: EMULATED_BUDGETS });
  const devices: DeviceInfo[] = [];
  const started: string[] = [];
  const script = (s: string) => join(REPO_ROOT, 'scripts/device', s);
  try {
    for (let k = 1; k <= maxN; k++) {
      const name = `bench-fleet-${k}`;
      ctx.log(`  fleet: start ${name}`);
      const r = await runChild(script('start.sh'), [name], { timeoutSeconds: 900 });
      if (r.code !== 0) throw new Error(`start.sh ${name} exited ${r.code}: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
      started.push(name);
      devices.push(JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as DeviceInfo);
    }
    // One ssh config holding every device's Host block (each has its own key and known_hosts).
    const sshConfig = join(ctx.workDir, 'fleet-ssh_config');
    writeFileSync(sshConfig, devices.map((d) => readFileSync(d.ssh_config_file, 'utf8')).join('\n'));
    const outDir = join(ctx.workDir, 'fleet-reports');
    mkdirSync(outDir, { recursive: true });
    const runs: Record<string, unknown>[] = [];
    for (const n of sizes) {
      const targets = devices.slice(0, n).flatMap((d) => ['--target', `ssh://${d.name}${d.deploy_path}?node=${d.node_path}`]);
      ctx.log(`  fleet: flash + check on ${n} device(s)`);
      const r = await runChild(
        'node',
        [
          join(REPO_ROOT, 'pipeline/bin/edgedistill.js'),
          'flash',
          bundle.path,
          ...targets,
          '--ssh-config',
          sshConfig,
          '--concurrency',
          String(n),
          '--check-args',
          ctx.quick ? '--calls 200 --episodes 1' : '--calls 2000 --episodes 3',
          '--out',
          join(outDir, `n${n}`),
          '--json',
          '--quiet',
        ],
        { cwd: REPO_ROOT, timeoutSeconds: ctx.quick ? 1200 : 3600 },
      );
      let summary: unknown = null;
      try {
        summary = JSON.parse(r.stdout);
      } catch {
        summary = r.stdout.trim().split('\n').slice(-5);
      }
      const results = ((summary as { results?: { ok?: boolean; seconds?: number }[] } | null)?.results ?? []) as { ok?: boolean; seconds?: number }[];
      runs.push({
        devices: n,
        wallSeconds: r.seconds,
        exitCode: r.code,
        timedOut: r.timedOut,
        devicesOk: results.filter((x) => x.ok === true).length,
        perDeviceSeconds: results.map((x) => x.seconds ?? null),
        summary,
        stderrTail: r.code === 0 ? undefined : r.stderr.trim().split('\n').slice(-5),
      });
    }
    return { bundle: { path: bundle.path, bytes: bundle.bytes }, budgets: EMULATED_BUDGETS, checkArgs: ctx.quick ? '--calls 200 --episodes 1' : '--calls 2000 --episodes 3', runs };
  } finally {
    for (const name of started) await runChild(script('stop.sh'), [name], { timeoutSeconds: 120 }).catch(() => undefined);
  }
}
