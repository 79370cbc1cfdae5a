/**
 * Distillation on CartPole-v1 with the shipped teacher and a 4-32-32-2 relu student, three ways:
 *
 * - product: `distill()` itself (online DAgger, rollouts, baselines, retention check): seconds from
 *   its start until a held-out check first shows agreement >= 0.99 (progress callback).
 * - head to head with PyTorch, on identical data: teacher-driven rollouts labelled by the teacher
 *   (training and held-out states, KL targets softmax(logits / tau)) are written as .npy files;
 *   ours trains with distill's own pieces (MlpTrainer, Adam, Objective, DistillBuffer.sample, the
 *   Polyak average, a held-out check every 100 steps) and the peer (bench/torch_baseline.py) does
 *   the same in PyTorch from the same initial weights and the same minibatch index stream (the
 *   indices our Rng drew), so both take the same optimization path and the time to 0.99 compares
 *   cost per step, checks included. Data collection and set-up are outside both clocks.
 * - trainer throughput: samples/s of one training step at batch 256 and 1024, one thread
 *   (`measureTrainerThroughput`; the peer times the same step in PyTorch).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeEnv, makeVectorEnv } from '@edgedistill/runtime/envs';
import { Adam } from '../pipeline/src/distill/adam.js';
import { makeLabeler, makeLabelSpec, type LabelSpec } from '../pipeline/src/distill/labels.js';
import { MlpTrainer, type TrainActivation } from '../pipeline/src/distill/mlp-train.js';
import { normalizeRows, Objective } from '../pipeline/src/distill/objective.js';
import { DistillBuffer } from '../pipeline/src/distill/replay.js';
import { Rng } from '../pipeline/src/distill/rng.js';
import { collectRollouts } from '../pipeline/src/distill/rollouts.js';
import { observationStats } from '../pipeline/src/distill/student.js';
import { describeTeacher, openTeacher } from '../pipeline/src/distill/teacher.js';
import { measureTrainerThroughput } from '../pipeline/src/distill/throughput.js';
import { AGREEMENT_TARGET, ENV_ID, productDistill, STUDENT_HIDDEN, TEACHER } from './student.js';
import { REFERENCE_BLAS, runPeer, type PeerResult } from './torch.js';
import { encodeNpyArray, guard, median, skip, type BenchContext, type Skipped } from './util.js';

/** distill's defaults, which both sides of the head-to-head use. */
const HP = { batch: 256, lr: 1e-2, emaDecay: 0.995, checkEvery: 100, seed: 0 } as const;

export interface HeadToHeadRun {
  backend: string;
  secondsToTarget: number | null;
  stepsToTarget: number | null;
  steps: number;
  wallSeconds: number;
  cpuSeconds: number;
  finalAgreement: number;
}

export async function benchDistill(ctx: BenchContext): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  out.product = await guard('distill()', () => productSection(ctx), ctx.log);
  const data = await guard('head-to-head data', () => prepareData(ctx), ctx.log);
  let ours: Record<string, unknown> | Skipped;
  if ('skipped' in data) ours = data;
  else ours = await guard('head-to-head (ours)', () => oursHeadToHead(ctx, data), ctx.log);
  const batches = [256, 1024];
  const seconds = ctx.quick ? 0.3 : 2;
  out.throughput = await guard(
    'trainer throughput',
    () =>
      batches.map((b) => {
        const r = measureTrainerThroughput([4, ...STUDENT_HIDDEN, 2], b, seconds);
        return { batch: b, samplesPerSecond: r.samplesPerSecond, samplesPerCpuSecond: r.samplesPerCpuSecond, steps: r.steps, seconds: r.seconds, backend: r.backend };
      }),
    ctx.log,
  );
  // The peer: same data, same start, same index stream; then its trainer throughput.
  let peer: PeerResult;
  if ('skipped' in data || 'skipped' in ours) peer = { skipped: 'no head-to-head data for the PyTorch peer' };
  else {
    ctx.log('  PyTorch peer: distillation on the same data, trainer throughput');
    const streamSteps = (ours as { indexStreamSteps: number }).indexStreamSteps;
    peer = await runPeer(
      ctx,
      'distill',
      {
        tasks: ['distill', 'throughput'],
        distill: {
          dataDir: data.dir,
          batch: HP.batch,
          lr: HP.lr,
          emaDecay: HP.emaDecay,
          checkEvery: HP.checkEvery,
          target: AGREEMENT_TARGET,
          maxSteps: data.maxSteps,
          maxSeconds: ctx.quick ? 30 : 300,
          repeats: data.repeats,
          seed: HP.seed,
          indexStreamSteps: streamSteps,
        },
        throughput: { sizes: [4, ...STUDENT_HIDDEN, 2], batches, seconds },
      },
      ctx.quick ? 300 : 1800,
    );
  }
  // What the BLAS choice is worth: the same throughput task on Debian's reference BLAS.
  if (!peer.skipped && existsSync(REFERENCE_BLAS)) {
    ctx.log('  PyTorch peer: trainer throughput on the reference BLAS (for comparison)');
    const ref = await runPeer(ctx, 'throughput-refblas', { tasks: ['throughput'], throughput: { sizes: [4, ...STUDENT_HIDDEN, 2], batches, seconds } }, ctx.quick ? 300 : 1200, REFERENCE_BLAS);
    out.pytorchThroughputReferenceBlas = ref.skipped ? skip(ref.skipped) : { blas: ref.blas, sgemmFrom: ref.sgemmFrom, results: ref.throughput };
  } else out.pytorchThroughputReferenceBlas = skip(peer.skipped ? 'PyTorch peer skipped' : `no reference BLAS at ${REFERENCE_BLAS}`);
  out.headToHead = { ours, pytorch: peer.skipped ? skip(peer.skipped) : peer.distill, settings: 'skipped' in data ? null : data.settings };
  out.pytorchThroughput = peer.skipped ? skip(peer.skipped) : peer.throughput;
  out.pytorch = peer.skipped ? skip(peer.skipped) : peerFacts(peer);
  return out;
}

export function peerFacts(p: PeerResult): Record<string, unknown> {
  return {
    torch: p.torch,
    python: p.python,
    executable: p.executable,
    threads: p.threads,
    blas: p.blas,
    sgemmFrom: p.sgemmFrom,
    blasLibraries: p.blasLibraries,
    blasInfo: p.blasInfo,
    blasSelection: p.blasSelection,
    quantizedEngine: p.quantizedEngine,
  };
}

async function productSection(ctx: BenchContext): Promise<Record<string, unknown>> {
  const p = await productDistill(ctx);
  const r = p.report;
  return {
    what: 'distill() online (DAgger rounds, teacher and random baselines, held-out checks every 100 steps, return check)',
    firstAgreementSeconds: p.firstAgreementSeconds,
    firstAgreementSamples: p.firstAgreementSamples,
    secondsToTargets: r.secondsToTarget,
    wallSeconds: p.wallSeconds,
    timing: r.timing,
    agreement: r.agreement,
    returnRetention: r.returnRetention,
    targetsMet: r.targetsMet,
    stopReason: r.stopReason,
    samples: r.samples,
    transitions: r.transitions,
    student: r.student.hidden,
    studentParams: r.student.params,
    teacherParams: r.teacher.params,
    loss: r.loss,
    tau: r.tau,
    batchSize: r.batchSize,
    lr: r.lr,
    backend: r.backend,
  };
}

interface Data {
  dir: string;
  spec: LabelSpec;
  train: DistillBuffer;
  heldOut: DistillBuffer;
  maxSteps: number;
  repeats: number;
  settings: Record<string, unknown>;
}

/** Teacher-driven training and held-out states with the teacher's labels, in memory and as .npy. */
async function prepareData(ctx: BenchContext): Promise<Data> {
  const teacher = await openTeacher(TEACHER);
  try {
    const env = makeEnv(ENV_ID);
    const spec = makeLabelSpec([describeTeacher(teacher, env.observationSpace, env.actionSpace, ENV_ID)]);
    const label = makeLabeler([teacher], spec);
    const numEnvs = 32;
    const vec = makeVectorEnv(ENV_ID, numEnvs);
    const rng = new Rng(HP.seed);
    const trainSteps = ctx.quick ? 256 : 1024;
    const train = new DistillBuffer(numEnvs * trainSteps, 4, spec.targetDim, spec.actionDim);
    await collectRollouts({ vec, seed: 10_000, steps: trainSteps, beta: 1, rng, label, student: null, sink: (o, l, n) => train.add(o, l.targets, l.actions, n) });
    // Held-out: other reset seeds, every 8th step of 1000 (4000 states), as distill does.
    const heldOut = new DistillBuffer(numEnvs * 125, 4, spec.targetDim, spec.actionDim);
    await collectRollouts({ vec, seed: 100_000, steps: 1000, beta: 1, rng, label, student: null, keepEvery: 8, sink: (o, l, n) => heldOut.add(o, l.targets, l.actions, n) });
    const dir = join(ctx.workDir, 'distill-data');
    mkdirSync(dir, { recursive: true });
    const w = (name: string, a: Float32Array | Uint32Array, shape: number[]) => writeFileSync(join(dir, name), encodeNpyArray(a, shape));
    w('train_obs.npy', train.obs.subarray(0, train.size * 4), [train.size, 4]);
    w('train_targets.npy', train.targets.subarray(0, train.size * spec.targetDim), [train.size, spec.targetDim]);
    w('heldout_obs.npy', heldOut.obs.subarray(0, heldOut.size * 4), [heldOut.size, 4]);
    w('heldout_targets.npy', heldOut.targets.subarray(0, heldOut.size * spec.targetDim), [heldOut.size, spec.targetDim]);
    w('heldout_actions.npy', heldOut.actions.subarray(0, heldOut.size), [heldOut.size, 1]);
    return {
      dir,
      spec,
      train,
      heldOut,
      maxSteps: ctx.quick ? 2000 : 20_000,
      repeats: ctx.quick ? 1 : 3,
      settings: {
        data: `${train.size} teacher-driven CartPole-v1 states (32 envs x ${trainSteps} steps, reset seeds 10000+), ${heldOut.size} held-out (reset seeds 100000+, every 8th step)`,
        student: `4-${STUDENT_HIDDEN.join('-')}-2 relu, PyTorch nn.Linear init U(+-1/sqrt(fan_in)) drawn by our Rng, same initial weights both sides`,
        loss: `${spec.loss} to softmax(teacher logits / ${spec.tau}), batch mean`,
        optimizer: `Adam lr ${HP.lr}, betas (0.9, 0.999), eps 1e-8`,
        batch: HP.batch,
        average: `Polyak average, decay min(${HP.emaDecay}, (1+t)/(10+t)); the average is checked`,
        checkEvery: HP.checkEvery,
        minibatches: 'the same index stream (drawn by our Rng) on both sides; PyTorch normalizes the data once up front and indexes it, ours normalizes each draw (DistillBuffer.sample, as distill does)',
        clocks: 'from the first training step to the held-out check that first shows >= target; data collection, loading and model set-up are outside both',
        target: AGREEMENT_TARGET,
      },
    };
  } finally {
    await (teacher as { dispose?: () => Promise<void> }).dispose?.();
  }
}

/** Our side of the head-to-head: distill's training step and check, on the prepared data. */
async function oursHeadToHead(ctx: BenchContext, data: Data): Promise<Record<string, unknown>> {
  const { spec, train, heldOut } = data;
  const sizes = [4, ...STUDENT_HIDDEN, 2];
  const acts: TrainActivation[] = [...STUDENT_HIDDEN.map(() => 'relu' as const), 'none'];
  const norm = observationStats(train.obs, train.size, 4);
  const init = new MlpTrainer({ sizes, activations: acts }, HP.batch, new Rng(HP.seed)).toLayers();
  const runs: HeadToHeadRun[] = [];
  for (let rep = 0; rep < data.repeats; rep++) runs.push(trainOnce(spec, train, heldOut, norm, sizes, acts, init, data.maxSteps));
  const first = runs[0];
  // The minibatch index stream for the peer: what DistillBuffer.sample drew from Rng(seed + 1),
  // for twice the steps we needed (the peer may need a few more), at most maxSteps.
  const streamSteps = Math.min(data.maxSteps, Math.max(2 * (first.stepsToTarget ?? first.steps), 2000));
  const idx = new Uint32Array(streamSteps * HP.batch);
  const r = new Rng(HP.seed + 1);
  for (let k = 0; k < idx.length; k++) idx[k] = Math.floor(r.next() * train.size);
  writeFileSync(join(data.dir, 'indices.npy'), encodeNpyArray(idx, [idx.length]));
  writeFileSync(
    join(data.dir, 'meta.json'),
    JSON.stringify({
      sizes,
      activation: 'relu',
      mean: Array.from(norm.mean),
      std: Array.from(norm.std),
      init: init.map((l) => ({ w: Array.from(l.weight), b: Array.from(l.bias) })),
      tau: spec.tau,
      loss: spec.loss,
    }),
  );
  ctx.log(`  head-to-head (ours, ${runs[0].backend}): ${runs.map((x) => (x.secondsToTarget === null ? 'not reached' : `${x.secondsToTarget.toFixed(2)} s`)).join(', ')}`);
  return {
    backend: first.backend,
    secondsToTarget: median(runs.map((x) => x.secondsToTarget)),
    stepsToTarget: first.stepsToTarget,
    samplesToTarget: first.stepsToTarget === null ? null : first.stepsToTarget * HP.batch,
    runs,
    indexStreamSteps: streamSteps,
  };
}

function trainOnce(
  spec: LabelSpec,
  train: DistillBuffer,
  heldOut: DistillBuffer,
  norm: { mean: Float32Array; std: Float32Array },
  sizes: number[],
  acts: TrainActivation[],
  init: ReturnType<MlpTrainer['toLayers']>,
  maxSteps: number,
): HeadToHeadRun {
  const batch = HP.batch;
  const trainer = new MlpTrainer({ sizes, activations: acts }, batch, init);
  const averaged = new MlpTrainer({ sizes, activations: acts }, batch, init);
  const adam = new Adam(trainer.params.length, { lr: HP.lr });
  const objective = new Objective(spec);
  const sampler = new Rng(HP.seed + 1);
  const outDim = sizes[sizes.length - 1];
  const xb = new Float32Array(batch * 4);
  const tb = new Float32Array(batch * spec.targetDim);
  const grad = new Float32Array(batch * outDim);
  const H = heldOut.size;
  const xh = new Float32Array(H * 4);
  normalizeRows(heldOut.obs, H, 4, norm.mean, norm.std, xh);
  const yh = new Float32Array(H * outDim);
  let steps = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let secondsToTarget: number | null = null;
  let stepsToTarget: number | null = null;
  let agreement = 0;
  while (steps < maxSteps) {
    for (let s = 0; s < HP.checkEvery; s++) {
      train.sample(sampler, batch, xb, tb, norm.mean, norm.std);
      const y = trainer.forward(xb, batch);
      objective.loss(tb, y, batch, grad);
      trainer.backward(grad);
      adam.step(trainer.params, trainer.grads);
      steps++;
      const d = Math.min(HP.emaDecay, (1 + steps) / (10 + steps));
      const p = trainer.params;
      const a = averaged.params;
      for (let k = 0; k < p.length; k++) a[k] += (1 - d) * (p[k] - a[k]);
    }
    agreement = objective.heldOut(averaged.predict(xh, H, yh), heldOut.targets, heldOut.actions, H).agreement as number;
    if (agreement >= AGREEMENT_TARGET) {
      secondsToTarget = (performance.now() - t0) / 1000;
      stepsToTarget = steps;
      break;
    }
  }
  const cpu = process.cpuUsage(c0);
  return {
    backend: trainer.backend,
    secondsToTarget,
    stepsToTarget,
    steps,
    wallSeconds: (performance.now() - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    finalAgreement: agreement,
  };
}
