/**
 * Does a policy (IR or teacher) fit an environment? Sizes are checked before any rollout so the
 * user hears "model.onnx takes 3 observation values but CartPole-v1 gives 4", not a crash later.
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';

/** The parts of an env's spaces we need (structural, so this does not import the env code). */
export interface SpacesLike {
  readonly id?: string;
  readonly observationSpace: { readonly shape: readonly number[] };
  readonly actionSpace: { readonly kind: 'discrete'; readonly n: number } | { readonly kind: 'box'; readonly shape: readonly number[] };
}

export interface PolicyShape {
  file?: string;
  obsDim: number;
  outDim: number;
  outputKind: 'logits' | 'q_values' | 'action';
}

/** Throws BAD_MODEL (sizes) or UNSUPPORTED (output kind vs action space), naming file and sizes. */
export function assertFitsEnv(p: PolicyShape, env: SpacesLike): void {
  const envName = env.id ?? 'the environment';
  const obsSize = env.observationSpace.shape.reduce((a, b) => a * b, 1);
  if (p.obsDim !== obsSize) {
    throw new EdgeDistillError('BAD_MODEL', `the model takes ${p.obsDim} observation values but ${envName} gives ${obsSize}`, {
      file: p.file,
      field: 'obs',
      suggestion: 'use the teacher trained on this environment, or the right --env',
    });
  }
  const a = env.actionSpace;
  if (a.kind === 'discrete') {
    if (p.outputKind === 'action') {
      throw new EdgeDistillError('UNSUPPORTED', `the model outputs continuous actions but ${envName} has ${a.n} discrete actions`, {
        file: p.file,
        field: 'output',
        suggestion: 'pass --teacher-output logits or q_values if the output is one value per action',
      });
    }
    if (p.outDim !== a.n) {
      throw new EdgeDistillError('UNSUPPORTED', `the model outputs ${p.outDim} ${p.outputKind} per observation but ${envName} has ${a.n} actions`, {
        file: p.file,
        field: 'output',
      });
    }
  } else {
    const dim = a.shape.reduce((x, y) => x * y, 1);
    if (p.outputKind !== 'action') {
      throw new EdgeDistillError('UNSUPPORTED', `the model outputs ${p.outputKind} but ${envName} has a continuous (box) action space`, {
        file: p.file,
        field: 'output',
        suggestion: 'pass --teacher-output action if the output is the action itself',
      });
    }
    if (p.outDim !== dim) {
      throw new EdgeDistillError('UNSUPPORTED', `the model outputs ${p.outDim} action values but ${envName} takes ${dim}`, {
        file: p.file,
        field: 'output',
      });
    }
  }
}
