/**
 * Environment options from the command line (`--env-option gravity=12`, repeatable), as the env
 * constructors take them (Gymnasium keyword arguments / physical constants). Values are read as
 * numbers, booleans, comma-separated number lists or strings, then checked by building the env
 * once, so an unknown key or a bad value fails here, naming the flag and the key.
 */
import { makeEnv, type EnvOptions } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';

export const ENV_OPTION_FLAG = '--env-option';

function parseValue(raw: string): number | boolean | string | number[] {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw.trim() !== '' && Number.isFinite(Number(raw))) return Number(raw);
  if (raw.includes(',')) {
    const parts = raw.split(',').map((s) => Number(s.trim()));
    if (parts.every((n) => Number.isFinite(n))) return parts;
  }
  return raw;
}

/** Parses "key=value" pairs into env options and checks them against `envId`'s option schema. */
export function parseEnvOptions(envId: string, pairs: readonly string[], flag = ENV_OPTION_FLAG): EnvOptions | undefined {
  const out = parseEnvOptionPairs(pairs, flag);
  checkEnvOptions(envId, out, flag);
  return out;
}

/** Parses "key=value" pairs without checking them against an env (when the env is known only later). */
export function parseEnvOptionPairs(pairs: readonly string[], flag = ENV_OPTION_FLAG): EnvOptions | undefined {
  if (pairs.length === 0) return undefined;
  const out: Record<string, number | boolean | string | number[]> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0 || eq === p.length - 1) {
      throw new EdgeDistillError('BAD_ARGUMENT', `${flag} takes key=value, got "${p}"`, { field: flag, suggestion: 'e.g. --env-option gravity=12' });
    }
    const key = p.slice(0, eq).trim();
    if (key in out) throw new EdgeDistillError('BAD_ARGUMENT', `${flag} ${key} is given twice`, { field: `${flag} ${key}` });
    out[key] = parseValue(p.slice(eq + 1).trim());
  }
  return out;
}

/** Builds the env once with `options`; a refusal is re-raised naming the flag and the key. */
export function checkEnvOptions(envId: string, options: EnvOptions | undefined, flag = ENV_OPTION_FLAG): void {
  if (!options) return;
  try {
    makeEnv(envId, options);
  } catch (e) {
    if (e instanceof EdgeDistillError && e.code === 'BAD_ARGUMENT') {
      const field = e.field?.startsWith('options.') ? `${flag} ${e.field.slice('options.'.length)}` : flag;
      throw new EdgeDistillError('BAD_ARGUMENT', e.message, { field, suggestion: e.suggestion, cause: e });
    }
    throw e;
  }
}

/** "gravity=12, length=0.7" for logs and tables ("defaults" when none). */
export function describeEnvOptions(options: EnvOptions | undefined | null): string {
  const entries = Object.entries(options ?? {}).filter(([, v]) => v !== undefined);
  return entries.length === 0 ? 'defaults' : entries.map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(', ');
}
