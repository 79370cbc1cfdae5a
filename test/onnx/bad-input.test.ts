import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { mlp } from '../../pipeline/src/ir/build.js';
import { assertFitsEnv } from '../../pipeline/src/ir/fit.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { loadTeacher } from '../../pipeline/src/onnx/import.js';
import { decodeOnnx, onnx } from '../../pipeline/src/onnx/proto.js';
import { buildModel, floatInit, int64Init, tempDir, writeModel } from './helpers.js';

const dir = tempDir('ed-bad-');
const good = policyToOnnx(mlp({ obsDim: 4, hidden: [16], head: { kind: 'discrete', n: 2 }, init: { seed: 1 }, envId: 'CartPole-v1' }));

async function rejection(p: Promise<unknown>): Promise<EdgeDistillError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeDistillError);
    return e as EdgeDistillError;
  }
  throw new Error('expected a rejection');
}

function randomBytes(n: number, seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s >>> 24;
  });
}

describe('unreadable files', () => {
  it('garbage bytes -> BAD_MODEL naming the file', async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const p = writeModel(dir, `garbage-${seed}.onnx`, randomBytes(2000, seed));
      const e = await rejection(loadTeacher(p));
      expect(e.code).toBe('BAD_MODEL');
      expect(e.file).toBe(p);
      expect(e.message).toMatch(/not a valid ONNX model/);
    }
  });
  it('an empty file -> BAD_MODEL "file is empty"', async () => {
    const p = writeModel(dir, 'empty.onnx', new Uint8Array(0));
    const e = await rejection(loadTeacher(p));
    expect([e.code, e.file]).toEqual(['BAD_MODEL', p]);
    expect(e.message).toMatch(/empty/);
  });
  it('a truncated file -> BAD_MODEL', async () => {
    for (const frac of [0.1, 0.5, 0.9, 0.99]) {
      const p = writeModel(dir, `trunc-${frac}.onnx`, good.subarray(0, Math.floor(good.length * frac)));
      const e = await rejection(loadTeacher(p));
      expect([e.code, e.file]).toEqual(['BAD_MODEL', p]);
    }
  });
  it('a JSON file -> BAD_MODEL', async () => {
    const p = join(dir, 'policy-as-onnx.onnx');
    writeFileSync(p, JSON.stringify({ format: 'edgedistill-policy' }));
    expect((await rejection(loadTeacher(p))).code).toBe('BAD_MODEL');
  });
  it('a missing file -> BAD_ARGUMENT naming it', async () => {
    const p = join(dir, 'nope.onnx');
    const e = await rejection(loadTeacher(p));
    expect([e.code, e.file]).toEqual(['BAD_ARGUMENT', p]);
  });
  it('an op onnxruntime does not know -> BAD_MODEL', async () => {
    const p = writeModel(
      dir,
      'unknown-op.onnx',
      buildModel({ nodes: [{ op: 'NoSuchOp', inputs: ['obs'], outputs: ['logits'] }], outputs: [{ name: 'logits', dims: ['batch', 2] }] }),
    );
    const e = await rejection(loadTeacher(p));
    expect([e.code, e.file]).toEqual(['BAD_MODEL', p]);
    expect(e.message).toMatch(/onnxruntime cannot load/);
  });
});

describe('bad numbers', () => {
  it('NaN in a weight -> BAD_MODEL naming the initializer', async () => {
    const proto = decodeOnnx(good, 'good.onnx');
    const w = proto.graph!.initializer!.find((t) => t.name === 'layers.1.weight')!;
    const raw = Buffer.from(w.rawData!);
    raw.writeFloatLE(NaN, 4 * 7);
    w.rawData = raw;
    const p = writeModel(dir, 'nan-weight.onnx', onnx.ModelProto.encode(proto).finish());
    const e = await rejection(loadTeacher(p));
    expect([e.code, e.file, e.field]).toEqual(['BAD_MODEL', p, 'layers.1.weight']);
    expect(e.message).toMatch(/NaN at index 7/);
  });
  it('NaN in the outputs on a probe batch -> BAD_MODEL naming the output', async () => {
    // sqrt(obs - 1000) is NaN for every ordinary observation
    const p = writeModel(
      dir,
      'nan-out.onnx',
      buildModel({
        nodes: [
          { op: 'Sub', inputs: ['obs', 'k'], outputs: ['d'] },
          { op: 'Sqrt', inputs: ['d'], outputs: ['logits'] },
        ],
        inits: [floatInit('k', [], [1000])],
        outputs: [{ name: 'logits', dims: ['batch', 2] }],
      }),
    );
    const e = await rejection(loadTeacher(p));
    expect([e.code, e.file, e.field]).toEqual(['BAD_MODEL', p, 'logits']);
    expect(e.message).toMatch(/NaN for probe observation/);
  });
});

describe('unsupported layouts', () => {
  it('an output of rank 3 -> UNSUPPORTED', async () => {
    const p = writeModel(
      dir,
      'rank3.onnx',
      buildModel({
        nodes: [
          { op: 'Gemm', inputs: ['obs', 'W', 'B'], outputs: ['g'], attrs: { transB: 1 } },
          { op: 'Unsqueeze', inputs: ['g', 'axes'], outputs: ['logits'] },
        ],
        inits: [floatInit('W', [3, 2], [1, 2, 3, 4, 5, 6]), floatInit('B', [3], [0, 0, 0]), int64Init('axes', [1], [1])],
        outputs: [{ name: 'logits', dims: ['batch', 1, 3] }],
      }),
    );
    const e = await rejection(loadTeacher(p));
    expect([e.code, e.file, e.field]).toEqual(['UNSUPPORTED', p, 'logits']);
    expect(e.message).toMatch(/rank 3/);
  });
  it('a rank-3 output without a declared shape is caught on the probe run', async () => {
    const p = writeModel(
      dir,
      'rank3-undeclared.onnx',
      buildModel({
        nodes: [{ op: 'Unsqueeze', inputs: ['obs', 'axes'], outputs: ['logits'] }],
        inits: [int64Init('axes', [1], [1])],
        outputs: [{ name: 'logits', dims: null }],
      }),
    );
    const e = await rejection(loadTeacher(p));
    expect([e.code, e.file, e.field]).toEqual(['UNSUPPORTED', p, 'logits']);
    expect(e.message).toMatch(/has shape \[16,1,2\] for a batch of 16/);
  });
  it('two inputs or a non-float input -> UNSUPPORTED', async () => {
    const two = writeModel(
      dir,
      'two-inputs.onnx',
      buildModel({
        nodes: [{ op: 'Add', inputs: ['obs', 'goal'], outputs: ['action'] }],
        inputs: [
          { name: 'obs', dims: ['batch', 2] },
          { name: 'goal', dims: ['batch', 2] },
        ],
        outputs: [{ name: 'action', dims: ['batch', 2] }],
      }),
    );
    expect(await rejection(loadTeacher(two))).toMatchObject({ code: 'UNSUPPORTED', file: two, message: /2 inputs/ });
    const ints = writeModel(
      dir,
      'int-input.onnx',
      buildModel({
        nodes: [{ op: 'Cast', inputs: ['obs'], outputs: ['action'], attrs: { to: 1 } }],
        inputs: [{ name: 'obs', dims: ['batch', 2], elemType: 7 }],
        outputs: [{ name: 'action', dims: ['batch', 2] }],
      }),
    );
    expect(await rejection(loadTeacher(ints))).toMatchObject({ code: 'UNSUPPORTED', file: ints, message: /int64/ });
  });
});

describe('model vs environment', () => {
  const cartpole = { id: 'CartPole-v1', observationSpace: { shape: [4] }, actionSpace: { kind: 'discrete', n: 2 } } as const;
  const pendulum = { id: 'Pendulum-v1', observationSpace: { shape: [3] }, actionSpace: { kind: 'box', shape: [1] } } as const;

  it('names the file and both observation sizes', async () => {
    const p = writeModel(dir, 'cartpole.onnx', good);
    const t = await loadTeacher(p);
    try {
      let err: EdgeDistillError | undefined;
      try {
        assertFitsEnv(t, pendulum);
      } catch (e) {
        err = e as EdgeDistillError;
      }
      expect(err).toBeInstanceOf(EdgeDistillError);
      expect(err!.code).toBe('BAD_MODEL');
      expect(err!.file).toBe(p);
      expect(err!.message).toBe('the model takes 4 observation values but Pendulum-v1 gives 3');
      expect(() => assertFitsEnv(t, cartpole)).not.toThrow();
    } finally {
      await t.dispose();
    }
  });
  it('refuses an output width that does not match the action space', () => {
    expect(() => assertFitsEnv({ file: 'm.onnx', obsDim: 4, outDim: 3, outputKind: 'logits' }, cartpole)).toThrow(/outputs 3 logits .* CartPole-v1 has 2 actions/);
    expect(() => assertFitsEnv({ file: 'm.onnx', obsDim: 3, outDim: 2, outputKind: 'action' }, pendulum)).toThrow(/outputs 2 action values but Pendulum-v1 takes 1/);
    expect(() => assertFitsEnv({ file: 'm.onnx', obsDim: 4, outDim: 2, outputKind: 'action' }, cartpole)).toThrow(/continuous actions but CartPole-v1 has 2 discrete/);
    expect(() => assertFitsEnv({ file: 'm.onnx', obsDim: 3, outDim: 1, outputKind: 'q_values' }, pendulum)).toThrow(/continuous \(box\)/);
  });
});

describe('readback of the good file still works', () => {
  it('loads', async () => {
    const p = writeModel(dir, 'good.onnx', good);
    expect(readFileSync(p).length).toBe(good.length);
    const t = await loadTeacher(p);
    expect([t.importable, t.obsDim, t.outDim, t.model?.envId]).toEqual([true, 4, 2, 'CartPole-v1']);
    await t.dispose();
  });
});
