/**
 * exportPolicy and its parity gate: every artifact run in its real runtime on the golden set,
 * artifacts.json / golden.json, final names only for artifacts that pass, and the gate's rules.
 */
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forward } from '../../pipeline/src/ir/forward.js';
import { mlp } from '../../pipeline/src/ir/build.js';
import { base64ToFloats } from '../../pipeline/src/ir/serialize.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { EXPORT_FORMATS, ExportParityError, exportPolicy, type ArtifactsManifest } from '../../pipeline/src/export/index.js';
import { actionRanges, compareActions, gate, DEFAULT_TOLERANCES } from '../../pipeline/src/export/parity.js';
import { ROOT, STUDENT_DIR, TEACHER_ONNX, cartpoleStudent, runOrt, tmp } from './helpers.js';
import { readQuantizedFile } from '../../pipeline/src/quant/serialize-int8.js';
import { forwardInt8 } from '../../pipeline/src/quant/forward-int8.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let dir: string;
let student: PolicyModel;

beforeAll(async () => {
  dir = tmp();
  student = await cartpoleStudent();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stagingLeft = (d: string) => readdirSync(d).filter((n) => n.startsWith('.edgedistill-export-') || n.endsWith('.tmp'));

describe('gate rules (hand-checked)', () => {
  it('fp32: max abs error against the IR; int8 / fp16: agreement and the reference check', () => {
    expect(gate({ precision: 'fp32', maxAbsVsIR: 1e-4, agreementVsIR: 0, maxAbsVsReference: null, referenceTolerance: null }).pass).toBe(true);
    expect(gate({ precision: 'fp32', maxAbsVsIR: 1.1e-4, agreementVsIR: 1, maxAbsVsReference: null, referenceTolerance: null }).pass).toBe(false);
    expect(gate({ precision: 'int8', maxAbsVsIR: 3, agreementVsIR: 0.99, maxAbsVsReference: 0.05, referenceTolerance: 0.05 }).pass).toBe(true);
    const r = gate({ precision: 'int8', maxAbsVsIR: 3, agreementVsIR: 0.989, maxAbsVsReference: 0.06, referenceTolerance: 0.05 });
    expect(r.pass).toBe(false);
    expect(r.reasons).toHaveLength(2);
    expect(gate({ precision: 'fp16', maxAbsVsIR: 0.01, agreementVsIR: 1, maxAbsVsReference: 2e-4, referenceTolerance: null }).pass).toBe(false);
    expect(gate({ precision: 'fp32', maxAbsVsIR: NaN, agreementVsIR: 1, maxAbsVsReference: null, referenceTolerance: null }).pass).toBe(false);
  });

  it('continuous agreement: within 1% of the action range per dimension; unbounded dims use the spread', () => {
    const head = { kind: 'continuous' as const, dim: 2, squash: 'none' as const, low: new Float32Array([-2, -Infinity]), high: new Float32Array([2, Infinity]) };
    const ref = new Float32Array([0, 0, 1, 10, -1, 20]); // dim 1 spread 20 -> tolerance 0.2
    const ranges = actionRanges(head, ref, 3);
    expect(Array.from(ranges)).toEqual([4, 20]);
    const got = new Float32Array([0.039, 0.19, 1.05, 10, -1, 20.3]);
    const c = compareActions(head, got, ref, 3, ranges, 0.01);
    expect(c.agreement).toBeCloseTo(1 / 3); // row 0 ok (0.039 <= 0.04, 0.19 <= 0.2); row 1: 0.05 > 0.04; row 2: 0.3 > 0.2
    expect(c.maxActionError).toBeCloseTo(0.3, 5);
  });
});

describe('exportPolicy on the CartPole student', () => {
  let out: string;
  let manifest: ArtifactsManifest;

  beforeAll(async () => {
    out = join(dir, 'all');
    // The 0.99 default rejects int8 for this tie-heavy student (97.0% measured, see below); the
    // rest of this suite is about the mechanics, so it accepts 0.95 (recorded in artifacts.json).
    manifest = await exportPolicy({ policyDir: STUDENT_DIR, formats: [...EXPORT_FORMATS], outDir: out, teacher: TEACHER_ONNX, tolerances: { minAgreement: 0.95 } });
  }, 300_000);

  it('writes every artifact under its final name, with artifacts.json and golden.json, and no temp files', () => {
    expect(manifest.passed).toBe(true);
    expect(manifest.artifacts.map((a) => a.format)).toEqual([...EXPORT_FORMATS]);
    expect(readdirSync(out).sort()).toEqual(
      ['artifacts.json', 'golden.json', 'policy.c', 'policy.fp16.onnx', 'policy.fp16.tflite', 'policy.h', 'policy.int8.mjs', 'policy.int8.onnx', 'policy.int8.tflite', 'policy.mjs', 'policy.onnx', 'policy.tflite'].sort(),
    );
    expect(stagingLeft(out)).toEqual([]);
    const onDisk = JSON.parse(readFileSync(join(out, 'artifacts.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(manifest)));
    expect(manifest.tolerances.minAgreement).toBe(0.95);
  });

  it('records bytes and sha256 of the files on disk, the runtime that ran each one, and the errors', () => {
    for (const a of manifest.artifacts) {
      expect(a.status, a.format).toBe('pass');
      for (const f of a.files) {
        const bytes = readFileSync(join(out, f.name));
        expect(f.bytes).toBe(bytes.length);
        expect(f.sha256).toBe(sha(bytes));
      }
      expect(a.sha256).toBe(a.files[0].sha256);
      expect(a.runtime).toMatch(/onnxruntime-node|LiteRT|node v|gcc/);
      expect(a.actionAgreementVsTeacher).toBeGreaterThan(0.9);
      if (a.precision === 'fp32') expect(a.maxAbsErrorVsIR).toBeLessThanOrEqual(1e-4);
      if (a.precision === 'int8') {
        expect(a.reference).toBe('forwardInt8');
        expect(a.mismatchesVsReference, a.format).toBe(0);
      }
    }
    const js = manifest.artifacts.find((a) => a.format === 'js')!;
    expect(js.maxAbsErrorVsIR).toBe(0);
    expect(manifest.artifacts.find((a) => a.format === 'onnx-int8')!.optimizedOps).toContain('com.microsoft:QGemm');
    expect(manifest.teacher!.agreementWithIR).toBeGreaterThan(0.98);
    expect(manifest.golden.source).toMatchObject({ kind: 'rollouts', env: 'CartPole-v1', actor: 'teacher' });
  });

  it('golden.json holds 1000 teacher-visited observations and the IR outputs on them', () => {
    const g = JSON.parse(readFileSync(join(out, 'golden.json'), 'utf8'));
    expect(g).toMatchObject({ format: 'edgedistill-golden', rows: 1000, obsDim: 4, outDim: 2, envId: 'CartPole-v1', outputName: 'logits' });
    const obs = base64ToFloats(g.obs, 4000, 'obs');
    expect(Array.from(base64ToFloats(g.output, 2000, 'output'))).toEqual(Array.from(forward(student, obs, 1000)));
    expect(manifest.golden.sha256).toBe(sha(readFileSync(join(out, 'golden.json'))));
  });

  it('uses the golden set a policy directory carries', async () => {
    const pdir = join(dir, 'with-golden');
    cpSync(STUDENT_DIR, pdir, { recursive: true });
    const g = JSON.parse(readFileSync(join(out, 'golden.json'), 'utf8'));
    writeFileSync(join(pdir, 'golden.json'), JSON.stringify({ ...g, rows: 10, obs: Buffer.from(base64ToFloats(g.obs, 4000, 'obs').slice(0, 40).buffer).toString('base64') }));
    const m = await exportPolicy({ policyDir: pdir, formats: ['onnx'], outDir: join(dir, 'g-out') });
    expect(m.golden.rows).toBe(10);
    expect(m.golden.source).toEqual({ kind: 'file', file: join(pdir, 'golden.json') });
  });
});

describe('int8 from `edgedistill compress`', () => {
  it("exports the policy directory's policy-int8.json integers (equalized normalization included), not a recalibration", async () => {
    const pdir = join(ROOT, 'test/export/fixtures/cartpole-32x32-int8');
    const qp = await readQuantizedFile(join(pdir, 'policy-int8.json'));
    const out = join(dir, 'from-compress');
    const m = await exportPolicy({ policyDir: pdir, formats: ['onnx-int8', 'js-int8', 'c-int8', 'tflite-int8'], outDir: out, tolerances: { minAgreement: 0.9 } });
    expect(m.calibration).toEqual({ rows: qp.calibrationSamples, source: join(pdir, 'policy-int8.json') });
    const g = JSON.parse(readFileSync(join(out, 'golden.json'), 'utf8'));
    const obs = base64ToFloats(g.obs, 4000, 'obs');
    const ref = forwardInt8(qp, obs, 1000);
    for (const a of m.artifacts) {
      expect(a.mismatchesVsReference, a.format).toBe(0);
      expect(a.maxAbsErrorVsReference, a.format).toBe(0);
    }
    // The reference itself is the file's integers: the ONNX on disk reproduces it.
    const got = await runOrt(readFileSync(join(out, 'policy.int8.onnx')), obs, 1000, 4);
    expect(Array.from(got)).toEqual(Array.from(ref));
    // --calibration overrides it (recalibrates on the given observations).
    const re = await exportPolicy({ policyDir: pdir, formats: ['js-int8'], outDir: join(dir, 'recal'), calibration: obs, tolerances: { minAgreement: 0.9 } });
    expect(re.calibration).toEqual({ rows: 1000, source: 'given' });
  }, 120_000);
});

describe('parity failures', () => {
  it('the default gate rejects int8 for the CartPole student (97.0% < 99%): PARITY, no int8 file, the others written', async () => {
    const out = join(dir, 'strict');
    const err = await exportPolicy({ policyDir: STUDENT_DIR, formats: ['onnx', 'onnx-int8', 'js-int8'], outDir: out }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportParityError);
    const e = err as ExportParityError;
    expect(e.code).toBe('PARITY');
    expect(e.details.map((d) => d.field).sort()).toEqual(['js-int8', 'onnx-int8']);
    expect(e.details[0].text).toMatch(/action agreement with the fp32 IR 97\.\d\d% < 99%/);
    expect(existsSync(join(out, 'policy.onnx'))).toBe(true);
    expect(existsSync(join(out, 'policy.int8.onnx'))).toBe(false);
    expect(existsSync(join(out, 'policy.int8.mjs'))).toBe(false);
    const onDisk = JSON.parse(readFileSync(join(out, 'artifacts.json'), 'utf8')) as ArtifactsManifest;
    expect(onDisk.passed).toBe(false);
    expect(onDisk.artifacts.find((a) => a.format === 'onnx-int8')).toMatchObject({ status: 'fail', file: null, mismatchesVsReference: 0 });
    expect(stagingLeft(out)).toEqual([]);
  }, 120_000);

  it('a corrupted artifact (injected after writing, before its run) fails and leaves nothing under its final name', async () => {
    const out = join(dir, 'corrupt');
    // A stale good file from an earlier export must not survive next to a failed one.
    await exportPolicy({ policyDir: STUDENT_DIR, formats: ['js', 'onnx'], outDir: out });
    expect(existsSync(join(out, 'policy.mjs'))).toBe(true);
    const err = await exportPolicy({
      policyDir: STUDENT_DIR,
      formats: ['js', 'onnx', 'tflite'],
      outDir: out,
      corrupt: (format, _file, bytes) => {
        if (format === 'js') {
          // Flip the sign of the first weight row's bias: a subtly wrong module that still loads.
          const src = new TextDecoder().decode(bytes).replace('const v = fr(fr(s) + B0[c]);', 'const v = fr(fr(s) - B0[c]);');
          return new TextEncoder().encode(src);
        }
        if (format === 'tflite') return bytes.slice(0, bytes.length >> 1); // truncated: cannot load
        return bytes;
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExportParityError);
    const m = (err as ExportParityError).manifest;
    const js = m.artifacts.find((a) => a.format === 'js')!;
    expect(js.status).toBe('fail');
    expect(js.reasons[0]).toMatch(/max \|output - IR\|/);
    expect(m.artifacts.find((a) => a.format === 'tflite')!.reasons[0]).toMatch(/could not run/);
    expect(m.artifacts.find((a) => a.format === 'onnx')!.status).toBe('pass');
    expect(existsSync(join(out, 'policy.mjs'))).toBe(false);
    expect(existsSync(join(out, 'policy.tflite'))).toBe(false);
    expect(existsSync(join(out, 'policy.onnx'))).toBe(true);
    expect(stagingLeft(out)).toEqual([]);
  }, 120_000);

  it('bad arguments are EdgeDistillErrors naming the field', async () => {
    await expect(exportPolicy({ policyDir: STUDENT_DIR, formats: ['onnx,pdf'], outDir: join(dir, 'x') })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: 'formats' });
    await expect(exportPolicy({ policyDir: join(dir, 'nope'), formats: ['onnx'], outDir: join(dir, 'x') })).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
    const noEnv = mlp({ obsDim: 3, hidden: [4], head: { kind: 'discrete', n: 2 }, init: { seed: 1 } });
    await expect(exportPolicy({ model: noEnv, formats: ['onnx'], outDir: join(dir, 'x') })).rejects.toMatchObject({ code: 'BAD_ARGUMENT', field: 'golden' });
  });
});

describe('continuous policies', () => {
  it('Pendulum-v1: action agreement and max action error are reported for every format', async () => {
    const model = mlp({ obsDim: 3, hidden: [32, 32], activation: 'tanh', head: { kind: 'continuous', squash: 'tanh', low: [-2], high: [2] }, envId: 'Pendulum-v1', init: { seed: 9 } });
    const m = await exportPolicy({ model, formats: ['onnx', 'onnx-int8', 'tflite-int8', 'js', 'js-int8', 'c-int8', 'onnx-fp16'], outDir: join(dir, 'pendulum'), tolerances: { minAgreement: 0.5 } });
    for (const a of m.artifacts) {
      expect(a.status, `${a.format}: ${a.reasons.join('; ')}`).toBe('pass');
      expect(a.maxActionErrorVsIR).not.toBeNull();
      expect(a.actionAgreementVsIR).toBeGreaterThan(0.5);
      if (a.precision === 'int8') expect(a.maxAbsErrorVsReference!).toBeLessThanOrEqual(2e-6); // float tanh ulps only
    }
    expect(DEFAULT_TOLERANCES.continuousShare).toBe(0.01);
  }, 120_000);
});
