import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { OBS_TOLERANCE, REWARD_TOLERANCE, parseGymSpace, verifyTrajectoryFile } from '../../pipeline/src/envs/verify.js';
import { ENV_IDS, fixtureFiles, refdataFiles, runCli } from './helpers.js';

const tmp = mkdtempSync(path.join(tmpdir(), 'envs-parity-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const countSteps = (file: string) =>
  JSON.parse(readFileSync(file, 'utf8')).episodes.reduce((n: number, ep: { steps: unknown[] }) => n + ep.steps.length, 0);

// Environments whose arithmetic has no transcendental functions in the observation path, or only
// through float32 rounding: observations must be bit-identical (this is what catches a missing
// Math.fround in MountainCarContinuous, whose float64 error stays below the 1e-6 tolerance).
const EXACT = /CartPole|MountainCar/;

describe('replay of Gymnasium recordings', () => {
  it('covers every environment in shared/refdata', () => {
    const envs = refdataFiles().map((f) => JSON.parse(readFileSync(f, 'utf8')).env);
    expect(new Set(envs)).toEqual(new Set(ENV_IDS));
  });

  it.each([...refdataFiles(), ...fixtureFiles()])('%s matches', async (file) => {
    const r = await verifyTrajectoryFile(file);
    expect(r.steps).toBe(countSteps(file));
    expect(r.maxObsError).toBeLessThanOrEqual(OBS_TOLERANCE);
    expect(r.maxRewardError).toBeLessThanOrEqual(REWARD_TOLERANCE);
    expect(r.flagMismatches).toBe(0);
    expect(r.resetMismatches).toBe(0);
    expect(r.specMismatches).toEqual([]);
    expect(r.firstMismatch).toBeNull();
    expect(r.passed).toBe(true);
    if (EXACT.test(r.env)) expect(r.maxObsError).toBe(0);
  });

  it('the fixtures reach termination, truncation, clipping and custom time limits', () => {
    const ends = new Map<string, Set<string>>();
    for (const f of fixtureFiles()) {
      const d = JSON.parse(readFileSync(f, 'utf8'));
      for (const ep of d.episodes) {
        const last = ep.steps[ep.steps.length - 1];
        const kind = last.term ? 'term' : last.trunc ? 'trunc' : 'cut';
        ends.set(d.env, (ends.get(d.env) ?? new Set()).add(kind));
      }
    }
    expect(ends.get('CartPole-v1')).toEqual(new Set(['term', 'trunc']));
    expect(ends.get('Acrobot-v1')?.has('term')).toBe(true);
    expect(ends.get('MountainCar-v0')?.has('term')).toBe(true);
    expect(ends.get('MountainCarContinuous-v0')?.has('term')).toBe(true);
    expect(ends.get('Pendulum-v1')?.has('trunc')).toBe(true);
  });

  it('detects a recording that differs from our dynamics', async () => {
    const src = refdataFiles().find((f) => f.includes('Pendulum'))!;
    const d = JSON.parse(readFileSync(src, 'utf8'));
    d.episodes[1].steps[40].obs[2] += 1e-4;
    d.episodes[2].steps[10].r *= 1.001;
    const file = path.join(tmp, 'tampered.json');
    writeFileSync(file, JSON.stringify(d));
    const r = await verifyTrajectoryFile(file);
    expect(r.passed).toBe(false);
    expect(r.maxObsError).toBeGreaterThan(9e-5);
    expect(r.maxRewardError).toBeGreaterThan(5e-4);
    expect(r.firstMismatch).toMatchObject({ episode: 1, step: 40 });
  });

  it('counts flag mismatches and a wrong seeded initial state', async () => {
    const src = refdataFiles().find((f) => f.includes('CartPole'))!;
    const d = JSON.parse(readFileSync(src, 'utf8'));
    d.episodes[0].steps[5].trunc = true;
    d.episodes[1].initial_state[0] += 1e-9; // replay still starts from it; the seeded reset no longer matches
    const file = path.join(tmp, 'flags.json');
    writeFileSync(file, JSON.stringify(d));
    const r = await verifyTrajectoryFile(file);
    expect(r.flagMismatches).toBe(1);
    expect(r.resetMismatches).toBe(1);
    expect(r.passed).toBe(false);
  });

  it('counts truncation from the start of each replayed episode', async () => {
    // MountainCar-v0 random episodes truncate at exactly 200 steps.
    const src = refdataFiles().find((f) => f.includes('MountainCar-v0'))!;
    const d = JSON.parse(readFileSync(src, 'utf8'));
    expect(d.episodes.every((ep: { steps: { trunc: boolean }[] }) => ep.steps.length === 200 && ep.steps[199].trunc)).toBe(true);
    expect((await verifyTrajectoryFile(src)).flagMismatches).toBe(0);
  });

  it('compares the spaces Gymnasium printed with ours', async () => {
    const src = refdataFiles().find((f) => f.includes('Acrobot'))!;
    const d = JSON.parse(readFileSync(src, 'utf8'));
    d.observation_space = d.observation_space.replace('28.274334', '28.3');
    const file = path.join(tmp, 'space.json');
    writeFileSync(file, JSON.stringify(d));
    const r = await verifyTrajectoryFile(file);
    expect(r.specMismatches).toEqual([expect.stringContaining('observation_space[5]')]);
    expect(r.passed).toBe(false);
  });

  it('parses Gymnasium space strings', () => {
    expect(parseGymSpace('Discrete(3)')).toEqual({ kind: 'discrete', n: 3 });
    expect(parseGymSpace('Box(-2.0, 2.0, (1,), float32)')).toEqual({ kind: 'box', low: [-2], high: [2], shape: [1] });
    expect(parseGymSpace('Box([-4.8               -inf -0.41887903        -inf], [4.8               inf 0.41887903        inf], (4,), float32)')).toEqual({
      kind: 'box',
      low: [-4.8, -Infinity, -0.41887903, -Infinity],
      high: [4.8, Infinity, 0.41887903, Infinity],
      shape: [4],
    });
  });
});

describe('malformed trajectory files', () => {
  const base = () => JSON.parse(readFileSync(refdataFiles().find((f) => f.includes('CartPole'))!, 'utf8'));
  const write = (name: string, content: string) => {
    const file = path.join(tmp, name);
    writeFileSync(file, content);
    return file;
  };
  const expectBad = async (file: string, field: string) => {
    const err = await verifyTrajectoryFile(file).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EdgeDistillError);
    expect((err as EdgeDistillError).code).toBe('BAD_TRAJECTORY');
    expect((err as EdgeDistillError).file).toBe(file);
    expect((err as EdgeDistillError).field).toBe(field);
  };

  it('names the field of a wrong-length observation', async () => {
    const d = base();
    d.episodes[2].steps[17].obs = [0.1, 0.2, 0.3];
    await expectBad(write('short-obs.json', JSON.stringify(d)), 'episodes[2].steps[17].obs');
  });

  it('names missing and mistyped fields', async () => {
    const d = base();
    delete d.episodes[0].initial_state;
    await expectBad(write('no-state.json', JSON.stringify(d)), 'episodes[0].initial_state');
    const d2 = base();
    d2.episodes[1].steps[3].a = 5;
    await expectBad(write('bad-action.json', JSON.stringify(d2)), 'episodes[1].steps[3].a');
    const d3 = base();
    d3.episodes[0].steps[0].term = 'no';
    await expectBad(write('bad-term.json', JSON.stringify(d3)), 'episodes[0].steps[0].term');
    const d4 = base();
    d4.episodes[0].steps[2].obs[1] = 'x';
    await expectBad(write('bad-num.json', JSON.stringify(d4)), 'episodes[0].steps[2].obs[1]');
    await expectBad(write('no-episodes.json', JSON.stringify({ env: 'CartPole-v1', max_episode_steps: 500 })), 'episodes');
    await expectBad(write('not-json.json', '{"env": "CartPole-v1", '), '(json)');
    await expectBad(write('array.json', '[]'), '(root)');
  });

  it('an unknown env in a file is UNKNOWN_ENV naming the file', async () => {
    const d = base();
    d.env = 'CartPole-v9';
    const file = write('unknown-env.json', JSON.stringify(d));
    await expect(verifyTrajectoryFile(file)).rejects.toMatchObject({ code: 'UNKNOWN_ENV', file, field: 'env' });
  });
});

describe('edgedistill envs verify (CLI)', () => {
  it('passes every shared recording with exit 0 and JSON results', () => {
    const files = refdataFiles();
    const r = runCli(['envs', 'verify', ...files, '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.passed).toBe(true);
    expect(out.files.map((f: { env: string }) => f.env).sort()).toEqual([...ENV_IDS].sort());
    for (const f of out.files) {
      expect(f.passed).toBe(true);
      expect(f.steps).toBe(countSteps(f.file));
      expect(f.maxObsError).toBeLessThanOrEqual(OBS_TOLERANCE);
    }
  });

  it('exits 1 when a file does not match', () => {
    const d = JSON.parse(readFileSync(refdataFiles().find((f) => f.includes('MountainCarContinuous'))!, 'utf8'));
    d.episodes[0].steps[100].obs[0] += 1e-3;
    const file = path.join(tmp, 'cli-mismatch.json');
    writeFileSync(file, JSON.stringify(d));
    const r = runCli(['envs', 'verify', refdataFiles()[0], file, '--json']);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.passed).toBe(false);
    expect(out.files.map((f: { passed: boolean }) => f.passed)).toEqual([true, false]);
    expect(out.files[1].firstMismatch).toMatchObject({ episode: 0, step: 100 });
    const human = runCli(['envs', 'verify', file]);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/FAIL .*cli-mismatch\.json/);
    expect(human.stdout).toMatch(/first mismatch: episode 0, step 100/);
  });

  it('exits 2 on a malformed file and names the field', () => {
    const d = JSON.parse(readFileSync(refdataFiles().find((f) => f.includes('CartPole'))!, 'utf8'));
    d.episodes[2].steps[17].obs = 'oops';
    const file = path.join(tmp, 'cli-malformed.json');
    writeFileSync(file, JSON.stringify(d));
    const r = runCli(['envs', 'verify', file, '--json']);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ error: 'BAD_TRAJECTORY', file, field: 'episodes[2].steps[17].obs' });
    expect(r.stderr).toContain('episodes[2].steps[17].obs');
    expect(runCli(['envs', 'verify', path.join(tmp, 'does-not-exist.json')]).code).toBe(2);
  });

  it('lists the environments with their spaces', () => {
    const r = runCli(['envs', 'list', '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.map((s: { id: string }) => s.id)).toEqual([...ENV_IDS]);
    expect(out[0]).toMatchObject({ id: 'CartPole-v1', maxEpisodeSteps: 500, rewardThreshold: 475, actionSpace: { kind: 'discrete', n: 2 } });
    expect(out[0].observationSpace.high[1]).toBe('inf');
    const text = runCli(['envs', 'list']);
    expect(text.stdout).toContain('Box(-2.0, 2.0, (1,), float32)');
    expect(runCli(['envs', 'list', '--quiet']).stdout.trim().split('\n')).toEqual([...ENV_IDS]);
    for (const sub of ['list', 'verify']) {
      const help = runCli(['envs', sub, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Example:');
      expect(help.stdout).toContain('--json');
      expect(help.stdout).toContain('--quiet');
    }
  });
});
