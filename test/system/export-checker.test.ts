/**
 * The ONNX variants (fp32, int8 QDQ, fp16) exportPolicy writes pass
 * onnx.checker.check_model(full_check=True) from Debian's python3-onnx (scripts/ci-apt.sh).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mlp } from '../../pipeline/src/ir/build.js';
import { exportPolicy } from '../../pipeline/src/export/index.js';

function findPython(): string {
  for (const c of [process.env.EDGEDISTILL_PYTHON, '/usr/bin/python3', 'python3'].filter((x): x is string => Boolean(x))) {
    if (spawnSync(c, ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0) return c;
  }
  throw new Error('no python3 with onnx: run scripts/ci-apt.sh (apt-get install python3-onnx)');
}

const CHECK = `
import json, sys, onnx
out = {}
for p in sys.argv[1:]:
    try:
        onnx.checker.check_model(onnx.load(p), full_check=True)
        out[p] = "ok"
    except Exception as e:
        out[p] = f"{type(e).__name__}: {e}"
print(json.dumps(out))
`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgedistill-export-checker-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('onnx.checker full_check on exported variants', () => {
  it('fp32, int8 and fp16 ONNX of discrete and continuous policies (relu, tanh and sigmoid layers)', async () => {
    const python = findPython();
    const models = {
      cartpole: mlp({ obsDim: 4, hidden: [32, 32], activation: 'relu', head: { kind: 'discrete', n: 2 }, envId: 'CartPole-v1', obsNorm: { mean: [0, 0, 0, 0], std: [1, 2, 0.2, 2], clip: 10 }, init: { seed: 1 } }),
      acrobot: mlp({ obsDim: 6, hidden: [16, 16], activation: 'tanh', head: { kind: 'discrete', output: 'q_values', n: 3 }, envId: 'Acrobot-v1', init: { seed: 2 } }),
      pendulum: mlp({ obsDim: 3, hidden: [16], activation: 'sigmoid', head: { kind: 'continuous', squash: 'tanh', low: [-2], high: [2] }, envId: 'Pendulum-v1', init: { seed: 3 } }),
    };
    const files: string[] = [];
    for (const [name, model] of Object.entries(models)) {
      const out = join(dir, name);
      await exportPolicy({ model, formats: ['onnx', 'onnx-int8', 'onnx-fp16'], outDir: out, tolerances: { minAgreement: 0 } });
      files.push(...['policy.onnx', 'policy.int8.onnx', 'policy.fp16.onnx'].map((f) => join(out, f)));
    }
    const r = spawnSync(python, ['-c', CHECK, ...files], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(res)).toHaveLength(9);
    for (const [file, verdict] of Object.entries(res)) expect(verdict, file).toBe('ok');
  });
});
