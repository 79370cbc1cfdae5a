import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { forward } from '../../pipeline/src/ir/index.js';
import { onnx } from '../../pipeline/src/onnx/proto.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { EdgeDistillError, METADATA_KEYS, loadPolicy, readOnnxModelInfo, sidecarPath } from '../../runtime/src/index.js';
import {
  CARTPOLE_OBS_SPACE,
  cartpoleModel,
  maxAbsDiff,
  observations,
  pendulumModel,
  tempDir,
  writeOnnxFile,
  writePlainOnnx,
} from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

async function rejection(p: Promise<unknown>): Promise<EdgeDistillError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(EdgeDistillError);
  return e as EdgeDistillError;
}

describe('readOnnxModelInfo (the runtime protobuf reader)', () => {
  it('reads what protobufjs decodes: metadata_props, graph I/O names, types, shapes, ops', () => {
    const bytes = policyToOnnx(cartpoleModel(2), { observationSpace: CARTPOLE_OBS_SPACE });
    const info = readOnnxModelInfo(bytes);
    const ref = onnx.ModelProto.decode(bytes);
    const refProps = Object.fromEntries(ref.metadataProps.map((p) => [p.key, p.value]));
    expect(info.metadataProps).toEqual(refProps);
    expect(Object.keys(info.metadataProps)).toEqual(
      expect.arrayContaining([METADATA_KEYS.format, METADATA_KEYS.envId, METADATA_KEYS.actionSpace, METADATA_KEYS.head, METADATA_KEYS.card]),
    );
    expect(info.irVersion).toBe(Number(ref.irVersion));
    expect(info.producerName).toBe('edgedistill');
    expect(info.inputs).toEqual([{ name: 'obs', elemType: 1, shape: ['batch', 4] }]);
    expect(info.outputs).toEqual([{ name: 'logits', elemType: 1, shape: ['batch', 2] }]);
    expect(info.opTypes.sort()).toEqual(['Gemm', 'Relu']);
  });

  it('skips initializers listed as inputs (old IR versions) and reads fixed dims', () => {
    const proto = onnx.ModelProto.decode(readFileSync(writePlainOnnx(tmp.dir, 'fixed.onnx', cartpoleModel(2), { fixedBatch: true })));
    proto.graph!.input!.push({ name: 'layers.0.weight', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 64 }, { dimValue: 4 }] } } } });
    const info = readOnnxModelInfo(onnx.ModelProto.encode(proto).finish());
    expect(info.inputs).toEqual([{ name: 'input', elemType: 1, shape: [1, 4] }]);
  });

  it('reports truncated or foreign bytes as BAD_MODEL naming the file', () => {
    const bytes = policyToOnnx(cartpoleModel(2));
    expect(() => readOnnxModelInfo(bytes.subarray(0, bytes.length - 100), 'x.onnx')).toThrow(/not a valid ONNX file/);
    try {
      readOnnxModelInfo(new TextEncoder().encode('{"json": true}'), 'x.onnx');
      expect.unreachable();
    } catch (e) {
      expect((e as EdgeDistillError).code).toBe('BAD_MODEL');
      expect((e as EdgeDistillError).file).toBe('x.onnx');
    }
  });
});

describe('metadata sources', () => {
  it('a plain ONNX without metadata: obs dim from the input shape, kind from the output name', async () => {
    const model = cartpoleModel(6);
    const path = writePlainOnnx(tmp.dir, 'plain-logits.onnx', model);
    const p = await loadPolicy(path);
    expect(p.metadata.artifact.metadataSource).toBe('inferred');
    expect(p.metadata.envId).toBeNull();
    expect(p.metadata.obsDim).toBe(4);
    expect(p.metadata.inputName).toBe('input');
    expect(p.metadata.actionSpace).toEqual({ kind: 'discrete', n: 2, start: 0 });
    expect(p.metadata.observationSpace.low.every((v) => v === -Infinity)).toBe(true);
    expect(p.metadata.card).toEqual({});
    const obs = observations(1, 4, 1)[0];
    expect(maxAbsDiff(await p.forward(obs), forward(model, obs, 1))).toBeLessThanOrEqual(1e-5);
    await p.dispose();
  });

  it('an output name that says nothing needs the caller\'s actionSpace', async () => {
    const path = writePlainOnnx(tmp.dir, 'plain-y.onnx', cartpoleModel(6), { outputName: 'y' });
    const e = await rejection(loadPolicy(path));
    expect(e.code).toBe('BAD_MODEL');
    expect(e.message).toMatch(/cannot tell whether output 'y' holds scores or an action/);
    expect(e.suggestion).toMatch(/actionSpace/);
    const p = await loadPolicy(path, { actionSpace: { kind: 'discrete', n: 2, start: 3 } });
    expect(p.metadata.head).toEqual({ kind: 'discrete', outputName: 'y', outDim: 2 });
    const a = (await p.act([0.1, 0.2, 0.3, 0.4])) as number;
    expect([3, 4]).toContain(a); // start + argmax
    const w = await rejection(loadPolicy(path, { actionSpace: { kind: 'discrete', n: 3 } }));
    expect(w.code).toBe('BAD_ARGUMENT');
    expect(w.message).toMatch(/needs 3 outputs but 'y' has 2/);
    await p.dispose();
  });

  it('a fixed batch of 1 runs batches row by row', async () => {
    const model = cartpoleModel(8);
    const path = writePlainOnnx(tmp.dir, 'plain-b1.onnx', model, { fixedBatch: true });
    for (const backend of ['ort-node', 'ort-web'] as const) {
      const p = await loadPolicy(path, { backend });
      const rows = observations(9, 4, 2);
      const single = [];
      for (const r of rows) single.push(await p.act(r));
      expect(await p.actBatch(rows)).toEqual(single);
      await p.dispose();
    }
  });

  it('a <file>.meta.json sidecar fills what the file lacks; embedded metadata wins', async () => {
    const model = pendulumModel(9, 'none');
    const path = writePlainOnnx(tmp.dir, 'plain-action.onnx', model, { outputName: 'mu' });
    writeFileSync(
      sidecarPath(path),
      JSON.stringify({
        envId: 'Pendulum-v1',
        outputName: 'mu',
        observationSpace: { shape: [3], low: [-1, -1, -8], high: [1, 1, 8] },
        actionSpace: { kind: 'box', shape: [1], low: [-2], high: [2] },
        card: { from: 'sidecar' },
      }),
    );
    const p = await loadPolicy(path);
    expect(p.metadata.artifact.metadataSource).toBe('sidecar');
    expect(p.metadata.envId).toBe('Pendulum-v1');
    expect(p.metadata.head).toEqual({ kind: 'continuous', outputName: 'mu', outDim: 1 });
    expect(Array.from(p.metadata.observationSpace.high)).toEqual([1, 1, 8]);
    expect(p.metadata.card).toEqual({ from: 'sidecar' });
    for (const obs of observations(20, 3, 3)) {
      const a = ((await p.act(obs)) as Float32Array)[0];
      expect(a).toBeGreaterThanOrEqual(-2);
      expect(a).toBeLessThanOrEqual(2);
    }
    await p.dispose();

    // Our ONNX file carries its own env id; the sidecar only fills the rest.
    const ours = writeOnnxFile(tmp.dir, 'ours.onnx', cartpoleModel(1));
    writeFileSync(sidecarPath(ours), JSON.stringify({ envId: 'Other-v0', observationSpace: { shape: [4], low: -1, high: 1 } }));
    const q = await loadPolicy(ours);
    expect(q.metadata.envId).toBe('CartPole-v1');
    expect(q.metadata.artifact.metadataSource).toBe('embedded');
    expect(Array.from(q.metadata.observationSpace.low)).toEqual([-1, -1, -1, -1]);
    await q.dispose();
  });

  it('inconsistent or malformed metadata is BAD_MODEL naming the file and field', async () => {
    const path = writePlainOnnx(tmp.dir, 'plain-bad.onnx', cartpoleModel(1));
    writeFileSync(sidecarPath(path), JSON.stringify({ observationSpace: { shape: [5], low: -1, high: 1 } }));
    const e = await rejection(loadPolicy(path));
    expect(e.code).toBe('BAD_MODEL');
    expect(e.file).toBe(path);
    expect(e.message).toMatch(/observations have 5 values but input 'input' takes 4/);

    const proto = onnx.ModelProto.decode(policyToOnnx(cartpoleModel(1)));
    for (const p of proto.metadataProps) if (p.key === METADATA_KEYS.actionSpace) p.value = '{"kind": "discrete", n: 2}';
    const bad = join(tmp.dir, 'bad-json.onnx');
    writeFileSync(bad, onnx.ModelProto.encode(proto).finish());
    const f = await rejection(loadPolicy(bad));
    expect(f.code).toBe('BAD_MODEL');
    expect(f.field).toBe('metadata_props["action_space"]');

    for (const p of proto.metadataProps) if (p.key === METADATA_KEYS.actionSpace) p.value = '{"kind": "discrete", "n": 3}';
    writeFileSync(bad, onnx.ModelProto.encode(proto).finish());
    const g = await rejection(loadPolicy(bad));
    expect(g.message).toMatch(/action space needs 3 outputs but 'logits' has 2/);
    expect(g.field).toBe('metadata_props["action_space"]');
  });

  it('QuantizeLinear/DequantizeLinear nodes mark the artifact int8', async () => {
    const proto = onnx.ModelProto.decode(policyToOnnx(cartpoleModel(1)));
    const g = proto.graph!;
    for (const n of g.node!) n.input = n.input!.map((i) => (i === 'obs' ? 'obs_dq' : i));
    g.initializer!.push(
      { name: 'q_scale', dataType: 1, dims: [], rawData: new Uint8Array(Float32Array.of(0.05).buffer) },
      { name: 'q_zp', dataType: 3, dims: [], rawData: Uint8Array.of(0) },
    );
    g.node!.unshift(
      { opType: 'QuantizeLinear', input: ['obs', 'q_scale', 'q_zp'], output: ['obs_q'] },
      { opType: 'DequantizeLinear', input: ['obs_q', 'q_scale', 'q_zp'], output: ['obs_dq'] },
    );
    const path = join(tmp.dir, 'qdq.onnx');
    writeFileSync(path, onnx.ModelProto.encode(proto).finish());
    const p = await loadPolicy(path);
    expect(p.metadata.artifact.variant).toBe('int8');
    expect(await p.act([0.1, 0, 0, 0])).toBeTypeOf('number');
    await p.dispose();
  });
});
