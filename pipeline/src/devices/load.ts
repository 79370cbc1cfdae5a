/** Finding and reading device profiles: by id from devices/, or from a path to a JSON file. */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import type { DeviceProfile } from './profile.js';
import { devicesDir, validateProfile } from './validate.js';

/** Ids of the profiles in `dir` (file names without .json, schema.json left out), sorted. */
export function listProfileIds(dir = devicesDir()): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new EdgeDistillError('IO', `cannot list device profiles: ${(e as Error).message}`, { file: dir, cause: e });
  }
  return names
    .filter((n) => n.endsWith('.json') && n !== 'schema.json')
    .map((n) => n.slice(0, -'.json'.length))
    .sort();
}

/** Reads and validates one profile file. */
export function readProfileFile(file: string): DeviceProfile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new EdgeDistillError('IO', `cannot read device profile: ${(e as Error).message}`, { file, cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new EdgeDistillError('BAD_CONFIG', `device profile is not valid JSON: ${(e as Error).message}`, { file, cause: e });
  }
  return validateProfile(value, file);
}

/**
 * A profile by id (`rpi4-arm64`, looked up in devices/) or by path (anything ending in .json).
 * An unknown id lists the known ones.
 */
export function loadProfile(idOrPath: string, dir = devicesDir()): DeviceProfile {
  if (idOrPath.endsWith('.json') || idOrPath.includes('/')) return readProfileFile(resolve(idOrPath));
  const ids = listProfileIds(dir);
  if (!ids.includes(idOrPath)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `unknown device profile '${idOrPath}'`, {
      field: '--device',
      suggestion: `known profiles: ${ids.join(', ')} (or pass a path to a profile .json)`,
    });
  }
  return readProfileFile(join(dir, `${idOrPath}.json`));
}

/** Every shipped profile, validated (the first invalid one throws). */
export function loadAllProfiles(dir = devicesDir()): DeviceProfile[] {
  return listProfileIds(dir).map((id) => readProfileFile(join(dir, `${id}.json`)));
}
