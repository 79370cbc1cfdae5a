import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTflite } from '../../pipeline/src/export/tflite/index.js';
import { forward } from '../../pipeline/src/ir/index.js';
import { EdgeDistillError, loadPolicy } from '../../runtime/src/index.js';
import { argmax, cartpoleModel, maxAbsDiff, observations, pendulumModel, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('litert backend (LiteRT.js through the adapter)', () => {
  it('.tflite picks litert; metadata from the file; outputs match the IR; actBatch equals act', async () => {
    const model = cartpoleModel(4);
    const path = join(tmp.dir, 'cartpole.tflite');
    writeFileSync(path, writeTflite(model, { variant: 'fp32' }));
    const p = await loadPolicy(path);
    expect(p.backend).toBe('litert');
    expect(p.metadata).toMatchObject({
      envId: 'CartPole-v1',
      obsDim: 4,
      inputName: 'obs',
      head: { kind: 'discrete', outputName: 'logits', outDim: 2 },
      actionSpace: { kind: 'discrete', n: 2, start: 0 },
      card: { algorithm: 'test', seed: 4 },
      artifact: { format: 'tflite', variant: 'fp32', metadataSource: 'embedded' },
    });
    const rows = observations(12, 4, 2);
    const single = [];
    for (const obs of rows) {
      const y = await p.forward(obs);
      expect(maxAbsDiff(y, forward(model, obs, 1))).toBeLessThanOrEqual(1e-5);
      const a = await p.act(obs);
      expect(a).toBe(argmax(y));
      single.push(a);
    }
    expect(await p.actBatch(rows)).toEqual(single);
    await expect(p.act([0, Number.NaN, 0, 0])).rejects.toMatchObject({ code: 'BAD_OBSERVATION', field: 'obs[1]' });
    await p.dispose();
    await expect(p.act([0, 0, 0, 0])).rejects.toMatchObject({ code: 'RUNTIME' });
  });

  it('continuous TFLite: the action space comes from the head bounds', async () => {
    const model = pendulumModel(6);
    const path = join(tmp.dir, 'pendulum.tflite');
    writeFileSync(path, writeTflite(model, { variant: 'fp32' }));
    const p = await loadPolicy(path, { backend: 'litert' });
    expect(p.metadata.actionSpace).toMatchObject({ kind: 'box', low: Float32Array.of(-2), high: Float32Array.of(2) });
    for (const obs of observations(10, 3, 3)) {
      const a = (await p.act(obs)) as Float32Array;
      expect(maxAbsDiff(a, forward(model, obs, 1))).toBeLessThanOrEqual(1e-4);
    }
    await p.dispose();
  });

  it('refuses threads > 1 (one wasm thread) with UNSUPPORTED', async () => {
    const path = join(tmp.dir, 'cartpole-t.tflite');
    writeFileSync(path, writeTflite(cartpoleModel(4), { variant: 'fp32' }));
    const e = await loadPolicy(path, { threads: 4 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EdgeDistillError);
    expect((e as EdgeDistillError).code).toBe('UNSUPPORTED');
    expect((e as EdgeDistillError).message).toMatch(/\[litert\] LiteRT\.js runs on one wasm thread/);
  });
});
