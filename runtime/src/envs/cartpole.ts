/**
 * CartPole-v1 as Gymnasium 1.x defines it (gymnasium/envs/classic_control/cartpole.py): Euler
 * integration of the Barto-Sutton-Anderson cart-pole, +1 per step (including the terminating one), or
 * with `sutton_barto_reward` 0 per step and -1 on termination. All arithmetic is float64, in the same
 * operation order as the Python, so observations match Gymnasium's exactly.
 */
import { copyState, type Core } from './core.js';
import { resolveOptions, type OptionSchema } from './options.js';
import type { NumpyGenerator } from './prng.js';
import { box, discrete } from './spaces.js';
import type { BoxSpace, EnvOptions, Space } from './types.js';

export const CARTPOLE_OPTIONS = {
  sutton_barto_reward: { kind: 'boolean', default: false },
  gravity: { kind: 'number', default: 9.8 },
  masscart: { kind: 'number', default: 1.0, positive: true },
  masspole: { kind: 'number', default: 0.1, positive: true },
  length: { kind: 'number', default: 0.5, positive: true },
  force_mag: { kind: 'number', default: 10.0 },
  tau: { kind: 'number', default: 0.02, positive: true },
  kinematics_integrator: { kind: 'enum', default: 'euler', values: ['euler', 'semi-implicit euler'] },
  theta_threshold_radians: { kind: 'number', default: (12 * 2 * Math.PI) / 360, positive: true },
  x_threshold: { kind: 'number', default: 2.4, positive: true },
} satisfies OptionSchema;

export class CartPoleCore implements Core {
  readonly id: string;
  readonly stateDim = 4;
  readonly slots = 4;
  readonly obsDim = 4;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: Space = discrete(2);
  readonly maxEpisodeSteps: number;
  readonly rewardThreshold: number | null;
  terminated = false;

  private readonly gravity: number;
  private readonly masspole: number;
  private readonly totalMass: number;
  private readonly length: number;
  private readonly polemassLength: number;
  private readonly forceMag: number;
  private readonly tau: number;
  private readonly euler: boolean;
  private readonly thetaThreshold: number;
  private readonly xThreshold: number;
  private readonly suttonBarto: boolean;

  constructor(options?: EnvOptions, id = 'CartPole-v1') {
    const o = resolveOptions(id, CARTPOLE_OPTIONS, 500, options);
    this.id = id;
    this.maxEpisodeSteps = o.maxEpisodeSteps;
    this.suttonBarto = o.sutton_barto_reward;
    this.rewardThreshold = this.suttonBarto ? 0 : 475;
    this.gravity = o.gravity;
    this.masspole = o.masspole;
    this.totalMass = o.masspole + o.masscart;
    this.length = o.length;
    this.polemassLength = o.masspole * o.length;
    this.forceMag = o.force_mag;
    this.tau = o.tau;
    this.euler = o.kinematics_integrator === 'euler';
    this.thetaThreshold = o.theta_threshold_radians;
    this.xThreshold = o.x_threshold;
    const high = [this.xThreshold * 2, Infinity, this.thetaThreshold * 2, Infinity];
    this.observationSpace = box(high.map((v) => -v), high);
  }

  reset(rng: NumpyGenerator, s: Float64Array, i: number, n: number): void {
    // np_random.uniform(-0.05, 0.05, size=(4,)): four draws in order.
    for (let k = 0; k < 4; k++) s[k * n + i] = rng.uniform(-0.05, 0.05);
  }

  setState(src: ArrayLike<number>, s: Float64Array, i: number, n: number): void {
    copyState(src, 4, s, i, n);
  }

  step(s: Float64Array, i: number, n: number, a: number): number {
    let x = s[i];
    let xDot = s[n + i];
    let theta = s[2 * n + i];
    let thetaDot = s[3 * n + i];
    const force = a === 1 ? this.forceMag : -this.forceMag;
    const costheta = Math.cos(theta);
    const sintheta = Math.sin(theta);
    const temp = (force + this.polemassLength * (thetaDot * thetaDot) * sintheta) / this.totalMass;
    const thetaacc =
      (this.gravity * sintheta - costheta * temp) /
      (this.length * (4.0 / 3.0 - (this.masspole * (costheta * costheta)) / this.totalMass));
    const xacc = temp - (this.polemassLength * thetaacc * costheta) / this.totalMass;
    if (this.euler) {
      x = x + this.tau * xDot;
      xDot = xDot + this.tau * xacc;
      theta = theta + this.tau * thetaDot;
      thetaDot = thetaDot + this.tau * thetaacc;
    } else {
      xDot = xDot + this.tau * xacc;
      x = x + this.tau * xDot;
      thetaDot = thetaDot + this.tau * thetaacc;
      theta = theta + this.tau * thetaDot;
    }
    s[i] = x;
    s[n + i] = xDot;
    s[2 * n + i] = theta;
    s[3 * n + i] = thetaDot;
    const terminated =
      x < -this.xThreshold || x > this.xThreshold || theta < -this.thetaThreshold || theta > this.thetaThreshold;
    this.terminated = terminated;
    // Gymnasium gives 1 on the terminating step too (0 / -1 with sutton_barto_reward). Stepping past
    // termination, where it would give 0, is refused by the wrapper.
    if (this.suttonBarto) return terminated ? -1.0 : 0.0;
    return 1.0;
  }

  obs(s: Float64Array, i: number, n: number, out: Float32Array, off: number): void {
    out[off] = s[i];
    out[off + 1] = s[n + i];
    out[off + 2] = s[2 * n + i];
    out[off + 3] = s[3 * n + i];
  }
}
