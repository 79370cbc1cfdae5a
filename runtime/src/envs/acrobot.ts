/**
 * Acrobot-v1 as Gymnasium 1.x defines it (gymnasium/envs/classic_control/acrobot.py): two-link
 * pendulum, torque on the middle joint, one RK4 step of `dt` per action, "book" dynamics by default,
 * -1 per step and 0 on reaching the target height. Float64 throughout, in the Python's operation
 * order; the reset state is rounded to float32 as Gymnasium does (`.astype(np.float32)`).
 */
import { EdgeDistillError } from '../errors.js';
import { copyState, type Core } from './core.js';
import { resolveOptions, type OptionSchema } from './options.js';
import type { NumpyGenerator } from './prng.js';
import { box, discrete } from './spaces.js';
import type { BoxSpace, EnvOptions, Space } from './types.js';

const PI = Math.PI;

/** Class attributes of AcrobotEnv, under their Gymnasium names, plus `g` (a local constant there). */
export const ACROBOT_OPTIONS = {
  book_or_nips: { kind: 'enum', default: 'book', values: ['book', 'nips'] },
  dt: { kind: 'number', default: 0.2, positive: true },
  LINK_LENGTH_1: { kind: 'number', default: 1.0, positive: true },
  LINK_LENGTH_2: { kind: 'number', default: 1.0, positive: true },
  LINK_MASS_1: { kind: 'number', default: 1.0, positive: true },
  LINK_MASS_2: { kind: 'number', default: 1.0, positive: true },
  LINK_COM_POS_1: { kind: 'number', default: 0.5, positive: true },
  LINK_COM_POS_2: { kind: 'number', default: 0.5, positive: true },
  LINK_MOI: { kind: 'number', default: 1.0, positive: true },
  MAX_VEL_1: { kind: 'number', default: 4 * PI, positive: true },
  MAX_VEL_2: { kind: 'number', default: 9 * PI, positive: true },
  AVAIL_TORQUE: { kind: 'numbers', default: [-1.0, 0.0, 1], length: 3 },
  torque_noise_max: { kind: 'number', default: 0.0, min: 0 },
  g: { kind: 'number', default: 9.8 },
} satisfies OptionSchema;

export class AcrobotCore implements Core {
  readonly id: string;
  readonly stateDim = 4;
  readonly slots = 4;
  readonly obsDim = 6;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: Space = discrete(3);
  readonly maxEpisodeSteps: number;
  readonly rewardThreshold = -100;
  terminated = false;

  private readonly p: ReturnType<typeof resolveOptions<typeof ACROBOT_OPTIONS>>;
  private readonly nips: boolean;
  // RK4 scratch: stage derivatives and the stage input.
  private readonly k = new Float64Array(16);
  private readonly d = new Float64Array(4);

  constructor(options?: EnvOptions, id = 'Acrobot-v1') {
    this.p = resolveOptions(id, ACROBOT_OPTIONS, 500, options);
    this.id = id;
    this.maxEpisodeSteps = this.p.maxEpisodeSteps;
    this.nips = this.p.book_or_nips === 'nips';
    const high = [1, 1, 1, 1, this.p.MAX_VEL_1, this.p.MAX_VEL_2];
    this.observationSpace = box(high.map((v) => -v), high);
  }

  reset(rng: NumpyGenerator, s: Float64Array, i: number, n: number): void {
    for (let k = 0; k < 4; k++) s[k * n + i] = Math.fround(rng.uniform(-0.1, 0.1));
  }

  setState(src: ArrayLike<number>, s: Float64Array, i: number, n: number): void {
    // Acrobot never leaves |dtheta| <= MAX_VEL (step clips there); a state far outside it makes the
    // RK4 angles astronomically large, where Gymnasium's wrap() loop (and ours) never ends.
    const lim = [1e6, 1e6, this.p.MAX_VEL_1, this.p.MAX_VEL_2];
    const names = ['theta1', 'theta2', 'dtheta1', 'dtheta2'];
    for (let k = 0; k < 4; k++) {
      if (Math.abs(src[k]) > lim[k]) {
        throw new EdgeDistillError('ENV_STATE', `Acrobot-v1 state ${names[k]} = ${src[k]} is outside the reachable range [-${lim[k]}, ${lim[k]}]`, { field: `state[${k}]` });
      }
    }
    copyState(src, 4, s, i, n);
  }

  /** Time derivative of (theta1, theta2, dtheta1, dtheta2) under torque a, written to this.d. */
  private dsdt(theta1: number, theta2: number, dtheta1: number, dtheta2: number, a: number): void {
    const p = this.p;
    const m1 = p.LINK_MASS_1;
    const m2 = p.LINK_MASS_2;
    const l1 = p.LINK_LENGTH_1;
    const lc1 = p.LINK_COM_POS_1;
    const lc2 = p.LINK_COM_POS_2;
    const I1 = p.LINK_MOI;
    const I2 = p.LINK_MOI;
    const g = p.g;
    const cos2 = Math.cos(theta2);
    const sin2 = Math.sin(theta2);
    const d1 = m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * cos2) + I1 + I2;
    const d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos2) + I2;
    const phi2 = m2 * lc2 * g * Math.cos(theta1 + theta2 - PI / 2.0);
    const phi1 =
      -m2 * l1 * lc2 * (dtheta2 * dtheta2) * sin2 -
      2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2 +
      (m1 * lc1 + m2 * l1) * g * Math.cos(theta1 - PI / 2) +
      phi2;
    const denom = m2 * (lc2 * lc2) + I2 - (d2 * d2) / d1;
    const ddtheta2 = this.nips
      ? (a + (d2 / d1) * phi1 - phi2) / denom
      : (a + (d2 / d1) * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * sin2 - phi2) / denom;
    const ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    const d = this.d;
    d[0] = dtheta1;
    d[1] = dtheta2;
    d[2] = ddtheta1;
    d[3] = ddtheta2;
  }

  step(s: Float64Array, i: number, n: number, a: number, rng: NumpyGenerator): number {
    let torque = this.p.AVAIL_TORQUE[a];
    if (this.p.torque_noise_max > 0) torque += rng.uniform(-this.p.torque_noise_max, this.p.torque_noise_max);
    const y0 = s[i];
    const y1 = s[n + i];
    const y2 = s[2 * n + i];
    const y3 = s[3 * n + i];
    // rk4(derivs, [s, torque], [0, dt]): one step; the torque component has derivative 0.
    const dt = this.p.dt - 0;
    const dt2 = dt / 2.0;
    const k = this.k;
    const d = this.d;
    this.dsdt(y0, y1, y2, y3, torque);
    k[0] = d[0]; k[1] = d[1]; k[2] = d[2]; k[3] = d[3];
    this.dsdt(y0 + dt2 * k[0], y1 + dt2 * k[1], y2 + dt2 * k[2], y3 + dt2 * k[3], torque);
    k[4] = d[0]; k[5] = d[1]; k[6] = d[2]; k[7] = d[3];
    this.dsdt(y0 + dt2 * k[4], y1 + dt2 * k[5], y2 + dt2 * k[6], y3 + dt2 * k[7], torque);
    k[8] = d[0]; k[9] = d[1]; k[10] = d[2]; k[11] = d[3];
    this.dsdt(y0 + dt * k[8], y1 + dt * k[9], y2 + dt * k[10], y3 + dt * k[11], torque);
    const h = dt / 6.0;
    let ns0 = y0 + h * (k[0] + 2 * k[4] + 2 * k[8] + d[0]);
    let ns1 = y1 + h * (k[1] + 2 * k[5] + 2 * k[9] + d[1]);
    let ns2 = y2 + h * (k[2] + 2 * k[6] + 2 * k[10] + d[2]);
    let ns3 = y3 + h * (k[3] + 2 * k[7] + 2 * k[11] + d[3]);
    ns0 = wrap(ns0, -PI, PI);
    ns1 = wrap(ns1, -PI, PI);
    ns2 = Math.min(Math.max(ns2, -this.p.MAX_VEL_1), this.p.MAX_VEL_1);
    ns3 = Math.min(Math.max(ns3, -this.p.MAX_VEL_2), this.p.MAX_VEL_2);
    s[i] = ns0;
    s[n + i] = ns1;
    s[2 * n + i] = ns2;
    s[3 * n + i] = ns3;
    const terminated = -Math.cos(ns0) - Math.cos(ns1 + ns0) > 1.0;
    this.terminated = terminated;
    return terminated ? 0.0 : -1.0;
  }

  obs(s: Float64Array, i: number, n: number, out: Float32Array, off: number): void {
    const t1 = s[i];
    const t2 = s[n + i];
    out[off] = Math.cos(t1);
    out[off + 1] = Math.sin(t1);
    out[off + 2] = Math.cos(t2);
    out[off + 3] = Math.sin(t2);
    out[off + 4] = s[2 * n + i];
    out[off + 5] = s[3 * n + i];
  }
}

/** Gymnasium's acrobot `wrap`: shift by whole periods into [m, M] (loops, as the Python does). */
function wrap(x: number, m: number, M: number): number {
  const diff = M - m;
  while (x > M) x = x - diff;
  while (x < m) x = x + diff;
  return x;
}
