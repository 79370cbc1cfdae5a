import { EdgeDistillError } from '../errors.js';
import { closest } from './suggest.js';
import type { EnvOptions } from './types.js';

/** One accepted option: its kind and default (the Gymnasium value). */
export type OptionSpec =
  | { kind: 'number'; default: number; positive?: boolean; min?: number }
  | { kind: 'int'; default: number; min: number }
  | { kind: 'boolean'; default: boolean }
  | { kind: 'enum'; default: string; values: readonly string[] }
  | { kind: 'numbers'; default: readonly number[]; length: number };

export type OptionSchema = Record<string, OptionSpec>;
type Resolved<S extends OptionSchema> = {
  [K in keyof S]: S[K] extends { kind: 'number' | 'int' } ? number
    : S[K] extends { kind: 'boolean' } ? boolean
    : S[K] extends { kind: 'enum' } ? string
    : readonly number[];
};

/** Option every environment takes: the TimeLimit length (`max_episode_steps` is accepted as Gymnasium spells it). */
const COMMON = ['maxEpisodeSteps', 'max_episode_steps'] as const;

/**
 * Checks `options` against `schema` and fills in defaults. Unknown keys and bad values are a
 * BAD_ARGUMENT naming the key (`options.<key>`) and listing what is allowed.
 */
export function resolveOptions<S extends OptionSchema>(
  envId: string,
  schema: S,
  defaultMaxSteps: number,
  options: EnvOptions | undefined,
): Resolved<S> & { maxEpisodeSteps: number } {
  const out: Record<string, unknown> = {};
  for (const [k, spec] of Object.entries(schema)) out[k] = spec.default;
  out.maxEpisodeSteps = defaultMaxSteps;
  if (options === undefined || options === null) return out as Resolved<S> & { maxEpisodeSteps: number };
  if (typeof options !== 'object' || Array.isArray(options)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `options for ${envId} must be an object`, { field: 'options' });
  }
  const allowed = [...Object.keys(schema), ...COMMON];
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const field = `options.${key}`;
    const bad = (what: string): never => {
      throw new EdgeDistillError('BAD_ARGUMENT', `${envId}: option "${key}" ${what}, got ${JSON.stringify(value)}`, { field });
    };
    if ((COMMON as readonly string[]).includes(key)) {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) bad('must be a positive integer');
      out.maxEpisodeSteps = value;
      continue;
    }
    const spec = Object.prototype.hasOwnProperty.call(schema, key) ? schema[key] : undefined;
    if (!spec) {
      const guess = closest(key, allowed);
      throw new EdgeDistillError('BAD_ARGUMENT', `${envId} has no option "${key}"${guess ? `; did you mean "${guess}"?` : ''}`, {
        field,
        suggestion: `allowed options: ${allowed.join(', ')}`,
      });
    }
    switch (spec.kind) {
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) bad('must be a finite number');
        if (spec.positive && (value as number) <= 0) bad('must be > 0');
        if (spec.min !== undefined && (value as number) < spec.min) bad(`must be >= ${spec.min}`);
        break;
      case 'int':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min) bad(`must be an integer >= ${spec.min}`);
        break;
      case 'boolean':
        if (typeof value !== 'boolean') bad('must be true or false');
        break;
      case 'enum':
        if (typeof value !== 'string' || !spec.values.includes(value)) bad(`must be one of ${spec.values.map((v) => `"${v}"`).join(', ')}`);
        break;
      case 'numbers':
        if (!Array.isArray(value) || value.length !== spec.length || value.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
          bad(`must be an array of ${spec.length} finite numbers`);
        }
        out[key] = Object.freeze([...(value as number[])]);
        continue;
    }
    out[key] = value;
  }
  return out as Resolved<S> & { maxEpisodeSteps: number };
}
