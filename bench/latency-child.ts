/**
 * One artifact timed in a process of its own (spawned by bench/latency.ts): V8's type feedback and
 * inlining decisions are per process, so timing several policies one after another in one process
 * makes the later ones pay for the earlier ones' call sites (measured: the same compiled-JS int8
 * module 0.88 us p50 when timed first, 1.29 us after another module). A device runs one policy.
 *
 * argv: JSON {file, backend, inputsNpy, batch, settings}; prints JSON {result, backendInfo}.
 */
import { readFileSync } from 'node:fs';
import { parseNpy } from '../pipeline/src/distill/npy.js';
import { measureLatency } from '../runtime/src/check/latency.js';
import { loadPolicy, type BackendName, type Policy, type SyncPolicy } from '../runtime/src/policy/index.js';

interface Job {
  file: string;
  backend: BackendName;
  inputsNpy: string;
  batch: number;
  settings: { minCalls: number; maxSeconds: number; warmupCalls: number; warmupSeconds: number };
}

/** The policy seen by measureLatency as one call per `n` rows: act -> actBatch (actSync -> actBatchSync). */
function batchOf(p: Policy, n: number): Policy {
  const view = {
    sync: p.sync,
    act: (x: Float32Array) => p.actBatch(x, n),
    actSync: p.sync ? (x: Float32Array) => (p as SyncPolicy).actBatchSync(x, n) : undefined,
  };
  return view as unknown as Policy;
}

const job = JSON.parse(process.argv[2] ?? '') as Job;
const m = parseNpy(readFileSync(job.inputsNpy), job.inputsNpy);
const per = job.batch * m.cols;
const inputs = Array.from({ length: Math.floor(m.data.length / per) }, (_, r) => m.data.subarray(r * per, (r + 1) * per));
const policy = await loadPolicy(job.file, { backend: job.backend, threads: 1 });
try {
  const target: Policy = job.batch === 1 ? policy : batchOf(policy, job.batch);
  const result = await measureLatency(target, inputs, job.settings);
  process.stdout.write(`${JSON.stringify({ result, backendInfo: policy.backendInfo })}\n`);
} finally {
  await policy.dispose();
}
