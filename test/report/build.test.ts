import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { buildReport, normalizeCheck, writeReport, REPORT_SCHEMA, type MachineFacts, type ReportData } from '../../pipeline/src/report/index.js';
import { ARTIFACTS, ARTIFACTS_JSON, COMPRESS, DEVICES, TEACHER_BYTES, bundleManifest, checkReport, distillReport, writeRunDir } from './fixtures.js';

const machine: MachineFacts = { hostname: 'desk', cpu: 'AMD EPYC', board: null, cores: 2, arch: 'x64', os: 'linux', node: 'v20.20.2', memMiB: 1024 };
const made: string[] = [];
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  made.push(d);
  return d;
};
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function thrown(fn: () => unknown): EdgeDistillError {
  try {
    fn();
  } catch (e) {
    if (e instanceof EdgeDistillError) return e;
    throw e;
  }
  throw new Error('did not throw');
}

describe('buildReport', () => {
  it('normalizes a check report as the device check writes it', () => {
    const c = normalizeCheck({ data: checkReport(DEVICES[0]), file: 'check-report.json' });
    expect(c.key).toBe('rpi4-arm64@rpi4-lab');
    expect(c.platform).toMatchObject({ hostname: 'rpi4-lab', cpu: 'Cortex-A72', board: 'Raspberry Pi 4 Model B Rev 1.5', cores: 4, arch: 'arm64', node: 'v20.20.2' });
    expect(c.artifacts[3]).toMatchObject({ name: 'student-js', role: 'student', backend: 'js', agreement: 0.991 });
    expect(c.artifacts[3].latencyUs).toMatchObject({ p50: 3.21, p90: 3.48, p99: 6.95, max: 188.4, calls: 20000 });
    expect(c.randomReturn).toMatchObject({ mean: 22.1, std: 10.4, episodes: 20 });
    expect(c.budgets).toHaveLength(13);
    expect(c.budgets[0]).toEqual({ name: 'student-onnx-int8/p99LatencyUs', artifact: 'student-onnx-int8', op: '<=', limit: 2000, value: 48.9, passed: true, note: null });
    expect(c.passed).toBe(true);
  });

  it('takes the teacher from the distill report and its size from artifacts.json', () => {
    const d = buildReport({ machine, distill: { data: distillReport() }, artifacts: { data: ARTIFACTS_JSON }, bundles: [{ data: bundleManifest('rpi4-arm64', 2000), file: 'b/manifest.json' }] });
    expect(d.schema).toBe(REPORT_SCHEMA);
    expect(d.env).toBe('CartPole-v1');
    expect(d.teacher).toMatchObject({ name: 'teacher.onnx', params: 67586, bytes: TEACHER_BYTES, outputKind: 'logits' });
    expect(d.teacher?.return?.mean).toBe(500);
    expect(d.artifacts).toHaveLength(6);
    expect(d.artifacts[3]).toEqual({
      name: 'tflite-fp16',
      role: 'student',
      format: 'tflite-fp16',
      precision: 'fp16',
      runtime: 'LiteRT.js 2.5.3 (wasm)',
      file: null, // the gate kept it from its final name
      bytes: 10944,
      sha256: '04'.repeat(32),
      maxAbsError: 0.061,
      maxAbsErrorVsReference: 2.1e-3,
      reference: 'ir-fp16-weights',
      tolerance: null,
      agreementVsIr: 0.984,
      agreementVsTeacher: 0.979,
      passed: false,
      reasons: ['action agreement with the fp32 IR 98.40% < 99%'],
    });
    expect(d.bundles[0]).toMatchObject({ device: 'rpi4-arm64', dir: 'b', files: 7, budgets: { controlPeriodUs: 2000 } });
  });

  it('turns compress-report.json rows into a table with columns named for people', () => {
    const d = buildReport({ machine, compress: { data: COMPRESS, file: 'compress-report.json' } });
    expect(d.compress?.steps).toHaveLength(5);
    expect(d.compress?.steps[2]).toEqual({
      step: 'magnitude 50%',
      kept: false,
      hidden: '32×32',
      params: 1346,
      nonzero: 707,
      bytes: 5384,
      'gzip bytes': 2890,
      storage: 'float32',
      agreement: 0.962,
      retention: 0.91,
      return: 23.28 + 0.91 * (500 - 23.28),
      targets: 'missed',
      seconds: 3.1,
    });
    expect(d.compress?.facts).toMatchObject({ result: '32×32, 1,346 params, int8', agreement: 0.985, retention: 0.964, 'targets met': true, env: 'CartPole-v1', wallSeconds: 14.8 });
    expect(d.compress?.notes).toEqual(['magnitude pruning cost more than 1% agreement and was dropped']);
  });

  it('merges check reports by device and host: a new device is added, the same one replaced', () => {
    const first = buildReport({ machine, checks: [{ data: checkReport(DEVICES[0]), file: 'a.json' }] });
    const second = buildReport({ machine, previous: first, checks: [{ data: checkReport(DEVICES[1]), file: 'b.json' }] });
    expect(second.checks.map((c) => c.key)).toEqual(['rpi4-arm64@rpi4-lab', 'jetson-orin-nano@orin-01']);
    const rerun = checkReport({ ...DEVICES[0], slow: 2 });
    const third = buildReport({ machine, previous: second, checks: [{ data: rerun, file: 'c.json' }] });
    expect(third.checks.map((c) => c.key)).toEqual(['rpi4-arm64@rpi4-lab', 'jetson-orin-nano@orin-01']);
    expect(third.checks[0].artifacts[0].latencyUs?.p50).toBeCloseTo(2 * 96.4, 6);
    expect(third.checks[0].file).toBe('c.json');
    expect(third.sources).toEqual(['a.json', 'b.json', 'c.json']);
  });

  it('names the file and field of a wrong value', () => {
    const bad = checkReport(DEVICES[0]) as { budgets: { limit: unknown }[] };
    bad.budgets[2].limit = 'fast';
    const e = thrown(() => buildReport({ machine, checks: [{ data: bad, file: 'dev/check-report.json' }] }));
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.file).toBe('dev/check-report.json');
    expect(e.field).toBe('budgets.2.limit');
    const e2 = thrown(() => buildReport({ machine, distill: { data: { curve: 'no' }, file: 'report.json' } }));
    expect([e2.file, e2.field]).toEqual(['report.json', 'curve']);
    const e3 = thrown(() => buildReport({ machine, previous: { schema: 'edgedistill.report/99' } as unknown as ReportData }));
    expect(e3.field).toBe('schema');
  });
});

describe('writeReport', () => {
  it('builds report.html and report.json from a run directory; --add merges a device; report.json remembers it', async () => {
    const dir = tmp('ed-report-');
    writeRunDir(dir);
    const r = await writeReport(dir, [], { machine, generatedAt: '2026-11-27T20:00:00.000Z' });
    expect(r.json).toBe(join(dir, 'report.json'));
    const data = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportData;
    expect(data.schema).toBe(REPORT_SCHEMA);
    expect(data.generatedAt).toBe('2026-11-27T20:00:00.000Z');
    expect(data.distill?.agreement).toBe(0.991);
    expect(data.checks.map((c) => c.key)).toEqual(['rpi4-arm64@rpi4-lab']);
    expect(data.bundles[0]).toMatchObject({ device: 'rpi4-arm64', dir: 'bundles/rpi4-arm64', files: 7 });
    expect(data.sources).toEqual(['distill/report.json', 'compress/compress-report.json', 'export/artifacts.json', 'bundles/rpi4-arm64/manifest.json', 'bundles/rpi4-arm64/check-report.json']);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('data-chart="latency-rpi4-arm64-rpi4-lab"');
    // No temp files left behind.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // Rebuilding with a second device's check: both devices.
    const extra = join(tmp('ed-report-add-'), 'check-report.json');
    writeFileSync(extra, JSON.stringify(checkReport(DEVICES[1])));
    await writeReport(dir, [extra], { machine });
    const again = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportData;
    expect(again.checks.map((c) => c.key)).toEqual(['rpi4-arm64@rpi4-lab', 'jetson-orin-nano@orin-01']);
    expect(again.distill?.curve).toHaveLength(20);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('data-chart="latency-jetson-orin-nano-orin-01"');

    // And once more with nothing added: the added device is remembered through report.json.
    await writeReport(dir, [], { machine });
    expect((JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ReportData).checks).toHaveLength(2);
  });

  it("in distill's own output directory, leaves its report.json alone and writes report-data.json", async () => {
    const dir = tmp('ed-report-distill-');
    writeRunDir(dir, { distillAtRoot: true });
    const distillText = readFileSync(join(dir, 'report.json'), 'utf8');
    const extra = join(tmp('ed-report-add-'), 'check-report.json');
    writeFileSync(extra, JSON.stringify(checkReport(DEVICES[1])));
    const r = await writeReport(dir, [extra], { machine });
    expect(r.json).toBe(join(dir, 'report-data.json'));
    expect(readFileSync(join(dir, 'report.json'), 'utf8')).toBe(distillText);
    expect(r.data.sources[0]).toBe('report.json');
    const again = await writeReport(dir, [], { machine });
    expect(again.data.checks).toHaveLength(2); // remembered through report-data.json
    expect(again.data.distill?.agreement).toBe(0.991);
    expect(readFileSync(join(dir, 'report.json'), 'utf8')).toBe(distillText);
  });

  it('keeps an infinite error (a NaN output) through report.json', async () => {
    const dir = tmp('ed-report-inf-');
    writeFileSync(join(dir, 'artifacts.json'), JSON.stringify({ ...ARTIFACTS_JSON, artifacts: [{ ...ARTIFACTS[1], maxAbsErrorVsIR: 'Infinity', status: 'fail' }] }));
    await writeReport(dir, [], { machine });
    expect(readFileSync(join(dir, 'report.json'), 'utf8')).toContain('"maxAbsError": "Infinity"');
    const r = await writeReport(dir, [], { machine });
    expect(r.data.artifacts[0].maxAbsError).toBe(Infinity);
    expect(readFileSync(r.html, 'utf8')).toContain('∞');
  });

  it('works on an empty directory and refuses what it does not know', async () => {
    const dir = tmp('ed-report-empty-');
    const r = await writeReport(dir, [], { machine });
    expect(existsSync(r.html)).toBe(true);
    expect(r.data.checks).toEqual([]);
    const junk = join(dir, 'junk.json');
    writeFileSync(junk, '{"hello": 1}');
    await expect(writeReport(dir, [junk], { machine })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', file: junk, field: '--add' });
    writeFileSync(junk, '{"hello": ');
    await expect(writeReport(dir, [junk], { machine })).rejects.toMatchObject({ code: 'BAD_CONFIG', file: junk });
    await expect(writeReport(join(dir, 'nope'), [], { machine })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: '--dir' });
  });
});
