/**
 * MountainCarContinuous-v0 as Gymnasium 1.x defines it
 * (gymnasium/envs/classic_control/continuous_mountain_car.py), with NumPy 2's float32 semantics:
 *
 * - The action arrives as float32. `force = min(max(action[0], min_action), max_action)` stays a
 *   float32 scalar when in range and becomes the Python float bound when clipped.
 * - Under NEP 50 a float32 scalar combined with a Python float stays float32 (the Python float is
 *   first rounded to float32), and comparisons of a float32 scalar with a Python float compare in
 *   float32.
 * - The state is a float64 array after reset and a float32 array after every step
 *   (`np.array([position, velocity], dtype=np.float32)`), so the first step after a reset runs in
 *   float64 and later steps in float32. A hidden third slot records which (1 = float32).
 * - The reward uses the unclipped action: `100 * terminated - action[0]**2 * 0.1`.
 *
 * Math.fround is applied at exactly those points, so observations match Gymnasium bit for bit.
 */
import type { Core } from './core.js';
import { resolveOptions, type OptionSchema } from './options.js';
import type { NumpyGenerator } from './prng.js';
import { box } from './spaces.js';
import type { BoxSpace, EnvOptions, Space } from './types.js';

const f32 = Math.fround;

export const MOUNTAIN_CAR_CONTINUOUS_OPTIONS = {
  goal_velocity: { kind: 'number', default: 0 },
  min_action: { kind: 'number', default: -1.0 },
  max_action: { kind: 'number', default: 1.0 },
  min_position: { kind: 'number', default: -1.2 },
  max_position: { kind: 'number', default: 0.6 },
  max_speed: { kind: 'number', default: 0.07, positive: true },
  goal_position: { kind: 'number', default: 0.45 },
  power: { kind: 'number', default: 0.0015 },
  /** A literal 0.0025 in Gymnasium's step(); exposed for variants. */
  gravity: { kind: 'number', default: 0.0025 },
} satisfies OptionSchema;

// Kinds of scalar, as NumPy sees them: a float64 scalar, a float32 scalar, or a plain Python float/int.
const F64 = 0;
const F32 = 1;
const PY = 2;

/** `x > c` etc. where x has NumPy kind `kind` and c is a Python float: float32 compares in float32. */
const asOperand = (kind: number, c: number) => (kind === F32 ? f32(c) : c);

export class MountainCarContinuousCore implements Core {
  readonly id: string;
  readonly stateDim = 2;
  readonly slots = 3;
  readonly obsDim = 2;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: Space;
  readonly maxEpisodeSteps: number;
  readonly rewardThreshold = 90;
  terminated = false;
  private readonly p: ReturnType<typeof resolveOptions<typeof MOUNTAIN_CAR_CONTINUOUS_OPTIONS>>;

  constructor(options?: EnvOptions, id = 'MountainCarContinuous-v0') {
    this.p = resolveOptions(id, MOUNTAIN_CAR_CONTINUOUS_OPTIONS, 999, options);
    this.id = id;
    this.maxEpisodeSteps = this.p.maxEpisodeSteps;
    this.observationSpace = box([this.p.min_position, -this.p.max_speed], [this.p.max_position, this.p.max_speed]);
    this.actionSpace = box([this.p.min_action], [this.p.max_action]);
  }

  reset(rng: NumpyGenerator, s: Float64Array, i: number, n: number): void {
    s[i] = rng.uniform(-0.6, -0.4);
    s[n + i] = 0;
    s[2 * n + i] = F64;
  }

  /** A given state is taken as a float64 array (as after reset, or `env.unwrapped.state = np.array([...])`). */
  setState(src: ArrayLike<number>, s: Float64Array, i: number, n: number): void {
    s[i] = src[0];
    s[n + i] = src[1];
    s[2 * n + i] = F64;
  }

  step(s: Float64Array, i: number, n: number, a: number): number {
    const p = this.p;
    const stateKind = s[2 * n + i] === F32 ? F32 : F64;
    let position = s[i];
    let velocity = s[n + i];
    let pKind = stateKind;
    let vKind = stateKind;

    // force = min(max(action[0], min_action), max_action); `a` is already a float32 value.
    let force = a;
    let fKind = F32;
    if (f32(p.min_action) > force) {
      force = p.min_action;
      fKind = PY;
    }
    if (asOperand(fKind, p.max_action) < force) {
      force = p.max_action;
      fKind = PY;
    }

    // velocity += force * power - 0.0025 * math.cos(3 * position)
    const c = p.gravity * Math.cos(pKind === F32 ? f32(3 * position) : 3 * position);
    let dv: number;
    let dvKind: number;
    if (fKind === F32) {
      dv = f32(f32(force * f32(p.power)) - f32(c));
      dvKind = F32;
    } else {
      dv = force * p.power - c;
      dvKind = PY;
    }
    if (vKind === F32) velocity = f32(velocity + (dvKind === F32 ? dv : f32(dv)));
    else velocity = velocity + dv;

    if (velocity > asOperand(vKind, p.max_speed)) {
      velocity = p.max_speed;
      vKind = PY;
    }
    if (velocity < asOperand(vKind, -p.max_speed)) {
      velocity = -p.max_speed;
      vKind = PY;
    }
    if (pKind === F32) position = f32(position + (vKind === F32 ? velocity : f32(velocity)));
    else position = position + velocity;
    if (position > asOperand(pKind, p.max_position)) {
      position = p.max_position;
      pKind = PY;
    }
    if (position < asOperand(pKind, p.min_position)) {
      position = p.min_position;
      pKind = PY;
    }
    if (position === asOperand(pKind, p.min_position) && velocity < 0) {
      velocity = 0;
      vKind = PY;
    }
    const terminated =
      position >= asOperand(pKind, p.goal_position) && velocity >= asOperand(vKind, p.goal_velocity);
    this.terminated = terminated;

    s[i] = f32(position);
    s[n + i] = f32(velocity);
    s[2 * n + i] = F32;
    // reward = 0 (+100 if terminated) - math.pow(action[0], 2) * 0.1, in float64 with the raw action.
    return (terminated ? 100.0 : 0) - a * a * 0.1;
  }

  obs(s: Float64Array, i: number, n: number, out: Float32Array, off: number): void {
    out[off] = s[i];
    out[off + 1] = s[n + i];
  }
}
