import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { mlp } from '../../pipeline/src/ir/build.js';
import { writePolicyFile } from '../../pipeline/src/ir/serialize.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { formatInspect, inspectFile } from '../../pipeline/src/onnx/inspect.js';
import { buildModel, floatInit, tempDir, writeModel } from './helpers.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', '..', 'pipeline', 'bin', 'edgedistill.js');
const dir = tempDir('ed-inspect-');
const model = mlp({
  obsDim: 4,
  hidden: [32, 16],
  activation: 'relu',
  head: { kind: 'discrete', n: 2 },
  obsNorm: { mean: [0, 0, 0, 0], std: [1, 2, 3, 4], clip: 5 },
  init: { seed: 9 },
  envId: 'CartPole-v1',
  card: { note: 'test' },
});

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('inspectFile', () => {
  it('reports an importable ONNX file: io, layers, params, ops, opset, metadata', async () => {
    const p = writeModel(dir, 'student.onnx', policyToOnnx(model));
    const r = await inspectFile(p);
    expect(r.inputs).toEqual([{ name: 'obs', dtype: 'float32', shape: ['batch', 4] }]);
    expect(r.outputs).toEqual([{ name: 'logits', dtype: 'float32', shape: ['batch', 2] }]);
    expect(r.layers).toEqual([
      { inDim: 4, outDim: 32, activation: 'relu' },
      { inDim: 32, outDim: 16, activation: 'relu' },
      { inDim: 16, outDim: 2, activation: 'none' },
    ]);
    expect(r.params).toBe(4 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2);
    expect(r.ops).toEqual({ Gemm: 3, Relu: 2, Clip: 1, Div: 1, Sub: 1 });
    expect(r.opset).toEqual([{ domain: 'ai.onnx', version: 13 }]);
    expect([r.importable, r.reason]).toEqual([true, null]);
    expect(r.obsNorm).toEqual({ clip: 5 });
    expect(r.metadata.env_id).toBe('CartPole-v1');
    expect(r.metadata.policy_card).toEqual({ note: 'test' });
    const text = formatInspect(r).join('\n');
    expect(text).toMatch(/layers {6}4 -> 32 relu -> 16 relu -> 2/);
    expect(text).toMatch(/importable {2}yes/);
  });

  it('says why a model is not importable', async () => {
    const p = writeModel(
      dir,
      'residual.onnx',
      buildModel({
        nodes: [
          { op: 'Relu', inputs: ['obs'], outputs: ['r'] },
          { op: 'Add', inputs: ['obs', 'r'], outputs: ['s'] },
          { op: 'Gemm', inputs: ['s', 'W', 'B'], outputs: ['logits'], attrs: { transB: 1 } },
        ],
        inits: [floatInit('W', [2, 2], [1, 2, 3, 4]), floatInit('B', [2], [0, 0])],
        outputs: [{ name: 'logits', dims: ['batch', 2] }],
      }),
    );
    const r = await inspectFile(p);
    expect(r.importable).toBe(false);
    expect(r.reason).toMatch(/Add node .*\(not a single chain\)/);
    expect(r.layers).toBeNull();
    expect(r.params).toBe(6);
  });

  it('reads policy.json', async () => {
    const p = join(dir, 'policy.json');
    await writePolicyFile(p, model);
    const r = await inspectFile(p);
    expect([r.format, r.importable, r.params, r.outputs[0].name]).toEqual(['policy.json', true, 4 * 32 + 32 + 32 * 16 + 16 + 16 * 2 + 2, 'logits']);
  });
});

describe('CLI', () => {
  it('inspect --json prints the report; a garbage file exits 2 with the file named', async () => {
    const p = writeModel(dir, 'cli.onnx', policyToOnnx(model));
    const ok = await cli(['inspect', p, '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ file: p, importable: true, params: 722 });
    const bad = writeModel(dir, 'garbage.onnx', Uint8Array.from({ length: 64 }, (_, i) => (i * 37) % 251));
    const r = await cli(['inspect', bad, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: 'BAD_MODEL', file: bad });
  });

  it('eval --json prints env, episodes, return and steps; a size mismatch exits 2', async () => {
    const p = writeModel(dir, 'cli-eval.onnx', policyToOnnx(model));
    const r = await cli(['eval', '--policy', p, '--episodes', '3', '--seed', '1', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.env).toBe('CartPole-v1');
    expect(j.episodes).toBe(3);
    expect(Object.keys(j.return)).toEqual(['mean', 'std', 'min', 'max']);
    expect(j.steps).toBe(j.return.mean * 3); // CartPole pays 1 per step
    const bad = await cli(['eval', '--policy', p, '--env', 'Acrobot-v1', '--episodes', '1', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout)).toMatchObject({ error: 'BAD_MODEL', file: p, message: 'the model takes 4 observation values but Acrobot-v1 gives 6' });
  });
});
