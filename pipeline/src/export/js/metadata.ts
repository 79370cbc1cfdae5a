/**
 * The `metadata` export of a compiled module (runtime/src/policy/compiled-module.ts): spaces come
 * from the environment when the policy names a registered one, else from the head (observations
 * unbounded).
 */
import { makeEnv, type BoxSpace, type Space } from '@edgedistill/runtime/envs';
import { COMPILED_FORMAT, type CompiledModuleMetadata } from '@edgedistill/runtime';
import { outDimOf } from '../../ir/forward.js';
import { outputName, type PolicyModel } from '../../ir/types.js';

export interface SpaceOverrides {
  readonly observationSpace?: BoxSpace | null;
  readonly actionSpace?: Space | null;
}

function envSpaces(envId: string | null): { observationSpace: BoxSpace; actionSpace: Space } | null {
  if (!envId) return null;
  try {
    const env = makeEnv(envId);
    return { observationSpace: env.observationSpace, actionSpace: env.actionSpace };
  } catch {
    return null; // not registered here: fall back to the head
  }
}

export function compiledMetadata(model: PolicyModel, variant: 'fp32' | 'int8', spaces: SpaceOverrides = {}): CompiledModuleMetadata {
  const env = envSpaces(model.envId);
  const obs = spaces.observationSpace ?? env?.observationSpace ?? null;
  const act = spaces.actionSpace ?? env?.actionSpace ?? null;
  const h = model.head;
  const d = model.obsDim;
  const observationSpace = obs
    ? { shape: [d], low: Array.from(obs.low), high: Array.from(obs.high) }
    : { shape: [d], low: new Array<number>(d).fill(-Infinity), high: new Array<number>(d).fill(Infinity) };
  const actionSpace =
    h.kind === 'discrete'
      ? { kind: 'discrete' as const, n: h.n, start: act && act.kind === 'discrete' ? act.start : 0 }
      : { kind: 'box' as const, shape: [h.dim], low: Array.from(h.low), high: Array.from(h.high) };
  return {
    format: COMPILED_FORMAT,
    variant,
    envId: model.envId,
    obsDim: d,
    outDim: outDimOf(model),
    outputName: outputName(h),
    observationSpace,
    actionSpace,
    card: model.card,
  };
}
