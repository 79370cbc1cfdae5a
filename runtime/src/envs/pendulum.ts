/**
 * Pendulum-v1 as Gymnasium 1.x defines it (gymnasium/envs/classic_control/pendulum.py), with NumPy 2's
 * float32 semantics for the float32 action:
 *
 * - `u = np.clip(u, -max_torque, max_torque)[0]` is a float32 scalar (bounds rounded to float32).
 * - In the cost, `0.001 * (u**2)` is float32: fround(fround(0.001) * fround(u*u)); it is then added
 *   to float64 terms.
 * - In `newthdot = thdot + (3*g/(2*l)*sin(th) + 3.0/(m*l**2)*u) * dt`, only `3.0/(m*l**2) * u` is
 *   float32 (a Python float times a float32 scalar); adding the float64 sine term makes the rest
 *   float64.
 *
 * The state stays float64 ([theta, theta_dot]); the reward is -cost as float64.
 */
import { copyState, type Core } from './core.js';
import { resolveOptions, type OptionSchema } from './options.js';
import type { NumpyGenerator } from './prng.js';
import { box } from './spaces.js';
import type { BoxSpace, EnvOptions, Space } from './types.js';

const f32 = Math.fround;
const PI = Math.PI;

export const PENDULUM_OPTIONS = {
  g: { kind: 'number', default: 10.0 },
  max_speed: { kind: 'number', default: 8, positive: true },
  max_torque: { kind: 'number', default: 2.0, positive: true },
  dt: { kind: 'number', default: 0.05, positive: true },
  m: { kind: 'number', default: 1.0, positive: true },
  l: { kind: 'number', default: 1.0, positive: true },
} satisfies OptionSchema;

/** ((x + pi) mod 2pi) - pi with Python/NumPy's floored modulo. */
export function angleNormalize(x: number): number {
  const b = 2 * PI;
  let m = (x + PI) % b;
  if (m !== 0 && m < 0) m += b;
  else if (m === 0) m = 0;
  return m - PI;
}

export class PendulumCore implements Core {
  readonly id: string;
  readonly stateDim = 2;
  readonly slots = 2;
  readonly obsDim = 3;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: Space;
  readonly maxEpisodeSteps: number;
  readonly rewardThreshold = null;
  terminated = false;
  private readonly p: ReturnType<typeof resolveOptions<typeof PENDULUM_OPTIONS>>;
  private readonly torqueLo: number;
  private readonly torqueHi: number;
  private readonly gravityTerm: number;
  private readonly torqueGain32: number;

  constructor(options?: EnvOptions, id = 'Pendulum-v1') {
    const p = resolveOptions(id, PENDULUM_OPTIONS, 200, options);
    this.p = p;
    this.id = id;
    this.maxEpisodeSteps = p.maxEpisodeSteps;
    this.observationSpace = box([-1, -1, -p.max_speed], [1, 1, p.max_speed]);
    this.actionSpace = box([-p.max_torque], [p.max_torque]);
    this.torqueLo = f32(-p.max_torque);
    this.torqueHi = f32(p.max_torque);
    this.gravityTerm = (3 * p.g) / (2 * p.l);
    this.torqueGain32 = f32(3.0 / (p.m * (p.l * p.l)));
  }

  reset(rng: NumpyGenerator, s: Float64Array, i: number, n: number): void {
    // uniform(low=-[pi, 1], high=[pi, 1]): low + (high - low) * random(), element by element.
    s[i] = rng.uniform(-PI, PI);
    s[n + i] = rng.uniform(-1.0, 1.0);
  }

  setState(src: ArrayLike<number>, s: Float64Array, i: number, n: number): void {
    copyState(src, 2, s, i, n);
  }

  step(s: Float64Array, i: number, n: number, a: number): number {
    const p = this.p;
    const th = s[i];
    const thdot = s[n + i];
    const u = a < this.torqueLo ? this.torqueLo : a > this.torqueHi ? this.torqueHi : a;
    const an = angleNormalize(th);
    const costs = an * an + 0.1 * (thdot * thdot) + f32(f32(0.001) * f32(u * u));
    let newthdot = thdot + (this.gravityTerm * Math.sin(th) + f32(this.torqueGain32 * u)) * p.dt;
    newthdot = Math.min(Math.max(newthdot, -p.max_speed), p.max_speed);
    const newth = th + newthdot * p.dt;
    s[i] = newth;
    s[n + i] = newthdot;
    this.terminated = false;
    return -costs;
  }

  obs(s: Float64Array, i: number, n: number, out: Float32Array, off: number): void {
    const th = s[i];
    out[off] = Math.cos(th);
    out[off + 1] = Math.sin(th);
    out[off + 2] = s[n + i];
  }
}
