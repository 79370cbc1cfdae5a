/**
 * Device profiles: every shipped profile validates against devices/schema.json; bad profiles are
 * refused with errors naming the file, the field path and what was expected (unknown keys by name).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { devicesDir, fieldPath, listProfileIds, loadAllProfiles, loadProfile, profileProblems, readProfileFile, validateProfile } from '../../pipeline/src/devices/index.js';

const SHIPPED = ['jetson-nano', 'jetson-orin-nano', 'rpi-zero2w-armv7', 'rpi3-armv7', 'rpi4-arm64', 'rpi5-arm64', 'x64-linux'];

const rpi4 = (): Record<string, unknown> => JSON.parse(readFileSync(join(devicesDir(), 'rpi4-arm64.json'), 'utf8')) as Record<string, unknown>;

function refusal(fn: () => unknown): EdgeDistillError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EdgeDistillError);
    return e as EdgeDistillError;
  }
  throw new Error('expected an EdgeDistillError');
}

describe('shipped device profiles', () => {
  it('are the seven profiles of the issue, each valid, each named for its file', () => {
    expect(listProfileIds()).toEqual(SHIPPED);
    const all = loadAllProfiles();
    expect(all.map((p) => p.id)).toEqual(SHIPPED);
    for (const p of all) expect(profileProblems(p, join(devicesDir(), `${p.id}.json`))).toEqual([]);
  });

  it('cite https sources for the facts they state', () => {
    for (const p of loadAllProfiles()) {
      expect(p.sources.length).toBeGreaterThan(0);
      for (const s of p.sources) expect(s.url).toMatch(/^https:\/\//);
      const cited = new Set(p.sources.flatMap((s) => s.facts));
      for (const fact of ['cpu', 'os', 'libc', 'nodeRange']) {
        if (p.id !== 'x64-linux' || fact === 'libc' || fact === 'nodeRange') expect(cited.has(fact), `${p.id}: ${fact}`).toBe(true);
      }
    }
  });

  it('never offer onnxruntime-node where it cannot load (32-bit ARM, glibc 2.27)', () => {
    for (const p of loadAllProfiles()) {
      if (p.arch === 'armv7') {
        expect(p.backends).not.toContain('ort-node');
        expect(p.backends).toContain('ort-web');
        expect(p.backends).toContain('js');
      }
    }
    const nano = loadProfile('jetson-nano');
    expect(nano.libc).toEqual({ name: 'glibc', version: '2.27' });
    expect(nano.backends).not.toContain('ort-node');
    const orin = loadProfile('jetson-orin-nano');
    expect(orin.libc.version).toBe('2.35');
    expect(orin.backends).toContain('ort-node');
    expect(loadProfile('rpi-zero2w-armv7').ramMiB).toBe(512);
  });

  it('loads by id or by path, and lists the known ids for an unknown one', () => {
    expect(loadProfile(join(devicesDir(), 'rpi5-arm64.json')).cpu).toBe('Cortex-A76 @ 2.4 GHz');
    const e = refusal(() => loadProfile('rpi9-arm64'));
    expect(e.code).toBe('BAD_ARGUMENT');
    expect(e.field).toBe('--device');
    expect(e.suggestion).toContain('rpi4-arm64');
  });
});

describe('profile validation errors', () => {
  const file = '/somewhere/devices/rpi4-arm64.json';

  it('rejects an unknown key by name, at its path', () => {
    const p = rpi4();
    (p.budgets as Record<string, unknown>).p99LatencyUs = 500;
    p.colour = 'red';
    const e = refusal(() => validateProfile(p, file));
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.file).toBe(file);
    const byField = Object.fromEntries(e.details.map((d) => [d.field, d.text]));
    expect(byField['budgets.p99LatencyUs']).toBe("unknown key 'p99LatencyUs'");
    expect(byField.colour).toBe("unknown key 'colour'");
    expect(e.details.every((d) => d.file === file)).toBe(true);
    expect(e.format()).toContain(`${file}: budgets.p99LatencyUs: unknown key 'p99LatencyUs'`);
  });

  it('says what was expected: enum values, types, required keys, patterns, ranges', () => {
    const p = rpi4();
    p.arch = 'aarch64';
    (p.budgets as Record<string, unknown>).controlPeriodUs = '1ms';
    delete (p.deploy as Record<string, unknown>).nodePath;
    (p.libc as Record<string, unknown>).version = 'two';
    (p.budgets as Record<string, unknown>).minAgreement = 1.5;
    (p.backends as unknown[])[1] = 'tensorrt';
    const e = refusal(() => validateProfile(p, file));
    const byField = Object.fromEntries(e.details.map((d) => [d.field, d.text]));
    expect(byField.arch).toBe('expected one of "arm64", "armv7", "x64", got "aarch64"');
    expect(byField['budgets.controlPeriodUs']).toBe('expected number, got "1ms"');
    expect(byField['deploy.nodePath']).toBe('is required but missing');
    expect(byField['libc.version']).toMatch(/^expected a string matching .+, got "two"$/);
    expect(byField['budgets.minAgreement']).toMatch(/must be <= 1, got 1.5/);
    expect(byField['backends[1]']).toBe('expected one of "js", "ort-node", "ort-web", "litert", got "tensorrt"');
    expect(e.details).toHaveLength(6);
  });

  it('checks what the schema cannot: id matches the file, no ort-node on armv7', () => {
    const p = rpi4();
    const e1 = refusal(() => validateProfile(p, '/x/devices/other.json'));
    expect(e1.field).toBe('id');
    expect(e1.message).toContain("is 'rpi4-arm64' but the file is other.json");
    const q = JSON.parse(readFileSync(join(devicesDir(), 'rpi3-armv7.json'), 'utf8')) as { backends: string[] };
    q.backends = ['ort-node', 'js'];
    const e2 = refusal(() => validateProfile(q, '/x/devices/rpi3-armv7.json'));
    expect(e2.field).toBe('backends[0]');
    expect(e2.message).toContain("'ort-node' cannot run on armv7");
  });

  it('names the file when it is not JSON', () => {
    const dir = mkdtempSync(join(tmpdir(), 'profile-'));
    const f = join(dir, 'broken.json');
    writeFileSync(f, '{ "id": "broken", ');
    const e = refusal(() => readProfileFile(f));
    expect(e.code).toBe('BAD_CONFIG');
    expect(e.file).toBe(f);
  });

  it('turns JSON pointers into field paths', () => {
    expect(fieldPath('/budgets/controlPeriodUs')).toBe('budgets.controlPeriodUs');
    expect(fieldPath('/sources/2/url')).toBe('sources[2].url');
    expect(fieldPath('', 'id')).toBe('id');
  });
});
