/**
 * Policy latency at batch 1 and batch 32 (p50/p99, microseconds), with the on-device check's own
 * method (runtime/src/check/latency.ts `measureLatency`: each call timed alone with
 * process.hrtime.bigint, inputs cycled through golden observations, warm-up first; the js backend
 * through actSync), so bench and `edgedistill-device check` numbers mean the same thing. Each
 * artifact is timed in a process of its own (bench/latency-child.ts), as a device runs one policy.
 *
 * Rows: the teacher (ONNX fp32, onnxruntime-node) and the student in every format and backend:
 * ONNX fp32/int8 in onnxruntime-node and onnxruntime-web, TFLite fp32/int8 in LiteRT, compiled JS
 * fp32/int8. Batch 32 times one `actBatch` of 32 rows. LiteRT.js has no dynamic batch (the
 * exported .tflite is batch 1 and would be run 32 times), so its batch-32 row uses a .tflite
 * written with batch 32 (same weights; int8 calibrated on the golden set).
 *
 * The PyTorch peer times its student (fp32 eager, fp32 TorchScript frozen, int8 quantize_dynamic)
 * and the teacher the same way, on the same observations.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from '../runtime/src/policy/index.js';
import { timerOverheadUs, type LatencyResult } from '../runtime/src/check/latency.js';
import { CHECK_DEFAULTS } from '../runtime/src/check/run.js';
import { readGoldenObservations } from '../pipeline/src/export/golden.js';
import { writeTflite, writeTfliteQuantized } from '../pipeline/src/export/tflite/index.js';
import { quantizePolicy } from '../pipeline/src/quant/calibrate.js';
import { writeFileAtomic } from '../pipeline/src/util/atomic-write.js';
import { peerFacts } from './distill.js';
import { exportedStudent, productDistill, TEACHER, type ArtifactRef } from './student.js';
import { runPeer } from './torch.js';
import { encodeNpyArray, guard, REPO_ROOT, runChild, skip, type BenchContext, type Skipped } from './util.js';

export const BATCH = 32;

interface RowSpec {
  id: string;
  model: 'teacher' | 'student';
  format: string;
  precision: 'fp32' | 'int8';
  backend: BackendName;
}

const ROWS: RowSpec[] = [
  { id: 'teacher onnx fp32 ort-node', model: 'teacher', format: 'onnx', precision: 'fp32', backend: 'ort-node' },
  { id: 'student onnx fp32 ort-node', model: 'student', format: 'onnx', precision: 'fp32', backend: 'ort-node' },
  { id: 'student onnx int8 ort-node', model: 'student', format: 'onnx-int8', precision: 'int8', backend: 'ort-node' },
  { id: 'student onnx fp32 ort-web', model: 'student', format: 'onnx', precision: 'fp32', backend: 'ort-web' },
  { id: 'student onnx int8 ort-web', model: 'student', format: 'onnx-int8', precision: 'int8', backend: 'ort-web' },
  { id: 'student tflite fp32 litert', model: 'student', format: 'tflite', precision: 'fp32', backend: 'litert' },
  { id: 'student tflite int8 litert', model: 'student', format: 'tflite-int8', precision: 'int8', backend: 'litert' },
  { id: 'student js fp32 js', model: 'student', format: 'js', precision: 'fp32', backend: 'js' },
  { id: 'student js int8 js', model: 'student', format: 'js-int8', precision: 'int8', backend: 'js' },
];

interface Settings {
  minCalls: number;
  maxSeconds: number;
  warmupCalls: number;
  warmupSeconds: number;
}

export async function benchLatency(ctx: BenchContext): Promise<Record<string, unknown>> {
  const settings: Settings = ctx.quick
    ? { minCalls: 2000, maxSeconds: 1, warmupCalls: 200, warmupSeconds: 0.3 }
    : { minCalls: 10_000, maxSeconds: 20, warmupCalls: CHECK_DEFAULTS.warmupCalls, warmupSeconds: CHECK_DEFAULTS.warmupSeconds };
  const settings32: Settings = { ...settings, minCalls: Math.max(200, settings.minCalls / 5), warmupCalls: Math.max(50, settings.warmupCalls / 5) };
  const exp = await exportedStudent(ctx);
  const student = await productDistill(ctx);
  const golden = await readGoldenObservations(join(exp.dir, 'golden.json'), 4);
  const rowsN = golden.length / 4;
  // The golden observations, for the child processes that time each artifact and for the peer.
  const inputsNpy = join(ctx.workDir, 'latency-inputs.npy');
  writeFileSync(inputsNpy, encodeNpyArray(golden, [rowsN, 4]));
  // LiteRT batch-32 files (the exported ones are batch 1).
  const tflite32: Record<string, string | Skipped> = {};
  for (const [format, variant] of [['tflite', 'fp32'], ['tflite-int8', 'int8']] as const) {
    const path = join(ctx.workDir, `policy.b${BATCH}.${variant}.tflite`);
    tflite32[format] = await guard(
      `batch-${BATCH} ${format}`,
      async () => {
        const bytes =
          variant === 'fp32'
            ? writeTflite(student.model, { variant: 'fp32', batch: BATCH })
            : writeTfliteQuantized(quantizePolicy(student.model, golden), { batch: BATCH });
        await writeFileAtomic(path, bytes);
        return path;
      },
      ctx.log,
    );
  }
  const rows: Record<string, unknown>[] = [];
  for (const spec of ROWS) {
    const art: ArtifactRef | null = spec.model === 'teacher' ? null : (exp.artifacts[spec.format] ?? null);
    const file = spec.model === 'teacher' ? TEACHER : art?.path ?? null;
    const row: Record<string, unknown> = {
      id: spec.id,
      model: spec.model,
      format: spec.format,
      precision: spec.precision,
      backend: spec.backend,
      file,
      gate: art ? art.gate : null,
      gateReasons: art && art.gate === 'fail' ? art.gateReasons : undefined,
    };
    if (!file) {
      rows.push({ ...row, batch1: skip(`no ${spec.format} artifact (export failed)`), batch32: skip('no artifact') });
      continue;
    }
    ctx.log(`  latency: ${spec.id}`);
    row.batch1 = await guard(`${spec.id} batch 1`, () => timePolicy(ctx, file, spec.backend, inputsNpy, 1, settings, row), ctx.log);
    const file32 = spec.backend === 'litert' ? tflite32[spec.format] : file;
    row.batch32 =
      typeof file32 === 'string'
        ? await guard(`${spec.id} batch ${BATCH}`, () => timePolicy(ctx, file32, spec.backend, inputsNpy, BATCH, settings32, null), ctx.log)
        : (file32 ?? skip('no artifact'));
    if (spec.backend === 'litert' && typeof file32 === 'string') row.batch32File = file32;
    rows.push(row);
  }

  // The PyTorch peer, on the same observations and student weights.
  const studentJson = join(ctx.workDir, 'student-for-torch.json');
  const m = student.model;
  writeFileSync(
    studentJson,
    JSON.stringify({
      mean: Array.from(m.obsNorm?.mean ?? new Float32Array(4)),
      std: Array.from(m.obsNorm?.std ?? new Float32Array(4).fill(1)),
      layers: m.layers.map((l) => ({ inDim: l.inDim, outDim: l.outDim, w: Array.from(l.weight), b: Array.from(l.bias), activation: l.activation })),
    }),
  );
  ctx.log('  PyTorch peer: latency');
  const peer = await runPeer(
    ctx,
    'latency',
    { tasks: ['latency'], latency: { inputs: inputsNpy, student: studentJson, teacherOnnx: TEACHER, ...settings } },
    ctx.quick ? 300 : 1200,
  );
  return {
    method: 'runtime/src/check/latency.ts measureLatency in a fresh process per artifact and batch (bench/latency-child.ts; per-call hrtime, golden inputs cycled, warm-up not recorded)',
    settings: { batch1: settings, [`batch${BATCH}`]: settings32, goldenObservations: rowsN, timerOverheadUs: timerOverheadUs() },
    rows,
    pytorch: peer.skipped ? skip(peer.skipped) : peer.latency,
    pytorchFacts: peer.skipped ? skip(peer.skipped) : peerFacts(peer),
  };
}

async function timePolicy(
  ctx: BenchContext,
  file: string,
  backend: BackendName,
  inputsNpy: string,
  batch: number,
  s: Settings,
  row: Record<string, unknown> | null,
): Promise<LatencyResult> {
  // A process per artifact and batch (bench/latency-child.ts says why).
  const job = { file, backend, inputsNpy, batch, settings: s };
  const r = await runChild(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench/latency-child.ts'), JSON.stringify(job)], {
    cwd: REPO_ROOT,
    timeoutSeconds: 120 + 4 * (s.maxSeconds + s.warmupSeconds),
  });
  if (r.code !== 0) throw new Error(`latency child for ${file} (${backend}, batch ${batch}) exited ${r.code ?? r.signal}${r.timedOut ? ' (timed out)' : ''}: ${r.stderr.trim().split('\n').slice(-5).join(' | ')}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { result: LatencyResult; backendInfo: unknown };
  if (row) row.backendInfo = out.backendInfo;
    return out.result;
}
