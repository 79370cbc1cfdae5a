// The run config's `envOptions` (a variant for the distill stage): parsed from YAML and checked
// against the env like --env-option, each refusal naming envOptions.KEY and its line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { loadRunConfig } from '../../pipeline/src/run/index.js';

const dir = mkdtempSync(join(tmpdir(), 'run-config-envopts-'));
const host = { id: 'x64-linux', reason: 'test' };

function load(yaml: string) {
  const file = join(dir, 'cfg.yaml');
  writeFileSync(file, yaml);
  return loadRunConfig(file, { host });
}

function refused(yaml: string): EdgeDistillError {
  try {
    load(yaml);
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeDistillError);
    return e as EdgeDistillError;
  }
  throw new Error('expected the config to be refused');
}

describe('run config envOptions', () => {
  it('parses a variant, and no envOptions means the defaults', () => {
    const c = load('env: CartPole-v1\nenvOptions: {gravity: 12, length: 0.7}\n');
    expect(c.envOptions).toEqual({ gravity: 12, length: 0.7 });
    expect(c.notes.some((n) => n.includes('envOptions'))).toBe(true);
    expect(load('env: CartPole-v1\n').envOptions).toBeNull();
  });

  it('refuses an unknown key, a bad value and a wrong type, naming envOptions.KEY and the line', () => {
    const unknown = refused('env: CartPole-v1\nenvOptions:\n  gravty: 12\n');
    expect(unknown).toMatchObject({ code: 'BAD_CONFIG', field: 'envOptions.gravty', file: `${join(dir, 'cfg.yaml')}:3` });
    expect(unknown.message).toContain('did you mean "gravity"');
    const bad = refused('env: CartPole-v1\nenvOptions:\n  gravity: 12\n  length: 0\n');
    expect(bad).toMatchObject({ code: 'BAD_CONFIG', field: 'envOptions.length', file: `${join(dir, 'cfg.yaml')}:4` });
    expect(bad.message).toContain('must be > 0');
    const type = refused('env: CartPole-v1\nenvOptions:\n  gravity: {a: 1}\n');
    expect(type).toMatchObject({ code: 'BAD_CONFIG', field: 'envOptions.gravity' });
    expect(type.message).toContain('expected a number');
    expect(refused('env: CartPole-v1\nenvOptions: 12\n')).toMatchObject({ field: 'envOptions' });
  });
});
