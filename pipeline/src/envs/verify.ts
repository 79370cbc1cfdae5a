/**
 * Parity check of our environments against recorded Gymnasium trajectories (the format of
 * shared/refdata/*.json): every episode is replayed from its recorded `initial_state` with the recorded
 * actions, and observations, rewards and terminated/truncated flags are compared step by step.
 * When an episode has a `seed`, `reset({seed})` must also reproduce `initial_state` (our PRNG is
 * NumPy's PCG64), and the spaces printed in the file must equal ours.
 */
import { readFile } from 'node:fs/promises';
import { EdgeDistillError, type ErrorDetail } from '@edgedistill/runtime/errors';
import { makeEnv, listEnvs, type Env, type EnvOptions, type Space } from '@edgedistill/runtime/envs';

/** Tolerances of a pass: observation absolute error, reward relative error (see `rewardError`). */
export const OBS_TOLERANCE = 1e-6;
export const REWARD_TOLERANCE = 1e-6;
/** Seeded resets are bit-exact; this only absorbs nothing but printing noise. */
export const RESET_TOLERANCE = 1e-12;

export interface TrajectoryStep {
  a: number | number[];
  r: number;
  obs: number[];
  term: boolean;
  trunc: boolean;
  state?: number[];
}
export interface TrajectoryEpisode {
  seed?: number;
  initial_obs?: number[];
  initial_state: number[];
  steps: TrajectoryStep[];
}
export interface TrajectoryFile {
  env: string;
  max_episode_steps: number;
  action_space?: string;
  observation_space?: string;
  /** Env settings the recording used (our makeEnv option names = Gymnasium's), if not the defaults. */
  options?: EnvOptions;
  episodes: TrajectoryEpisode[];
}

export interface Mismatch {
  episode: number;
  step: number;
  what: string;
}

export interface VerifyResult {
  file: string;
  env: string;
  episodes: number;
  steps: number;
  maxObsError: number;
  maxRewardError: number;
  flagMismatches: number;
  /** Episodes whose seeded reset did not reproduce initial_state (or initial_obs). */
  resetMismatches: number;
  /** Differences between the spaces / time limit in the file and ours. */
  specMismatches: string[];
  /** First divergence found, to start debugging from. */
  firstMismatch: Mismatch | null;
  passed: boolean;
}

/** Reward error: |r - r_ref| / max(|r_ref|, 1), i.e. relative, and absolute for rewards below 1 in size. */
export function rewardError(r: number, ref: number): number {
  return Math.abs(r - ref) / Math.max(Math.abs(ref), 1);
}

/** Reads, validates and replays one trajectory file. */
export async function verifyTrajectoryFile(path: string): Promise<VerifyResult> {
  const data = await readTrajectoryFile(path);
  return verifyTrajectory(data, path);
}

/** Reads and validates a trajectory file; any problem is a BAD_TRAJECTORY naming the file and field. */
export async function readTrajectoryFile(path: string): Promise<TrajectoryFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new EdgeDistillError(code === 'ENOENT' || code === 'EISDIR' ? 'BAD_ARGUMENT' : 'IO', `cannot read trajectory file: ${(e as Error).message}`, {
      file: path,
      cause: e,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new EdgeDistillError('BAD_TRAJECTORY', `not valid JSON: ${(e as Error).message}`, { file: path, field: '(json)' });
  }
  return validateTrajectory(raw, path);
}

type Json = unknown;
const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: Json): v is number => typeof v === 'number' && Number.isFinite(v);

/** Checks the structure against the env's spaces; collects every problem (the first is the error's field). */
export function validateTrajectory(raw: Json, file: string): TrajectoryFile {
  const problems: ErrorDetail[] = [];
  const bad = (field: string, text: string) => problems.push({ file, field, text });
  const fail = () =>
    new EdgeDistillError('BAD_TRAJECTORY', problems[0].text + (problems.length > 1 ? ` (${problems.length} problems in all)` : ''), {
      file,
      field: problems[0].field,
      details: problems.length > 1 ? problems : [],
    });
  if (!isObj(raw)) {
    bad('(root)', 'expected a JSON object with env, max_episode_steps and episodes');
    throw fail();
  }
  if (typeof raw.env !== 'string') bad('env', 'missing or not a string (an environment id such as "CartPole-v1")');
  if (!Number.isInteger(raw.max_episode_steps) || (raw.max_episode_steps as number) < 1) {
    bad('max_episode_steps', 'missing or not a positive integer');
  }
  if (raw.options !== undefined && !isObj(raw.options)) bad('options', 'must be an object of environment options');
  for (const k of ['action_space', 'observation_space'] as const) {
    if (raw[k] !== undefined && typeof raw[k] !== 'string') bad(k, 'must be a string such as "Discrete(2)"');
  }
  if (!Array.isArray(raw.episodes) || raw.episodes.length === 0) bad('episodes', 'missing or not a non-empty array');
  if (problems.length) throw fail();

  // The env fixes the lengths and the action kind the rest must have.
  let env: Env;
  try {
    env = makeEnv(raw.env as string, { ...(raw.options as EnvOptions | undefined), maxEpisodeSteps: raw.max_episode_steps as number });
  } catch (e) {
    if (e instanceof EdgeDistillError) {
      const field = e.code === 'UNKNOWN_ENV' ? 'env' : `options${e.field?.startsWith('options.') ? e.field.slice(7) : ''}`;
      throw new EdgeDistillError(e.code === 'UNKNOWN_ENV' ? 'UNKNOWN_ENV' : 'BAD_TRAJECTORY', e.message, {
        file,
        field,
        suggestion: e.suggestion,
      });
    }
    throw e;
  }
  const obsDim = env.observationSpace.low.length;
  const stateDim = stateLength(env);
  const act = env.actionSpace;
  const numbers = (v: Json, field: string, len: number) => {
    if (!Array.isArray(v)) return bad(field, `missing or not an array of ${len} numbers`);
    if (v.length !== len) return bad(field, `has ${v.length} values, expected ${len}`);
    const i = v.findIndex((x) => !isNum(x));
    if (i >= 0) bad(`${field}[${i}]`, `is ${JSON.stringify(v[i])}, not a finite number`);
  };
  (raw.episodes as Json[]).forEach((ep, e) => {
    const at = `episodes[${e}]`;
    if (!isObj(ep)) return bad(at, 'not an object');
    if (ep.seed !== undefined && ep.seed !== null && (!Number.isSafeInteger(ep.seed) || (ep.seed as number) < 0)) {
      bad(`${at}.seed`, 'must be a non-negative integer');
    }
    numbers(ep.initial_state, `${at}.initial_state`, stateDim);
    if (ep.initial_obs !== undefined) numbers(ep.initial_obs, `${at}.initial_obs`, obsDim);
    if (!Array.isArray(ep.steps)) return bad(`${at}.steps`, 'missing or not an array');
    ep.steps.forEach((st, t) => {
      const sat = `${at}.steps[${t}]`;
      if (!isObj(st)) return bad(sat, 'not an object');
      if (act.kind === 'discrete') {
        if (!Number.isInteger(st.a) || (st.a as number) < act.start || (st.a as number) >= act.start + act.n) {
          bad(`${sat}.a`, `is ${JSON.stringify(st.a)}, expected an integer in ${act.start}..${act.start + act.n - 1}`);
        }
      } else {
        numbers(st.a, `${sat}.a`, act.low.length);
      }
      if (!isNum(st.r)) bad(`${sat}.r`, 'missing or not a finite number');
      numbers(st.obs, `${sat}.obs`, obsDim);
      if (typeof st.term !== 'boolean') bad(`${sat}.term`, 'missing or not a boolean');
      if (typeof st.trunc !== 'boolean') bad(`${sat}.trunc`, 'missing or not a boolean');
      if (st.state !== undefined) numbers(st.state, `${sat}.state`, stateDim);
    });
  });
  if (problems.length) throw fail();
  return raw as unknown as TrajectoryFile;
}

function stateLength(env: Env): number {
  // The state length is the env's, not the file's: read it from a throwaway reset.
  env.reset({ seed: 0 });
  return env.getState().length;
}

/** Replays a validated trajectory against our environment. */
export function verifyTrajectory(data: TrajectoryFile, file = '(trajectory)'): VerifyResult {
  const env = makeEnv(data.env, { ...data.options, maxEpisodeSteps: data.max_episode_steps });
  const result: VerifyResult = {
    file,
    env: data.env,
    episodes: data.episodes.length,
    steps: 0,
    maxObsError: 0,
    maxRewardError: 0,
    flagMismatches: 0,
    resetMismatches: 0,
    specMismatches: specMismatches(env, data),
    firstMismatch: null,
    passed: false,
  };
  let incomplete = false;
  const note = (episode: number, step: number, what: string) => {
    result.firstMismatch ??= { episode, step, what };
  };
  data.episodes.forEach((ep, e) => {
    if (ep.seed !== undefined && ep.seed !== null) {
      const { obs } = env.reset({ seed: ep.seed });
      const state = env.getState();
      const stateOk = ep.initial_state.every((v, k) => Math.abs(state[k] - v) <= RESET_TOLERANCE);
      const obsOk = !ep.initial_obs || ep.initial_obs.every((v, k) => Math.abs(obs[k] - v) <= OBS_TOLERANCE);
      if (!stateOk || !obsOk) {
        result.resetMismatches++;
        note(e, -1, `reset(seed=${ep.seed}) gave state [${[...state].join(', ')}], recorded [${ep.initial_state.join(', ')}]`);
      }
    }
    try {
      env.setState(ep.initial_state);
    } catch (err) {
      if (!(err instanceof EdgeDistillError)) throw err;
      throw new EdgeDistillError('BAD_TRAJECTORY', err.message, { file, field: `episodes[${e}].initial_state`, cause: err });
    }
    for (let t = 0; t < ep.steps.length; t++) {
      const st = ep.steps[t];
      const out = env.step(st.a);
      result.steps++;
      let obsErr = 0;
      for (let k = 0; k < st.obs.length; k++) obsErr = Math.max(obsErr, Math.abs(out.obs[k] - st.obs[k]));
      if (!(obsErr <= OBS_TOLERANCE)) note(e, t, `obs error ${obsErr}`);
      result.maxObsError = Math.max(result.maxObsError, obsErr);
      const rErr = rewardError(out.reward, st.r);
      if (!(rErr <= REWARD_TOLERANCE)) note(e, t, `reward ${out.reward}, recorded ${st.r}`);
      result.maxRewardError = Math.max(result.maxRewardError, rErr);
      if (out.terminated !== st.term || out.truncated !== st.trunc) {
        result.flagMismatches++;
        note(e, t, `terminated/truncated ${out.terminated}/${out.truncated}, recorded ${st.term}/${st.trunc}`);
      }
      if ((out.terminated || out.truncated) && t < ep.steps.length - 1) {
        // Our episode ended but the recording goes on: the rest cannot be replayed.
        incomplete = true;
        note(e, t, `episode ended here but the recording has ${ep.steps.length - 1 - t} more steps`);
        break;
      }
    }
  });
  result.passed =
    !incomplete &&
    result.maxObsError <= OBS_TOLERANCE &&
    result.maxRewardError <= REWARD_TOLERANCE &&
    result.flagMismatches === 0 &&
    result.resetMismatches === 0 &&
    result.specMismatches.length === 0;
  return result;
}

/** Compares the spaces Gymnasium printed (e.g. "Box([-4.8 -inf ...], [...], (4,), float32)") and the time limit. */
function specMismatches(env: Env, data: TrajectoryFile): string[] {
  const out: string[] = [];
  if (!data.options) {
    const spec = listEnvs().find((s) => s.id === data.env);
    if (spec && spec.maxEpisodeSteps !== data.max_episode_steps) {
      out.push(`max_episode_steps: file ${data.max_episode_steps}, ours ${spec.maxEpisodeSteps}`);
    }
  }
  const check = (name: string, printed: string | undefined, ours: Space) => {
    if (printed === undefined) return;
    const parsed = parseGymSpace(printed);
    if (!parsed) return;
    if (parsed.kind !== ours.kind) return void out.push(`${name}: file ${printed}, ours ${ours.kind}`);
    if (parsed.kind === 'discrete' && ours.kind === 'discrete') {
      if (parsed.n !== ours.n) out.push(`${name}: file ${printed}, ours Discrete(${ours.n})`);
      return;
    }
    if (parsed.kind === 'box' && ours.kind === 'box') {
      const dim = ours.low.length;
      const close = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
      const expand = (v: number[]) => (v.length === 1 ? new Array<number>(dim).fill(v[0]) : v);
      const low = expand(parsed.low);
      const high = expand(parsed.high);
      if (parsed.shape[0] !== dim || low.length !== dim || high.length !== dim) {
        out.push(`${name}: file ${printed} has shape (${parsed.shape}), ours (${dim},)`);
        return;
      }
      for (let k = 0; k < dim; k++) {
        if (!close(ours.low[k], low[k]) || !close(ours.high[k], high[k])) {
          out.push(`${name}[${k}]: file [${low[k]}, ${high[k]}], ours [${ours.low[k]}, ${ours.high[k]}]`);
        }
      }
    }
  };
  check('action_space', data.action_space, env.actionSpace);
  check('observation_space', data.observation_space, env.observationSpace);
  return out;
}

type ParsedSpace = { kind: 'discrete'; n: number } | { kind: 'box'; low: number[]; high: number[]; shape: number[] };

/** Parses Gymnasium's `str(space)` for Discrete and 1-D Box; undefined for anything else. */
export function parseGymSpace(s: string): ParsedSpace | undefined {
  const d = /^Discrete\((\d+)\)$/.exec(s.trim());
  if (d) return { kind: 'discrete', n: Number(d[1]) };
  const b = /^Box\((.*), \(([\d, ]*)\), (\w+)\)$/s.exec(s.trim());
  if (!b) return undefined;
  const shape = b[2].split(',').map((x) => x.trim()).filter(Boolean).map(Number);
  const num = (t: string) => (t === 'inf' ? Infinity : t === '-inf' ? -Infinity : Number(t));
  const bounds = b[1].trim();
  let low: number[];
  let high: number[];
  if (bounds.startsWith('[')) {
    const arrays = [...bounds.matchAll(/\[([^\]]*)\]/g)].map((m) => m[1].trim().split(/\s+/).map(num));
    if (arrays.length !== 2) return undefined;
    [low, high] = arrays;
  } else {
    const parts = bounds.split(',').map((x) => num(x.trim()));
    if (parts.length !== 2) return undefined;
    low = [parts[0]];
    high = [parts[1]];
  }
  if ([...low, ...high].some((v) => Number.isNaN(v))) return undefined;
  return { kind: 'box', low, high, shape };
}
