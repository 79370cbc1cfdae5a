/**
 * A realistic run directory for the report tests, shaped like real runs on this machine: the distill
 * report of a CartPole-v1 run (js-f32, 64x64 student of the shipped 256x256 PPO teacher), an
 * export's artifacts.json, a compress report, one bundle manifest and check reports from two devices
 * (check-report.json as runtime/src/check/report.ts writes it). Figures are plausible, not asserted:
 * the tests check what the report does with them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const curveAgreement = [0.84275, 0.92775, 0.94225, 0.953, 0.95925, 0.96475, 0.96825, 0.972, 0.973, 0.97625, 0.97775, 0.98, 0.9825, 0.98425, 0.986, 0.987, 0.9875, 0.98825, 0.9895, 0.991];
const curveLoss = [0.0301, 0.01129, 0.006404, 0.004285, 0.002965, 0.002117, 0.001588, 0.001235, 0.000978, 0.000777, 0.000582, 0.00044, 0.000348, 0.000289, 0.00024, 0.000204, 0.000177, 0.000158, 0.000144, 0.000127];

export const CURVE_POINTS = curveAgreement.length;

export function distillReport(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    env: 'CartPole-v1',
    mode: 'online',
    teacher: {
      files: ['models/cartpole-v1/teacher.onnx'],
      sha256: ['4818627d5a47228cb9c90204d5d978e6888ea136b4ddbb2dc53ef55845a24047'],
      outputKind: 'logits',
      params: 67586,
      return: { episodes: 100, mean: 500, std: 0, min: 500, max: 500, seedStart: 0 },
    },
    student: { hidden: [64, 64], activation: 'relu', params: 4610, paramRatio: 0.0682, return: { episodes: 100, mean: 487.3, std: 31.2, min: 361, max: 500, seedStart: 0 } },
    random: { return: { episodes: 100, mean: 23.28, std: 11.93, min: 10, max: 89, seedStart: 0 } },
    agreement: 0.991,
    actionError: null,
    returnRetention: 0.9734,
    targets: { agreement: 0.99, actionError: null, retention: 0.95 },
    targetsMet: true,
    stopReason: 'targets',
    loss: 'kl',
    tau: 1,
    seed: 0,
    batchSize: 256,
    lr: 0.002,
    samples: 512000,
    gradientSteps: 2000,
    transitions: 16000,
    rounds: 2,
    betas: [1, 0.5],
    heldOut: { states: 4000, seed: 100000 },
    wallSeconds: 10.16,
    secondsToTarget: 9.61,
    samplesToTarget: 512000,
    backend: 'js-f32',
    curve: curveAgreement.map((agreement, i) => ({ samples: 25600 * (i + 1), round: i < 10 ? 0 : 1, agreement, actionError: null, loss: curveLoss[i], lr: 0.002, seconds: 0.49 * (i + 1) })),
    ...overrides,
  };
}

const sha = (n: number) => n.toString(16).padStart(2, '0').repeat(32);

/** The shipped CartPole teacher's ONNX file (models/cartpole-v1/teacher.onnx). */
export const TEACHER_BYTES = 272525;

/** artifacts.json entries as `edgedistill export` writes them (pipeline/src/export/index.ts). */
function exported(format: string, precision: string, file: string, bytes: number, n: number, o: Record<string, unknown>) {
  return {
    format,
    precision,
    files: [{ name: file, bytes, sha256: sha(n) }],
    bytes,
    sha256: sha(n),
    reference: precision === 'int8' ? 'forwardInt8' : precision === 'fp16' ? 'ir-fp16-weights' : null,
    file,
    runtime: format.startsWith('onnx') ? 'onnxruntime-node 1.30.0' : format.startsWith('tflite') ? 'LiteRT.js 2.5.3 (wasm)' : 'node v20.20.2 (import)',
    status: 'pass',
    reasons: [] as string[],
    maxAbsErrorVsReference: null,
    mismatchesVsReference: null,
    actionAgreementVsIR: 1,
    maxActionErrorVsIR: null,
    actionAgreementVsTeacher: 0.991,
    ...o,
  };
}

export const ARTIFACTS = [
  exported('onnx', 'fp32', 'policy.onnx', 19312, 1, { maxAbsErrorVsIR: 1.9e-6 }),
  exported('onnx-int8', 'int8', 'policy.int8.onnx', 6893, 2, { maxAbsErrorVsIR: 0.0123, maxAbsErrorVsReference: 0, mismatchesVsReference: 0, actionAgreementVsIR: 0.997, actionAgreementVsTeacher: 0.988 }),
  exported('tflite-int8', 'int8', 'policy.int8.tflite', 6120, 3, { maxAbsErrorVsIR: 0.0123, maxAbsErrorVsReference: 0, mismatchesVsReference: 0, actionAgreementVsIR: 0.997, actionAgreementVsTeacher: 0.988 }),
  exported('tflite-fp16', 'fp16', 'policy.fp16.tflite', 10944, 4, {
    file: null,
    status: 'fail',
    reasons: ['action agreement with the fp32 IR 98.40% < 99%'],
    maxAbsErrorVsIR: 0.061,
    maxAbsErrorVsReference: 2.1e-3,
    actionAgreementVsIR: 0.984,
    actionAgreementVsTeacher: 0.979,
  }),
  exported('js', 'fp32', 'policy.mjs', 41230, 5, { maxAbsErrorVsIR: 0 }),
  exported('js-int8', 'int8', 'policy.int8.mjs', 9874, 6, { maxAbsErrorVsIR: 0.0123, maxAbsErrorVsReference: 0, mismatchesVsReference: 0, actionAgreementVsIR: 0.997, actionAgreementVsTeacher: 0.988 }),
];

export const ARTIFACTS_JSON = {
  format: 'edgedistill-artifacts',
  version: 1,
  policy: { source: 'distill/policy.json', sha256: sha(20), envId: 'CartPole-v1', obsDim: 4, outDim: 2, outputName: 'logits' },
  golden: { file: 'golden.json', rows: 1000, sha256: sha(21), source: { kind: 'rollouts', env: 'CartPole-v1', actor: 'teacher', seed: 0, envs: 8 } },
  calibration: { rows: 1000, source: 'rollouts of the teacher in CartPole-v1 (seed 1000)' },
  teacher: { file: 'models/cartpole-v1/teacher.onnx', sha256: '4818627d5a47228cb9c90204d5d978e6888ea136b4ddbb2dc53ef55845a24047', agreementWithIR: 0.991 },
  tolerances: { fp32MaxAbs: 0.0001, minAgreement: 0.99, continuousShare: 0.01, fp16MaxAbs: 0.0001, int8Steps: 1 },
  machine: { cpu: 'AMD EPYC', cores: 2, node: 'v20.20.2', platform: 'linux-x64' },
  passed: false,
  artifacts: ARTIFACTS,
};

/** One compress-report.json row (pipeline/src/compress/report.ts). */
function step(label: string, stepKind: string, kept: boolean, hidden: number[], nonzero: number, raw: number, gzip: number, format: string, agreement: number, retention: number, seconds: number) {
  const params = hidden[0] === 64 ? 4610 : 1346;
  return {
    step: stepKind,
    label,
    semantics: format === 'int8' ? 'int8' : 'float32',
    kept,
    hidden,
    params,
    nonzeroParams: nonzero,
    paramRatio: params / 67586,
    bytes: { raw, gzip, format },
    fileBytes: { raw: raw * 3, gzip: gzip * 2 },
    agreement,
    actionError: null,
    return: { episodes: 100, mean: 23.28 + retention * (500 - 23.28), std: 20, min: 300, max: 500, seedStart: 0 },
    returnRetention: retention,
    targetsMet: agreement >= 0.98 && retention >= 0.95,
    gain: null,
    cost: null,
    finetune: null,
    details: {},
    seconds,
  };
}

export const COMPRESS = {
  env: 'CartPole-v1',
  teacher: { files: ['models/cartpole-v1/teacher.onnx'], sha256: [null], params: 67586, return: { episodes: 100, mean: 500, std: 0, min: 500, max: 500, seedStart: 0 } },
  random: { return: { episodes: 100, mean: 23.28, std: 11.93, min: 10, max: 89, seedStart: 0 } },
  episodes: 100,
  evalSeed: 0,
  targets: { agreement: 0.98, retention: 0.95 },
  options: {},
  steps: [
    step('student 64x64', 'student', true, [64, 64], 4610, 18440, 16980, 'float32', 0.991, 0.973, 0),
    step('structured 32x32', 'structured', true, [32, 32], 1346, 5384, 4950, 'float32', 0.988, 0.968, 6.2),
    step('magnitude 50%', 'unstructured', false, [32, 32], 707, 5384, 2890, 'float32', 0.962, 0.91, 3.1),
    step('share 16 clusters', 'share', true, [32, 32], 1346, 1410, 1210, 'shared-4bit', 0.986, 0.966, 1.2),
    step('int8 PTQ', 'int8-ptq', true, [32, 32], 1346, 1602, 1398, 'int8', 0.985, 0.964, 0.4),
  ],
  final: { float: 3, int8: 4 },
  result: { hidden: [32, 32], params: 1346, paramRatio: 0.0199, semantics: 'int8', agreement: 0.985, actionError: null, returnRetention: 0.964, targetsMet: true },
  notes: ['magnitude pruning cost more than 1% agreement and was dropped'],
  data: { train: 16000, validation: 2000, heldOut: 4000, teacherStates: 22000 },
  backend: 'js-f32',
  machine: 'AMD EPYC, 2 cores',
  wallSeconds: 14.8,
};

export function bundleManifest(device: string, controlPeriodUs: number): Record<string, unknown> {
  const files: Record<string, { sha256: string; bytes: number }> = {};
  const teacher = { name: 'teacher', role: 'teacher', path: 'artifacts/teacher.onnx', format: 'onnx', backend: 'ort-node', goldenKey: 'teacher' };
  files[teacher.path] = { sha256: '4818627d5a47228cb9c90204d5d978e6888ea136b4ddbb2dc53ef55845a24047', bytes: TEACHER_BYTES };
  const students = ARTIFACTS.filter((a) => ['onnx-int8', 'tflite-int8', 'js', 'js-int8'].includes(a.format)).map((a) => {
    const path = `artifacts/${a.files[0].name}`;
    files[path] = { sha256: a.sha256, bytes: a.bytes };
    const name = `student-${a.format}`;
    return { name, role: 'student', path, format: a.format, backend: a.format.startsWith('tflite') ? 'litert' : a.format.startsWith('js') ? 'js' : 'ort-node', goldenKey: name };
  });
  const artifacts = [teacher, ...students];
  files['golden.json'] = { sha256: sha(9), bytes: 55108 };
  files['runtime/edgedistill-device.mjs'] = { sha256: sha(10), bytes: 148313 };
  return {
    format: 'edgedistill.bundle/1',
    device,
    profile: { id: device },
    budgets: { controlPeriodUs, maxRssMiB: 256, minAgreement: 0.95, minReturnRetention: 0.9 },
    envId: 'CartPole-v1',
    card: {},
    artifacts,
    golden: 'golden.json',
    files,
    checkEpisodes: 20,
  };
}

interface DeviceSpec {
  device: string;
  hostname: string;
  board: string | null;
  cpuModel: string;
  cores: number;
  arch: string;
  /** Multiplies every latency (a slower CPU). */
  slow: number;
  controlPeriodUs: number;
}

export const DEVICES: DeviceSpec[] = [
  { device: 'rpi4-arm64', hostname: 'rpi4-lab', board: 'Raspberry Pi 4 Model B Rev 1.5', cpuModel: 'Cortex-A72', cores: 4, arch: 'arm64', slow: 1, controlPeriodUs: 2000 },
  { device: 'jetson-orin-nano', hostname: 'orin-01', board: 'NVIDIA Jetson Orin Nano Developer Kit', cpuModel: 'Cortex-A78AE', cores: 6, arch: 'arm64', slow: 0.55, controlPeriodUs: 10 },
];

/** Students checked on the devices, with latency at slow = 1 (p50, p90, p99, max in us). */
const CHECKED = [
  { name: 'teacher', role: 'teacher', format: 'onnx', backend: 'ort-node', lat: [96.4, 104.1, 151.7, 912.3], agreement: 1, ret: 500, retStd: 0 },
  { name: 'student-onnx-int8', role: 'student', format: 'onnx-int8', backend: 'ort-node', lat: [29.8, 33.2, 48.9, 402.5], agreement: 0.988, ret: 486.2, retStd: 30.4 },
  { name: 'student-tflite-int8', role: 'student', format: 'tflite-int8', backend: 'litert', lat: [41.3, 45.0, 71.6, 655.1], agreement: 0.988, ret: 486.2, retStd: 30.4 },
  { name: 'student-js', role: 'student', format: 'js', backend: 'js', lat: [3.21, 3.48, 6.95, 188.4], agreement: 0.991, ret: 489.9, retStd: 27.7 },
  { name: 'student-js-int8', role: 'student', format: 'js-int8', backend: 'js', lat: [4.12, 4.51, 8.8, 97.2], agreement: 0.988, ret: 486.2, retStd: 30.4 },
];

export function checkReport(d: DeviceSpec): Record<string, unknown> {
  const r = (v: number) => Math.round(v * 1000) / 1000;
  const random = { mean: 22.1, std: 10.4, min: 9, max: 61, episodes: 20, steps: 442 };
  const artifacts = CHECKED.map((a) => ({
    name: a.name,
    role: a.role,
    format: a.format,
    backend: a.backend,
    path: `artifacts/${a.name}`,
    variant: a.format.endsWith('int8') ? 'int8' : 'fp32',
    loadSeconds: 0.05,
    latencyUs: { p50: r(a.lat[0] * d.slow), p90: r(a.lat[1] * d.slow), p99: r(a.lat[2] * d.slow), max: r(a.lat[3] * d.slow), min: r(a.lat[0] * d.slow * 0.93), mean: r(a.lat[0] * d.slow * 1.2), calls: 20000, warmupCalls: 1000, stoppedByTimeBound: false, seconds: 1.2, call: a.backend === 'js' ? 'actSync' : 'await act' },
    latencyRatioVsTeacher: a.role === 'teacher' ? null : { p50: r(a.lat[0] / CHECKED[0].lat[0]), p99: r(a.lat[2] / CHECKED[0].lat[2]) },
    agreement: a.agreement,
    actionRmseVsTeacher: null,
    maxAbsErrorVsDesktop: a.format.endsWith('int8') ? 0 : 5.96e-8,
    return: { mean: a.ret, std: a.retStd, min: a.ret - 2 * a.retStd, max: 500, episodes: 20, steps: Math.round(a.ret * 20) },
    returnRetention: a.role === 'teacher' ? 1 : r((a.ret - random.mean) / (500 - random.mean)),
    peakRssMiBAfter: 92.4,
  }));
  const budgets = artifacts
    .filter((a) => a.role === 'student')
    .flatMap((a) => [
      { name: `${a.name}/p99LatencyUs`, budget: 'controlPeriodUs', artifact: a.name, op: '<=', limit: d.controlPeriodUs, value: a.latencyUs.p99, passed: a.latencyUs.p99 <= d.controlPeriodUs },
      { name: `${a.name}/agreement`, budget: 'minAgreement', artifact: a.name, op: '>=', limit: 0.95, value: a.agreement, passed: a.agreement >= 0.95 },
      { name: `${a.name}/returnRetention`, budget: 'minReturnRetention', artifact: a.name, op: '>=', limit: 0.9, value: a.returnRetention, passed: (a.returnRetention ?? 0) >= 0.9 },
    ]);
  budgets.push({ name: 'peakRssMiB', budget: 'maxRssMiB', artifact: null as unknown as string, op: '<=', limit: 256, value: 88.6, passed: true });
  const failed = budgets.filter((b) => !b.passed).map((b) => b.name);
  return {
    format: 'edgedistill.check-report/1',
    device: d.device,
    bundle: { dir: `/opt/edgedistill/${d.device}`, manifestSha256: sha(11), envId: 'CartPole-v1', filesVerified: 9 },
    platform: { os: 'linux', arch: d.arch, nodeVersion: 'v20.20.2', cpuModel: d.cpuModel, cores: d.cores, hostname: d.hostname, osRelease: '6.6.51+rpt-rpi-v8', board: d.board, totalMemMiB: 3796 },
    settings: { episodes: 20, minCalls: 20000, maxSecondsPerArtifact: 60, warmupCalls: 1000, goldenObservations: 256, timerOverheadUs: 0.04 },
    random: { return: random },
    artifacts,
    memory: { peakRssMiBStudents: 88.6, peakRssMiB: 92.4 },
    budgets,
    passed: failed.length === 0,
    failed,
    startedAt: '2026-11-27T19:07:54.325Z',
    wallSeconds: 14.2,
  };
}

/**
 * Writes a run directory: distill/report.json (or report.json at the root with distillAtRoot, as
 * when OUT is distill's own output directory), export/artifacts.json, compress/compress-report.json,
 * a bundle, and the first device's check report in it.
 */
export function writeRunDir(dir: string, opts: { checks?: boolean; distillAtRoot?: boolean } = {}): void {
  const w = (p: string, v: unknown) => {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), `${JSON.stringify(v, null, 2)}\n`);
  };
  w(opts.distillAtRoot ? 'report.json' : 'distill/report.json', distillReport());
  w('export/artifacts.json', ARTIFACTS_JSON);
  w('compress/compress-report.json', COMPRESS);
  w('bundles/rpi4-arm64/manifest.json', bundleManifest('rpi4-arm64', 2000));
  if (opts.checks !== false) w('bundles/rpi4-arm64/check-report.json', checkReport(DEVICES[0]));
}
