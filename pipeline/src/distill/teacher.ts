/**
 * What distillation needs from a teacher, and adapters to it. A teacher loaded from ONNX comes from
 * `loadTeacher` (pipeline/src/onnx/import.ts); an in-memory IR policy can teach too (tests, and
 * chaining a compressed model back through distill).
 */
import { createHash } from 'node:crypto';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { BoxSpace, Space } from '@edgedistill/runtime/envs';
import { forward, paramCount } from '../ir/forward.js';
import type { PolicyModel } from '../ir/types.js';
import { policyToJSON } from '../ir/serialize.js';

/**
 * Structural subset of the ONNX importer's `Teacher`. `outputKind` says what `runBatch` returns per
 * row: 'logits' | 'q_values' (one value per discrete action), 'probs' (a distribution), or 'action'
 * (a discrete action index, or a continuous action vector).
 */
export interface TeacherLike {
  readonly obsDim: number;
  readonly outDim: number;
  readonly outputKind: string;
  readonly model?: PolicyModel | null;
  readonly sha256?: string;
  readonly file?: string;
  runBatch(obs: Float32Array, batch: number): Promise<Float32Array>;
}

/** An IR policy as a teacher (its raw head output: logits / q_values, or the continuous action). */
export function teacherFromPolicy(model: PolicyModel, name = 'in-memory policy'): TeacherLike {
  const outDim = model.head.kind === 'discrete' ? model.head.n : model.head.dim;
  const sha256 = createHash('sha256').update(JSON.stringify(policyToJSON(model))).digest('hex');
  return {
    obsDim: model.obsDim,
    outDim,
    outputKind: model.head.kind === 'discrete' ? model.head.output : 'action',
    model,
    sha256,
    file: name,
    runBatch: async (obs, batch) => forward(model, obs.length === batch * model.obsDim ? obs : obs.subarray(0, batch * model.obsDim), batch),
  };
}

/** Options passed through to the ONNX importer (which output to read, SB3 VecNormalize stats). */
export type OpenTeacherOptions = Record<string, unknown>;

/** Loads an ONNX teacher through the project's importer (onnxruntime-node, batched). */
export async function openTeacher(file: string, opts: OpenTeacherOptions = {}): Promise<TeacherLike & { dispose?: () => Promise<void> }> {
  const { loadTeacher } = await import('../onnx/import.js');
  return (await loadTeacher(file, opts)) as TeacherLike & { dispose?: () => Promise<void> };
}

/** Parameter count of a teacher: from its IR when it has one, else null (unknown). */
export function teacherParams(t: TeacherLike): number | null {
  if (t.model) return paramCount(t.model);
  const p = (t as { params?: unknown }).params;
  return typeof p === 'number' ? p : null;
}

/** Which kind of targets a teacher gives, given the env's action space (or its own head when there is no env). */
export type TeacherOutput =
  | { kind: 'discrete'; n: number; values: 'logits' | 'q_values' | 'probs' | 'action' }
  | { kind: 'continuous'; dim: number; low: Float32Array; high: Float32Array; squash: 'tanh' | 'none'; logStd: Float32Array | null };

const where = (t: TeacherLike) => t.file ?? 'teacher';

/**
 * Checks a teacher against the environment's spaces and says what its outputs mean. Throws
 * BAD_MODEL naming the teacher file and the mismatching field when they disagree.
 */
export function describeTeacher(t: TeacherLike, obsSpace: BoxSpace | null, actionSpace: Space | null, envId: string | null): TeacherOutput {
  const file = where(t);
  const envName = envId ?? 'the environment';
  if (obsSpace) {
    const envObs = obsSpace.low.length;
    if (t.obsDim !== envObs) {
      throw new EdgeDistillError('BAD_MODEL', `teacher takes ${t.obsDim} observation values but ${envName} gives ${envObs}`, {
        file,
        field: 'obs',
        suggestion: 'pass the --env the teacher was trained on',
      });
    }
  }
  const kind = t.outputKind;
  const head = t.model?.head;
  if (actionSpace?.kind === 'discrete' || (!actionSpace && head?.kind === 'discrete') || (!actionSpace && !head && kind !== 'action')) {
    if (head?.kind === 'continuous') {
      throw new EdgeDistillError('BAD_MODEL', `teacher has a continuous action head (${head.dim} values) but ${envName} has ${(actionSpace as { n: number }).n} discrete actions`, {
        file,
        field: 'action',
        suggestion: 'pass the --env the teacher was trained on',
      });
    }
    if (kind === 'action') {
      if (!actionSpace) {
        throw new EdgeDistillError('BAD_ARGUMENT', 'a teacher that outputs actions needs --env to know the number of actions', { file, field: 'env' });
      }
      if (t.outDim !== 1) {
        throw new EdgeDistillError('BAD_MODEL', `teacher outputs ${t.outDim} action values but ${envName} takes one discrete action`, {
          file,
          field: 'action',
        });
      }
      return { kind: 'discrete', n: (actionSpace as { n: number }).n, values: 'action' };
    }
    if (kind !== 'logits' && kind !== 'q_values' && kind !== 'probs') {
      throw new EdgeDistillError('BAD_MODEL', `teacher output "${kind}" does not fit a discrete action space`, { file, field: 'output' });
    }
    const n = actionSpace && actionSpace.kind === 'discrete' ? actionSpace.n : t.outDim;
    if (t.outDim !== n) {
      throw new EdgeDistillError('BAD_MODEL', `teacher outputs ${t.outDim} ${kind} but ${envName} has ${n} actions`, {
        file,
        field: kind,
        suggestion: 'pass the --env the teacher was trained on',
      });
    }
    return { kind: 'discrete', n, values: kind };
  }
  // Continuous.
  if (kind !== 'action') {
    throw new EdgeDistillError('BAD_MODEL', `teacher outputs ${kind} but ${envName} has a continuous action space`, { file, field: kind });
  }
  const ch = head?.kind === 'continuous' ? head : null;
  let low: Float32Array;
  let high: Float32Array;
  if (actionSpace && actionSpace.kind === 'box') {
    low = actionSpace.low;
    high = actionSpace.high;
  } else if (ch) {
    low = ch.low;
    high = ch.high;
  } else {
    throw new EdgeDistillError('BAD_ARGUMENT', 'a continuous teacher without an action space needs --env', { file, field: 'env' });
  }
  if (t.outDim !== low.length) {
    throw new EdgeDistillError('BAD_MODEL', `teacher outputs ${t.outDim} action values but ${envName} takes ${low.length}`, {
      file,
      field: 'action',
    });
  }
  const logStd = ch?.logStd ?? readLogStd(t);
  return { kind: 'continuous', dim: low.length, low, high, squash: ch?.squash ?? 'none', logStd: logStd ?? null };
}

function readLogStd(t: TeacherLike): Float32Array | null {
  const v = (t as { logStd?: unknown }).logStd;
  if (v instanceof Float32Array) return v;
  if (Array.isArray(v)) return Float32Array.from(v as number[]);
  return null;
}

/** Two teacher descriptions describe the same spaces (for several teachers into one student). */
export function sameSpaces(a: TeacherOutput, b: TeacherOutput): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'discrete' && b.kind === 'discrete') return a.n === b.n;
  if (a.kind === 'continuous' && b.kind === 'continuous') return a.dim === b.dim && a.low.every((v, i) => v === b.low[i] && a.high[i] === b.high[i]);
  return false;
}
