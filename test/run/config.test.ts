/**
 * The run config: every problem names the field path (and the line), says what was expected and
 * what it got; unknown keys are refused with a did-you-mean; the semantic rules (registered env,
 * shipped teacher, known device profiles) too; the embedded default is configs/cartpole-v1.yaml.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEnv, registerEnv, unregisterEnv } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { loadAllProfiles } from '../../pipeline/src/devices/index.js';
import { DEFAULT_CONFIG, describeSchema, loadRunConfig, matchHostProfile, parseConfigText, readConfigFile, resolveConfig } from '../../pipeline/src/run/index.js';

const repo = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'run-config-'));
const host = { id: 'x64-linux', reason: 'test' };

/** The error a YAML text gives (written to a file, so messages carry file:line). */
function problems(yaml: string, name = 'cfg.yaml'): EdgeDistillError {
  const file = join(dir, name);
  writeFileSync(file, yaml);
  try {
    loadRunConfig(file, { host });
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeDistillError);
    return e as EdgeDistillError;
  }
  throw new Error('expected the config to be refused');
}

/** Every problem of an error as `field: text`, with the file:line it is at. */
const all = (e: EdgeDistillError) => (e.details.length ? e.details : [{ file: e.file, field: e.field, text: e.message, suggestion: e.suggestion }]);

describe('schema problems name the field', () => {
  it('wrong type: distill.student[1] expected a positive integer, got "x" (with the line)', () => {
    const e = problems('env: CartPole-v1\ndistill:\n  student: [32, "x"]\n');
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.field).toBe('distill.student[1]');
    expect(e.message).toBe('expected a positive integer, got "x"');
    expect(e.file).toBe(`${join(dir, 'cfg.yaml')}:3`);
    expect(e.format()).toContain('cfg.yaml:3: distill.student[1]: expected a positive integer, got "x"');
  });

  it('unknown key: refused by name with a did-you-mean, at any depth', () => {
    const e = problems('env: CartPole-v1\ndevcies: [host]\ncompress:\n  prnue: {kind: structured, fraction: 0.5}\n');
    const ps = all(e);
    expect(ps.map((p) => p.field)).toEqual(['devcies', 'compress.prnue']);
    expect(ps[0]).toMatchObject({ text: 'unknown key "devcies"', suggestion: 'did you mean "devices"?' });
    expect(ps[1]).toMatchObject({ text: 'unknown key "prnue"', suggestion: 'did you mean "prune"?' });
    expect(ps[1].file).toMatch(/cfg\.yaml:4$/);
    expect(e.message).toBe('2 problems in the config');
  });

  it('an unknown key with no near name lists the known ones', () => {
    const e = problems('env: CartPole-v1\ncheck: {zzzz: 1}\n');
    expect(e.field).toBe('check.zzzz');
    expect(e.suggestion).toBe('known keys of check: enabled, episodes, minCalls, maxSeconds');
  });

  it('missing env', () => {
    const e = problems('distill: {seed: 1}\n');
    expect(e.field).toBe('env');
    expect(e.message).toBe('is missing: expected a string');
  });

  it('every problem at once, in file order, each with its own field', () => {
    const e = problems(['env: CartPole-v1', 'distill:', '  seed: -1', '  loss: hinge', 'compress:', '  share: 1', '  quantize: int4', 'export:', '  formats: [onnx, onnx]', 'check: {episodes: 0}', ''].join('\n'));
    expect(all(e).map((p) => `${p.field}: ${p.text}`)).toEqual([
      'distill.seed: expected a non-negative integer, got -1',
      'distill.loss: expected one of "kl", "nll", "mse", got "hinge"',
      'compress.share: expected an integer in [2, 256] or null, got 1',
      'compress.quantize: expected one of "int8", "fp16", "none", got "int4"',
      'export.formats: has the same item twice (items 0 and 1)',
      'check.episodes: expected a positive integer, got 0',
    ]);
  });

  it('a YAML syntax error says where', () => {
    const e = problems('env: CartPole-v1\ndistill:\n  student: [32, 32\n');
    expect(e.message).toMatch(/^not valid YAML: /);
    expect(e.file).toMatch(/cfg\.yaml:\d+$/);
  });

  it('describes what a schema accepts in words', () => {
    expect(describeSchema({ type: 'integer', minimum: 1 })).toBe('a positive integer');
    expect(describeSchema({ type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 })).toBe('a number in (0, 1)');
    expect(describeSchema({ type: 'array', minItems: 1, items: { type: 'integer', minimum: 1 } })).toBe('a non-empty list of positive integers');
    expect(describeSchema({ type: ['integer', 'null'], minimum: 2, maximum: 256 })).toBe('an integer in [2, 256] or null');
    expect(describeSchema({ enum: ['relu', 'tanh'] })).toBe('one of "relu", "tanh"');
  });
});

describe('rules beyond the schema', () => {
  it('an unknown env suggests the registered one', () => {
    const e = problems('env: CartPol-v1\n');
    expect(e).toMatchObject({ field: 'env', message: 'unknown environment "CartPol-v1"', suggestion: 'did you mean "CartPole-v1"?' });
  });

  it('a shipped teacher must exist for the env', () => {
    // An env registered here has no teacher in models/.
    registerEnv('EdgeTest/Blank-v0', () => makeEnv('CartPole-v1'), { overwrite: true });
    try {
      const e = problems('env: EdgeTest/Blank-v0\nteacher: shipped\n');
      expect(e.field).toBe('teacher');
      expect(e.message).toBe('no shipped teacher for EdgeTest/Blank-v0');
      // The list is what models/ holds.
      const shipped = readdirSync(join(repo, 'models')).filter((d) => existsSync(join(repo, 'models', d, 'teacher.onnx')));
      expect(shipped.length).toBeGreaterThanOrEqual(4);
      for (const d of shipped) expect(e.suggestion?.toLowerCase()).toContain(d);
    } finally {
      unregisterEnv('EdgeTest/Blank-v0');
    }
  });

  it('a teacher file is taken relative to the config and must exist', () => {
    const e = problems('env: CartPole-v1\nteacher: nets/teacher.onnx\n');
    expect(e.field).toBe('teacher');
    expect(e.message).toBe(`teacher file not found: ${join(dir, 'nets/teacher.onnx')}`);
  });

  it('unknown device profiles are named by index, with a did-you-mean', () => {
    const e = problems('env: CartPole-v1\ndevices: [rpi4-arm46, host]\n');
    expect(e).toMatchObject({ field: 'devices[0]', message: 'unknown device profile "rpi4-arm46"', suggestion: 'did you mean "rpi4-arm64"?' });
  });

  it('each pruning kind takes its own fields', () => {
    const e = problems('env: CartPole-v1\ncompress:\n  prune: {kind: structured, sparsity: 0.8}\n');
    expect(all(e).map((p) => p.field)).toEqual(['compress.prune.fraction', 'compress.prune.sparsity']);
  });

  it('the CLI exits 2 and names the field; --json gives the error as JSON', async () => {
    const file = join(dir, 'cli.yaml');
    writeFileSync(file, 'env: CartPole-v1\ndistill:\n  student: [32, "x"]\n');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done) =>
      execFile(process.execPath, [join(repo, 'pipeline/bin/edgedistill.js'), 'run', file, '--json'], { env: { ...process.env, NO_COLOR: '1' } }, (err, stdout, stderr) =>
        done({ code: (err as { code?: number } | null)?.code ?? 0, stdout, stderr }),
      ),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cli.yaml:3: distill.student[1]: expected a positive integer, got "x"');
    expect(JSON.parse(r.stdout)).toMatchObject({ error: 'BAD_CONFIG', field: 'distill.student[1]' });
  });
});

describe('defaults and the example configs', () => {
  it('the embedded default is configs/cartpole-v1.yaml (out aside)', () => {
    const { value } = readConfigFile(join(repo, 'configs/cartpole-v1.yaml'));
    expect({ ...(value as object), out: 'out' }).toEqual(JSON.parse(JSON.stringify(DEFAULT_CONFIG)));
  });

  it('every shipped teacher has an example config, and each one resolves', () => {
    const files = readdirSync(join(repo, 'configs')).filter((f) => f.endsWith('.yaml'));
    const teachers = readdirSync(join(repo, 'models')).filter((d) => existsSync(join(repo, 'models', d, 'teacher.onnx')));
    expect(files.map((f) => f.replace(/\.yaml$/, '')).sort()).toEqual(teachers.sort());
    for (const f of files) {
      const c = loadRunConfig(join(repo, 'configs', f), { host });
      expect(c.env.toLowerCase()).toBe(f.replace(/\.yaml$/, ''));
      expect(c.teacher).toEqual({ kind: 'shipped', file: join(repo, 'models', f.replace(/\.yaml$/, ''), 'teacher.onnx') });
      expect(c.devices).toEqual(['rpi4-arm64', 'x64-linux']);
      expect(c.check.enabled).toBe(true);
    }
  });

  it('fills the defaults: prune half the units, int8, every format, rpi4-arm64 and this host', () => {
    const c = resolveConfig({ env: 'MountainCar-v0' }, { host });
    expect(c.compress).toMatchObject({ prune: { kind: 'structured', fraction: 0.5 }, quantize: 'int8', qat: false, autoShrink: false });
    expect(c.export.formats).toEqual(['onnx', 'onnx-int8', 'onnx-fp16', 'tflite', 'tflite-int8', 'tflite-fp16', 'js', 'js-int8', 'c-int8']);
    expect(c.export.minAgreement).toBeNull(); // the exporter's own gate (0.99) applies
    expect(c.devices).toEqual(['rpi4-arm64', 'x64-linux']);
    expect(c.name).toBe('mountaincar-v0');
    expect(c.out).toBe(resolve('out'));
  });

  it('a JSON config reads the same as YAML', () => {
    const y = parseConfigText('env: Pendulum-v1\ndistill: {student: [16, 16]}\n', 'a.yaml').value;
    const j = parseConfigText('{"env": "Pendulum-v1", "distill": {"student": [16, 16]}}', 'a.json').value;
    expect(j).toEqual(y);
    expect(() => parseConfigText('{"env": "Pendulum-v1",}', 'b.json')).toThrow(/not valid JSON/);
  });

  it('without a profile for this machine there is no host bundle and no check, and the run says so', () => {
    const c = resolveConfig({ env: 'CartPole-v1' }, { host: null });
    expect(c.devices).toEqual(['rpi4-arm64']);
    expect(c.check.enabled).toBe(false);
    expect(c.notes[0]).toMatch(/^no device profile matches this machine/);
  });
});

describe('which profile is this machine', () => {
  const profiles = loadAllProfiles();
  it('x64 Linux is x64-linux; a Raspberry Pi 4 by its device-tree model; others none', () => {
    expect(matchHostProfile(profiles, 'linux', 'x64', null)?.id).toBe('x64-linux');
    expect(matchHostProfile(profiles, 'linux', 'arm64', 'Raspberry Pi 4 Model B Rev 1.4')?.id).toBe('rpi4-arm64');
    expect(matchHostProfile(profiles, 'linux', 'arm64', 'Raspberry Pi 5 Model B Rev 1.0')?.id).toBe('rpi5-arm64');
    expect(matchHostProfile(profiles, 'linux', 'arm64', null)).toBeNull(); // several arm64 boards: cannot tell
    expect(matchHostProfile(profiles, 'darwin', 'x64', null)).toBeNull();
  });
});
