// runCheck on real bundles: a teacher ONNX on onnxruntime-node, compiled JS students (fp32, int8).
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { act as irAct, argmaxRow, forward as irForward } from '../../pipeline/src/ir/index.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { CHECK_REPORT_FORMAT, runCheck, type CheckProgress, type CheckReport } from '../../runtime/src/check/index.js';
import { EdgeDistillError } from '../../runtime/src/errors.js';
import {
  readJson,
  standardArtifacts,
  studentModel,
  teacherModel,
  teacherVisited,
  tempDir,
  writeBundle,
  type ArtifactSpec,
} from './helpers.js';

const tmp = tempDir();
const goldenObs = teacherVisited(teacherModel(), 64);
const standardDir = join(tmp.dir, 'standard');
let report: CheckReport;
let events: CheckProgress[];

beforeAll(async () => {
  writeBundle(standardDir, { artifacts: standardArtifacts(goldenObs), goldenObs, checkEpisodes: 5 });
  events = [];
  report = await runCheck(standardDir, { onProgress: (p) => events.push(p) });
});
afterAll(() => tmp.cleanup());

/** Rejection of `p` as an EdgeDistillError (fails the test if it resolves or throws anything else). */
async function rejection(p: Promise<unknown>): Promise<EdgeDistillError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(EdgeDistillError);
  return e as EdgeDistillError;
}

describe('runCheck on a teacher ONNX and two JS students', () => {
  it('reports in the documented schema', () => {
    expect(report.format).toBe(CHECK_REPORT_FORMAT);
    expect(report.device).toBe('test-device');
    const manifestBytes = readFileSync(join(standardDir, 'manifest.json'));
    expect(report.bundle.manifestSha256).toBe(createHash('sha256').update(manifestBytes).digest('hex'));
    expect(report.bundle).toMatchObject({ dir: standardDir, envId: 'CartPole-v1', filesVerified: 4 });
    expect(report.platform).toMatchObject({ os: process.platform, arch: process.arch, nodeVersion: process.version, hostname: hostname() });
    expect(report.platform.cores).toBeGreaterThanOrEqual(1);
    expect(report.platform.cpuModel.length).toBeGreaterThan(0);
    expect(report.artifacts.map((a) => [a.name, a.role, a.backend, a.format, a.variant])).toEqual([
      ['teacher', 'teacher', 'ort-node', 'onnx', 'fp32'],
      ['student-js-fp32', 'student', 'js', 'js', 'fp32'],
      ['student-js-int8', 'student', 'js', 'js-int8', 'int8'],
    ]);
    expect(report.budgets.map((b) => b.name)).toEqual([
      'student-js-fp32/p99LatencyUs',
      'student-js-fp32/agreement',
      'student-js-fp32/returnRetention',
      'student-js-int8/p99LatencyUs',
      'student-js-int8/agreement',
      'student-js-int8/returnRetention',
      'peakRssMiB',
    ]);
    expect(report.budgets.every((b) => b.passed)).toBe(true);
    expect(report.passed).toBe(true);
    expect(report.failed).toEqual([]);
    expect(new Date(report.startedAt).toISOString()).toBe(report.startedAt);
    expect(report.wallSeconds).toBeGreaterThan(0);
    expect(report.settings).toMatchObject({ episodes: 5, minCalls: 10_000, goldenObservations: 64 });
    // JSON round trip keeps everything (no NaN or Infinity turned into null).
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it('measures latency over at least 10 000 timed calls, with ordered percentiles', () => {
    for (const a of report.artifacts) {
      const l = a.latencyUs;
      expect(l.calls, a.name).toBeGreaterThanOrEqual(10_000);
      expect(l.stoppedByTimeBound).toBe(false);
      expect(l.warmupCalls).toBeGreaterThan(0);
      expect(l.min).toBeGreaterThan(0);
      expect(l.min).toBeLessThanOrEqual(l.p50);
      expect(l.p50).toBeLessThanOrEqual(l.p90);
      expect(l.p90).toBeLessThanOrEqual(l.p99);
      expect(l.p99).toBeLessThanOrEqual(l.max);
      expect(l.mean).toBeLessThanOrEqual(l.max);
      expect(l.call).toBe(a.backend === 'js' ? 'actSync' : 'await act');
    }
    const t = report.artifacts[0].latencyUs;
    for (const s of report.artifacts.slice(1)) {
      expect(s.latencyRatioVsTeacher!.p50).toBeCloseTo(s.latencyUs.p50 / t.p50, 3);
      expect(s.latencyRatioVsTeacher!.p99).toBeCloseTo(s.latencyUs.p99 / t.p99, 3);
    }
    expect(report.artifacts[0].latencyRatioVsTeacher).toBeNull();
    expect(report.settings.timerOverheadUs).toBeGreaterThan(0);
  });

  it('agreement and errors match what the desktop models compute', () => {
    const teacher = teacherModel();
    const student = studentModel();
    const tActs = goldenObs.map((o) => irAct(teacher, Float32Array.from(o)) as number);
    const golden = readJson<{ outputs: Record<string, number[][]> }>(join(standardDir, 'golden.json'));
    for (const name of ['student-js-fp32', 'student-js-int8']) {
      const sActs = golden.outputs[name].map((row) => argmaxRow(row, 2));
      const same = sActs.filter((a, i) => a === tActs[i]).length;
      const a = report.artifacts.find((x) => x.name === name)!;
      expect(a.agreement, name).toBe(same / goldenObs.length);
      expect(a.agreement).toBeLessThan(1); // a real student, not a copy
    }
    // The compiled modules compute exactly what the desktop's reference passes do.
    expect(report.artifacts[1].maxAbsErrorVsDesktop).toBe(0);
    expect(report.artifacts[2].maxAbsErrorVsDesktop).toBe(0);
    // onnxruntime's float32 kernels differ from the IR's summation order in the last bits only.
    expect(report.artifacts[0].maxAbsErrorVsDesktop).toBeLessThan(1e-4);
    expect(report.artifacts[0].agreement).toBe(1);
    // The fp32 student agrees with its desktop self on every golden row.
    expect(golden.outputs['student-js-fp32'].map((r) => argmaxRow(r, 2))).toEqual(goldenObs.map((o) => argmaxRow(irForward(student, Float32Array.from(o), 1), 2)));
  });

  it('returns over seeded episodes, random baseline and retention', () => {
    const [t, s32, s8] = report.artifacts;
    expect(t.return).toMatchObject({ mean: 500, std: 0, min: 500, max: 500, episodes: 5, steps: 2500 });
    const rnd = report.random.return;
    expect(rnd.episodes).toBe(5);
    expect(rnd.mean).toBeGreaterThan(8);
    expect(rnd.mean).toBeLessThan(100);
    for (const s of [s32, s8]) {
      expect(s.returnRetention).toBeCloseTo((s.return.mean - rnd.mean) / (t.return.mean - rnd.mean), 5);
      expect(s.return.std).toBeGreaterThanOrEqual(0);
    }
    expect(t.returnRetention).toBe(1);
  });

  it('is deterministic: a second run gives the same returns, agreement and errors', async () => {
    const again = await runCheck(standardDir, { minCalls: 200 });
    const pick = (r: CheckReport) => r.artifacts.map((a) => [a.return, a.agreement, a.maxAbsErrorVsDesktop, a.returnRetention]);
    expect(pick(again)).toEqual(pick(report));
    expect(again.random).toEqual(report.random);
    expect(again.artifacts.every((a) => a.latencyUs.calls === 200)).toBe(true);
  });

  it('measures memory, students first, and reports progress phases in order', () => {
    expect(report.memory.peakRssMiBStudents).toBeGreaterThan(10);
    expect(report.memory.peakRssMiBStudents).toBeLessThanOrEqual(report.memory.peakRssMiB);
    expect(report.budgets.at(-1)).toMatchObject({ name: 'peakRssMiB', value: report.memory.peakRssMiBStudents, limit: 4096 });
    expect(events[0].phase).toBe('verify');
    expect(events.at(-1)!.phase).toBe('done');
    const order = [...new Set(events.filter((e) => e.artifact).map((e) => e.artifact))];
    expect(order).toEqual(['student-js-fp32', 'student-js-int8', 'teacher']);
    const latency = events.filter((e) => e.phase === 'latency' && e.artifact === 'teacher');
    expect(latency.at(-1)).toMatchObject({ done: 10_000, total: 10_000 });
  });

  it('stops at the time bound and says so', async () => {
    const r = await runCheck(standardDir, { minCalls: 5_000_000, maxSecondsPerArtifact: 0.05, episodes: 1 });
    for (const a of r.artifacts) {
      expect(a.latencyUs.stoppedByTimeBound).toBe(true);
      expect(a.latencyUs.calls).toBeLessThan(5_000_000);
      expect(a.latencyUs.calls).toBeGreaterThanOrEqual(1024);
    }
  });
});

describe('agreement on a tiny golden set, counted by hand', () => {
  // Teacher: push right when z = 0.1x + 0.5x' + theta + 0.5theta' > 0. Student (hand-written
  // module): push right when theta > 0.
  const obs = [
    [0, 0, 0.1, 0.1], //        z = 0.15  -> 1 ; theta > 0 -> 1   same
    [0, 0, 0.1, -0.4], //       z = -0.1  -> 0 ; 1                differ
    [0, 0, -0.1, 0.4], //       z = 0.1   -> 1 ; 0                differ
    [0, 0, -0.1, -0.1], //      z = -0.15 -> 0 ; 0                same
    [0.5, 0.2, 0.05, 0], //     z = 0.2   -> 1 ; 1                same
    [0, -0.6, 0.1, 0], //       z = -0.2  -> 0 ; 1                differ
    [0, 0, 0.2, 0.1], //        z = 0.25  -> 1 ; 1                same
  ];
  const byHand = 4 / 7;
  const thetaOnly = `export const metadata = {
  format: 'edgedistill.compiled/1', variant: 'fp32', envId: 'CartPole-v1', obsDim: 4, outDim: 2, outputName: 'logits',
  observationSpace: { shape: [4], low: [-Infinity, -Infinity, -Infinity, -Infinity], high: [Infinity, Infinity, Infinity, Infinity] },
  actionSpace: { kind: 'discrete', n: 2, start: 0 }, card: { author: 'hand-written' },
};
export function forward(obs) { const y = new Float32Array(2); y[0] = -obs[2]; y[1] = obs[2]; return y; }
export function act(obs) { return obs[2] > 0 ? 1 : 0; }
`;
  let r: CheckReport;
  beforeAll(async () => {
    const teacher = teacherModel();
    const arts: ArtifactSpec[] = [
      { name: 'teacher', role: 'teacher', file: 'teacher.onnx', format: 'onnx', backend: 'ort-node', bytes: policyToOnnx(teacher), desktop: (o) => irForward(teacher, o, 1) },
      { name: 'student-theta', role: 'student', file: 'theta.mjs', format: 'js', backend: 'js', bytes: thetaOnly, desktop: (o) => Float32Array.of(-o[2], o[2]) },
    ];
    const dir = join(tmp.dir, 'tiny');
    writeBundle(dir, { artifacts: arts, goldenObs: obs, checkEpisodes: 3 });
    r = await runCheck(dir, { minCalls: 1000 });
  });

  it('the teacher network takes the hand-labelled actions', () => {
    expect(obs.map((o) => irAct(teacherModel(), Float32Array.from(o)))).toEqual([1, 0, 1, 0, 1, 0, 1]);
  });

  it('gives 4 of 7, and fails the agreement and retention budgets by name', () => {
    const s = r.artifacts[1];
    expect(s.agreement).toBe(byHand);
    expect(s.maxAbsErrorVsDesktop).toBe(0);
    expect(r.passed).toBe(false);
    expect(r.failed).toEqual(['student-theta/agreement', 'student-theta/returnRetention']);
    expect(r.budgets.find((b) => b.name === 'student-theta/agreement')).toMatchObject({ value: byHand, limit: 0.8, op: '>=', passed: false });
    // The angle-only controller drops the pole within ~50 steps; the teacher never does.
    expect(s.return.mean).toBeLessThan(100);
    expect(s.returnRetention!).toBeLessThan(0.2);
  });
});

describe('bad bundles', () => {
  function copyOfStandard(name: string): string {
    const dir = join(tmp.dir, name);
    writeBundle(dir, { artifacts: standardArtifacts(goldenObs), goldenObs, checkEpisodes: 1 });
    return dir;
  }

  it('a tampered file is a CHECKSUM error naming it, and nothing is measured', async () => {
    const dir = copyOfStandard('tampered');
    const file = join(dir, 'student.int8.mjs');
    const src = readFileSync(file, 'utf8');
    // Same size, one weight changed: only the hash can tell.
    let i = src.indexOf('new Int8Array([');
    while (!/[0-9]/.test(src[i])) i++;
    writeFileSync(file, src.slice(0, i) + (src[i] === '1' ? '2' : '1') + src.slice(i + 1));
    expect(readFileSync(file).length).toBe(Buffer.byteLength(src));
    const seen: CheckProgress[] = [];
    const e = await rejection(runCheck(dir, { onProgress: (p) => seen.push(p) }));
    expect(e.code).toBe('CHECKSUM');
    expect(e.file).toBe(file);
    expect(e.message).toContain('student.int8.mjs');
    expect(e.message).toMatch(/sha256/);
    expect(seen.every((p) => p.phase === 'verify')).toBe(true);
  });

  it('a missing or resized file is named too (all of them)', async () => {
    const dir = copyOfStandard('missing');
    rmSync(join(dir, 'teacher.onnx'));
    writeFileSync(join(dir, 'golden.json'), '{}');
    const e = await rejection(runCheck(dir));
    expect(e.code).toBe('CHECKSUM');
    expect(e.details.map((d) => d.text)).toEqual([expect.stringMatching(/^golden\.json has 2 bytes/), 'teacher.onnx is missing']);
  });

  it('no manifest, bad JSON, a broken contract: BAD_CONFIG on manifest.json', async () => {
    const empty = join(tmp.dir, 'no-such-bundle');
    let e = await rejection(runCheck(empty));
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.file).toBe(join(empty, 'manifest.json'));

    const dir = copyOfStandard('badjson');
    writeFileSync(join(dir, 'manifest.json'), '{"format": ');
    e = await rejection(runCheck(dir));
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.message).toMatch(/not valid JSON/);

    const dir2 = copyOfStandard('contract');
    const m = readJson(join(dir2, 'manifest.json'));
    writeFileSync(join(dir2, 'manifest.json'), JSON.stringify({ ...m, budgets: { ...(m.budgets as object), minAgreement: 1.5 } }));
    e = await rejection(runCheck(dir2));
    expect(e).toMatchObject({ code: 'BAD_CONFIG', field: 'budgets.minAgreement' });
  });

  it('an unknown environment or a golden set without an artifact\'s key is located', async () => {
    const dir = copyOfStandard('env');
    const m = readJson(join(dir, 'manifest.json'));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...m, envId: 'CartPol-v1' }));
    let e = await rejection(runCheck(dir));
    expect(e).toMatchObject({ code: 'UNKNOWN_ENV', file: join(dir, 'manifest.json'), field: 'envId' });
    expect(e.message).toMatch(/CartPole-v1/);

    const dir2 = join(tmp.dir, 'golden-key');
    const arts = standardArtifacts(goldenObs);
    writeBundle(dir2, { artifacts: arts, goldenObs, checkEpisodes: 1 });
    const m2 = readJson<{ artifacts: { goldenKey: string }[] }>(join(dir2, 'manifest.json'));
    m2.artifacts[2].goldenKey = 'student-js-int8-desktop';
    writeFileSync(join(dir2, 'manifest.json'), JSON.stringify(m2));
    e = await rejection(runCheck(dir2));
    expect(e).toMatchObject({ code: 'BAD_CONFIG', file: join(dir2, 'golden.json'), field: 'outputs["student-js-int8-desktop"]' });
  });
});
