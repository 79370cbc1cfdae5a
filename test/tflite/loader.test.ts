import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLiteRt, openTfliteModel, readTfliteFile } from '../../runtime/src/backends/litert/index.js';
import { EdgeDistillError } from '../../runtime/src/errors.js';
import { GraphBuilder, lowerFloat, serializeGraph, writeTflite } from '../../pipeline/src/export/tflite/index.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import { mlp } from '../../pipeline/src/ir/build.js';
import { OP } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'edgedistill-litert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const model = mlp({ obsDim: 4, hidden: [8], activation: 'tanh', head: { kind: 'discrete', n: 2 }, init: { seed: 3 } });

/** The same model with its TANH fused into FULLY_CONNECTED (LiteRT loads it, then fails silently). */
function fusedTanhModel(): Uint8Array {
  const g = lowerFloat(model, 'fp32');
  const ops = [...g.ops];
  const t = ops.findIndex((o) => o.op === OP.TANH);
  const fc = ops[t - 1];
  ops[t - 1] = { ...fc, outputs: ops[t].outputs, options: { ...fc.options!, fusedActivation: 4 /* TANH */ } };
  ops.splice(t, 1);
  return serializeGraph({ ...g, ops });
}

async function rejection(p: Promise<unknown>): Promise<EdgeDistillError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeDistillError);
    return e as EdgeDistillError;
  }
  throw new Error('expected a rejection');
}

describe('loadLiteRt', () => {
  it('loads offline from the package wasm directory, once, and leaves no browser globals behind', async () => {
    const a = loadLiteRt();
    const b = loadLiteRt();
    expect(a).toBe(b);
    const rt = await a;
    expect(rt.wasmDir).toMatch(/@litertjs[/\\]core[/\\]wasm$/);
    expect(rt.wasmFile).toMatch(/^litert_wasm_.*internal\.js$/);
    const g = globalThis as Record<string, unknown>;
    expect(g.self).toBeUndefined();
    expect(g.importScripts).toBeUndefined();
    expect(g.ModuleFactory).toBeUndefined();
    // LiteRT's logging is captured, not printed.
    expect(rt.log.count).toBeGreaterThan(0);
  });
});

describe('openTfliteModel: bad files', () => {
  it('garbage bytes on disk: BAD_MODEL naming the file', async () => {
    const path = join(dir, 'garbage.tflite');
    writeFileSync(path, Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37) & 255)));
    const e = await rejection(openTfliteModel(path));
    expect(e.code).toBe('BAD_MODEL');
    expect(e.file).toBe(path);
    expect(e.message).toMatch(/identifier/);
  });

  it('a truncated .tflite: BAD_MODEL naming the file', async () => {
    const bytes = writeTflite(model, { variant: 'fp32' });
    for (const keep of [bytes.length - 40, Math.floor(bytes.length / 2), 12, 3]) {
      const path = join(dir, `truncated-${keep}.tflite`);
      writeFileSync(path, bytes.subarray(0, keep));
      const e = await rejection(openTfliteModel(path));
      expect(e.code).toBe('BAD_MODEL');
      expect(e.file).toBe(path);
      expect(e.format()).toContain(path);
    }
  });

  it('a root offset past the end: BAD_MODEL from our reader, before LiteRT', async () => {
    const bytes = writeTflite(model, { variant: 'fp32' }).slice();
    new DataView(bytes.buffer).setUint32(0, bytes.length - 2, true);
    const e = await rejection(openTfliteModel(bytes, { name: 'damaged.tflite' }));
    expect(e.code).toBe('BAD_MODEL');
    expect(e.file).toBe('damaged.tflite');
    expect(e.message).toMatch(/runs past the end/);
  });

  it('well-formed flatbuffers LiteRT refuses: BAD_MODEL naming the file with LiteRT\'s reason; LiteRT still usable', async () => {
    const g = lowerFloat(model, 'fp32');
    const cases: [string, typeof g.ops, RegExp][] = [
      ['bad-index.tflite', g.ops.map((o) => (o.op === OP.TANH ? { ...o, inputs: [999] } : o)), /invalid op input index: 999/],
      ['fc-v99.tflite', g.ops.map((o) => (o.op === OP.FULLY_CONNECTED ? { ...o, version: 99 } : o)), /Didn't find op for builtin opcode 'FULLY_CONNECTED' version '99'/],
    ];
    for (const [name, ops, why] of cases) {
      const e = await rejection(openTfliteModel(serializeGraph({ ...g, ops }), { name }));
      expect(e.code).toBe('BAD_MODEL');
      expect(e.file).toBe(name);
      expect(e.details.map((d) => d.text).join('\n')).toMatch(why);
    }
    const ok = await openTfliteModel(writeTflite(model, { variant: 'fp32' }));
    ok.dispose();
  });

  it('a missing file: IO naming it', async () => {
    const path = join(dir, 'nope.tflite');
    const e = await rejection(openTfliteModel(path));
    expect(e.code).toBe('IO');
    expect(e.file).toBe(path);
  });

  it('readTfliteFile reads version and our metadata', () => {
    const info = readTfliteFile(writeTflite(model, { variant: 'fp32' }), 'x.tflite');
    expect(info.version).toBe(3);
    expect(info.subgraphs).toBe(1);
    const meta = JSON.parse(new TextDecoder().decode(info.metadata.edgedistill));
    expect(meta).toMatchObject({ producer: 'edgedistill', variant: 'fp32', obsDim: 4 });
    expect(meta.selfTest.obs).toHaveLength(8);
  });
});

describe('openTfliteModel: failed runs LiteRT does not report', () => {
  it('LiteRT really returns garbage for a fused TANH (no exception, no NaN)', async () => {
    const rt = await loadLiteRt();
    const compiled = await rt.liteRt.loadAndCompile(fusedTanhModel(), { accelerator: 'wasm' });
    try {
      const obs = new Float32Array([0.1, -0.2, 0.3, 0.05]);
      const input = new rt.core.Tensor(obs, [1, 4]);
      const [out] = await compiled.run([input]);
      const got = out.toTypedArray() as Float32Array;
      input.delete();
      out.delete();
      const want = forward(model, obs, 1);
      expect(Array.from(got).every(Number.isFinite)).toBe(true);
      expect(Math.abs(got[0] - want[0]) + Math.abs(got[1] - want[1])).toBeGreaterThan(0.01);
    } finally {
      compiled.delete();
    }
  });

  it('the loader rejects it at open (self-test): RUNTIME naming the file', async () => {
    const path = join(dir, 'fused-tanh.tflite');
    writeFileSync(path, fusedTanhModel());
    const e = await rejection(openTfliteModel(path));
    expect(e.code).toBe('RUNTIME');
    expect(e.file).toBe(path);
    expect(e.details.map((d) => d.text).join('\n')).toMatch(/FULLY_CONNECTED\) failed to prepare|Failed to allocate tensors/);
  });

  it('and on every run when the self-test is skipped', async () => {
    const m = await openTfliteModel(fusedTanhModel(), { name: 'fused.tflite', selfTest: false });
    try {
      const e = await rejection(m.run(new Float32Array([0.1, -0.2, 0.3, 0.05])));
      expect(e.code).toBe('RUNTIME');
      expect(e.file).toBe('fused.tflite');
    } finally {
      m.dispose();
    }
  });

  it('a NaN output (0/0 in the graph) is a RUNTIME error naming the tensor', async () => {
    const g = new GraphBuilder();
    const x = g.tensor({ name: 'obs', type: 0, shape: [1, 2] });
    const zero = g.constF32('zero', [0, 0]);
    const z = g.binary('MUL', x, zero, 'zeroed');
    const y = g.binary('DIV', z, zero, 'logits');
    const bytes = serializeGraph(
      g.build({ inputs: [x], outputs: [y], signatureKey: 'serving_default', signatureInputs: [{ name: 'obs', tensor: x }], signatureOutputs: [{ name: 'logits', tensor: y }], description: 'nan' }),
    );
    const e = await rejection(openTfliteModel(bytes, { name: 'nan.tflite' }));
    expect(e.code).toBe('RUNTIME');
    expect(e.file).toBe('nan.tflite');
    expect(e.message).toMatch(/logits\[0\] is NaN/);
  });

  it('a model that runs but disagrees with the expectation: RUNTIME', async () => {
    const bytes = writeTflite(model, { variant: 'fp32' });
    const obs = new Float32Array([0.1, -0.2, 0.3, 0.05]);
    const right = forward(model, obs, 1);
    const m = await openTfliteModel(bytes, { expect: { obs, output: right, tolerance: 1e-5 } });
    m.dispose();
    const wrong = right.map((v) => v + 0.1);
    const e = await rejection(openTfliteModel(bytes, { name: 'wrong.tflite', expect: { obs, output: wrong, tolerance: 1e-5 } }));
    expect(e.code).toBe('RUNTIME');
    expect(e.file).toBe('wrong.tflite');
  });
});

describe('openTfliteModel: running', () => {
  it('checks observations and refuses to run after dispose', async () => {
    const m = await openTfliteModel(writeTflite(model, { variant: 'fp32' }), { name: 'p.tflite' });
    expect(m.wasmFile).toMatch(/\.js$/);
    expect((await rejection(m.run(new Float32Array(3)))).code).toBe('BAD_OBSERVATION');
    expect((await rejection(m.run(new Float32Array([0, NaN, 0, 0])))).message).toMatch(/NaN at index 1/);
    expect((await rejection(m.run(new Float32Array(8), 0))).code).toBe('BAD_ARGUMENT');
    // Concurrent runs are queued and each gets its own answer.
    const xs = [0, 1, 2, 3].map((k) => new Float32Array([k, -k, k / 2, 1]));
    const ys = await Promise.all(xs.map((x) => m.run(x)));
    ys.forEach((y, k) => expect(Math.max(...y.map((v, i) => Math.abs(v - forward(model, xs[k], 1)[i])))).toBeLessThan(1e-5));
    m.dispose();
    m.dispose();
    expect((await rejection(m.run(new Float32Array(4)))).code).toBe('RUNTIME');
  });

  it('refuses models that are not single float32 [batch, n] -> [batch, m] policies', async () => {
    const g = new GraphBuilder();
    const x = g.tensor({ name: 'obs', type: 0, shape: [4] });
    const y = g.binary('ADD', x, g.constF32('one', [1, 1, 1, 1]), 'out');
    const bytes = serializeGraph(
      g.build({ inputs: [x], outputs: [y], signatureKey: 'serving_default', signatureInputs: [{ name: 'obs', tensor: x }], signatureOutputs: [{ name: 'out', tensor: y }], description: 'rank 1' }),
    );
    const e = await rejection(openTfliteModel(bytes, { name: 'rank1.tflite' }));
    expect(e.code).toBe('UNSUPPORTED');
    expect(e.file).toBe('rank1.tflite');
  });
});
