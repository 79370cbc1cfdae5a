/**
 * Distillation data: a FIFO ring of (raw observation, target, teacher action) rows that DAgger
 * rounds append to and minibatches are drawn from (normalized as they are drawn, so the student's
 * normalization can be fixed after the first round). Plain typed arrays, no per-row objects.
 */
import type { Rng } from './rng.js';

export class DistillBuffer {
  readonly obs: Float32Array;
  readonly targets: Float32Array;
  readonly actions: Float32Array;
  size = 0;
  /** Rows ever added (the ring keeps the last `capacity`). */
  added = 0;
  private head = 0;

  constructor(
    readonly capacity: number,
    readonly obsDim: number,
    readonly targetDim: number,
    readonly actionDim: number,
  ) {
    this.obs = new Float32Array(capacity * obsDim);
    this.targets = new Float32Array(capacity * targetDim);
    this.actions = new Float32Array(capacity * actionDim);
  }

  /** The stored rows and ring position (for checkpoints): rows [0, size) of each array. */
  state(): { size: number; added: number; head: number; obs: Float32Array; targets: Float32Array; actions: Float32Array } {
    const { size, obsDim, targetDim, actionDim } = this;
    return {
      size,
      added: this.added,
      head: this.head,
      obs: this.obs.subarray(0, size * obsDim),
      targets: this.targets.subarray(0, size * targetDim),
      actions: this.actions.subarray(0, size * actionDim),
    };
  }

  /** Puts back what state() returned (the buffer must have the same shape and enough capacity). */
  restore(s: { size: number; added: number; head: number; obs: Float32Array; targets: Float32Array; actions: Float32Array }): void {
    const { obsDim, targetDim, actionDim, capacity } = this;
    if (s.size > capacity || s.head >= Math.max(capacity, 1) || s.obs.length !== s.size * obsDim || s.targets.length !== s.size * targetDim || s.actions.length !== s.size * actionDim) {
      throw new RangeError(`DistillBuffer.restore: ${s.size} rows do not fit a buffer of ${capacity} x (${obsDim}, ${targetDim}, ${actionDim})`);
    }
    this.obs.set(s.obs);
    this.targets.set(s.targets);
    this.actions.set(s.actions);
    this.size = s.size;
    this.added = s.added;
    this.head = s.head;
  }

  /** Appends `n` rows. */
  add(obs: Float32Array, targets: Float32Array, actions: Float32Array, n: number): void {
    const { obsDim, targetDim, actionDim } = this;
    for (let r = 0; r < n; r++) {
      const h = this.head;
      for (let i = 0; i < obsDim; i++) this.obs[h * obsDim + i] = obs[r * obsDim + i];
      for (let j = 0; j < targetDim; j++) this.targets[h * targetDim + j] = targets[r * targetDim + j];
      for (let j = 0; j < actionDim; j++) this.actions[h * actionDim + j] = actions[r * actionDim + j];
      this.head = (h + 1) % this.capacity;
      if (this.size < this.capacity) this.size++;
      this.added++;
    }
  }

  /**
   * Draws `batch` rows uniformly with replacement into xb (normalized as the IR does:
   * fround(fround(obs - mean) / std)) and tb.
   */
  sample(rng: Rng, batch: number, xb: Float32Array, tb: Float32Array, mean: Float32Array, std: Float32Array): void {
    const { obsDim, targetDim, size } = this;
    const f = Math.fround;
    for (let b = 0; b < batch; b++) {
      const k = Math.floor(rng.next() * size);
      const xo = k * obsDim;
      const bo = b * obsDim;
      for (let i = 0; i < obsDim; i++) xb[bo + i] = f(this.obs[xo + i] - mean[i]) / std[i];
      const to = k * targetDim;
      const tbo = b * targetDim;
      for (let j = 0; j < targetDim; j++) tb[tbo + j] = this.targets[to + j];
    }
  }
}
