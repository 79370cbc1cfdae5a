/**
 * Teachers made the way users make them: torch.onnx.export of a plain nn.Sequential, and of an SB3
 * ActorCriticPolicy/DQN look-alike wrapped as in SB3's documented export recipe (with VecNormalize
 * done inside the graph). Needs Debian's python3-torch (scripts/ci-apt.sh installs it).
 * Checks: onnxruntime (runBatch) matches PyTorch, and the IR import matches onnxruntime within 1e-5.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { argmaxRow, forward } from '../../pipeline/src/ir/forward.js';
import { policyToOnnx } from '../../pipeline/src/onnx/write.js';
import { loadTeacher, type Teacher, type TeacherOptions } from '../../pipeline/src/onnx/import.js';

function findPython(modules: string[]): string {
  const cands = [process.env.EDGEDISTILL_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => Boolean(c));
  for (const c of cands) if (spawnSync(c, ['-c', `import ${modules.join(', ')}`]).status === 0) return c;
  throw new Error(`no python3 with ${modules.join(', ')}: run scripts/ci-apt.sh (apt-get install python3-torch python3-onnx)`);
}

interface Expected {
  obs_dim: number;
  batch: number;
  obs: number[];
  out: number[];
  logits?: number[];
}

// Opset 13 (current exporters) and 9 (SB3's older export docs: Clip bounds as attributes, etc.).
const OPSETS = [13, 9] as const;
const root = mkdtempSync(join(tmpdir(), 'ed-torch-'));
const dirOf = (opset: number) => join(root, `opset${opset}`);
const expectedBy: Record<number, Record<string, Expected>> = {};
const teachers: Teacher[] = [];

beforeAll(() => {
  const py = findPython(['torch', 'onnx']);
  const script = join(import.meta.dirname, '..', 'fixtures', 'make_torch_teacher.py');
  for (const opset of OPSETS) {
    execFileSync(py, [script, dirOf(opset), '7', String(opset)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expectedBy[opset] = JSON.parse(readFileSync(join(dirOf(opset), 'expected.json'), 'utf8'));
  }
});
afterAll(async () => {
  for (const t of teachers) await t.dispose();
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** onnxruntime vs PyTorch on the fixture batch, and IR vs onnxruntime on a wider fresh batch. */
async function checkTeacher(t: Teacher, e: Expected, torchRef: number[]) {
  const ortOut = await t.runBatch(Float32Array.from(e.obs), e.batch);
  expect(maxDiff(ortOut, torchRef)).toBeLessThanOrEqual(1e-5);
  if (t.importable) {
    const obs = Float32Array.from({ length: 64 * t.obsDim }, (_, i) => 4 * Math.sin(i * 1.7) + Math.cos(i * 0.3));
    expect(maxDiff(forward(t.model!, obs, 64), await t.runBatch(obs, 64))).toBeLessThanOrEqual(1e-5);
    expect(maxDiff(forward(t.model!, Float32Array.from(e.obs), e.batch), torchRef)).toBeLessThanOrEqual(1e-5);
  }
}

for (const opset of OPSETS) {
  describe(`opset ${opset}`, () => {
    const expected = () => expectedBy[opset];
    const load = async (name: string, opts: TeacherOptions = {}): Promise<Teacher> => {
      const t = await loadTeacher(join(dirOf(opset), `${name}.onnx`), opts);
      teachers.push(t);
      return t;
    };

    describe('torch.onnx.export teachers', () => {
      it('nn.Sequential with a logits output imports as a 4-32-32-2 MLP', async () => {
        const t = await load('seq_logits');
        expect([t.outputKind, t.obsDim, t.outDim, t.importable]).toEqual(['logits', 4, 2, true]);
        expect(t.model!.layers.map((l) => `${l.inDim}x${l.outDim}:${l.activation}`)).toEqual(['4x32:relu', '32x32:tanh', '32x2:none']);
        await checkTeacher(t, expected().seq_logits, expected().seq_logits.out);
      });

      it('nn.Sequential with tanh * 2 imports as a tanh squash to [-2, 2]', async () => {
        const t = await load('seq_action');
        expect(t.outputKind).toBe('action');
        expect(t.model!.head).toMatchObject({ kind: 'continuous', squash: 'tanh', low: Float32Array.of(-2), high: Float32Array.of(2) });
        await checkTeacher(t, expected().seq_action, expected().seq_action.out);
      });

      it('a residual net is an opaque teacher that still matches PyTorch', async () => {
        const t = await load('opaque_residual');
        expect(t.importable).toBe(false);
        expect(t.reason).toMatch(/not a single chain/);
        await checkTeacher(t, expected().opaque_residual, expected().opaque_residual.out);
      });
    });

    describe("SB3's documented export recipe (OnnxableSB3Policy, batch fixed to 1)", () => {
      it('discrete PPO: takes the action_net logits under ArgMax/Softmax; VecNormalize inside becomes obsNorm', async () => {
        const t = await load('sb3_ppo_discrete');
        expect([t.outputKind, t.obsDim, t.outDim, t.importable]).toEqual(['logits', 4, 2, true]);
        expect(t.outputTensor).toMatch(/action_net/);
        expect(t.model!.obsNorm!.clip).toBe(10);
        expect(t.model!.layers.map((l) => `${l.inDim}x${l.outDim}:${l.activation}`)).toEqual(['4x64:tanh', '64x64:tanh', '64x2:none']);
        await checkTeacher(t, expected().sb3_ppo_discrete, expected().sb3_ppo_discrete.logits!);
        // The argmax of those logits is the action the exported policy takes.
        const e = expected().sb3_ppo_discrete;
        const y = await t.runBatch(Float32Array.from(e.obs), e.batch);
        for (let i = 0; i < e.batch; i++) expect(argmaxRow(y, 2, i)).toBe(e.out[i]);
      });

      it('Gaussian PPO: the deterministic action (unclipped mean), with log_std read into the head', async () => {
        const t = await load('sb3_ppo_box');
        expect([t.outputKind, t.obsDim, t.outDim, t.importable]).toEqual(['action', 3, 1, true]);
        expect(t.model!.head).toMatchObject({ kind: 'continuous', squash: 'none', logStd: Float32Array.of(-0.5) });
        await checkTeacher(t, expected().sb3_ppo_box, expected().sb3_ppo_box.out);
      });

      it('DQN q_net: an output named "12" needs --teacher-output, then imports as q_values', async () => {
        await expect(load('sb3_dqn')).rejects.toMatchObject({ code: 'UNSUPPORTED', suggestion: /--teacher-output/ });
        const t = await load('sb3_dqn', { teacherOutput: 'q_values' });
        expect([t.outputKind, t.importable]).toEqual(['q_values', true]);
        await checkTeacher(t, expected().sb3_dqn, expected().sb3_dqn.out);
      });

      it('an imported SB3 teacher re-exported by our writer still computes the same logits', async () => {
        const t = await load('sb3_ppo_discrete');
        const p = join(dirOf(opset), 'reexported.onnx');
        writeFileSync(p, policyToOnnx(t.model!));
        const r = await load('reexported');
        const obs = Float32Array.from(expected().sb3_ppo_discrete.obs);
        expect(maxDiff(await r.runBatch(obs, 8), await t.runBatch(obs, 8))).toBeLessThanOrEqual(1e-5);
      });
    });
  });
}
