/**
 * The C artifact compiled for real with gcc (-O2 -Wall -Wextra -Werror -std=c99 -pedantic) next to a
 * harness that reads observations and writes outputs: bit for bit the JS int8 module.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argmaxRow } from '../../pipeline/src/ir/forward.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';
import { quantizePolicy, type QuantizedPolicy } from '../../pipeline/src/quant/index.js';
import { emitC } from '../../pipeline/src/export/c/emit.js';
import { GCC_FLAGS, compileAndRunC, findGcc } from '../../pipeline/src/export/c/run.js';
import { emitInt8Module, importModuleFile } from '../../pipeline/src/export/js/index.js';
import { cartpoleGolden, cartpoleStudent, diffCount, shapes, tmp } from './helpers.js';

const N = 1000;
let dir: string;
let student: PolicyModel;
let golden: Float32Array;
let qp: QuantizedPolicy;

beforeAll(async () => {
  dir = tmp();
  student = await cartpoleStudent();
  golden = await cartpoleGolden(N, 0);
  qp = quantizePolicy(student, await cartpoleGolden(1000, 1000));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('C int8 artifact', () => {
  it('gcc is installed (the C suite needs it: apt-get install gcc)', () => {
    expect(findGcc()).not.toBeNull();
    expect(GCC_FLAGS).toEqual(expect.arrayContaining(['-O2', '-Wall', '-Wextra', '-Werror', '-std=c99']));
  });

  it('compiles warning-free and equals the JS int8 module bit for bit, policy_act included', async () => {
    const gcc = findGcc()!;
    const all = [
      { name: 'CartPole student', model: student, qp, obs: golden },
      ...shapes().map((s) => ({ name: s.name, model: s.model, qp: quantizePolicy(s.model, s.obs(500, 1)), obs: s.obs(N, 2) })),
    ];
    for (const [i, c] of all.entries()) {
      const d = c.model.obsDim;
      const rows = c.obs.length / d;
      const { header, source } = emitC(c.qp);
      const discrete = c.model.head.kind === 'discrete';
      const outDim = discrete ? (c.model.head as { n: number }).n : (c.model.head as { dim: number }).dim;
      const res = compileAndRunC(header, source, c.obs, rows, outDim, discrete, gcc);
      const file = join(dir, `m${i}.mjs`);
      writeFileSync(file, emitInt8Module(c.qp));
      const js = await importModuleFile(file);
      const want = new Float32Array(rows * outDim);
      for (let r = 0; r < rows; r++) want.set(js.forward(c.obs.subarray(r * d, (r + 1) * d)), r * outDim);
      expect(diffCount(res.output, want), c.name).toBe(0);
      if (discrete) {
        for (let r = 0; r < rows; r++) {
          expect(res.actions![r]).toBe(js.act(c.obs.subarray(r * d, (r + 1) * d)));
          expect(res.actions![r]).toBe(argmaxRow(res.output, outDim, r));
        }
      }
    }
  });

  it('C99 with no dependencies: const weights, no malloc, no globals written, no libm for discrete heads', () => {
    const { header, source } = emitC(qp);
    expect(header).toMatch(/int policy_act\(const float \*obs\);/);
    expect(header).toMatch(/void policy_forward\(const float \*obs, float \*out\);/);
    expect(source).not.toMatch(/malloc|<math\.h>|<stdio\.h>/);
    const statics = source.match(/^static [^(]*=/gm) ?? [];
    expect(statics.length).toBeGreaterThan(0);
    expect(statics.every((s) => s.startsWith('static const '))).toBe(true);
  });
});
