/**
 * Every file the ONNX writer produces passes onnx.checker.check_model(full_check=True) from Debian's
 * python3-onnx (installed by scripts/ci-apt.sh).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { mlp, type MlpOptions } from '../../pipeline/src/ir/build.js';
import { policyToOnnx, writeOnnx } from '../../pipeline/src/onnx/write.js';
import { decodeOnnx, onnx } from '../../pipeline/src/onnx/proto.js';

/** A python3 that can import the given modules (Debian's /usr/bin/python3 first: pyenv shims lack apt packages). */
function findPython(modules: string[]): string {
  const cands = [process.env.EDGEDISTILL_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => Boolean(c));
  for (const c of cands) {
    const r = spawnSync(c, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  throw new Error(`no python3 with ${modules.join(', ')}: run scripts/ci-apt.sh (apt-get install python3-onnx)`);
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

const variants: Record<string, MlpOptions> = {
  'discrete-logits': { obsDim: 4, hidden: [64, 64], activation: 'tanh', head: { kind: 'discrete', n: 2 } },
  'discrete-logits-norm': {
    obsDim: 4,
    hidden: [32],
    activation: 'relu',
    head: { kind: 'discrete', n: 2 },
    obsNorm: { mean: [0, 0.1, 0.2, 0.3], std: [1, 2, 3, 4], clip: 10 },
  },
  'q-values': { obsDim: 6, hidden: [16, 16], activation: 'relu', head: { kind: 'discrete', output: 'q_values', n: 3 } },
  'q-values-norm': {
    obsDim: 6,
    hidden: [16],
    activation: 'sigmoid',
    head: { kind: 'discrete', output: 'q_values', n: 3 },
    obsNorm: { mean: [0, 0, 0, 1, 1, 1], std: [1, 1, 1, 2, 2, 2], clip: null },
  },
  'continuous-tanh': { obsDim: 3, hidden: [64, 64], head: { kind: 'continuous', squash: 'tanh', low: [-2], high: [2] } },
  'continuous-tanh-norm-2d': {
    obsDim: 8,
    hidden: [32],
    head: { kind: 'continuous', squash: 'tanh', low: [-1, 0], high: [1, 0.5] },
    obsNorm: { mean: new Array(8).fill(0.5), std: new Array(8).fill(2), clip: 5 },
  },
  'continuous-clip': { obsDim: 3, hidden: [16], head: { kind: 'continuous', squash: 'none', low: [-2], high: [2] } },
  'continuous-clip-per-dim-norm': {
    obsDim: 3,
    hidden: [16],
    head: { kind: 'continuous', squash: 'none', low: [-1, -2], high: [1, 0.5] },
    obsNorm: { mean: [1, 2, 3], std: [1, 1, 1], clip: 3 },
  },
  'continuous-unbounded': { obsDim: 3, hidden: [16], head: { kind: 'continuous', squash: 'none', low: [-Infinity], high: [Infinity] } },
};

let python = '';
let results: Record<string, string> = {};
const dir = mkdtempSync(join(tmpdir(), 'ed-checker-'));
const files: Record<string, string> = {};

beforeAll(async () => {
  python = findPython(['onnx']);
  for (const [name, opts] of Object.entries(variants)) {
    files[name] = join(dir, `${name}.onnx`);
    await writeOnnx(files[name], mlp({ ...opts, init: { seed: 3 }, envId: 'Test-v0', card: { variant: name } }), {
      observationSpace: { kind: 'box', shape: [opts.obsDim], low: new Array(opts.obsDim).fill(-Infinity), high: new Array(opts.obsDim).fill(Infinity) },
    });
  }
  // Deliberately broken files, or this suite could not fail: an output declared int64 that the
  // graph computes as float (only full_check's strict type inference sees it), and a node that reads
  // a tensor nobody defines.
  const base = () => decodeOnnx(policyToOnnx(mlp({ ...variants['discrete-logits'], init: { seed: 3 } })), 'x');
  const wrongType = base();
  wrongType.graph!.output![0].type!.tensorType!.elemType = 7;
  files.wrongType = join(dir, 'broken-type.onnx');
  writeFileSync(files.wrongType, onnx.ModelProto.encode(wrongType).finish());
  const dangling = base();
  dangling.graph!.node![1].input![1] = 'no_such_tensor';
  files.dangling = join(dir, 'broken-dangling.onnx');
  writeFileSync(files.dangling, onnx.ModelProto.encode(dangling).finish());
  results = JSON.parse(execFileSync(python, ['-c', CHECK, ...Object.values(files)], { encoding: 'utf8' }));
});

describe('onnx.checker.check_model(full_check=True)', () => {
  for (const name of Object.keys(variants)) {
    it(`accepts ${name}`, () => {
      expect(results[files[name]]).toBe('ok');
    });
  }
  it('rejects an output whose declared type disagrees with the graph (the check can fail)', () => {
    expect(results[files.wrongType]).toMatch(/type/i);
  });
  it('rejects a node reading an undefined tensor', () => {
    expect(results[files.dangling]).toMatch(/no_such_tensor/);
  });
});
