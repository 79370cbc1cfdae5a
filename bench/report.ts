/**
 * From the sections' raw results: the targets (met / not met / unknown), the ours-vs-PyTorch
 * pairs with their ratios, and results.md. Pure functions of the results object.
 */

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface Target {
  id: string;
  issue: string;
  text: string;
  value: number | null;
  threshold: number;
  unit: string;
  /** null: could not be measured in this run (see note). */
  met: boolean | null;
  note?: string;
}

export interface Pair {
  what: string;
  unit: string;
  ours: number | null;
  oursLabel: string;
  pytorch: number | null;
  pytorchLabel: string;
  /** How many times better ours is (>1: ours better), for time: pytorch/ours; for rates: ours/pytorch. */
  oursAdvantage: number | null;
}

const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const sec = (r: Obj, name: string): Obj | null => {
  const s = r.sections?.[name];
  return s && typeof s === 'object' && !('skipped' in s) ? s : null;
};
const row = (lat: Obj | null, id: string): Obj | null => (lat?.rows as Obj[] | undefined)?.find((x) => x.id === id) ?? null;
const p50 = (x: Obj | null | undefined, batch: 'batch1' | 'batch32' = 'batch1'): number | null => num(x?.[batch]?.p50);
const torchRow = (lat: Obj | null, name: string): Obj | null => {
  const t = lat?.pytorch;
  return t && !('skipped' in t) ? (t[name] ?? null) : null;
};
/** PyTorch's fastest fp32 student form (eager or TorchScript frozen), at a batch. */
function bestTorchFp32(lat: Obj | null, batch: 'batch1' | 'batch32'): { v: number | null; label: string } {
  const e = p50(torchRow(lat, 'student-fp32-eager'), batch);
  const s = p50(torchRow(lat, 'student-fp32-torchscript'), batch);
  if (e === null && s === null) return { v: null, label: 'PyTorch fp32' };
  if (s !== null && (e === null || s < e)) return { v: s, label: 'PyTorch fp32 (TorchScript frozen)' };
  return { v: e, label: 'PyTorch fp32 (eager)' };
}

export function computeTargets(r: Obj): Target[] {
  const t: Target[] = [];
  const envs = sec(r, 'envs');
  const cp = num(envs?.results?.['CartPole-v1']?.stepsPerSecond);
  t.push({
    id: 'envs.cartpole',
    issue: '#2',
    text: 'CartPole-v1 vectorized env >= 5,000,000 steps/s (one thread)',
    value: cp,
    threshold: 5_000_000,
    unit: 'steps/s',
    met: cp === null ? null : cp >= 5_000_000,
  });
  const lat = sec(r, 'latency');
  const jsInt8 = row(lat, 'student js int8 js');
  const teacher = row(lat, 'teacher onnx fp32 ort-node');
  const j = p50(jsInt8);
  const gateNote = jsInt8?.gate === 'fail' ? `int8 artifact from the ungated export (parity gate: ${(jsInt8.gateReasons ?? []).join('; ')})` : undefined;
  t.push({ id: 'latency.js-int8', issue: '#7', text: 'int8 compiled-JS student p50 <= 2 us at batch 1', value: j, threshold: 2, unit: 'us', met: j === null ? null : j <= 2, note: gateNote });
  const tp = p50(teacher);
  const speedup = j !== null && tp !== null ? tp / j : null;
  t.push({
    id: 'latency.js-int8-vs-teacher',
    issue: '#7',
    text: 'int8 compiled-JS student >= 10x faster than the teacher in onnxruntime-node (batch-1 p50)',
    value: speedup,
    threshold: 10,
    unit: 'x',
    met: speedup === null ? null : speedup >= 10,
  });
  const d = sec(r, 'distill');
  const h2h = d?.headToHead;
  const ours = num(h2h?.ours?.secondsToTarget);
  const torch = num(h2h?.pytorch?.secondsToTarget);
  const cpuOurs = num(h2h?.ours?.runs?.[0]?.cpuSeconds);
  const cpuTorch = num(h2h?.pytorch?.runs?.[0]?.cpuSeconds);
  t.push({
    id: 'distill.vs-pytorch',
    issue: '#10',
    text: "distillation wall time to 0.99 held-out agreement no slower than PyTorch's (same data, start, minibatches)",
    value: ours !== null && torch !== null ? ours / torch : null,
    threshold: 1,
    unit: 'x PyTorch time',
    met: ours === null || torch === null ? null : ours <= torch,
    note:
      ours === null || torch === null
        ? 'one side did not reach 0.99 or did not run'
        : cpuOurs !== null && cpuTorch !== null
          ? `CPU seconds (less sensitive to load): ours ${cpuOurs.toFixed(2)} s, PyTorch ${cpuTorch.toFixed(2)} s (${(cpuOurs / cpuTorch).toFixed(2)}x)`
          : undefined,
  });
  const bt = bestTorchFp32(lat, 'batch1');
  const adv = j !== null && bt.v !== null ? bt.v / j : null;
  t.push({
    id: 'latency.js-int8-vs-pytorch',
    issue: '#10',
    text: `int8 compiled-JS student >= 5x faster at batch 1 than PyTorch's fp32 student (its faster form: ${bt.label})`,
    value: adv,
    threshold: 5,
    unit: 'x',
    met: adv === null ? null : adv >= 5,
  });
  const sizes = sec(r, 'sizes');
  const pairs = (sizes?.int8VsFp32 ?? []) as Obj[];
  const ratios = pairs.map((p) => num(p.ratio));
  const worst = ratios.every((x) => x !== null) && ratios.length > 0 ? Math.max(...(ratios as number[])) : null;
  t.push({
    id: 'sizes.int8',
    issue: '#10',
    text: "student's int8 artifacts <= 1/4 of their fp32 files (onnx, tflite, js; worst ratio shown)",
    value: worst,
    threshold: 0.25,
    unit: 'x fp32 bytes',
    met: worst === null ? null : worst <= 0.25,
    note: pairs.length ? [...pairs.map((p) => `${p.int8} ${p.int8Bytes} B / ${p.fp32} ${p.fp32Bytes} B = ${num(p.ratio)?.toFixed(3) ?? '-'}`), floorNote(sizes)].filter(Boolean).join('; ') : undefined,
  });
  return t;
}

/**
 * The floor no file format can go below: int8 weights plus int32 biases (what every int8 runtime
 * adds into its accumulator) against fp32 weights and biases, before any scale, graph or header.
 */
function floorNote(sizes: Obj | null): string | null {
  const st = (sizes?.student ?? null) as Obj | null;
  const q = num(st?.int8ParameterBytes);
  const f = num(st?.fp32ParameterBytes);
  if (q === null || f === null || f === 0) return null;
  return `floor for this student, parameters alone (int8 weights + int32 biases vs fp32): ${q} B / ${f} B = ${(q / f).toFixed(3)}`;
}

export function computePairs(r: Obj): Pair[] {
  const out: Pair[] = [];
  const time = (what: string, unit: string, ours: number | null, oursLabel: string, pt: number | null, ptLabel: string) =>
    out.push({ what, unit, ours, oursLabel, pytorch: pt, pytorchLabel: ptLabel, oursAdvantage: ours !== null && pt !== null && ours > 0 ? pt / ours : null });
  const rate = (what: string, unit: string, ours: number | null, oursLabel: string, pt: number | null, ptLabel: string) =>
    out.push({ what, unit, ours, oursLabel, pytorch: pt, pytorchLabel: ptLabel, oursAdvantage: ours !== null && pt !== null && pt > 0 ? ours / pt : null });
  const d = sec(r, 'distill');
  const h = d?.headToHead;
  // Results from before the wasm kernels carry no backend: they ran the js-f32 trainer.
  const trainerBackend = typeof h?.ours?.backend === 'string' ? (h.ours.backend as string) : 'js-f32';
  time('distill to 0.99 agreement (wall, median)', 's', num(h?.ours?.secondsToTarget), `${trainerBackend} trainer`, num(h?.pytorch?.secondsToTarget), 'PyTorch (Adam, eager)');
  time('distill to 0.99 agreement (CPU, run 1)', 's', num(h?.ours?.runs?.[0]?.cpuSeconds), `${trainerBackend} trainer`, num(h?.pytorch?.runs?.[0]?.cpuSeconds), 'PyTorch');
  const tp = Array.isArray(d?.throughput) ? (d?.throughput as Obj[]) : [];
  const pt = Array.isArray(d?.pytorchThroughput) ? (d?.pytorchThroughput as Obj[]) : [];
  for (const b of [256, 1024]) {
    const o = tp.find((x) => x.batch === b);
    const p = pt.find((x) => x.batch === b);
    const ob = typeof o?.backend === 'string' ? (o.backend as string) : 'js-f32';
    rate(`training samples/s, batch ${b} (wall)`, 'samples/s', num(o?.samplesPerSecond), ob, num(p?.samplesPerSecond), 'PyTorch');
    rate(`training samples/s, batch ${b} (per CPU second)`, 'samples/s', num(o?.samplesPerCpuSecond), ob, num(p?.samplesPerCpuSecond), 'PyTorch');
  }
  const lat = sec(r, 'latency');
  for (const batch of ['batch1', 'batch32'] as const) {
    const bs = batch === 'batch1' ? 'batch 1' : 'batch 32';
    const bt = bestTorchFp32(lat, batch);
    time(`student fp32 p50, ${bs}`, 'us', p50(row(lat, 'student js fp32 js'), batch), 'compiled JS fp32', bt.v, bt.label);
    time(`student fp32 p50, ${bs}`, 'us', p50(row(lat, 'student onnx fp32 ort-node'), batch), 'ONNX fp32 ort-node', bt.v, bt.label);
    time(`student int8 p50, ${bs}`, 'us', p50(row(lat, 'student js int8 js'), batch), 'compiled JS int8', p50(torchRow(lat, 'student-int8-dynamic'), batch), 'PyTorch quantize_dynamic int8');
    time(`student int8 vs PyTorch fp32 p50, ${bs}`, 'us', p50(row(lat, 'student js int8 js'), batch), 'compiled JS int8', bt.v, bt.label);
    time(`teacher fp32 p50, ${bs}`, 'us', p50(row(lat, 'teacher onnx fp32 ort-node'), batch), 'ONNX fp32 ort-node', p50(torchRow(lat, 'teacher-fp32-eager'), batch), 'PyTorch fp32 (eager)');
  }
  return out;
}

const f = (x: unknown, digits = 2): string => {
  const v = num(x);
  if (v === null) return '-';
  if (Math.abs(v) >= 1e4) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(digits);
};
const skipText = (x: unknown): string | null => (x && typeof x === 'object' && typeof (x as Obj).skipped === 'string' ? (x as Obj).skipped : null);
const metText = (m: boolean | null) => (m === null ? 'unknown' : m ? '**met**' : '**not met**');

/** The peer's facts: the distill run's, with the latency run's quantized engine. */
export function peerFactsOf(r: Obj): Obj | null {
  const a = r.sections?.distill?.pytorch;
  const b = r.sections?.latency?.pytorchFacts;
  if (a && !skipText(a)) return { ...a, quantizedEngine: b && !skipText(b) ? b.quantizedEngine : a.quantizedEngine };
  return b ?? a ?? null;
}

export function renderMarkdown(r: Obj): string {
  const L: string[] = [];
  const m = r.machine ?? {};
  L.push('# edgedistill benchmarks', '');
  L.push(`Measured ${r.date} by \`npm run bench${r.quick ? ' -- --quick' : ''}${r.only ? ` -- --only ${r.only.join(',')}` : ''}\` (${f(r.seconds, 0)} s).`, '');
  for (const u of (r.updated ?? []) as Obj[]) L.push(`Sections ${u.sections.join(', ')} measured again ${u.date}${u.quick ? ' (quick)' : ''} (\`--from ... --only ${u.sections.join(',')}\`).`, '');
  L.push('## Machine', '');
  L.push('| fact | value |', '| --- | --- |');
  L.push(`| CPU | ${m.cpu} (${m.cores} cores) |`, `| memory | ${m.memoryGiB} GiB |`, `| OS | ${m.os ?? '-'} (${m.kernel ?? '-'}), ${m.platform} |`);
  L.push(`| Node | ${m.node} (V8 ${m.v8}) |`);
  const pf = peerFactsOf(r);
  if (pf && !skipText(pf)) {
    L.push(`| PyTorch | ${pf.torch} (Python ${pf.python}, ${pf.executable}), ${pf.threads} thread |`);
    L.push(`| PyTorch BLAS | ${pf.blas} (sgemm_ from ${pf.sgemmFrom ?? '?'}), selected via ${pf.blasSelection?.how ?? '-'}; mapped: ${(pf.blasLibraries ?? []).join(', ')} |`);
    if (pf.quantizedEngine) L.push(`| PyTorch quantized engine | ${pf.quantizedEngine} |`);
  } else L.push(`| PyTorch | ${skipText(pf) ?? 'not run'} |`);
  L.push(`| load average at start | ${(m.loadAverage?.start ?? []).join(', ')} (1, 5, 15 min) |`);
  L.push(`| load average at end | ${(m.loadAverage?.end ?? []).join(', ')} |`);
  for (const [name, x] of Object.entries((r.sectionRuns ?? {}) as Record<string, Obj>)) {
    L.push(`| section ${name} | ${x.date}${x.quick ? ' (quick)' : ''}, ${f(x.seconds, 1)} s, load average ${(x.loadAverage?.start ?? []).join(', ')} -> ${(x.loadAverage?.end ?? []).join(', ')} |`);
  }
  L.push('');
  const cores = num(m.cores) ?? 1;
  const maxLoad = Math.max(...((m.loadAverage?.start ?? [0]) as number[]), ...((m.loadAverage?.end ?? [0]) as number[]));
  if (maxLoad > cores * 0.5) {
    L.push(`> The machine was loaded by other work (load average up to ${f(maxLoad)} on ${cores} cores): every figure here is noisy, wall times more than CPU times. Re-run on an idle machine before quoting numbers.`, '');
  }

  L.push('## Targets', '');
  L.push('| issue | target | measured | verdict | note |', '| --- | --- | --- | --- | --- |');
  for (const t of (r.targets ?? []) as Target[]) {
    L.push(`| ${t.issue} | ${t.text} | ${t.value === null ? '-' : `${f(t.value, t.unit === 'us' ? 3 : 2)} ${t.unit}`} | ${metText(t.met)} | ${t.note ?? (t.value === null ? 'not measured in this run' : '')} |`);
  }
  L.push('');

  const anyPair = ((r.pairs ?? []) as Pair[]).some((p) => p.ours !== null || p.pytorch !== null);
  if (anyPair) L.push('## Ours vs PyTorch', '');
  if (anyPair) L.push('Ratio: how many times better ours is (time: PyTorch / ours; rates: ours / PyTorch); below 1, PyTorch is better.', '');
  if (anyPair) L.push('| measure | ours | value | PyTorch | value | ratio |', '| --- | --- | --- | --- | --- | --- |');
  for (const p of (anyPair ? r.pairs : []) as Pair[]) {
    L.push(`| ${p.what} | ${p.oursLabel} | ${f(p.ours, p.unit === 'us' ? 3 : 2)} ${p.unit} | ${p.pytorchLabel} | ${f(p.pytorch, p.unit === 'us' ? 3 : 2)} ${p.unit} | ${f(p.oursAdvantage)} |`);
  }
  L.push('');

  const s = r.sections ?? {};
  if (s.envs !== undefined) L.push('## Environments (steps/s, one thread)', '');
  if (skipText(s.envs)) L.push(`Skipped: ${skipText(s.envs)}`, '');
  else if (s.envs) {
    L.push(`${s.envs.note}`, '');
    L.push('| env | vectorized steps/s | copies | single env steps/s |', '| --- | --- | --- | --- |');
    const res = s.envs.results ?? {};
    for (const id of Object.keys(res).filter((k) => !k.endsWith('/single'))) {
      L.push(`| ${id} | ${f(res[id].stepsPerSecond, 0)} | ${res[id].numEnvs} | ${f(res[`${id}/single`]?.stepsPerSecond, 0)} |`);
    }
    L.push('');
  }

  if (s.distill !== undefined) L.push('## Distillation (CartPole-v1, shipped teacher 4-256-256-2 tanh -> 4-32-32-2 relu student)', '');
  if (skipText(s.distill)) L.push(`Skipped: ${skipText(s.distill)}`, '');
  else if (s.distill) {
    const d = s.distill;
    const p = d.product;
    if (skipText(p)) L.push(`distill(): skipped: ${skipText(p)}`, '');
    else if (p) {
      L.push(`\`distill()\` itself (${p.what}): held-out agreement first >= 0.99 after **${f(p.firstAgreementSeconds)} s** (${f(p.firstAgreementSamples, 0)} samples); targets (agreement and return retention) met at ${f(p.secondsToTargets)} s; wall ${f(p.wallSeconds)} s (data ${f(p.timing?.data)} s, baselines ${f(p.timing?.baselines)} s, train ${f(p.timing?.train)} s, checks ${f(p.timing?.checks)} s); final agreement ${f(p.agreement, 4)}, retention ${f(p.returnRetention, 3)}; loss ${p.loss}, tau ${p.tau}, batch ${p.batchSize}, lr ${p.lr}, backend ${p.backend}.`, '');
    }
    const h = d.headToHead;
    if (h?.settings) {
      L.push('Head to head with PyTorch, identical inputs:', '');
      for (const [k, v] of Object.entries(h.settings)) L.push(`- ${k}: ${v}`);
      L.push('');
      L.push('| side | seconds to 0.99 (median) | runs (s) | steps to 0.99 | CPU s (run 1) |', '| --- | --- | --- | --- | --- |');
      for (const [name, x] of [['ours', h.ours], ['PyTorch', h.pytorch]] as const) {
        if (skipText(x)) L.push(`| ${name} | skipped: ${skipText(x)} | | | |`);
        else if (x) L.push(`| ${name} | ${f(x.secondsToTarget)} | ${(x.runs ?? []).map((q: Obj) => f(q.secondsToTarget)).join(', ')} | ${x.stepsToTarget ?? 'not reached'} | ${f(x.runs?.[0]?.cpuSeconds)} |`);
      }
      L.push('');
    }
    L.push('| trainer throughput | batch | samples/s (wall) | samples per CPU second |', '| --- | --- | --- | --- |');
    const refBlas = skipText(d.pytorchThroughputReferenceBlas) ? d.pytorchThroughputReferenceBlas : d.pytorchThroughputReferenceBlas?.results;
    const oursBackend = Array.isArray(d.throughput) && typeof d.throughput[0]?.backend === 'string' ? d.throughput[0].backend : 'js-f32';
    for (const [name, list] of [[`ours (${oursBackend})`, d.throughput], [`PyTorch (${pf?.blas ?? '?'})`, d.pytorchThroughput], ['PyTorch (reference BLAS, for comparison)', refBlas]] as const) {
      if (skipText(list)) L.push(`| ${name} | skipped: ${skipText(list)} | | |`);
      else for (const x of (list ?? []) as Obj[]) L.push(`| ${name} | ${x.batch} | ${f(x.samplesPerSecond, 0)} | ${f(x.samplesPerCpuSecond, 0)} |`);
    }
    L.push('');
  }

  if (s.latency !== undefined) L.push('## Latency (microseconds; one call = one act(), batch 32 = one actBatch of 32 rows)', '');
  if (skipText(s.latency)) L.push(`Skipped: ${skipText(s.latency)}`, '');
  else if (s.latency) {
    const lat = s.latency;
    L.push(`Method: ${lat.method}; ${lat.settings?.batch1?.minCalls} calls at batch 1, ${lat.settings?.batch32?.minCalls} at batch 32, ${lat.settings?.goldenObservations} golden observations, timer overhead ${f(lat.settings?.timerOverheadUs, 3)} us (not subtracted).`, '');
    L.push('| model | format | backend | b1 p50 | b1 p99 | b32 p50 | b32 p99 | parity gate |', '| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const x of (lat.rows ?? []) as Obj[]) {
      const c = (b: 'batch1' | 'batch32', k: 'p50' | 'p99') => (skipText(x[b]) ? 'n/a' : f(x[b]?.[k], 3));
      const gate = x.gate === null ? '-' : x.gate === 'pass' ? 'pass' : `fail, measured ungated (${(x.gateReasons ?? []).join('; ')})`;
      L.push(`| ${x.model} | ${x.format} ${x.precision} | ${x.backend} | ${c('batch1', 'p50')} | ${c('batch1', 'p99')} | ${c('batch32', 'p50')} | ${c('batch32', 'p99')} | ${gate} |`);
    }
    const t = lat.pytorch;
    if (skipText(t)) L.push(`| PyTorch | skipped: ${skipText(t)} | | | | | | |`);
    else if (t) {
      for (const [name, x] of (Object.entries(t) as [string, Obj][]).filter(([k]) => k.startsWith('student-') || k.startsWith('teacher-'))) {
        const c = (b: 'batch1' | 'batch32', k: 'p50' | 'p99') => (skipText(x) ? 'n/a' : f(x[b]?.[k], 3));
        L.push(`| ${name.startsWith('teacher') ? 'teacher' : 'student'} | PyTorch ${name.replace(/^(teacher|student)-/, '')} | torch (1 thread) | ${c('batch1', 'p50')} | ${c('batch1', 'p99')} | ${c('batch32', 'p50')} | ${c('batch32', 'p99')} | ${x.agreementWithStudentFp32 !== undefined ? `agreement with fp32 student ${f(x.agreementWithStudentFp32, 3)}` : ''} |`);
      }
    }
    const lr = (lat.rows ?? []).find((x: Obj) => x.backend === 'litert');
    if (lr) L.push('', `LiteRT.js has no dynamic batch: its batch-32 rows run a .tflite written with batch 32 (same weights; int8 calibrated on the golden set); the batch-1 rows run the exported batch-1 files.`);
    L.push('');
  }

  if (s.sizes !== undefined) L.push('## Sizes', '');
  if (skipText(s.sizes)) L.push(`Skipped: ${skipText(s.sizes)}`, '');
  else if (s.sizes) {
    const z = s.sizes;
    L.push(`Student: ${z.student.params} parameters (${z.student.weights} weights + ${z.student.biases} biases): ${z.student.fp32ParameterBytes} B as fp32; ${z.student.int8ParameterBytes} B as int8 weights + int32 biases. Teacher ${z.teacher.file}: ${z.teacher.bytes} B.`, '');
    L.push('| artifact | bytes | gzip -9 bytes | parity gate |', '| --- | --- | --- | --- |');
    for (const a of z.artifacts as Obj[]) L.push(`| ${a.format} (${a.files.map((x: Obj) => x.name).join(' + ')}) | ${a.bytes} | ${a.gzipBytes ?? '-'} | ${a.gate === 'pass' ? 'pass' : `fail (${(a.gateReasons ?? []).join('; ')}); size of the ungated export`} |`);
    L.push('');
    L.push('| bundle | arch | .tar.gz bytes | unpacked bytes | files | artifacts | packages |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const [dev, b] of Object.entries(z.bundles) as [string, Obj][]) {
      if (skipText(b)) L.push(`| ${dev} | skipped: ${skipText(b)} | | | | | |`);
      else L.push(`| ${dev} | ${b.arch} | ${b.bytes} | ${b.uncompressedBytes} | ${b.files} | ${b.artifacts.map((a: Obj) => `${a.name} (${a.backend}, ${a.bytes} B)`).join(', ')} | ${b.packages.map((p: Obj) => `${p.name} ${p.bytes} B`).join(', ')} |`);
    }
    L.push('', z.bundleNote, '');
  }

  if (s.start !== undefined) L.push('## npm start', '');
  if (skipText(s.start)) L.push(`Skipped: ${skipText(s.start)}`, '');
  else if (s.start) {
    const sum = s.start.summary?.summary;
    const failed = sum && sum.ok === false ? ` (the run stopped at stage ${sum.failedStage}: ${sum.failure})` : '';
    L.push(`${s.start.label}, run as \`${s.start.command}\`: **${f(s.start.wallSeconds)} s** wall end to end, exit ${s.start.exitCode}${s.start.timedOut ? ' (timed out)' : ''}${failed}.`, '');
    if (Array.isArray(sum?.stages)) {
      L.push('| stage | status | seconds | detail |', '| --- | --- | --- | --- |');
      for (const st of sum.stages as Obj[]) L.push(`| ${st.name} | ${st.status} | ${f(st.seconds)} | ${String(st.detail ?? '').replace(/\|/g, '/')} |`);
      L.push('');
    }
  }

  if (s.fleet !== undefined) L.push('## Fleet (flash + on-device check on emulated aarch64 devices)', '');
  if (skipText(s.fleet)) L.push(`Skipped: ${skipText(s.fleet)}`, '');
  else if (s.fleet) {
    L.push(`rpi4-arm64 bundle ${s.fleet.bundle?.bytes} B, flashed with \`edgedistill flash --concurrency N\` to N emulated aarch64 devices (qemu-user, chroot, own sshd each; all on this machine's ${m.cores} cores); device check args \`${s.fleet.checkArgs}\`; latency/memory budgets relaxed for emulation (${JSON.stringify(s.fleet.budgets)}).`, '');
    L.push('| devices | wall s | devices ok | per-device s | exit |', '| --- | --- | --- | --- | --- |');
    for (const x of s.fleet.runs as Obj[]) L.push(`| ${x.devices} | ${f(x.wallSeconds)} | ${x.devicesOk} | ${(x.perDeviceSeconds ?? []).map((v: unknown) => f(v, 1)).join(', ')} | ${x.exitCode}${x.timedOut ? ' (timed out)' : ''} |`);
    L.push('');
  }

  if (Array.isArray(r.notes) && r.notes.length) {
    L.push('## Notes', '');
    for (const n of r.notes) L.push(`- ${n}`);
    L.push('');
  }
  return L.join('\n');
}
