import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forward } from '../../pipeline/src/ir/index.js';
import { EdgeDistillError, loadPolicy, type Policy } from '../../runtime/src/index.js';
import {
  CARTPOLE_OBS_SPACE,
  argmax,
  cartpoleModel,
  maxAbsDiff,
  observations,
  pendulumModel,
  tempDir,
  writeNanOnnx,
  writeOnnxFile,
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

describe('ONNX policies on ort-node and ort-web', () => {
  const model = cartpoleModel(3);
  let path: string;
  let node: Policy;
  let web: Policy;
  beforeAll(async () => {
    path = writeOnnxFile(tmp.dir, 'cartpole.onnx', model, { observationSpace: CARTPOLE_OBS_SPACE });
    node = await loadPolicy(path, { backend: 'ort-node' });
    web = await loadPolicy(path, { backend: 'ort-web' });
  });
  afterAll(async () => {
    await node?.dispose();
    await web?.dispose();
  });

  it('picks ort-node by default on this x64/arm64 machine', async () => {
    const p = await loadPolicy(path);
    expect(p.backend).toBe('ort-node');
    expect(p.sync).toBe(false);
    expect(p.backendInfo).toMatchObject({ library: 'onnxruntime-node', threads: 1 });
    expect(web.backendInfo).toMatchObject({ library: 'onnxruntime-web', threads: 1 });
    await p.dispose();
  });

  it('reads the exporter metadata', () => {
    const md = node.metadata;
    expect(md.envId).toBe('CartPole-v1');
    expect(md.obsDim).toBe(4);
    expect(md.inputName).toBe('obs');
    expect(md.head).toEqual({ kind: 'discrete', outputName: 'logits', outDim: 2 });
    expect(md.actionSpace).toEqual({ kind: 'discrete', n: 2, start: 0 });
    expect(Array.from(md.observationSpace.low)).toEqual(Array.from(CARTPOLE_OBS_SPACE.low));
    expect(md.observationSpace.high[1]).toBe(Infinity);
    expect(md.card).toEqual({ algorithm: 'test', seed: 3 });
    expect(md.artifact).toMatchObject({ format: 'onnx', variant: 'fp32', metadataSource: 'embedded', path });
    expect(web.metadata).toEqual(node.metadata);
  });

  it('ort-node and ort-web agree within 1e-5, with the IR, and act is the argmax', async () => {
    for (const obs of observations(50, 4, 2)) {
      const a = await node.forward(obs);
      const b = await web.forward(obs);
      const ref = forward(model, obs, 1);
      expect(a.length).toBe(2);
      expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(a, ref)).toBeLessThanOrEqual(1e-5);
      expect(await node.act(obs)).toBe(argmax(a));
      expect(await web.act(obs)).toBe(argmax(b));
    }
  });

  it('takes number[] and Float64Array observations too', async () => {
    const obs = observations(1, 4, 1, 99)[0];
    const ref = await node.forward(obs);
    expect(maxAbsDiff(await node.forward(Array.from(obs)), ref)).toBe(0);
    expect(maxAbsDiff(await node.forward(Float64Array.from(obs)), ref)).toBe(0);
  });

  it('actBatch equals act on each row (rows and flat forms, both backends)', async () => {
    const rows = observations(37, 4, 2, 11);
    const flat = new Float32Array(37 * 4);
    rows.forEach((r, i) => flat.set(r, i * 4));
    for (const p of [node, web]) {
      const single = [];
      for (const r of rows) single.push(await p.act(r));
      expect(await p.actBatch(rows)).toEqual(single);
      expect(await p.actBatch(flat)).toEqual(single);
      expect(await p.actBatch(flat, 37)).toEqual(single);
      expect(await p.actBatch([])).toEqual([]);
    }
  });

  it('calls not awaited one by one still get their own observation', async () => {
    const rows = observations(20, 4, 2, 5);
    const expected: Float32Array[] = [];
    for (const r of rows) expected.push(await node.forward(r));
    const got = await Promise.all(rows.map((r) => node.forward(r)));
    got.forEach((g, i) => expect(maxAbsDiff(g, expected[i])).toBe(0));
  });

  it('refuses NaN, Inf, float32 overflow, non-numbers and wrong lengths, naming index and value', async () => {
    const cases: [unknown, RegExp, string][] = [
      [[0, Number.NaN, 0, 0], /obs\[1\] = NaN is not finite/, 'obs[1]'],
      [[0, 0, Infinity, 0], /obs\[2\] = Infinity is not finite/, 'obs[2]'],
      [[0, 0, 0, -Infinity], /obs\[3\] = -Infinity/, 'obs[3]'],
      [[1e39, 0, 0, 0], /obs\[0\] = 1e\+39 overflows float32/, 'obs[0]'],
      [[0, '1', 0, 0], /obs\[1\] = "1" is not a number/, 'obs[1]'],
      [[0, 0, 0], /has 3 values, the policy takes 4/, 'obs'],
      [new Float32Array(5), /has 5 values/, 'obs'],
    ];
    for (const p of [node, web]) {
      for (const [obs, msg, field] of cases) {
        const e = await rejection(p.act(obs as number[]));
        expect(e.code).toBe('BAD_OBSERVATION');
        expect(e.message).toMatch(msg);
        expect(e.field).toBe(field);
      }
    }
    const e = await rejection(node.actBatch([[0, 0, 0, 0], [0, 0, Number.NaN, 0]]));
    expect(e.code).toBe('BAD_OBSERVATION');
    expect(e.field).toBe('obs[1][2]');
    const f = await rejection(node.actBatch(new Float32Array(10)));
    expect(f.code).toBe('BAD_OBSERVATION');
    expect(f.message).toMatch(/10 values is not a whole number of observations of 4/);
    // A bad observation does not poison the reused input buffer.
    const ok = observations(1, 4, 1, 3)[0];
    expect(maxAbsDiff(await node.forward(ok), forward(model, ok, 1))).toBeLessThanOrEqual(1e-5);
  });

  it('dispose frees the session; later calls are RUNTIME errors; dispose is idempotent', async () => {
    for (const backend of ['ort-node', 'ort-web'] as const) {
      const p = await loadPolicy(path, { backend });
      await p.act([0, 0, 0, 0]);
      await p.dispose();
      await p.dispose();
      const e = await rejection(p.act([0, 0, 0, 0]));
      expect(e.code).toBe('RUNTIME');
      expect(e.message).toMatch(/disposed/);
    }
  });
});

describe('continuous policies', () => {
  it('return Float32Array actions inside [low, high] that match the IR', async () => {
    const model = pendulumModel(4);
    const path = writeOnnxFile(tmp.dir, 'pendulum.onnx', model);
    for (const backend of ['ort-node', 'ort-web'] as const) {
      const p = await loadPolicy(path, { backend });
      expect(p.metadata.head).toEqual({ kind: 'continuous', outputName: 'action', outDim: 1 });
      expect(p.metadata.actionSpace.kind).toBe('box');
      for (const obs of observations(30, 3, 3)) {
        const a = (await p.act(obs)) as Float32Array;
        expect(a).toBeInstanceOf(Float32Array);
        expect(a.length).toBe(1);
        expect(a[0]).toBeGreaterThanOrEqual(-2);
        expect(a[0]).toBeLessThanOrEqual(2);
        expect(maxAbsDiff(a, forward(model, obs, 1))).toBeLessThanOrEqual(1e-5);
      }
      await p.dispose();
    }
  });

  it('clips raw outputs to the action space the caller narrows it to', async () => {
    // squash 'none' with a large output scale: raw actions well outside [-0.5, 0.5].
    const model = pendulumModel(5, 'none');
    const path = writeOnnxFile(tmp.dir, 'pendulum-raw.onnx', model);
    const p = await loadPolicy(path, { actionSpace: { kind: 'box', low: [-0.5], high: [0.5] } });
    let clippedLow = 0;
    let clippedHigh = 0;
    for (const obs of observations(60, 3, 3, 21)) {
      const raw = (await p.forward(obs))[0];
      const a = ((await p.act(obs)) as Float32Array)[0];
      expect(a).toBe(Math.min(0.5, Math.max(-0.5, raw)));
      if (raw < -0.5) clippedLow++;
      if (raw > 0.5) clippedHigh++;
    }
    // The test means something only if both bounds were hit.
    expect(clippedLow).toBeGreaterThan(0);
    expect(clippedHigh).toBeGreaterThan(0);
    await p.dispose();
  });
});

describe('NaN outputs', () => {
  it('are a RUNTIME error naming the output, never a silent action 0', async () => {
    const path = writeNanOnnx(tmp.dir);
    for (const backend of ['ort-node', 'ort-web'] as const) {
      const p = await loadPolicy(path, { backend });
      const raw = await p.forward([1, 2]);
      expect(Number.isNaN(raw[0])).toBe(true);
      const e = await rejection(p.act([1, 2]));
      expect(e.code).toBe('RUNTIME');
      expect(e.field).toBe('logits[0]');
      expect(e.file).toBe(path);
      expect(e.message).toMatch(new RegExp(`backend ${backend} returned NaN`));
      await p.dispose();
    }
    // Continuous: the same graph read as an action.
    const p = await loadPolicy(path, { actionSpace: { kind: 'box', low: [-1, -1], high: [1, 1] }, backend: 'ort-node' });
    const e = await rejection(p.act([0, 0]));
    expect(e.code).toBe('RUNTIME');
    await p.dispose();
  });
});
