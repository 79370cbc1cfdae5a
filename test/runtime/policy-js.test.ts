import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { forward } from '../../pipeline/src/ir/index.js';
import {
  EdgeDistillError,
  checkStandaloneSource,
  loadPolicy,
  validateCompiledModule,
  type SyncPolicy,
} from '../../runtime/src/index.js';
import {
  CARTPOLE_OBS_SPACE,
  argmax,
  cartpoleModel,
  compiledModuleSource,
  maxAbsDiff,
  observations,
  pendulumModel,
  tempDir,
  writeOnnxFile,
} from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const fixture = fileURLToPath(new URL('./fixtures/cartpole-linear.mjs', import.meta.url));

async function rejection(p: Promise<unknown>): Promise<EdgeDistillError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(EdgeDistillError);
  return e as EdgeDistillError;
}

function writeModule(name: string, source: string): string {
  const path = join(tmp.dir, name);
  writeFileSync(path, source);
  return path;
}

describe('js backend: the hand-written compiled module', () => {
  it('loads synchronously usable, with the module metadata', async () => {
    const p: SyncPolicy = await loadPolicy(fixture, { backend: 'js' });
    expect(p.backend).toBe('js');
    expect(p.sync).toBe(true);
    expect(p.metadata).toMatchObject({
      envId: 'CartPole-v1',
      obsDim: 4,
      inputName: 'obs',
      head: { kind: 'discrete', outputName: 'logits', outDim: 2 },
      actionSpace: { kind: 'discrete', n: 2, start: 0 },
      card: { author: 'hand-written', note: 'test fixture for the js backend' },
      artifact: { format: 'compiled-js', variant: 'fp32', metadataSource: 'embedded', path: fixture },
    });
    expect(p.metadata.observationSpace.high[1]).toBe(Infinity);
    // Pole falling right (theta > 0, theta_dot > 0) -> push right (1); falling left -> 0.
    expect(p.actSync([0, 0, 0.1, 0.5])).toBe(1);
    expect(p.actSync([0, 0, -0.1, -0.5])).toBe(0);
    expect(Array.from(p.forwardSync([0, 0, 0.25, 0.5]))).toEqual([-0.75, 0.75]);
    expect(await p.act([0, 0, 0.1, 0.5])).toBe(1);
    expect(p.actBatchSync([[0, 0, 0.1, 0.5], [0, 0, -0.1, -0.5]])).toEqual([1, 0]);
    expect(() => p.actSync([0, 0, Number.NaN, 0])).toThrow(/obs\[2\] = NaN is not finite/);
    await p.dispose();
    expect(() => p.actSync([0, 0, 0, 0])).toThrow(/disposed/);
  });
});

describe('js backend: generated modules', () => {
  it('matches ort-node on the same network within 1e-5; actBatch equals act per row', async () => {
    const model = cartpoleModel(12);
    const mjs = writeModule('cartpole.mjs', compiledModuleSource(model, { observationSpace: { ...CARTPOLE_OBS_SPACE } }));
    const onnxPath = writeOnnxFile(tmp.dir, 'cartpole.onnx', model);
    const js = await loadPolicy(mjs); // auto: .mjs -> js
    expect(js.backend).toBe('js');
    const ort = await loadPolicy(onnxPath, { backend: 'ort-node' });
    const rows = observations(40, 4, 2);
    for (const obs of rows) {
      const a = await js.forward(obs);
      const b = await ort.forward(obs);
      expect(maxAbsDiff(a, b)).toBeLessThanOrEqual(1e-5);
      expect(await js.act(obs)).toBe(argmax(a));
    }
    const single = [];
    for (const r of rows) single.push(await js.act(r));
    expect(await js.actBatch(rows)).toEqual(single);
    await js.dispose();
    await ort.dispose();
  });

  it('continuous modules give clipped Float32Array actions', async () => {
    const model = pendulumModel(3);
    const p = (await loadPolicy(writeModule('pendulum.mjs', compiledModuleSource(model)), { backend: 'js' })) as SyncPolicy;
    for (const obs of observations(20, 3, 3)) {
      const a = p.actSync(obs) as Float32Array;
      expect(a).toBeInstanceOf(Float32Array);
      expect(Math.abs(a[0])).toBeLessThanOrEqual(2);
      expect(maxAbsDiff(a, forward(model, obs, 1))).toBeLessThanOrEqual(1e-6);
    }
  });

  it('a rewritten file is re-imported, not served from the module cache', async () => {
    const path = writeModule('changing.mjs', compiledModuleSource(cartpoleModel(1)));
    const a = await loadPolicy(path, { backend: 'js' });
    const ya = a.forwardSync([0.1, 0.2, 0.3, 0.4]);
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(path, compiledModuleSource(cartpoleModel(2)));
    const b = await loadPolicy(path, { backend: 'js' });
    expect(maxAbsDiff(ya, b.forwardSync([0.1, 0.2, 0.3, 0.4]))).toBeGreaterThan(1e-3);
  });
});

describe('the compiled module contract', () => {
  const good = compiledModuleSource(cartpoleModel(1));

  it('refuses modules that import anything', async () => {
    for (const [line, what] of [
      ["import { x } from './weights.js';", /a static import/],
      ["import './side-effect.js';", /a static import/],
      ["export * from './other.js';", /a re-export/],
      ["const m = await import('node:fs');", /a dynamic import\(\)/],
      ["const fs = require('node:fs');", /a require\(\) call/],
    ] as const) {
      const path = writeModule('importing.mjs', `${good}\n${line}\n`);
      const e = await rejection(loadPolicy(path));
      expect(e.code).toBe('BAD_MODEL');
      expect(e.message).toMatch(what);
      expect(e.field).toMatch(/^line \d+$/);
    }
    // Words in comments or names are fine.
    expect(() => checkStandaloneSource('// we import nothing\nconst importance = 1; /* require( */\nexport const x = importance;')).not.toThrow();
  });

  it('lists every contract violation', () => {
    try {
      validateCompiledModule(
        {
          metadata: { format: 'edgedistill.compiled/0', variant: 'fp64', envId: 3, obsDim: 4, outDim: 3, outputName: 'logits', card: {}, observationSpace: { shape: [4], low: -1, high: 1 }, actionSpace: { kind: 'discrete', n: 2 } },
          forward: () => new Float32Array(2),
        },
        'm.mjs',
      );
      expect.unreachable();
    } catch (e) {
      const err = e as EdgeDistillError;
      expect(err.code).toBe('BAD_MODEL');
      expect(err.details.map((d) => d.field).sort()).toEqual(['act', 'metadata.actionSpace', 'metadata.envId', 'metadata.format', 'metadata.variant']);
    }
  });

  it('checks the module at load: act must agree with forward', async () => {
    const lying = good.replace(/export function act\(obs\) \{[\s\S]*$/, 'export function act(obs) { const y = forward(obs); return y[0] >= y[1] ? 1 : 0; }\n');
    const e = await rejection(loadPolicy(writeModule('lying.mjs', lying)));
    expect(e.code).toBe('BAD_MODEL');
    expect(e.field).toBe('act');
    expect(e.message).toMatch(/act\(\) gave \d but forward\(\) decodes to \d/);

    const short = good.replace('return post(x);', 'return post(x).subarray(0, 1);');
    const f = await rejection(loadPolicy(writeModule('short.mjs', short)));
    expect(f.message).toMatch(/forward\(\) returned a Float32Array of 1, expected a Float32Array of 2/);
  });
});
