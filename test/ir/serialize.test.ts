import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { mlp } from '../../pipeline/src/ir/build.js';
import { forward } from '../../pipeline/src/ir/forward.js';
import {
  base64ToFloats,
  floatsToBase64,
  policyFromJSON,
  policyToJSON,
  readPolicyFile,
  writePolicyFile,
} from '../../pipeline/src/ir/serialize.js';
import type { PolicyModel } from '../../pipeline/src/ir/types.js';

const continuous = () =>
  mlp({
    obsDim: 3,
    hidden: [5],
    head: { kind: 'continuous', squash: 'tanh', low: [-2, 0], high: [2, 1], logStd: [-0.5, -1] },
    obsNorm: { mean: [0.1, -0.2, 0.3], std: [1, 2, 3], clip: 10 },
    init: { seed: 11 },
    envId: 'Pendulum-v1',
    card: { algo: 'ppo', steps: 1000 },
  });

function rejects(json: unknown, field: string, text: RegExp) {
  try {
    policyFromJSON(json, 'out/policy.json');
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeDistillError);
    expect((e as EdgeDistillError).code).toBe('BAD_MODEL');
    expect((e as EdgeDistillError).file).toBe('out/policy.json');
    expect((e as EdgeDistillError).field).toBe(field);
    expect((e as EdgeDistillError).message).toMatch(text);
    return;
  }
  throw new Error(`expected a rejection naming ${field}`);
}

describe('base64 float32', () => {
  it('is little-endian float32: 1.0 is 00 00 80 3f', () => {
    expect(floatsToBase64(Float32Array.of(1))).toBe(Buffer.from([0, 0, 0x80, 0x3f]).toString('base64'));
    expect(base64ToFloats(Buffer.from([0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0xff]).toString('base64'), 2, 'x')).toEqual(Float32Array.of(NaN, -Infinity));
  });
});

describe('policy.json', () => {
  it('round-trips exactly (weights, bounds, logStd, card) and computes the same outputs', () => {
    const m = continuous();
    const back = policyFromJSON(JSON.parse(JSON.stringify(policyToJSON(m))));
    expect(back).toEqual(m);
    const obs = Float32Array.of(0.5, -1, 2, 3, 0, -4);
    expect(forward(back, obs, 2)).toEqual(forward(m, obs, 2));
  });
  it('carries a format tag and version', () => {
    const j = policyToJSON(continuous());
    expect(j.format).toBe('edgedistill-policy');
    expect(j.version).toBe(1);
    rejects({ ...j, format: 'something-else' }, 'format', /edgedistill-policy/);
    rejects({ ...j, version: 99 }, 'version', /must be 1/);
  });
  it('names a weight with the wrong length', () => {
    const j = policyToJSON(continuous());
    j.layers[1].weight = floatsToBase64(new Float32Array(9));
    rejects(j, 'layers.1.weight', /expected 10 float32 values, got 9/);
  });
  it('names a NaN weight on read', () => {
    const j = policyToJSON(continuous());
    const w = base64ToFloats(j.layers[0].weight, null, 'w');
    w[2] = NaN;
    j.layers[0].weight = floatsToBase64(w);
    rejects(j, 'layers.0.weight', /NaN at index 2/);
  });
  it('names text that is not base64', () => {
    const j = policyToJSON(continuous());
    j.head = { ...j.head, low: 'not base64!' } as typeof j.head;
    rejects(j, 'head.low', /base64/);
  });
  it('names a broken dims chain', () => {
    const j = policyToJSON(continuous());
    j.obsDim = 4;
    // obsNorm vectors are checked first against obsDim
    rejects(j, 'obsNorm.mean', /expected 4/);
  });
  it('refuses to serialize an invalid model', () => {
    const m = continuous();
    (m.layers[0].weight as Float32Array)[0] = NaN;
    expect(() => policyToJSON(m as PolicyModel)).toThrow(/layers.0.weight/);
  });
  it('writes atomically and reads back; bad files name the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ed-policy-'));
    const p = join(dir, 'policy.json');
    await writePolicyFile(p, continuous());
    expect(readdirSync(dir)).toEqual(['policy.json']); // no temp file left behind
    expect(await readPolicyFile(p)).toEqual(continuous());
    writeFileSync(p, readFileSync(p, 'utf8').slice(0, 100));
    await expect(readPolicyFile(p)).rejects.toMatchObject({ code: 'BAD_MODEL', file: p, message: /not valid JSON/ });
    await expect(readPolicyFile(join(dir, 'missing.json'))).rejects.toMatchObject({ code: 'BAD_ARGUMENT' });
  });
});
