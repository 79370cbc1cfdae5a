/** A ring replay buffer of float transitions (DQN stores the action index as one float). */
import type { Rng } from './rng.js';

export interface Batch {
  obs: Float32Array;
  actions: Float32Array;
  rewards: Float32Array;
  nextObs: Float32Array;
  /** 1 when the episode terminated (no bootstrap); truncation stores 0. */
  terminated: Float32Array;
}

export class ReplayBuffer {
  private readonly obs: Float32Array;
  private readonly nextObs: Float32Array;
  private readonly actions: Float32Array;
  private readonly rewards: Float32Array;
  private readonly terminated: Float32Array;
  private pos = 0;
  size = 0;

  constructor(readonly capacity: number, readonly obsDim: number, readonly actDim: number) {
    this.obs = new Float32Array(capacity * obsDim);
    this.nextObs = new Float32Array(capacity * obsDim);
    this.actions = new Float32Array(capacity * actDim);
    this.rewards = new Float32Array(capacity);
    this.terminated = new Float32Array(capacity);
  }

  add(obs: ArrayLike<number>, action: ArrayLike<number>, reward: number, nextObs: ArrayLike<number>, terminated: boolean): void {
    const p = this.pos;
    this.obs.set(obs, p * this.obsDim);
    this.nextObs.set(nextObs, p * this.obsDim);
    this.actions.set(action, p * this.actDim);
    this.rewards[p] = reward;
    this.terminated[p] = terminated ? 1 : 0;
    this.pos = (p + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
  }

  sample(batchSize: number, rng: Rng): Batch {
    const d = this.obsDim;
    const a = this.actDim;
    const b: Batch = {
      obs: new Float32Array(batchSize * d),
      actions: new Float32Array(batchSize * a),
      rewards: new Float32Array(batchSize),
      nextObs: new Float32Array(batchSize * d),
      terminated: new Float32Array(batchSize),
    };
    for (let k = 0; k < batchSize; k++) {
      const i = rng.int(this.size);
      b.obs.set(this.obs.subarray(i * d, (i + 1) * d), k * d);
      b.nextObs.set(this.nextObs.subarray(i * d, (i + 1) * d), k * d);
      b.actions.set(this.actions.subarray(i * a, (i + 1) * a), k * a);
      b.rewards[k] = this.rewards[i];
      b.terminated[k] = this.terminated[i];
    }
    return b;
  }
}
