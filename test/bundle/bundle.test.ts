/**
 * Bundles: reproducible bytes, only the binaries the device can use, a manifest the device-side
 * check accepts, and (for this x64 machine) a bundle that runs the real check from a directory
 * outside the repository, i.e. with nothing but what it ships.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeEnv } from '@edgedistill/runtime/envs';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { manifestProblems } from '../../runtime/src/check/bundle.js';
import { createBundle, parseBudgetOverrides, readBundleArchive, writeTarGz, type BundleResult } from '../../pipeline/src/bundle/index.js';
import { emitFp32Module } from '../../pipeline/src/export/js/index.js';
import { mlp } from '../../pipeline/src/ir/build.js';
import { writePolicyFile } from '../../pipeline/src/ir/serialize.js';
import { writeOnnx } from '../../pipeline/src/onnx/write.js';

const run = promisify(execFile);
const repo = resolve(import.meta.dirname, '../..');
const teacher = join(repo, 'models/cartpole-v1/teacher.onnx');
const work = mkdtempSync(join(tmpdir(), 'bundle-test-'));
const policyDir = join(work, 'cartpole');

/** ELF e_machine of a file, or null when it is not ELF. 62 x86-64, 183 AArch64, 40 ARM. */
function elfMachine(b: Buffer): number | null {
  return b.length > 20 && b[0] === 0x7f && b.toString('latin1', 1, 4) === 'ELF' ? b.readUInt16LE(18) : null;
}

beforeAll(async () => {
  mkdirSync(policyDir, { recursive: true });
  const model = mlp({ obsDim: 4, hidden: [8, 8], head: { kind: 'discrete', n: 2 }, init: { seed: 3 }, envId: 'CartPole-v1', card: { name: 'bundle-test student' } });
  await writePolicyFile(join(policyDir, 'policy.json'), model);
  const env = makeEnv('CartPole-v1');
  await writeOnnx(join(policyDir, 'student.onnx'), model, { observationSpace: env.observationSpace, actionSpace: env.actionSpace });
  writeFileSync(join(policyDir, 'student.mjs'), emitFp32Module(model));
});

const build = (device: string, out: string, extra: Partial<Parameters<typeof createBundle>[0]> = {}) =>
  createBundle({ device, policyDir, teacher, out: join(work, out), goldenCount: 64, ...extra });

let first: BundleResult;

describe('bundle for rpi4-arm64', () => {
  it('is reproducible: the same inputs give the same sha256', async () => {
    first = await build('rpi4-arm64', 'a');
    const second = await build('rpi4-arm64', 'b');
    expect(second.sha256).toBe(first.sha256);
    expect(second.manifestSha256).toBe(first.manifestSha256);
    expect(readFileSync(second.path).equals(readFileSync(first.path))).toBe(true);
    expect(first.path).toBe(join(work, 'a', `cartpole-rpi4-arm64-${first.id}.tar.gz`));
    expect(first.id).toBe(first.manifestSha256.slice(0, 16));
  }, 120_000);

  it('ships only linux/arm64 native binaries, and the artifacts on the preferred backends', () => {
    const a = readBundleArchive(first.path);
    const paths = [...a.files.keys()];
    expect(paths.filter((p) => /linux\/x64|darwin|win32|\.dll$|\.dylib$/.test(p))).toEqual([]);
    const native = paths.filter((p) => elfMachine(a.files.get(p) as Buffer) !== null);
    expect(native.sort()).toEqual([
      'runtime/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/libonnxruntime.so.1',
      'runtime/node_modules/onnxruntime-node/bin/napi-v6/linux/arm64/onnxruntime_binding.node',
    ]);
    for (const p of native) expect(elfMachine(a.files.get(p) as Buffer), p).toBe(183);
    // js and ort-node run everything here: no wasm runtime is shipped.
    expect(paths.some((p) => p.includes('onnxruntime-web') || p.includes('@litertjs'))).toBe(false);
    expect(a.manifest.artifacts.map((x) => `${x.role}:${x.name}:${x.backend}:${x.path}`)).toEqual([
      'teacher:teacher:ort-node:artifacts/teacher.onnx',
      'student:student-js:js:artifacts/student.mjs',
      'student:student-onnx:ort-node:artifacts/student.onnx',
    ]);
    expect(a.files.get('artifacts/teacher.onnx')?.equals(readFileSync(teacher))).toBe(true);
  });

  it('holds a manifest the on-device check accepts: every file with its sha256, profile, budgets, card', () => {
    const a = readBundleArchive(first.path);
    expect(manifestProblems(a.manifest)).toEqual([]);
    expect(Object.keys(a.manifest.files).sort()).toEqual([...a.files.keys()].filter((p) => p !== 'manifest.json').sort());
    expect(a.manifest.device).toBe('rpi4-arm64');
    expect((a.manifest.profile as { cpu: string }).cpu).toBe('Cortex-A72 @ 1.5-1.8 GHz');
    expect(a.manifest.budgets).toEqual({ controlPeriodUs: 1000, maxRssMiB: 256, minAgreement: 0.95, minReturnRetention: 0.9 });
    expect(a.manifest.card).toMatchObject({ name: 'bundle-test student' });
    expect(a.manifest.runtime?.packages.map((p) => p.name)).toEqual(['onnxruntime-common', 'onnxruntime-node']);
    const golden = JSON.parse((a.files.get('golden.json') as Buffer).toString()) as { obs: number[][]; outputs: Record<string, number[][]> };
    expect(golden.obs).toHaveLength(64);
    expect(Object.keys(golden.outputs).sort()).toEqual(['student-js', 'student-onnx', 'teacher']);
    // The student's two artifacts are the same model: their desktop outputs agree to float32 rounding.
    const d = golden.outputs['student-js'].flat().map((v, i) => Math.abs(v - golden.outputs['student-onnx'].flat()[i]));
    expect(Math.max(...d)).toBeLessThan(1e-5);
  });

  it('is refused when a file does not match its manifest', () => {
    const a = readBundleArchive(first.path);
    const entries = a.entries.map((e) => ({ path: e.path, type: e.type === 'dir' ? ('dir' as const) : ('file' as const), data: e.path === 'artifacts/student.onnx' ? Buffer.concat([e.data, Buffer.from([0])]) : e.data }));
    const bad = join(work, 'tampered.tar.gz');
    writeFileSync(bad, writeTarGz(entries, 0));
    expect(() => readBundleArchive(bad)).toThrow(/artifacts\/student\.onnx does not match its sha256/);
  });
});

describe('bundle for 32-bit ARM (rpi3-armv7)', () => {
  it('has no onnxruntime-node and no native code: ONNX runs on the wasm build', async () => {
    const r = await build('rpi3-armv7', 'armv7');
    const a = readBundleArchive(r.path);
    const paths = [...a.files.keys()];
    expect(paths.filter((p) => p.includes('onnxruntime-node'))).toEqual([]);
    expect(paths.filter((p) => elfMachine(a.files.get(p) as Buffer) !== null)).toEqual([]);
    expect(paths).toContain('runtime/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm');
    expect(paths).toContain('runtime/node_modules/onnxruntime-web/dist/ort.node.min.mjs');
    expect(paths).toContain('runtime/node_modules/onnxruntime-web/dist/ort.node.min.js');
    expect(paths.filter((p) => p.endsWith('.wasm'))).toEqual(['runtime/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm']);
    expect(a.manifest.artifacts.map((x) => `${x.name}:${x.backend}`)).toEqual(['teacher:ort-web', 'student-js:js', 'student-onnx:ort-web']);
    expect(r.bytes).toBeLessThan(first.bytes);

    // Wasm and compiled JS run anywhere: the real check runs this bundle here, from outside the repo.
    const dir = mkdtempSync(join(tmpdir(), 'bundle-armv7-'));
    await run('tar', ['-xzf', r.path, '-C', dir]);
    const res = await run('node', [join(dir, 'runtime/edgedistill-device.mjs'), 'check', dir, '--json', '--calls', '200', '--episodes', '2'], { cwd: dir }).catch(
      (e: { stdout: string }) => e,
    );
    const report = JSON.parse(res.stdout) as { artifacts: { name: string; backend: string; maxAbsErrorVsDesktop: number }[]; bundle: { manifestSha256: string } };
    expect(report.bundle.manifestSha256).toBe(r.manifestSha256);
    expect(report.artifacts.map((x) => `${x.name}:${x.backend}`).sort()).toEqual(['student-js:js', 'student-onnx:ort-web', 'teacher:ort-web']);
    for (const x of report.artifacts) expect(x.maxAbsErrorVsDesktop, x.name).toBe(0);
  }, 120_000);
});

describe('bundle for this machine (x64-linux)', () => {
  it('ships x86-64 binaries only and runs the real check from outside the repository', async () => {
    const r = await build('x64-linux', 'x64');
    const a = readBundleArchive(r.path);
    const native = [...a.files.keys()].filter((p) => elfMachine(a.files.get(p) as Buffer) !== null);
    expect(native.length).toBe(2);
    for (const p of native) expect(p).toContain('/linux/x64/');
    for (const p of native) expect(elfMachine(a.files.get(p) as Buffer)).toBe(62);

    const dir = mkdtempSync(join(tmpdir(), 'bundle-run-'));
    await run('tar', ['-xzf', r.path, '-C', dir]);
    const res = await run('node', [join(dir, 'runtime/edgedistill-device.mjs'), 'check', dir, '--json', '--calls', '200', '--episodes', '2'], { cwd: dir }).catch(
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    const report = JSON.parse(res.stdout) as {
      device: string;
      platform: { arch: string };
      bundle: { filesVerified: number; manifestSha256: string };
      artifacts: { name: string; backend: string; maxAbsErrorVsDesktop: number }[];
    };
    expect(report.device).toBe('x64-linux');
    expect(report.platform.arch).toBe('x64');
    expect(report.bundle.manifestSha256).toBe(r.manifestSha256);
    expect(report.bundle.filesVerified).toBe(Object.keys(a.manifest.files).length);
    expect(report.artifacts.map((x) => `${x.name}:${x.backend}`).sort()).toEqual(['student-js:js', 'student-onnx:ort-node', 'teacher:ort-node']);
    // Recorded on this machine with the same backends: bit-identical on the device side.
    for (const x of report.artifacts) expect(x.maxAbsErrorVsDesktop, x.name).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'check-report.json'), 'utf8')).bundle.manifestSha256).toBe(r.manifestSha256);
  }, 180_000);
});

describe('bundle inputs', () => {
  it('needs the teacher', async () => {
    const e = await createBundle({ device: 'rpi4-arm64', policyDir, out: join(work, 'none') }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(EdgeDistillError);
    expect((e as EdgeDistillError).field).toBe('--teacher');
  });

  it('exports through the exporter when the directory has only policy.json', async () => {
    const onlyPolicy = join(work, 'only-policy');
    mkdirSync(onlyPolicy);
    writeFileSync(join(onlyPolicy, 'policy.json'), readFileSync(join(policyDir, 'policy.json')));
    const r = await createBundle({ device: 'rpi-zero2w-armv7', policyDir: onlyPolicy, teacher, out: join(work, 'exp'), goldenCount: 32 });
    expect(r.exported).toContain('onnx');
    expect(r.exported).toContain('js');
    for (const a of r.artifacts) expect(['js', 'ort-web', 'litert']).toContain(a.backend);
    expect(readBundleArchive(r.path).manifest.artifacts.find((x) => x.role === 'teacher')?.backend).toBe('ort-web');
  }, 120_000);

  it("takes the teacher artifacts.json names, only when its sha256 is the recorded one", async () => {
    const { exportPolicy } = await import('../../pipeline/src/export/index.js');
    const exported = join(work, 'exported');
    await exportPolicy({ policyDir, formats: ['onnx'], outDir: exported, teacher, goldenRows: 64 });
    writeFileSync(join(exported, 'policy.json'), readFileSync(join(policyDir, 'policy.json')));
    const r = await createBundle({ device: 'rpi4-arm64', policyDir: exported, out: join(work, 'from-export'), goldenCount: 32 });
    const a = readBundleArchive(r.path);
    expect(a.files.get('artifacts/teacher.onnx')?.equals(readFileSync(teacher))).toBe(true);
    expect(a.manifest.artifacts.map((x) => `${x.name}:${x.path}`)).toEqual(['teacher:artifacts/teacher.onnx', 'student-onnx:artifacts/policy.onnx']);
    const meta = JSON.parse(readFileSync(join(exported, 'artifacts.json'), 'utf8')) as { teacher: { sha256: string } };
    meta.teacher.sha256 = '0'.repeat(64);
    writeFileSync(join(exported, 'artifacts.json'), JSON.stringify(meta));
    const e = await createBundle({ device: 'rpi4-arm64', policyDir: exported, out: join(work, 'from-export') }).catch((x: unknown) => x);
    expect((e as EdgeDistillError).field).toBe('--teacher');
  }, 120_000);

  it('parses budget overrides and names what is wrong', () => {
    expect(parseBudgetOverrides(['controlPeriodUs=0.001', 'maxRssMiB=64'])).toEqual({ controlPeriodUs: 0.001, maxRssMiB: 64 });
    expect(() => parseBudgetOverrides(['p99=1'])).toThrow(/unknown budget 'p99'/);
    expect(() => parseBudgetOverrides(['maxRssMiB=lots'])).toThrow(/expects a number/);
    expect(() => parseBudgetOverrides(['maxRssMiB'])).toThrow(/key=value/);
  });
});
