/**
 * MountainCar-v0 as Gymnasium 1.x defines it (gymnasium/envs/classic_control/mountain_car.py):
 * discrete push left / none / right, -1 per step, terminates at the flag. Plain float64 arithmetic.
 */
import { copyState, type Core } from './core.js';
import { resolveOptions, type OptionSchema } from './options.js';
import type { NumpyGenerator } from './prng.js';
import { box, discrete } from './spaces.js';
import type { BoxSpace, EnvOptions, Space } from './types.js';

export const MOUNTAIN_CAR_OPTIONS = {
  goal_velocity: { kind: 'number', default: 0 },
  min_position: { kind: 'number', default: -1.2 },
  max_position: { kind: 'number', default: 0.6 },
  max_speed: { kind: 'number', default: 0.07, positive: true },
  goal_position: { kind: 'number', default: 0.5 },
  force: { kind: 'number', default: 0.001 },
  gravity: { kind: 'number', default: 0.0025 },
} satisfies OptionSchema;

export class MountainCarCore implements Core {
  readonly id: string;
  readonly stateDim = 2;
  readonly slots = 2;
  readonly obsDim = 2;
  readonly observationSpace: BoxSpace;
  readonly actionSpace: Space = discrete(3);
  readonly maxEpisodeSteps: number;
  readonly rewardThreshold = -110;
  terminated = false;
  private readonly p: ReturnType<typeof resolveOptions<typeof MOUNTAIN_CAR_OPTIONS>>;

  constructor(options?: EnvOptions, id = 'MountainCar-v0') {
    this.p = resolveOptions(id, MOUNTAIN_CAR_OPTIONS, 200, options);
    this.id = id;
    this.maxEpisodeSteps = this.p.maxEpisodeSteps;
    this.observationSpace = box([this.p.min_position, -this.p.max_speed], [this.p.max_position, this.p.max_speed]);
  }

  reset(rng: NumpyGenerator, s: Float64Array, i: number, n: number): void {
    s[i] = rng.uniform(-0.6, -0.4);
    s[n + i] = 0;
  }

  setState(src: ArrayLike<number>, s: Float64Array, i: number, n: number): void {
    copyState(src, 2, s, i, n);
  }

  step(s: Float64Array, i: number, n: number, a: number): number {
    const p = this.p;
    let position = s[i];
    let velocity = s[n + i];
    velocity += (a - 1) * p.force + Math.cos(3 * position) * -p.gravity;
    velocity = Math.min(Math.max(velocity, -p.max_speed), p.max_speed);
    position += velocity;
    position = Math.min(Math.max(position, p.min_position), p.max_position);
    if (position === p.min_position && velocity < 0) velocity = 0;
    this.terminated = position >= p.goal_position && velocity >= p.goal_velocity;
    s[i] = position;
    s[n + i] = velocity;
    return -1.0;
  }

  obs(s: Float64Array, i: number, n: number, out: Float32Array, off: number): void {
    out[off] = s[i];
    out[off + 1] = s[n + i];
  }
}
