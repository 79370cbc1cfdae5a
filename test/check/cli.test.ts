// The device CLI as a process: `node runtime/bin/edgedistill-device.js check DIR ...`.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_REPORT_FORMAT, type CheckReport } from '../../runtime/src/check/index.js';
import { deviceBin, readJson, run, standardArtifacts, teacherModel, teacherVisited, tempDir, writeBundle, type ArtifactSpec } from './helpers.js';

const tmp = tempDir();
const goldenObs = teacherVisited(teacherModel(), 32);
const device = (args: string[], cwd?: string) => run(process.execPath, [deviceBin, ...args], { cwd });

function bundle(name: string, budgets = {}, artifacts: ArtifactSpec[] = standardArtifacts(goldenObs)): string {
  const dir = join(tmp.dir, name);
  writeBundle(dir, { artifacts, goldenObs, checkEpisodes: 2, budgets });
  return dir;
}

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.tmp'));

let okDir: string;
beforeAll(() => {
  okDir = bundle('ok');
});
afterAll(() => tmp.cleanup());

describe('edgedistill-device check', () => {
  it('--help explains the command, the exit codes and gives an example', async () => {
    const r = await device(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: edgedistill-device check [BUNDLE_DIR]');
    expect(r.stdout).toMatch(/Exit codes: 0 every budget met, 1 a budget failed, 2 bad bundle/);
    expect(r.stdout).toMatch(/Example:\n\s+\$ .*edgedistill-device\.mjs check/);
    expect((await device(['check', '-h'])).code).toBe(0);
  });

  it('--json prints the report it wrote to BUNDLE_DIR/check-report.json; exit 0 when all budgets pass', async () => {
    const r = await device(['check', okDir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const printed = JSON.parse(r.stdout) as CheckReport;
    const written = readJson<CheckReport>(join(okDir, 'check-report.json'));
    expect(printed).toEqual(written);
    expect(written.format).toBe(CHECK_REPORT_FORMAT);
    expect(written.passed).toBe(true);
    expect(written.artifacts.map((a) => a.latencyUs.calls)).toEqual([10_000, 10_000, 10_000]);
    for (const a of written.artifacts) {
      const l = a.latencyUs;
      expect(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max, a.name).toBe(true);
    }
    // Not a TTY: no progress on stderr.
    expect(r.stderr).toBe('');
    expect(leftovers(okDir)).toEqual([]);
  });

  it('prints a compact table by default and one verdict line with --quiet', async () => {
    const r = await device(['check', okDir, '--episodes', '1', '--calls', '2000']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^artifact\s+role\s+backend\s+format\s+calls\s+p50\s+p90\s+p99\s+max/m);
    expect(r.stdout).toMatch(/^teacher\s+teacher\s+ort-node\s+onnx\s+2000\s/m);
    expect(r.stdout).toMatch(/^student-js-int8\s+student\s+js\s+js-int8\s+2000\s/m);
    expect(r.stdout).toMatch(/^ {2}pass {2}student-js-fp32\/p99LatencyUs\s/m);
    expect(r.stdout).toMatch(/^PASSED: 7 budgets met/m);
    expect(r.stdout).toContain(`report: ${join(okDir, 'check-report.json')}`);
    const q = await device(['check', okDir, '--quiet', '--episodes', '1', '--calls', '1000']);
    expect(q.code).toBe(0);
    expect(q.stdout.trim().split('\n')).toHaveLength(1);
    expect(q.stdout).toMatch(/^PASSED/);
  });

  it('follows a `current` symlink to the release: the report names the release and lands in it', async () => {
    const link = join(tmp.dir, 'current');
    symlinkSync('ok', link, 'dir');
    rmSync(join(okDir, 'check-report.json'), { force: true });
    const r = await device(['check', 'current', '--calls', '1000', '--episodes', '1', '--quiet'], tmp.dir);
    expect(r.code, r.stderr).toBe(0);
    expect(readJson<CheckReport>(join(okDir, 'check-report.json')).bundle.dir).toBe(okDir);
  });

  it('a too-tight control period fails with exit 1 and names the budget', async () => {
    const dir = bundle('tight', { controlPeriodUs: 0.001 });
    const r = await device(['check', dir, '--calls', '1000', '--episodes', '1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}FAIL {2}student-js-fp32\/p99LatencyUs\s+\S+ <= 0\.001$/m);
    expect(r.stdout).toMatch(/^FAILED: 2 of 7 budgets not met: student-js-fp32\/p99LatencyUs, student-js-int8\/p99LatencyUs$/m);
    const report = readJson<CheckReport>(join(dir, 'check-report.json'));
    expect(report.passed).toBe(false);
    expect(report.failed).toEqual(['student-js-fp32/p99LatencyUs', 'student-js-int8/p99LatencyUs']);
    expect(report.budgets.find((b) => b.name === 'student-js-int8/p99LatencyUs')).toMatchObject({ budget: 'controlPeriodUs', limit: 0.001, passed: false });
  });

  it('a tampered file exits 2, names the file, measures nothing and leaves the old report alone', async () => {
    const dir = bundle('tampered');
    writeFileSync(join(dir, 'check-report.json'), '{"old": true}\n');
    writeFileSync(join(dir, 'teacher.onnx'), Buffer.concat([readFileSync(join(dir, 'teacher.onnx')), Buffer.from([0])]));
    const r = await device(['check', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error[CHECKSUM]');
    expect(r.stderr).toContain(join(dir, 'teacher.onnx'));
    expect(r.stderr).toMatch(/teacher\.onnx has \d+ bytes, the manifest says \d+/);
    expect(r.stdout).toBe('');
    expect(readFileSync(join(dir, 'check-report.json'), 'utf8')).toBe('{"old": true}\n');

    const j = await device(['check', dir, '--json']);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toMatchObject({ error: 'CHECKSUM', file: join(dir, 'teacher.onnx') });
  });

  it('a directory without manifest.json, and bad arguments, exit 2', async () => {
    const none = await device(['check', tmp.dir]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/error\[BAD_CONFIG\] .*manifest\.json: no manifest\.json/);
    for (const args of [['check', okDir, '--episodes', '0'], ['check', okDir, '--frobnicate'], ['inspect', okDir], ['check', okDir, 'extra'], []]) {
      const r = await device(args);
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  it('a backend failing at run time exits 3 and names the artifact', async () => {
    // A module that passes its load check, then fails like a flaky sensor driver would.
    const flaky = `export const metadata = {
  format: 'edgedistill.compiled/1', variant: 'fp32', envId: 'CartPole-v1', obsDim: 4, outDim: 2, outputName: 'logits',
  observationSpace: { shape: [4], low: [-Infinity, -Infinity, -Infinity, -Infinity], high: [Infinity, Infinity, Infinity, Infinity] },
  actionSpace: { kind: 'discrete', n: 2, start: 0 }, card: {},
};
let calls = 0;
export function forward(obs) { if (++calls > 3) throw new Error('simulated fault'); return Float32Array.of(-obs[2], obs[2]); }
export function act(obs) { const y = forward(obs); return y[1] > y[0] ? 1 : 0; }
`;
    const [teacher] = standardArtifacts(goldenObs);
    const dir = bundle('flaky', {}, [teacher, { name: 'student-flaky', role: 'student', file: 'flaky.mjs', format: 'js', backend: 'js', bytes: flaky, desktop: (o) => Float32Array.of(-o[2], o[2]) }]);
    const r = await device(['check', dir]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/error\[RUNTIME\] .*flaky\.mjs: measuring student-flaky failed: simulated fault/);
    expect(existsSync(join(dir, 'check-report.json'))).toBe(false);
  });

  it('writes the report atomically: a new file renamed over the old one, no temp files left', async () => {
    const dir = bundle('atomic');
    const target = join(dir, 'check-report.json');
    const old = `${JSON.stringify({ old: true, pad: 'x'.repeat(100_000) })}\n`;
    writeFileSync(target, old);
    const inodeBefore = statSync(target).ino;
    // Read the report over and over while the check runs: every read must be a whole JSON document.
    const seen = new Set<string>();
    let torn = 0;
    const poll = setInterval(() => {
      const text = readFileSync(target, 'utf8');
      try {
        JSON.parse(text);
        seen.add(text === old ? 'old' : 'new');
      } catch {
        torn++;
      }
    }, 1);
    const r = await device(['check', dir, '--calls', '1000', '--episodes', '1']);
    clearInterval(poll);
    expect(r.code, r.stderr).toBe(0);
    expect(torn).toBe(0);
    expect(seen.has('old')).toBe(true);
    expect(statSync(target).ino).not.toBe(inodeBefore);
    expect(readJson<CheckReport>(target).format).toBe(CHECK_REPORT_FORMAT);
    expect(leftovers(dir)).toEqual([]);
  });

  it('--out writes elsewhere; an unwritable --out exits 3 after printing the measurements', async () => {
    const out = join(tmp.dir, 'reports', 'pi1.json');
    const r = await device(['check', okDir, '--out', out, '--calls', '1000', '--episodes', '1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(readJson<CheckReport>(out)).toEqual(JSON.parse(r.stdout));

    // The parent of --out is a regular file: the temp file cannot be created.
    const bad = join(okDir, 'manifest.json', 'report.json');
    const w = await device(['check', okDir, '--out', bad, '--calls', '1000', '--episodes', '1', '--json']);
    expect(w.code).toBe(3);
    const printed = JSON.parse(w.stdout) as { error: string; file: string; report: CheckReport };
    expect(printed).toMatchObject({ error: 'IO', file: bad });
    expect(printed.report.format).toBe(CHECK_REPORT_FORMAT);
    expect(w.stderr).toContain('error[IO]');
  });
});
