import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openTfliteModel } from '../../runtime/src/backends/litert/index.js';
import { writeTflite, writeTfliteFile } from '../../pipeline/src/export/tflite/index.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import { OP, TYPE, maxRelErr, readTflite, testModels } from './helpers.js';

const N = 500;
const dir = mkdtempSync(join(tmpdir(), 'edgedistill-tflite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fp32 TFLite in LiteRT matches the IR forward pass', () => {
  for (const { name, model, obs } of testModels()) {
    it(`${name}: within 1e-5 on ${N} random observations`, async () => {
      const bytes = writeTflite(model, { variant: 'fp32' });
      const m = await openTfliteModel(bytes, { name: `${name}.tflite` });
      try {
        const x = obs(N, 101);
        const got = await m.run(x, N);
        const want = forward(model, x, N);
        expect(got.length).toBe(want.length);
        expect(maxRelErr(got, want)).toBeLessThanOrEqual(1e-5);
        // Continuous actions stay inside the box (the clip ran).
        if (model.head.kind === 'continuous') {
          const { low, high, dim } = model.head;
          for (let i = 0; i < got.length; i++) {
            expect(got[i]).toBeGreaterThanOrEqual(low[i % dim]);
            expect(got[i]).toBeLessThanOrEqual(high[i % dim]);
          }
        }
      } finally {
        m.dispose();
      }
    });
  }
});

describe('fp32 file structure', () => {
  const models = testModels();

  it('TFL3, version 3, empty buffer 0, serving_default signature with obs -> named output', () => {
    for (const { model } of models) {
      const bytes = writeTflite(model, { variant: 'fp32' });
      const r = readTflite(bytes);
      expect(r.identifier).toBe('TFL3');
      expect(r.version).toBe(3);
      expect(r.buffers[0].length).toBe(0);
      expect(r.signatures).toHaveLength(1);
      const [sig] = r.signatures;
      expect(sig.key).toBe('serving_default');
      expect(sig.inputs).toEqual([{ name: 'obs', tensor: r.inputs[0] }]);
      const outName = model.head.kind === 'discrete' ? model.head.output : 'action';
      expect(sig.outputs).toEqual([{ name: outName, tensor: r.outputs[0] }]);
      expect(r.tensors[r.inputs[0]]).toMatchObject({ name: 'obs', type: TYPE.FLOAT32, shape: [1, model.obsDim], buffer: 0 });
      expect(r.tensors[r.outputs[0]].name).toBe(outName);
      // Constant data is 16-byte aligned in the file (Buffer.data force_align: 16).
      for (const b of r.buffers.slice(1)) if (b.length) expect((b.byteOffset - bytes.byteOffset) % 16).toBe(0);
    }
  });

  it('one FULLY_CONNECTED per layer, RELU fused, TANH/LOGISTIC as separate ops', () => {
    const tanhModel = models.find((m) => m.name.startsWith('continuous tanh'))!.model;
    const r = readTflite(writeTflite(tanhModel, { variant: 'fp32' }));
    const codes = r.ops.map((o) => o.code);
    // 2 hidden tanh layers + output layer, then the head: TANH, MUL, ADD, MINIMUM, MAXIMUM.
    expect(codes).toEqual([
      OP.FULLY_CONNECTED, OP.TANH,
      OP.FULLY_CONNECTED, OP.TANH,
      OP.FULLY_CONNECTED,
      OP.TANH, OP.MUL, OP.ADD, OP.MINIMUM, OP.MAXIMUM,
    ]);
    for (const op of r.ops.filter((o) => o.code === OP.FULLY_CONNECTED)) expect(op.fusedActivation).toBe(0);

    const reluModel = models[0].model;
    const rr = readTflite(writeTflite(reluModel, { variant: 'fp32' }));
    expect(rr.ops.map((o) => [o.code, o.fusedActivation])).toEqual([
      [OP.FULLY_CONNECTED, 1],
      [OP.FULLY_CONNECTED, 1],
      [OP.FULLY_CONNECTED, 0],
    ]);

    const normModel = models.find((m) => m.name.startsWith('normalized'))!.model;
    const rn = readTflite(writeTflite(normModel, { variant: 'fp32' }));
    expect(rn.ops.slice(0, 4).map((o) => o.code)).toEqual([OP.SUB, OP.DIV, OP.MINIMUM, OP.MAXIMUM]);
    const w = rn.tensors.find((t) => t.name === 'layers.0.weight')!;
    expect(w.shape).toEqual([64, 6]);
    expect(new Float32Array(rn.buffers[w.buffer].slice().buffer)).toEqual(normModel.layers[0].weight);
  });

  it('writeTfliteFile writes atomically and the file loads by path', async () => {
    const { model } = models[0];
    const path = join(dir, 'policy.tflite');
    const res = await writeTfliteFile(path, model, { variant: 'fp32' });
    expect(res.path).toBe(path);
    expect(readdirSync(dir)).toEqual(['policy.tflite']); // no temp file left behind
    const m = await openTfliteModel(path);
    try {
      expect(m.file).toBe(path);
      expect(m.inputs).toEqual([{ name: 'obs', dtype: 'float32', shape: [1, 4] }]);
      expect(m.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: [1, 2] }]);
      expect(m.metadata).toMatchObject({ producer: 'edgedistill', variant: 'fp32', obsDim: 4, head: { kind: 'discrete', n: 2 } });
      const x = new Float32Array([0.5, -1, 2, 0.25]);
      expect(maxRelErr(await m.run(x), forward(model, x, 1))).toBeLessThanOrEqual(1e-5);
    } finally {
      m.dispose();
    }
  });

  it('a fixed batch > 1 runs batches in chunks, padding the last one', async () => {
    const { model, obs } = models[1];
    const m = await openTfliteModel(writeTflite(model, { variant: 'fp32', batch: 4 }));
    try {
      expect(m.batch).toBe(4);
      const x = obs(10, 7);
      expect(maxRelErr(await m.run(x, 10), forward(model, x, 10))).toBeLessThanOrEqual(1e-5);
    } finally {
      m.dispose();
    }
  });

  it('bad export options and models are EdgeDistillErrors naming the field', async () => {
    const { model } = models[0];
    expect(() => writeTflite(model, { variant: 'int8' })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT', field: 'calibration' }));
    expect(() => writeTflite(model, { variant: 'fp64' as 'fp32' })).toThrow(expect.objectContaining({ code: 'BAD_ARGUMENT', field: 'variant' }));
    expect(() => writeTflite(model, { variant: 'fp32', batch: 0 })).toThrow(expect.objectContaining({ field: 'batch' }));
    const broken = { ...model, layers: [{ ...model.layers[0], bias: new Float32Array(3) }, ...model.layers.slice(1)] };
    expect(() => writeTflite(broken, { variant: 'fp32' })).toThrow(expect.objectContaining({ code: 'BAD_MODEL', field: 'layers.0.bias' }));
    const path = join(dir, 'broken.tflite');
    await expect(writeTfliteFile(path, broken, { variant: 'fp32' })).rejects.toMatchObject({ code: 'BAD_MODEL', file: path });
    expect(readdirSync(dir)).not.toContain('broken.tflite');
  });
});
