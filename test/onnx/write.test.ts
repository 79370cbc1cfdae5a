import { readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { mlp, type MlpOptions } from '../../pipeline/src/ir/build.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import { outputName, type PolicyModel } from '../../pipeline/src/ir/types.js';
import { policyToOnnx, writeOnnx } from '../../pipeline/src/onnx/write.js';
import { decodeOnnx, describeValueInfo, metadataOf, num } from '../../pipeline/src/onnx/proto.js';
import { randomObs, tempDir } from './helpers.js';

const cases: Record<string, Omit<MlpOptions, 'init'>> = {
  'discrete logits (relu)': { obsDim: 4, hidden: [16, 16], activation: 'relu', head: { kind: 'discrete', n: 2 } },
  'q_values (sigmoid) with normalization': {
    obsDim: 6,
    hidden: [12],
    activation: 'sigmoid',
    head: { kind: 'discrete', output: 'q_values', n: 3 },
    obsNorm: { mean: [0.1, -0.2, 0.3, 0, 1, -1], std: [1, 2, 0.5, 3, 1, 0.25], clip: 5 },
  },
  'continuous tanh squash with normalization': {
    obsDim: 3,
    hidden: [16, 16],
    activation: 'tanh',
    head: { kind: 'continuous', squash: 'tanh', low: [-2, 0], high: [2, 1] },
    obsNorm: { mean: [0.5, 0, -0.5], std: [2, 1, 0.5], clip: null },
  },
  'continuous clip, per-dimension bounds': {
    obsDim: 3,
    hidden: [8],
    activation: 'relu',
    head: { kind: 'continuous', squash: 'none', low: [-1, -0.5], high: [1, 0.25] },
  },
  'continuous clip, uniform bounds': { obsDim: 2, hidden: [8], head: { kind: 'continuous', squash: 'none', low: [-1, -1], high: [1, 1] } },
  'continuous unbounded': { obsDim: 2, hidden: [8], head: { kind: 'continuous', squash: 'none', low: [-Infinity], high: [Infinity] } },
};

async function runOrt(bytes: Uint8Array, model: PolicyModel, obs: Float32Array, batch: number) {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const out = await s.run({ obs: new ort.Tensor('float32', obs, [batch, model.obsDim]) });
    return out[outputName(model.head)];
  } finally {
    await s.release();
  }
}

describe('ONNX writer matches the IR forward pass in onnxruntime', () => {
  for (const [name, opts] of Object.entries(cases)) {
    it(name, async () => {
      const m = mlp({ ...opts, init: { seed: 5, outputScale: 3 } });
      const bytes = policyToOnnx(m);
      for (const batch of [1, 37]) {
        const obs = randomObs(batch, m.obsDim, batch);
        const t = await runOrt(bytes, m, obs, batch);
        const want = forward(m, obs, batch);
        expect(t.dims).toEqual([batch, want.length / batch]);
        const got = t.data as Float32Array;
        let worst = 0;
        for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
        expect(worst).toBeLessThanOrEqual(1e-5);
      }
    });
  }

  it('a changed weight is caught (the comparison can fail)', async () => {
    const m = mlp({ ...cases['discrete logits (relu)'], init: { seed: 5 } });
    const bytes = policyToOnnx(m);
    const changed = { ...m, layers: m.layers.map((l, i) => (i === 2 ? { ...l, bias: l.bias.map((b) => b + 1e-3) } : l)) };
    const obs = randomObs(4, 4);
    const got = (await runOrt(bytes, m, obs, 4)).data as Float32Array;
    const want = forward(changed, obs, 4);
    expect(Math.max(...got.map((v, i) => Math.abs(v - want[i])))).toBeGreaterThan(5e-4);
  });
});

describe('ONNX file layout', () => {
  const m = mlp({
    ...cases['continuous tanh squash with normalization'],
    init: { seed: 1 },
    envId: 'Pendulum-v1',
    card: { algo: 'distill', teacher: 'abc' },
    head: { kind: 'continuous', squash: 'tanh', low: [-2, 0], high: [2, 1], logStd: [-0.5, -0.7] },
  });
  const proto = decodeOnnx(policyToOnnx(m, { observationSpace: { kind: 'box', shape: [3], low: [-1, -1, -8], high: [1, 1, 8] } }), 'x.onnx');

  it('is opset 13, IR version 7, produced by edgedistill', () => {
    expect(num(proto.irVersion)).toBe(7);
    expect(proto.opsetImport.map((o) => [o.domain, num(o.version)])).toEqual([['', 13]]);
    expect(proto.producerName).toBe('edgedistill');
  });
  it('has input obs [batch, obs_dim] and an output named by meaning', () => {
    expect(proto.graph!.input!.map(describeValueInfo)).toEqual([{ name: 'obs', dtype: 'float32', shape: ['batch', 3] }]);
    expect(proto.graph!.output!.map(describeValueInfo)).toEqual([{ name: 'action', dtype: 'float32', shape: ['batch', 2] }]);
    const q = decodeOnnx(policyToOnnx(mlp({ ...cases['q_values (sigmoid) with normalization'], init: { seed: 1 } })), 'q.onnx');
    expect(q.graph!.output![0].name).toBe('q_values');
  });
  it('uses Sub/Div for normalization, Gemm(transB=1) per layer and Tanh/Mul/Add/Max/Min after', () => {
    const ops = proto.graph!.node!.map((n) => n.opType);
    expect(ops).toEqual(['Sub', 'Div', 'Gemm', 'Tanh', 'Gemm', 'Tanh', 'Gemm', 'Tanh', 'Mul', 'Add', 'Max', 'Min']);
    const gemm = proto.graph!.node!.find((n) => n.opType === 'Gemm')!;
    expect(gemm.attribute!.find((a) => a.name === 'transB')!.i).toEqual(expect.objectContaining({ low: 1 }));
  });
  it('stores env id, spaces, head, card and log std in metadata_props', () => {
    const md = metadataOf(proto);
    expect(md.env_id).toBe('Pendulum-v1');
    expect(JSON.parse(md.action_space)).toEqual({ kind: 'box', shape: [2], dtype: 'float32', low: [-2, 0], high: [2, 1] });
    expect(JSON.parse(md.observation_space)).toEqual({ kind: 'box', shape: [3], dtype: 'float32', low: [-1, -1, -8], high: [1, 1, 8] });
    expect(JSON.parse(md.head)).toEqual({ kind: 'continuous', dim: 2, squash: 'tanh' });
    expect(JSON.parse(md.policy_card)).toEqual({ algo: 'distill', teacher: 'abc' });
    expect(JSON.parse(md.log_std)).toEqual([-0.5, Math.fround(-0.7)]);
  });
  it('writes atomically and reports the sha256', async () => {
    const dir = tempDir();
    const p = join(dir, 'student.onnx');
    const r = await writeOnnx(p, m);
    expect(readdirSync(dir)).toEqual(['student.onnx']);
    const bytes = readFileSync(p);
    expect(r.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(r.bytes).toBe(bytes.length);
  });
  it('refuses an invalid model', () => {
    const bad = mlp({ ...cases['discrete logits (relu)'], init: { seed: 1 } });
    (bad.layers[0].weight as Float32Array)[3] = NaN;
    expect(() => policyToOnnx(bad)).toThrow(/layers.0.weight/);
  });
});
