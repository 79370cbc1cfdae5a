// The check's arithmetic against hand-computed values.
import { describe, expect, it } from 'vitest';
import {
  actionAgreement,
  actionRmse,
  evaluateBudgets,
  manifestProblems,
  bundlePathProblem,
  maxAbsError,
  meanStd,
  percentileSorted,
  returnRetention,
  summarizeLatency,
  type ArtifactReport,
} from '../../runtime/src/check/index.js';

describe('percentiles (nearest rank)', () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  it('picks measured values: ceil(p/100 * n)-th smallest', () => {
    expect(percentileSorted(ten, 50)).toBe(5); // ceil(5) = 5th
    expect(percentileSorted(ten, 90)).toBe(9);
    expect(percentileSorted(ten, 99)).toBe(10); // ceil(9.9) = 10th
    expect(percentileSorted(ten, 100)).toBe(10);
    expect(percentileSorted(ten, 0)).toBe(1);
    expect(percentileSorted([7], 99)).toBe(7);
    expect(percentileSorted([], 50)).toBeNaN();
  });

  it('p99 of 1000 calls is the 990th smallest, so ten slow calls show up as p99 only past 1%', () => {
    const s = Array.from({ length: 1000 }, (_, i) => (i < 989 ? 1 : 100));
    expect(percentileSorted(s, 99)).toBe(100); // 11 slow calls > 1%
    const t = Array.from({ length: 1000 }, (_, i) => (i < 990 ? 1 : 100));
    expect(percentileSorted(t, 99)).toBe(1); // exactly 1%: the 990th is still fast
  });

  it('summarizes nanoseconds as microseconds, unsorted input, first `count` samples only', () => {
    const ns = Float64Array.from([3000, 1000, 2000, 10_000, 4000, 999_999]);
    const s = summarizeLatency(ns, 5);
    expect(s).toEqual({ p50: 3, p90: 10, p99: 10, max: 10, min: 1, mean: 4, calls: 5 });
    expect(Array.from(ns)).toEqual([3000, 1000, 2000, 10_000, 4000, 999_999]); // not sorted in place
  });
});

describe('returns, agreement, errors', () => {
  it('mean and population std', () => {
    expect(meanStd([2, 4, 4, 4, 5, 5, 7, 9])).toEqual({ mean: 5, std: 2 });
    expect(meanStd([500])).toEqual({ mean: 500, std: 0 });
  });

  it('agreement is the share of equal actions', () => {
    expect(actionAgreement([0, 1, 1, 0], [0, 1, 0, 0])).toBe(0.75);
    expect(actionAgreement([2], [2])).toBe(1);
    expect(() => actionAgreement([0], [0, 1])).toThrow(RangeError);
  });

  it('max abs error over rows; NaN counts as infinitely wrong', () => {
    expect(maxAbsError([[1, 2], [3, 4]], [Float32Array.of(1, 2.5), Float32Array.of(2.75, 4)])).toBe(0.5);
    expect(maxAbsError([[0]], [[NaN]])).toBe(Infinity);
    expect(actionRmse([[0, 0]], [[3, 4]])).toBeCloseTo(Math.sqrt(12.5), 12);
  });

  it('retention = (student - random) / (teacher - random); null when the teacher does not beat random', () => {
    expect(returnRetention(260, 500, 20)).toBe(0.5);
    expect(returnRetention(20, 500, 20)).toBe(0);
    expect(returnRetention(100, 20, 20)).toBeNull();
    expect(returnRetention(100, 10, 20)).toBeNull();
  });
});

describe('budgets', () => {
  const art = (over: Partial<ArtifactReport>): ArtifactReport =>
    ({
      name: 's',
      role: 'student',
      latencyUs: { p99: 100 },
      agreement: 0.9,
      returnRetention: 0.95,
      ...over,
    }) as ArtifactReport;
  const b = { controlPeriodUs: 100, maxRssMiB: 64, minAgreement: 0.9, minReturnRetention: 0.9 };

  it('limits are inclusive, the teacher has none, memory is process-wide', () => {
    const r = evaluateBudgets(b, [art({ role: 'teacher', name: 't', latencyUs: { p99: 1e9 } as never }), art({})], 64);
    expect(r.map((x) => [x.name, x.passed])).toEqual([
      ['s/p99LatencyUs', true],
      ['s/agreement', true],
      ['s/returnRetention', true],
      ['peakRssMiB', true],
    ]);
  });

  it('fails each figure on its own, and an undefined retention fails with a note', () => {
    const r = evaluateBudgets(b, [art({ latencyUs: { p99: 100.001 } as never, agreement: 0.89, returnRetention: null })], 64.1);
    expect(r.filter((x) => !x.passed).map((x) => x.name)).toEqual(['s/p99LatencyUs', 's/agreement', 's/returnRetention', 'peakRssMiB']);
    expect(r.find((x) => x.name === 's/returnRetention')!.note).toMatch(/random/);
  });

  it('continuous students (agreement null) get no agreement budget', () => {
    const r = evaluateBudgets(b, [art({ agreement: null })], 1);
    expect(r.map((x) => x.name)).toEqual(['s/p99LatencyUs', 's/returnRetention', 'peakRssMiB']);
  });
});

describe('manifest contract', () => {
  it('refuses unsafe paths', () => {
    expect(bundlePathProblem('a/b.onnx')).toBeNull();
    for (const p of ['/etc/passwd', '../x', 'a/../../x', 'a//b', './a', 'a\\b', 'manifest.json', '']) expect(bundlePathProblem(p), p).not.toBeNull();
  });

  it('lists every problem with its field', () => {
    const problems = manifestProblems({
      format: 'edgedistill.bundle/0',
      device: 'pi4',
      profile: {},
      budgets: { controlPeriodUs: -1, maxRssMiB: 10, minAgreement: 2, minReturnRetention: 0.9 },
      envId: 'CartPole-v1',
      card: {},
      artifacts: [
        { name: 't', role: 'teacher', path: 't.onnx', format: 'onnx', backend: 'ort-node', goldenKey: 't' },
        { name: 't', role: 'pupil', path: 'missing.mjs', format: 'js', backend: 'tfjs', goldenKey: 's' },
      ],
      golden: 'golden.json',
      files: { 't.onnx': { sha256: 'ab', bytes: 1 }, '../golden.json': { sha256: '0'.repeat(64), bytes: 2 } },
      checkEpisodes: 0,
      runtime: { entry: '../edgedistill-device.mjs', nodeRange: '>=20', packages: [] },
    });
    const fields = problems.map((p) => p.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'format',
        'checkEpisodes',
        'budgets.controlPeriodUs',
        'budgets.minAgreement',
        'files["t.onnx"].sha256',
        'files["../golden.json"]',
        'golden',
        'artifacts[1].name',
        'artifacts[1].role',
        'artifacts[1].backend',
        'artifacts[1].path',
        'artifacts',
        'runtime.entry',
      ]),
    );
    expect(fields).not.toContain('budgets.maxRssMiB');
  });
});
