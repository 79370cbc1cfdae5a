/**
 * Sizes: every exported artifact of the shared CartPole student (bytes, gzip bytes, the parity
 * gate's verdict), the teacher, the int8/fp32 ratio per format, and one bundle per device
 * (rpi4-arm64, rpi-zero2w-armv7, x64-linux) built from the gated export directory.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { exportedStudent, productDistill, TEACHER } from './student.js';
import { guard, REPO_ROOT, skip, type BenchContext } from './util.js';

export const BUNDLE_DEVICES = ['rpi4-arm64', 'rpi-zero2w-armv7', 'x64-linux'] as const;
/** int8 file vs its fp32 file of the same kind. */
export const INT8_PAIRS = [
  ['onnx-int8', 'onnx'],
  ['tflite-int8', 'tflite'],
  ['js-int8', 'js'],
] as const;

export async function benchSizes(ctx: BenchContext): Promise<Record<string, unknown>> {
  const exp = await exportedStudent(ctx);
  const student = await productDistill(ctx);
  const artifacts = Object.values(exp.artifacts).map((a) => {
    const gz = a.path ? a.files.reduce((s, f) => s + gzipSync(readFileSync(join(a.path as string, '..', f.name)), { level: 9 }).length, 0) : null;
    return { format: a.format, files: a.files, bytes: a.bytes, gzipBytes: gz, gate: a.gate, gateReasons: a.gate === 'fail' ? a.gateReasons : undefined, ungated: a.ungated };
  });
  const int8VsFp32 = INT8_PAIRS.map(([q, f]) => {
    const a = exp.artifacts[q];
    const b = exp.artifacts[f];
    return { int8: q, fp32: f, int8Bytes: a?.bytes ?? null, fp32Bytes: b?.bytes ?? null, ratio: a && b ? a.bytes / b.bytes : null };
  });
  const params = student.model.layers.reduce((s, l) => s + l.weight.length + l.bias.length, 0);
  const weights = student.model.layers.reduce((s, l) => s + l.weight.length, 0);
  const teacherBytes = statSync(TEACHER).size;
  const bundles: Record<string, unknown> = {};
  const haveBundle = existsSync(join(REPO_ROOT, 'pipeline/src/bundle/index.ts'));
  for (const device of BUNDLE_DEVICES) {
    if (!haveBundle) {
      bundles[device] = skip('pipeline/src/bundle does not exist yet');
      continue;
    }
    ctx.log(`  bundle: ${device}`);
    bundles[device] = await guard(
      `bundle ${device}`,
      async () => {
        const { createBundle } = await import('../pipeline/src/bundle/index.js');
        const r = await createBundle({ device, policyDir: exp.dir, teacher: TEACHER, out: join(ctx.workDir, 'bundles'), name: 'cartpole' });
        return {
          bytes: r.bytes,
          uncompressedBytes: r.uncompressedBytes,
          files: r.files,
          arch: r.arch,
          artifacts: r.artifacts.map((x) => ({ name: x.name, format: x.format, backend: x.backend, bytes: x.bytes })),
          skippedArtifacts: r.skipped,
          packages: r.packages.map((p) => ({ name: p.name, version: p.version, files: p.files, bytes: p.bytes })),
        };
      },
      ctx.log,
    );
  }
  return {
    int8From: { how: 'compress --quantize int8, then export (as the product does)', compressSeconds: exp.compress.seconds, int8: exp.compress.int8 },
    student: { params, weights, biases: params - weights, fp32ParameterBytes: params * 4, int8ParameterBytes: weights + (params - weights) * 4 },
    teacher: { file: 'models/cartpole-v1/teacher.onnx', bytes: teacherBytes },
    artifacts,
    int8VsFp32,
    bundles,
    bundleNote: 'bundles are built from the gated export directory: formats the parity gate refused are not in them',
  };
}
