/**
 * The Policy objects: observation checks and action decoding around a backend session.
 */
import { EdgeDistillError } from '../errors.js';
import type { BackendSession } from './backend.js';
import { decodeAction, packBatch, writeObservation, type OutputSource } from './decode.js';
import type {
  BackendName,
  Observation,
  ObservationBatch,
  Policy,
  PolicyAction,
  PolicyMetadata,
  SyncPolicy,
} from './types.js';

class BasePolicy {
  readonly sync: boolean = false;
  protected disposed = false;
  /** Reused batch-1 input; `inFlight` while an async run may still read it. */
  protected readonly x1: Float32Array;
  protected inFlight = false;
  protected readonly src: OutputSource;
  protected readonly obsDim: number;
  protected readonly outDim: number;
  protected readonly maxBatch: number;
  readonly backendInfo: Readonly<Record<string, unknown>>;

  constructor(
    protected readonly session: BackendSession,
    readonly metadata: PolicyMetadata,
    readonly backend: BackendName,
    maxBatch: number,
  ) {
    this.obsDim = metadata.obsDim;
    this.outDim = metadata.head.outDim;
    this.maxBatch = maxBatch;
    this.backendInfo = session.info;
    this.x1 = new Float32Array(this.obsDim);
    this.src = { file: metadata.artifact.path, backend, outputName: metadata.head.outputName };
  }

  protected live(): void {
    if (this.disposed) {
      throw new EdgeDistillError('RUNTIME', 'the policy was disposed', { file: this.metadata.artifact.path });
    }
  }

  protected checkOutput(out: Float32Array, rows: number): Float32Array {
    if (out.length !== rows * this.outDim) {
      throw new EdgeDistillError(
        'RUNTIME',
        `backend ${this.backend} returned ${out.length} values for ${rows} observation(s), expected ${rows * this.outDim}`,
        { file: this.src.file, field: this.src.outputName },
      );
    }
    return out;
  }

  protected decodeAll(out: Float32Array, rows: number): PolicyAction[] {
    const actions: PolicyAction[] = new Array(rows);
    for (let r = 0; r < rows; r++) actions[r] = decodeAction(out, r * this.outDim, this.metadata.actionSpace, this.src);
    return actions;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.dispose();
  }
}

/** ORT / LiteRT: every run is a promise. */
export class AsyncPolicy extends BasePolicy implements Policy {
  /** One observation through the session (one await: no nested async layers per step). */
  private async run1(obs: Observation): Promise<Float32Array> {
    this.live();
    // Reuse the batch-1 buffer unless a previous call (not awaited) may still be reading it.
    const reuse = !this.inFlight;
    const x = reuse ? this.x1 : new Float32Array(this.obsDim);
    writeObservation(obs, x, 0, this.obsDim);
    if (reuse) this.inFlight = true;
    try {
      return this.checkOutput(await this.session.run(x, 1), 1);
    } finally {
      if (reuse) this.inFlight = false;
    }
  }

  forward(obs: Observation): Promise<Float32Array> {
    return this.run1(obs);
  }

  act(obs: Observation): Promise<PolicyAction> {
    return this.run1(obs).then((out) => decodeAction(out, 0, this.metadata.actionSpace, this.src));
  }

  async actBatch(obs: ObservationBatch, batch?: number): Promise<PolicyAction[]> {
    this.live();
    const { data, rows } = packBatch(obs, this.obsDim, batch);
    if (rows === 0) return [];
    let out: Float32Array;
    if (rows <= this.maxBatch) out = this.checkOutput(await this.session.run(data, rows), rows);
    else {
      // A model exported with a fixed batch size: run it in chunks.
      out = new Float32Array(rows * this.outDim);
      for (let r = 0; r < rows; r += this.maxBatch) {
        const n = Math.min(this.maxBatch, rows - r);
        const chunk = this.checkOutput(await this.session.run(data.slice(r * this.obsDim, (r + n) * this.obsDim), n), n);
        out.set(chunk, r * this.outDim);
      }
    }
    return this.decodeAll(out, rows);
  }
}

/** The `js` backend: synchronous twins, and promise forms built on them. */
export class SyncPolicyImpl extends BasePolicy implements SyncPolicy {
  override readonly sync = true as const;
  private readonly runSync: (input: Float32Array, rows: number) => Float32Array;

  constructor(session: BackendSession, metadata: PolicyMetadata, backend: BackendName, maxBatch: number) {
    super(session, metadata, backend, maxBatch);
    if (!session.runSync) throw new Error(`backend ${backend} has no synchronous run`);
    this.runSync = session.runSync.bind(session);
  }

  forwardSync(obs: Observation): Float32Array {
    this.live();
    writeObservation(obs, this.x1, 0, this.obsDim);
    return this.checkOutput(this.runSync(this.x1, 1), 1);
  }

  actSync(obs: Observation): PolicyAction {
    return decodeAction(this.forwardSync(obs), 0, this.metadata.actionSpace, this.src);
  }

  actBatchSync(obs: ObservationBatch, batch?: number): PolicyAction[] {
    this.live();
    const { data, rows } = packBatch(obs, this.obsDim, batch);
    if (rows === 0) return [];
    return this.decodeAll(this.checkOutput(this.runSync(data, rows), rows), rows);
  }

  async forward(obs: Observation): Promise<Float32Array> {
    return this.forwardSync(obs);
  }

  async act(obs: Observation): Promise<PolicyAction> {
    return this.actSync(obs);
  }

  async actBatch(obs: ObservationBatch, batch?: number): Promise<PolicyAction[]> {
    return this.actBatchSync(obs, batch);
  }
}
