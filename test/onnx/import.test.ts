import { afterAll, describe, expect, it } from 'vitest';
import { mlp } from '../../pipeline/src/ir/build.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { loadTeacher, type Teacher, type TeacherOptions } from '../../pipeline/src/onnx/import.js';
import { classifyOutputName } from '../../pipeline/src/onnx/graph-import.js';
import { buildModel, floatInit, int64Init, randomObs, tempDir, writeModel, type ModelSpec } from './helpers.js';

const dir = tempDir();
const open: Teacher[] = [];
afterAll(async () => {
  for (const t of open) await t.dispose();
});

async function teacher(name: string, spec: ModelSpec | Uint8Array, opts: TeacherOptions = {}): Promise<Teacher> {
  const bytes = spec instanceof Uint8Array ? spec : buildModel(spec);
  const t = await loadTeacher(writeModel(dir, `${name}.onnx`, bytes), opts);
  open.push(t);
  return t;
}

/** IR forward and onnxruntime agree within 1e-5 on a fresh batch (not the importer's own probe). */
async function expectImportMatches(t: Teacher, batch = 23) {
  expect(t.importable, t.reason).toBe(true);
  const obs = randomObs(batch, t.obsDim, 99);
  const ortOut = await t.runBatch(obs, batch);
  const irOut = forward(t.model!, obs, batch);
  expect(irOut.length).toBe(ortOut.length);
  let worst = 0;
  for (let i = 0; i < ortOut.length; i++) worst = Math.max(worst, Math.abs(irOut[i] - ortOut[i]));
  expect(worst).toBeLessThanOrEqual(1e-5);
}

// A 2-3-2 MLP written in several ONNX dialects. W1 is [3][2] (out x in), W2 is [2][3].
const W1 = [0.5, -1, 1.5, 0.25, -0.75, 2];
const B1 = [0.1, -0.2, 0.3];
const W2 = [1, -2, 0.5, -1, 0.75, 1.25];
const B2 = [0.05, -0.05];
const transpose = (w: number[], rows: number, cols: number) => Array.from({ length: w.length }, (_, i) => w[(i % rows) * cols + Math.floor(i / rows)]);

describe('importing our own files', () => {
  for (const head of [
    { kind: 'discrete', n: 3 },
    { kind: 'discrete', output: 'q_values', n: 2 },
    { kind: 'continuous', squash: 'tanh', low: [-2, 0], high: [2, 1], logStd: [-1, -2] },
    { kind: 'continuous', squash: 'none', low: [-1, 0], high: [1, 0.5] },
  ] as const) {
    it(`round-trips ${head.kind} ${'output' in head ? head.output : 'squash' in head ? head.squash : 'logits'} exactly`, async () => {
      const m = mlp({ obsDim: 3, hidden: [8, 8], activation: 'tanh', head, obsNorm: { mean: [1, 2, 3], std: [0.5, 1, 2], clip: 4 }, init: { seed: 2 }, envId: 'E-v0', card: { a: 1 } });
      const t = await teacher(`own-${head.kind}-${'output' in head ? head.output : head.squash}`, policyToOnnx(m));
      expect(t.model).toEqual(m);
      expect(t.outputKind).toBe(head.kind === 'continuous' ? 'action' : ('output' in head ? head.output : 'logits'));
      await expectImportMatches(t);
    });
  }
});

describe('importing hand-built graphs', () => {
  it('MatMul + Add with a transposed weight, Sub/Mul normalization and a Constant clip', async () => {
    const t = await teacher('matmul', {
      nodes: [
        { op: 'Sub', inputs: ['obs', 'mean'], outputs: ['c'] },
        { op: 'Mul', inputs: ['c', 'inv_std'], outputs: ['s'] },
        { op: 'Clip', inputs: ['s', 'neg5', 'pos5'], outputs: ['n'] },
        { op: 'MatMul', inputs: ['n', 'W1t'], outputs: ['m1'] },
        { op: 'Add', inputs: ['m1', 'B1'], outputs: ['h1'] },
        { op: 'Relu', inputs: ['h1'], outputs: ['r1'] },
        { op: 'MatMul', inputs: ['r1', 'W2t'], outputs: ['m2'] },
        { op: 'Add', inputs: ['B2', 'm2'], outputs: ['logits'] },
      ],
      inits: [
        floatInit('mean', [2], [1, -1]),
        floatInit('inv_std', [1, 2], [0.5, 4]),
        floatInit('neg5', [], [-5]),
        floatInit('pos5', [], [5]),
        floatInit('W1t', [2, 3], transpose(W1, 3, 2)),
        floatInit('B1', [3], B1),
        floatInit('W2t', [3, 2], transpose(W2, 2, 3)),
        floatInit('B2', [1, 2], B2),
      ],
      outputs: [{ name: 'logits', dims: ['batch', 2] }],
    });
    expect(t.model!.layers.map((l) => [l.inDim, l.outDim, l.activation])).toEqual([
      [2, 3, 'relu'],
      [3, 2, 'none'],
    ]);
    expect(Array.from(t.model!.layers[0].weight)).toEqual(W1.map(Math.fround));
    expect(t.model!.obsNorm).toEqual({ mean: Float32Array.of(1, -1), std: Float32Array.of(2, 0.25), clip: 5 });
    await expectImportMatches(t);
  });

  it('Gemm with transB=0, alpha and beta, Constant nodes, Flatten, Reshape and Identity', async () => {
    const t = await teacher('gemm-attrs', {
      nodes: [
        { op: 'Flatten', inputs: ['obs'], outputs: ['f'], attrs: { axis: 1 } },
        { op: 'Reshape', inputs: ['f', 'shape'], outputs: ['r'] },
        { op: 'Gemm', inputs: ['r', 'W1t', 'B1'], outputs: ['g1'], attrs: { alpha: { f: 2 }, beta: { f: 0.5 } } },
        { op: 'Tanh', inputs: ['g1'], outputs: ['t1'] },
        { op: 'Identity', inputs: ['t1'], outputs: ['i1'] },
        { op: 'Constant', inputs: [], outputs: ['B2'], attrs: { value: { t: floatInit('', [2], B2) } } },
        { op: 'Gemm', inputs: ['i1', 'W2', 'B2'], outputs: ['q'], attrs: { transB: 1 } },
      ],
      inits: [int64Init('shape', [2], [-1, 2]), floatInit('W1t', [2, 3], transpose(W1, 3, 2)), floatInit('B1', [3], B1), floatInit('W2', [2, 3], W2)],
      outputs: [{ name: 'q', dims: ['batch', 2] }],
    });
    expect(Array.from(t.model!.layers[1].bias)).toEqual(B2.map(Math.fround));
    expect(t.outputKind).toBe('q_values');
    expect(Array.from(t.model!.layers[0].weight)).toEqual(W1.map((w) => Math.fround(2 * w)));
    expect(Array.from(t.model!.layers[0].bias)).toEqual(B1.map((b) => Math.fround(0.5 * b)));
    await expectImportMatches(t);
  });

  it('folds constant subgraphs: Sqrt(var + eps) as the std, as torch exports VecNormalize', async () => {
    const t = await teacher('folded-norm', {
      nodes: [
        { op: 'Add', inputs: ['var', 'eps'], outputs: ['ve'] },
        { op: 'Sqrt', inputs: ['ve'], outputs: ['std'] },
        { op: 'Sub', inputs: ['obs', 'mean'], outputs: ['c'] },
        { op: 'Div', inputs: ['c', 'std'], outputs: ['s'] },
        { op: 'Clip', inputs: ['s', 'lo', 'hi'], outputs: ['n'] },
        { op: 'Gemm', inputs: ['n', 'W1', 'B1'], outputs: ['g1'], attrs: { transB: 1 } },
        { op: 'Sigmoid', inputs: ['g1'], outputs: ['s1'] },
        { op: 'Gemm', inputs: ['s1', 'W2', 'B2'], outputs: ['logits'], attrs: { transB: 1 } },
      ],
      inits: [
        floatInit('var', [2], [4, 0.25]),
        floatInit('eps', [], [1e-8]),
        floatInit('mean', [2], [0.5, 0.5]),
        floatInit('lo', [], [-10]),
        floatInit('hi', [], [10]),
        floatInit('W1', [3, 2], W1),
        floatInit('B1', [3], B1),
        floatInit('W2', [2, 3], W2),
        floatInit('B2', [2], B2),
      ],
      outputs: [{ name: 'logits', dims: ['batch', 2] }],
    });
    expect(t.model!.obsNorm!.clip).toBe(10);
    expect(t.model!.obsNorm!.std[0]).toBeCloseTo(2, 6);
    await expectImportMatches(t);
  });

  it('peels a final Softmax: the teacher gives the logits under it', async () => {
    const t = await teacher('softmax', {
      nodes: [
        { op: 'Gemm', inputs: ['obs', 'W1', 'B1'], outputs: ['g1'], attrs: { transB: 1 } },
        { op: 'Relu', inputs: ['g1'], outputs: ['r1'] },
        { op: 'Gemm', inputs: ['r1', 'W2', 'B2'], outputs: ['pre'], attrs: { transB: 1 } },
        { op: 'Softmax', inputs: ['pre'], outputs: ['probs'], attrs: { axis: -1 } },
      ],
      inits: [floatInit('W1', [3, 2], W1), floatInit('B1', [3], B1), floatInit('W2', [2, 3], W2), floatInit('B2', [2], B2)],
      outputs: [{ name: 'probs', dims: ['batch', 2] }],
    });
    expect(t.outputKind).toBe('logits');
    expect(t.outputTensor).toBe('pre');
    expect(t.notes.join(' ')).toMatch(/Softmax/);
    // obs [1, 0]: h = relu([0.5 + 0.1, 1.5 - 0.2, -0.75 + 0.3]) = [0.6, 1.3, 0] -> [0.6 - 2.6 + 0.05, -0.6 + 0.975 - 0.05]
    const y = await t.runBatch(Float32Array.of(1, 0), 1);
    expect(y[0]).toBeCloseTo(-1.95, 5);
    expect(y[1]).toBeCloseTo(0.325, 5);
    await expectImportMatches(t);
  });

  it('reads probabilities it cannot peel as log(p) and stays opaque', async () => {
    // probs = x / sum(x) over a positive hidden layer: not a Softmax, not a chain.
    const t = await teacher('probs-opaque', {
      nodes: [
        { op: 'Gemm', inputs: ['obs', 'W1', 'B1'], outputs: ['g1'], attrs: { transB: 1 } },
        { op: 'Sigmoid', inputs: ['g1'], outputs: ['s1'] },
        { op: 'ReduceSum', inputs: ['s1'], outputs: ['sum'], attrs: { axes: [1], keepdims: 1 } },
        { op: 'Div', inputs: ['s1', 'sum'], outputs: ['action_probs'] },
      ],
      inits: [floatInit('W1', [3, 2], W1), floatInit('B1', [3], B1)],
      outputs: [{ name: 'action_probs', dims: ['batch', 3] }],
      opset: 11,
    });
    expect(t.importable).toBe(false);
    expect(t.reason).toMatch(/probabilities|chain/);
    const y = await t.runBatch(Float32Array.of(0, 0), 1);
    // obs 0: s = sigmoid(B1); p = s / sum(s); the teacher gives log p
    const s = B1.map((b) => 1 / (1 + Math.exp(-b)));
    const sum = s.reduce((a, b) => a + b, 0);
    s.forEach((v, i) => expect(y[i]).toBeCloseTo(Math.log(v / sum), 5));
  });

  it('keeps a residual network as an opaque teacher, with the reason', async () => {
    const t = await teacher('residual', {
      nodes: [
        { op: 'Gemm', inputs: ['obs', 'Wsq', 'Bsq'], outputs: ['g'], attrs: { transB: 1 } },
        { op: 'Relu', inputs: ['g'], outputs: ['r'] },
        { op: 'Add', inputs: ['obs', 'r'], outputs: ['res'] },
        { op: 'Gemm', inputs: ['res', 'W1', 'B1'], outputs: ['logits'], attrs: { transB: 1 } },
      ],
      inits: [floatInit('Wsq', [2, 2], [1, 0, 0, 1]), floatInit('Bsq', [2], [0, 0]), floatInit('W1', [3, 2], W1), floatInit('B1', [3], B1)],
      outputs: [{ name: 'logits', dims: ['batch', 3] }],
    });
    expect(t.importable).toBe(false);
    expect(t.model).toBeUndefined();
    expect(t.reason).toMatch(/Add node .* combines 2 input-dependent tensors/);
    // obs [1, -1]: res = [1 + 1, -1 + 0] = [2, -1] -> W1 res + B1 = [1 + 1 + 0.1, 3 - 0.25 - 0.2, -1.5 - 2 + 0.3]
    const y = await t.runBatch(Float32Array.of(1, -1), 1);
    [2.1, 2.55, -3.2].forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
  });

  it('SB3-style outputs (actions=ArgMax, values, log_prob) with numbered names: uses the logits under ArgMax', async () => {
    const t = await teacher('sb3-like', {
      nodes: [
        { op: 'Gemm', inputs: ['input', 'W1', 'B1'], outputs: ['h'], attrs: { transB: 1 } },
        { op: 'Tanh', inputs: ['h'], outputs: ['t'] },
        { op: 'Gemm', inputs: ['t', 'W2', 'B2'], outputs: ['pi'], attrs: { transB: 1 } },
        { op: 'ArgMax', inputs: ['pi'], outputs: ['17'], attrs: { axis: 1, keepdims: 0 } },
        { op: 'Gemm', inputs: ['t', 'Wv', 'Bv'], outputs: ['18'], attrs: { transB: 1 } },
        { op: 'ReduceMax', inputs: ['pi'], outputs: ['19'], attrs: { axes: [1], keepdims: 0 } },
      ],
      inits: [floatInit('W1', [3, 2], W1), floatInit('B1', [3], B1), floatInit('W2', [2, 3], W2), floatInit('B2', [2], B2), floatInit('Wv', [1, 3], [1, 1, 1]), floatInit('Bv', [1], [0])],
      inputs: [{ name: 'input', dims: [1, 2] }],
      outputs: [
        { name: '17', dims: [1], elemType: 7 },
        { name: '18', dims: [1, 1] },
        { name: '19', dims: [1] },
      ],
    });
    expect(t.outputKind).toBe('logits');
    expect(t.outputTensor).toBe('pi');
    expect(t.outDim).toBe(2);
    await expectImportMatches(t, 5); // batch 5 through a batch-1 model: run row by row
  });

  it('needs --teacher-output when names say nothing, and then uses the first output', async () => {
    const spec: ModelSpec = {
      nodes: [
        { op: 'Gemm', inputs: ['obs', 'W1', 'B1'], outputs: ['11'], attrs: { transB: 1 } },
        { op: 'Gemm', inputs: ['obs', 'W1', 'B1'], outputs: ['12'], attrs: { transB: 1 } },
      ],
      inits: [floatInit('W1', [3, 2], W1), floatInit('B1', [3], B1)],
      outputs: [
        { name: '11', dims: ['batch', 3] },
        { name: '12', dims: ['batch', 3] },
      ],
    };
    await expect(teacher('unnamed', spec)).rejects.toMatchObject({ code: 'UNSUPPORTED', message: /cannot tell what/, suggestion: /--teacher-output/ });
    const t = await teacher('unnamed2', spec, { teacherOutput: 'q_values' });
    expect(t.outputName).toBe('11');
    expect(t.notes.join(' ')).toMatch(/first output/);
    await expectImportMatches(t);
  });

  it('applies SB3 VecNormalize stats given as options, in runBatch and in the IR', async () => {
    const m = mlp({ obsDim: 2, hidden: [4], head: { kind: 'discrete', n: 2 }, init: { seed: 4 } });
    const t = await teacher('with-vecnorm', policyToOnnx(m), { obsNorm: { mean: [1, -1], var: [4, 0.25] } });
    expect(t.model!.obsNorm!.clip).toBe(10);
    expect(t.model!.obsNorm!.std[0]).toBeCloseTo(2, 6);
    // raw obs [3, 9]: normalized [(3-1)/2, min((9+1)/0.5, 10)] = [1, 10]
    const y = await t.runBatch(Float32Array.of(3, 9), 1);
    expect(Array.from(y)).toEqual(Array.from(forward(m, Float32Array.of(1, 10), 1)));
    await expectImportMatches(t);
    await expect(teacher('with-vecnorm-bad', policyToOnnx(m), { obsNorm: { mean: [1, 2, 3], var: [1, 1, 1] } })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: /obsNorm.mean must have 2 values/,
    });
  });
});

describe('output names', () => {
  it('classifies common names', () => {
    expect(['logits', 'action_logits', 'pi_logits'].map(classifyOutputName)).toEqual(['logits', 'logits', 'logits']);
    expect(['q', 'q_values', 'qValues', 'q_net'].map(classifyOutputName)).toEqual(['q_values', 'q_values', 'q_values', 'q_values']);
    expect(['action', 'actions', 'mean_actions', 'mu'].map(classifyOutputName)).toEqual(['action', 'action', 'action', 'action']);
    expect(['probs', 'action_probs'].map(classifyOutputName)).toEqual(['probs', 'probs']);
    expect(['values', 'log_prob', '34', 'output'].map(classifyOutputName)).toEqual(['value', 'value', null, null]);
  });
});
