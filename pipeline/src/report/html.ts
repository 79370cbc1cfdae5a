/**
 * renderReportHtml: ReportData -> one self-contained HTML file (inline CSS and SVG, no scripts, no
 * external requests). Reads top to bottom like the page: summary cards, distillation, returns,
 * artifacts, devices, bundles, compression, machine. Every part says "not run" when its data is
 * missing. Every string from the data is escaped.
 */
import { barChart, hbarChart, htmlTable, latencyDotPlot, lineChart, type Bar, type TableSpec } from './charts.js';
import { DASH, esc, formatBytes, formatCompact, formatDate, formatError, formatNumber, formatPct, formatUs, shortHash, sig, trimZeros } from './format.js';
import { wantsLog } from './scale.js';
import { REPORT_CSS } from './style.js';
import type { ArtifactRecord, BudgetVerdict, CheckArtifact, DeviceCheck, MachineFacts, ReportData, ReturnStats } from './types.js';

type Status = 'ok' | 'bad' | 'info' | 'missing';

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';

function card(label: string, value: string, subs: string[], status: Status): string {
  return `<div class="card ${status}"><div class="card-label">${esc(label)}</div><div class="card-value">${value}</div>${subs.map((s) => `<div class="card-sub">${esc(s)}</div>`).join('')}</div>`;
}

function facts(items: [string, string | null | undefined][]): string {
  const shown = items.filter(([, v]) => v !== null && v !== undefined && v !== '');
  return `<dl class="facts">${shown.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`;
}

function notRun(what: string, how: string): string {
  return `<p class="missing-note"><strong>Not run:</strong> ${esc(what)} ${how}</p>`;
}

function pill(passed: boolean | null, yes = 'pass', no = 'FAIL'): string {
  return passed === null ? `<span class="pill none">${DASH}</span>` : `<span class="pill ${passed ? 'ok' : 'bad'}">${passed ? yes : no}</span>`;
}

const studentArtifacts = (d: ReportData) => d.artifacts.filter((a) => a.role !== 'teacher');

/** Latency of the teacher and the fastest student on one device, by p50. */
function latencyPair(c: DeviceCheck): { teacher: CheckArtifact; student: CheckArtifact } | null {
  const teacher = c.artifacts.find((a) => a.role === 'teacher' && a.latencyUs);
  const students = c.artifacts.filter((a) => a.role !== 'teacher' && a.latencyUs);
  if (!teacher || students.length === 0) return null;
  const student = students.reduce((best, a) => (a.latencyUs!.p50 < best.latencyUs!.p50 ? a : best));
  return { teacher, student };
}

const deviceName = (c: DeviceCheck) => (c.hostname && c.hostname !== c.device ? `${c.device} (${c.hostname})` : c.device);

// ---- summary cards ----

function summaryCards(d: ReportData): string {
  const out: string[] = [];
  const ds = d.distill;
  const t = d.teacher;

  // Size: parameters and bytes of the smallest student file vs the teacher.
  const sp = ds?.student.params ?? null;
  const tp = t?.params ?? ds?.teacher.params ?? null;
  const studs = studentArtifacts(d).filter((a) => isNum(a.bytes) && a.passed !== false);
  const smallest = studs.length ? studs.reduce((a, b) => (a.bytes! <= b.bytes! ? a : b)) : null;
  const tb = t?.bytes ?? null;
  if (isNum(sp) && isNum(tp) && tp > 0) {
    const share = sp / tp;
    const subs = [`of the teacher's parameters: ${formatNumber(sp)} vs ${formatNumber(tp)}`];
    if (smallest && isNum(tb) && tb > 0) subs.push(`smallest file ${formatBytes(smallest.bytes)} (${smallest.name}): ${formatPct(smallest.bytes! / tb)} of ${formatBytes(tb)}`);
    else if (smallest) subs.push(`smallest file ${formatBytes(smallest.bytes)} (${smallest.name})`);
    out.push(card('Student size', esc(formatPct(share, share < 0.1 ? 2 : 1)), subs, share <= 0.1 ? 'ok' : 'info'));
  } else if (smallest && isNum(tb) && tb > 0) {
    out.push(card('Student size', esc(formatPct(smallest.bytes! / tb)), [`of the teacher's bytes: ${formatBytes(smallest.bytes)} (${smallest.name}) vs ${formatBytes(tb)}`], 'info'));
  } else out.push(card('Student size', 'not run', ['no distill report yet'], 'missing'));

  // Agreement (discrete) or action error (continuous), held out on the desktop, then on devices.
  const devAgree = d.checks.flatMap((c) => c.artifacts.filter((a) => a.role !== 'teacher' && isNum(a.agreement)).map((a) => a.agreement!));
  if (ds && isNum(ds.agreement)) {
    const target = ds.targets?.agreement;
    const subs = [isNum(target) ? `on held-out states, target ≥ ${formatPct(target)}` : 'on held-out teacher-visited states'];
    if (devAgree.length) subs.push(`lowest on a device: ${formatPct(Math.min(...devAgree))}`);
    out.push(card('Agreement with teacher', esc(formatPct(ds.agreement)), subs, isNum(target) ? (ds.agreement >= target ? 'ok' : 'bad') : 'info'));
  } else if (ds && isNum(ds.actionError)) {
    const target = ds.targets?.actionError;
    out.push(card('Action error vs teacher', esc(sig(ds.actionError)), [isNum(target) ? `held-out states; target ≤ ${sig(target)}` : 'held-out states'], isNum(target) ? (ds.actionError <= target ? 'ok' : 'bad') : 'info'));
  } else if (devAgree.length) {
    out.push(card('Agreement with teacher', esc(formatPct(Math.min(...devAgree))), ['lowest over the devices'], 'info'));
  } else out.push(card('Agreement with teacher', 'not run', ['no distill or check report yet'], 'missing'));

  // Return retention.
  if (ds && isNum(ds.returnRetention)) {
    const target = ds.targets?.retention;
    const r = (x: ReturnStats | null | undefined) => (x ? sig(x.mean) : DASH);
    out.push(
      card('Return retention', esc(formatPct(ds.returnRetention, 1)), [`student ${r(ds.student.return)} · teacher ${r(ds.teacher.return)} · random ${r(ds.random.return)}`, ...(isNum(target) ? [`target ≥ ${formatPct(target, 0)}`] : [])], isNum(target) ? (ds.returnRetention >= target ? 'ok' : 'bad') : 'info'),
    );
  } else {
    const devRet = d.checks.flatMap((c) => c.artifacts.filter((a) => a.role !== 'teacher' && isNum(a.returnRetention)).map((a) => a.returnRetention!));
    if (devRet.length) out.push(card('Return retention', esc(formatPct(Math.min(...devRet), 1)), ['lowest over the device checks'], 'info'));
    else out.push(card('Return retention', 'not run', [ds ? 'no environment to roll out (offline distillation)' : 'no distill report yet'], 'missing'));
  }

  // Latency: teacher p50 over the fastest student's, per device.
  const pairs = d.checks.map((c) => ({ c, p: latencyPair(c) })).filter((x) => x.p !== null);
  if (pairs.length) {
    const { c, p } = pairs[0];
    const ratio = p!.teacher.latencyUs!.p50 / p!.student.latencyUs!.p50;
    const value = ratio >= 1 ? `${esc(sig(ratio))}× <small>faster</small>` : `${esc(sig(1 / ratio))}× <small>slower</small>`;
    const subs = [`p50 ${formatUs(p!.student.latencyUs!.p50)} vs ${formatUs(p!.teacher.latencyUs!.p50)} (${p!.student.name} vs teacher, ${c.device})`];
    for (const x of pairs.slice(1)) subs.push(`${x.c.device}: ${sig(x.p!.teacher.latencyUs!.p50 / x.p!.student.latencyUs!.p50)}× faster`);
    out.push(card('Latency vs teacher', value, subs, ratio >= 1 ? 'ok' : 'bad'));
  } else out.push(card('Latency vs teacher', 'not run', ['no device check report yet'], 'missing'));

  // Budgets.
  const budgets = d.checks.flatMap((c) => c.budgets);
  if (budgets.length) {
    const passed = budgets.filter((b) => b.passed).length;
    const failing = d.checks.map((c) => ({ c, n: c.budgets.filter((b) => !b.passed).length })).filter((x) => x.n > 0);
    out.push(
      card('Budgets passed', `${passed} <small>/ ${budgets.length}</small>`, [`on ${d.checks.length} device${d.checks.length === 1 ? '' : 's'}`, ...failing.map((x) => `${x.n} failed on ${x.c.device}`)], passed === budgets.length ? 'ok' : 'bad'),
    );
  } else out.push(card('Budgets passed', 'not run', ['no device check report yet'], 'missing'));
  return `<section class="cards" aria-label="Summary">${out.join('')}</section>`;
}

// ---- sections ----

function distillSection(d: ReportData): string {
  const ds = d.distill;
  const head = `<h2>Distillation</h2>`;
  if (!ds) return `<section class="panel" id="distill">${head}${notRun('no distill report.', 'Run <code>edgedistill distill</code> and rebuild the report in its output directory.')}</section>`;
  const studentDesc = `${ds.student.hidden.join('×')} ${ds.student.activation}`;
  let html = `${head}<p class="lede">${esc(ds.mode === 'offline' ? 'Offline: the student learned from recorded states the teacher labelled.' : `DAgger on ${ds.env ?? 'the environment'}: the first round follows the teacher, later rounds more and more the student; the teacher labels every state.`)}</p>`;
  html += facts([
    ['student', `${studentDesc} (${formatNumber(ds.student.params)} params)`],
    ['loss', `${ds.loss}${isNum(ds.tau) ? `, τ ${sig(ds.tau)}` : ''}`],
    ['training samples', formatNumber(ds.samples)],
    ['DAgger rounds', formatNumber(ds.rounds)],
    ['wall time', `${sig(ds.wallSeconds)} s on ${ds.backend}`],
    ['stopped by', ds.stopReason + (ds.targetsMet ? ' (targets met)' : '')],
    ['samples to target', isNum(ds.samplesToTarget) ? formatNumber(ds.samplesToTarget) : null],
    ['seed', String(ds.seed)],
  ]);
  const curve = ds.curve ?? [];
  if (curve.length === 0) return `<section class="panel" id="distill">${html}${notRun('no learning curve in the report.', '')}</section>`;
  const discrete = curve.some((p) => isNum(p.agreement));
  const metricPts = curve.filter((p) => isNum(discrete ? p.agreement : p.actionError)).map((p) => [p.samples, (discrete ? p.agreement : p.actionError) as number] as const);
  const lossPts = curve.filter((p) => isNum(p.loss)).map((p) => [p.samples, p.loss] as const);
  const table: TableSpec = {
    head: ['samples', 'round', discrete ? 'agreement' : 'action error', 'loss', 'learning rate', 'seconds'],
    rows: curve.map((p) => [formatNumber(p.samples), String(p.round), discrete ? formatPct(p.agreement) : formatError(p.actionError), formatError(p.loss), formatError(p.lr), sig(p.seconds)]),
    numeric: [0, 1, 2, 3, 4, 5],
  };
  const target = discrete ? ds.targets?.agreement : ds.targets?.actionError;
  const last = metricPts[metricPts.length - 1];
  const metricChart = lineChart({
    id: 'curve-agreement',
    title: discrete ? 'Held-out agreement with the teacher' : 'Held-out action error vs the teacher',
    desc: discrete
      ? `Share of held-out states where the student picks the teacher's action, against training samples; ${metricPts.length} checks, last ${last ? formatPct(last[1]) : DASH} at ${last ? formatNumber(last[0]) : DASH} samples.`
      : `Mean action error of the student against the teacher on held-out states, against training samples; ${metricPts.length} checks.`,
    series: [{ name: discrete ? 'agreement' : 'action error', cls: 'agreement', points: metricPts }],
    xLabel: 'training samples',
    yLabel: discrete ? 'agreement' : 'action error',
    yFormat: discrete ? (v) => `${Number((v * 100).toPrecision(4))}%` : formatCompact,
    yClamp: discrete ? [0, 1] : undefined,
    yLog: !discrete && wantsLog(metricPts.map((p) => p[1]), 10),
    target: isNum(target) ? { value: target, label: `target ${discrete ? formatPct(target) : sig(target)}` } : undefined,
    table,
  });
  const lossLog = wantsLog(lossPts.map((p) => p[1]), 10);
  const lossChart = lineChart({
    id: 'curve-loss',
    title: `Training loss (${ds.loss})`,
    desc: `Distillation loss on the training minibatches against training samples${lossLog ? ', log scale' : ''}; ${lossPts.length} points.`,
    series: [{ name: 'loss', cls: 'loss', points: lossPts }],
    xLabel: 'training samples',
    yLabel: `loss${lossLog ? ' (log scale)' : ''}`,
    yLog: lossLog,
    table,
  });
  return `<section class="panel" id="distill">${html}<div class="charts">${metricPts.length ? metricChart : ''}${lossPts.length ? lossChart : ''}</div></section>`;
}

function returnsBars(teacher: ReturnStats | null, students: { name: string; r: ReturnStats }[], random: ReturnStats | null): Bar[] {
  const sub = (r: ReturnStats) => (isNum(r.episodes) ? `${r.episodes} episodes` : undefined);
  const bars: Bar[] = [];
  if (teacher) bars.push({ label: 'teacher', value: teacher.mean, std: teacher.std, cls: 'teacher', sub: sub(teacher) });
  for (const s of students) bars.push({ label: s.name, value: s.r.mean, std: s.r.std, cls: 'student', sub: sub(s.r) });
  if (random) bars.push({ label: 'random', value: random.mean, std: random.std, cls: 'random', sub: sub(random) });
  return bars;
}

function returnsTable(bars: readonly Bar[], stats: (ReturnStats | null)[]): TableSpec {
  return {
    head: ['policy', 'mean', 'std', 'min', 'max', 'episodes'],
    rows: bars.map((b, i) => [b.label, sig(b.value), sig(b.std ?? 0), stats[i]?.min != null ? sig(stats[i]!.min!) : DASH, stats[i]?.max != null ? sig(stats[i]!.max!) : DASH, stats[i]?.episodes != null ? String(stats[i]!.episodes) : DASH]),
    numeric: [1, 2, 3, 4, 5],
  };
}

function returnsSection(d: ReportData): string {
  const ds = d.distill;
  const head = '<h2>Returns</h2>';
  let bars: Bar[] = [];
  let stats: (ReturnStats | null)[] = [];
  let where = '';
  if (ds && (ds.teacher.return || ds.student.return)) {
    const students = ds.student.return ? [{ name: 'student', r: ds.student.return }] : [];
    bars = returnsBars(ds.teacher.return, students, ds.random.return);
    stats = [ds.teacher.return, ...students.map((s) => s.r), ds.random.return].filter((x) => x !== null);
    const e = ds.teacher.return ?? ds.student.return;
    where = `on the desktop, ${e?.episodes ?? '?'} episodes with the same seeds for every policy`;
  } else {
    const c = d.checks.find((x) => x.artifacts.some((a) => a.return));
    if (c) {
      const t = c.artifacts.find((a) => a.role === 'teacher')?.return ?? null;
      const students = c.artifacts.filter((a) => a.role !== 'teacher' && a.return).map((a) => ({ name: a.name, r: a.return! }));
      bars = returnsBars(t, students, c.randomReturn);
      stats = [t, ...students.map((s) => s.r), c.randomReturn].filter((x) => x !== null);
      where = `on ${c.device}`;
    }
  }
  if (bars.length === 0) return `<section class="panel" id="returns">${head}${notRun('no returns measured.', 'Distill with an environment (<code>--env</code>) or run the device check.')}</section>`;
  const chart = barChart({
    id: 'returns',
    title: `Episode return: teacher, student, random (${d.env ?? 'environment'})`,
    desc: `Mean episode return with one standard deviation as whiskers, ${where}. ${bars.map((b) => `${b.label} ${sig(b.value)} ± ${sig(b.std ?? 0)}`).join('; ')}.`,
    bars,
    yLabel: 'episode return',
    format: (v) => sig(v),
    table: returnsTable(bars, stats),
  });
  const t = d.teacher;
  const side = `<div>${facts([
    ['teacher', t ? t.name : null],
    ['teacher parameters', t && isNum(t.params) ? formatNumber(t.params) : null],
    ['teacher file', t && isNum(t.bytes) ? formatBytes(t.bytes) : null],
    ['teacher output', t?.outputKind],
    ['teacher sha256', t?.sha256 ? shortHash(t.sha256) : null],
    ['measured', where],
  ])}<p class="lede">Return retention is (student − random) / (teacher − random): 100% means the student earns what the teacher earns, 0% what acting at random earns.</p></div>`;
  return `<section class="panel" id="returns">${head}<div class="charts">${chart}${side}</div></section>`;
}

function parityTable(arts: readonly ArtifactRecord[]): string {
  const rows = arts.map((a) => {
    const err = `${formatError(a.maxAbsError)}${isNum(a.tolerance) ? ` ≤ ${formatError(a.tolerance)}` : ''}`;
    const sub = [a.runtime, a.file].filter(Boolean).join(' · ');
    const reasons = a.reasons.length ? `<div class="reason">${a.reasons.map(esc).join('<br>')}</div>` : '';
    const ref = a.reference ? ` title="vs ${esc(a.reference)}"` : '';
    return `<tr><td class="wrap"><strong>${esc(a.name)}</strong>${a.role === 'teacher' ? ' <span class="role teacher">teacher</span>' : ''}${sub ? `<div class="sub">${esc(sub)}</div>` : ''}${reasons}</td><td>${esc(a.precision ?? DASH)}</td><td class="num">${esc(formatBytes(a.bytes))}</td><td><code title="${esc(a.sha256 ?? '')}">${esc(shortHash(a.sha256))}</code></td><td class="num">${esc(err)}</td><td class="num"${ref}>${esc(formatError(a.maxAbsErrorVsReference))}</td><td class="num">${esc(formatPct(a.agreementVsIr))}</td><td class="num">${esc(formatPct(a.agreementVsTeacher))}</td><td>${pill(a.passed)}</td></tr>`;
  });
  return `<div class="table-wrap"><table class="data parity"><thead><tr><th>artifact</th><th>precision</th><th class="num">bytes</th><th>sha256</th><th class="num">max |error|<br>vs IR</th><th class="num">max |error| vs<br>int8/fp16 reference</th><th class="num">agreement<br>vs IR</th><th class="num">agreement<br>vs teacher</th><th>parity</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function artifactsSection(d: ReportData): string {
  const head = '<h2>Artifacts</h2>';
  const arts = [...d.artifacts];
  // The teacher's file is the yardstick: show it even when artifacts.json does not list it.
  const sized = arts.filter((a) => isNum(a.bytes));
  const t = d.teacher;
  const bars = sized.map((a) => ({ label: a.name, value: a.bytes!, cls: a.role === 'teacher' ? 'teacher' : 'student' }));
  if (t && isNum(t.bytes) && !arts.some((a) => a.role === 'teacher')) bars.unshift({ label: `teacher (${t.name})`, value: t.bytes, cls: 'teacher' });
  if (bars.length === 0) return `<section class="panel" id="artifacts">${head}${notRun('no exported artifacts.', 'Run <code>edgedistill export</code>; it writes <code>artifacts.json</code> next to the files.')}</section>`;
  const log = wantsLog(bars.map((b) => b.value), 12);
  const chart = hbarChart({
    id: 'sizes',
    title: 'Size of each artifact on disk',
    desc: `Bytes per exported file${log ? ' on a log scale' : ''}: ${bars.map((b) => `${b.label} ${formatBytes(b.value)}`).join('; ')}.`,
    bars,
    axis: log ? 'bytes-log' : 'linear',
    format: formatBytes,
    tickFormat: (v) => trimZeros(formatBytes(v)),
    xLabel: `file size${log ? ' (log scale)' : ''}`,
    table: { head: ['artifact', 'bytes', 'size'], rows: bars.map((b) => [b.label, formatNumber(b.value), formatBytes(b.value)]), numeric: [1, 2] },
  });
  const gate = arts.filter((a) => a.passed !== null);
  const lede = gate.length ? `<p class="lede">Each artifact ran on the same observations as the in-memory model (IR) it was exported from; ${gate.filter((a) => a.passed).length} of ${gate.length} are within their tolerance.</p>` : '';
  return `<section class="panel" id="artifacts">${head}${chart}<h3>Parity</h3>${lede}${arts.length ? parityTable(arts) : notRun('no artifacts.json.', '')}</section>`;
}

/** Budget comparison as shown: ≤ and ≥ rather than the JSON's <= and >=. */
const opSym = (op: string | null) => (op === '<=' ? '≤' : op === '>=' ? '≥' : 'vs');

const FIGURE_NAMES: Record<string, string> = { p99LatencyUs: 'p99 latency', agreement: 'agreement', returnRetention: 'return retention', peakRssMiB: 'peak memory' };

function budgetValue(figure: string, v: number | null): string {
  if (!isNum(v)) return DASH;
  if (/latency|Us$/i.test(figure)) return formatUs(v);
  if (/agreement|retention/i.test(figure)) return formatPct(v, 1);
  if (/rss|mib/i.test(figure)) return `${sig(v)} MiB`;
  return sig(v);
}

/** The figure a budget is about: the part of its name after `<artifact>/`. */
const figureOf = (b: BudgetVerdict) => (b.artifact && b.name.startsWith(`${b.artifact}/`) ? b.name.slice(b.artifact.length + 1) : b.name);

/** ✓ or ✗, with the word for screen readers. */
const mark = (passed: boolean) => `<span class="b-mark" aria-hidden="true">${passed ? '✓' : '✗'}</span><span class="sr-only">${passed ? 'passed:' : 'failed:'}</span>`;

function verdictCell(b: BudgetVerdict | undefined, figure: string, showLimit: boolean): string {
  if (!b) return `<td class="budget-cell none">${DASH}</td>`;
  const limit = showLimit ? ` <span class="b-limit">${esc(opSym(b.op))} ${esc(budgetValue(figure, b.limit))}</span>` : '';
  const note = b.note ? `<div class="b-note">${esc(b.note)}</div>` : '';
  return `<td class="budget-cell ${b.passed ? 'ok' : 'bad'}" title="${esc(`${b.name}: ${budgetValue(figure, b.value)} ${opSym(b.op)} ${budgetValue(figure, b.limit)}`)}">${mark(b.passed)} ${esc(budgetValue(figure, b.value))}${limit}${note}</td>`;
}

/**
 * Budgets as a matrix: one row per artifact, one column per figure (limit in the header when it
 * is the same for every row), each cell green or red; process-wide budgets (memory) in a last row.
 */
function budgetMatrix(budgets: readonly BudgetVerdict[]): string {
  const perArtifact = budgets.filter((b) => b.artifact);
  const figures = [...new Set(perArtifact.map(figureOf))];
  const artifacts = [...new Set(perArtifact.map((b) => b.artifact!))];
  const sameLimit = new Map(figures.map((f) => {
    const bs = perArtifact.filter((b) => figureOf(b) === f);
    return [f, bs.every((b) => b.limit === bs[0].limit && b.op === bs[0].op) ? bs[0] : null] as const;
  }));
  const head = figures
    .map((f) => {
      const s = sameLimit.get(f);
      return `<th>${esc(FIGURE_NAMES[f] ?? f)}${s ? `<div class="b-limit">${esc(opSym(s.op))} ${esc(budgetValue(f, s.limit))}</div>` : ''}</th>`;
    })
    .join('');
  const rows = artifacts.map((a) => `<tr><th scope="row">${esc(a)}</th>${figures.map((f) => verdictCell(perArtifact.find((b) => b.artifact === a && figureOf(b) === f), f, !sameLimit.get(f))).join('')}</tr>`);
  const global = budgets.filter((b) => !b.artifact);
  const globalHtml = global.length
    ? `<ul class="budget-pills">${global.map((b) => `<li class="budget-pill ${b.passed ? 'ok' : 'bad'}">${mark(b.passed)} ${esc(FIGURE_NAMES[b.name] ?? b.name)}: ${esc(budgetValue(b.name, b.value))} <span class="b-limit">${esc(opSym(b.op))} ${esc(budgetValue(b.name, b.limit))}</span>${b.note ? ` <span class="b-note">${esc(b.note)}</span>` : ''}</li>`).join('')}</ul>`
    : '';
  const table = artifacts.length ? `<div class="table-wrap"><table class="budget-matrix"><thead><tr><th>artifact</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table></div>` : '';
  return table + globalHtml;
}

function machineLine(m: MachineFacts): string {
  return [m.board ?? m.cpu, m.board && m.cpu ? m.cpu : null, isNum(m.cores) ? `${m.cores} cores` : null, m.arch, m.os, m.node ? `Node ${m.node}` : null, isNum(m.memMiB) ? `${formatNumber(m.memMiB)} MiB RAM` : null]
    .filter(Boolean)
    .join(' · ');
}

function deviceBlock(c: DeviceCheck, limitUs: number | null): string {
  const id = slug(c.key);
  let html = `<div class="device" id="device-${esc(id)}"><div class="device-head"><h3>${esc(deviceName(c))}</h3>${pill(c.passed, 'PASSED', 'FAILED')}</div><p class="meta">${esc(machineLine(c.platform))}${c.date ? ` · checked ${esc(formatDate(c.date))}` : ''}</p>`;
  const rows = c.artifacts.filter((a) => a.latencyUs);
  if (rows.length) {
    html += latencyDotPlot({
      id: `latency-${id}`,
      title: `Latency per artifact and backend on ${deviceName(c)}`,
      desc: `p50, p90, p99 and max of one act() call at batch 1, microseconds on a log scale${isNum(limitUs) ? `, with the control period ${formatUs(limitUs)} as the budget line` : ''}. ${rows.map((a) => `${a.name} on ${a.backend}: p50 ${formatUs(a.latencyUs!.p50)}, p99 ${formatUs(a.latencyUs!.p99)}`).join('; ')}.`,
      rows: rows.map((a) => ({ label: `${a.name} · ${a.backend ?? '?'}`, cls: a.role === 'teacher' ? 'teacher' : 'student', ...a.latencyUs! })),
      format: formatUs,
      tickFormat: (v) => trimZeros(formatUs(v)),
      limit: isNum(limitUs) ? { value: limitUs, label: `control period ${formatUs(limitUs)}` } : null,
      table: {
        head: ['artifact', 'backend', 'calls', 'min', 'p50', 'p90', 'p99', 'max'],
        rows: rows.map((a) => {
          const l = a.latencyUs!;
          return [a.name, a.backend ?? DASH, formatNumber(l.calls), formatUs(l.min), formatUs(l.p50), formatUs(l.p90), formatUs(l.p99), formatUs(l.max)];
        }),
        numeric: [2, 3, 4, 5, 6, 7],
      },
    });
  } else html += notRun('no latency figures in this check report.', '');
  html += htmlTable(
    {
      head: ['artifact', 'role', 'backend', 'format', 'agreement', 'max |error| vs desktop', 'return', 'retention'],
      rows: [
        ...c.artifacts.map((a) => [
          a.name,
          a.role ?? DASH,
          a.backend ?? DASH,
          a.format ?? DASH,
          isNum(a.agreement) ? formatPct(a.agreement) : isNum(a.actionRmse) ? `rmse ${sig(a.actionRmse)}` : DASH,
          formatError(a.maxAbsError),
          a.return ? `${sig(a.return.mean)} ± ${sig(a.return.std)}` : DASH,
          formatPct(a.returnRetention, 1),
        ]),
        ...(c.randomReturn ? [['random', DASH, DASH, DASH, DASH, DASH, `${sig(c.randomReturn.mean)} ± ${sig(c.randomReturn.std)}`, '0%']] : []),
      ],
      numeric: [4, 5, 6, 7],
    },
    'data device-table',
  );
  const failed = c.budgets.filter((b) => !b.passed).length;
  html += c.budgets.length ? `<h3>Budgets <span class="meta">${c.budgets.length - failed} of ${c.budgets.length} passed</span></h3>${budgetMatrix(c.budgets)}` : notRun('no budgets in this check report.', '');
  return `${html}</div>`;
}

function devicesSection(d: ReportData): string {
  const head = '<h2>On the devices</h2>';
  if (d.checks.length === 0) {
    return `<section class="panel" id="devices">${head}${notRun('no device check yet.', 'Flash a bundle, run <code>edgedistill-device check</code> on the device, then <code>edgedistill report --dir OUT --add check-report.json</code>.')}</section>`;
  }
  const lede = `<p class="lede">Each device ran its bundle's check: latency of one call at batch 1 per artifact and backend, agreement and returns against the teacher, and the budgets from its device profile.</p>`;
  return `<section class="panel" id="devices">${head}${lede}${d.checks
    .map((c) => {
      const limit = c.budgets.find((b) => /latency/i.test(b.name))?.limit ?? d.bundles.find((b) => b.device === c.device)?.budgets?.controlPeriodUs ?? null;
      return deviceBlock(c, limit);
    })
    .join('')}</section>`;
}

function bundlesSection(d: ReportData): string {
  if (d.bundles.length === 0) return '';
  const budgets = (b: Readonly<Record<string, number>> | null) =>
    b
      ? [
          isNum(b.controlPeriodUs) ? `p99 ≤ ${formatUs(b.controlPeriodUs)}` : null,
          isNum(b.maxRssMiB) ? `RSS ≤ ${b.maxRssMiB} MiB` : null,
          isNum(b.minAgreement) ? `agreement ≥ ${formatPct(b.minAgreement, 0)}` : null,
          isNum(b.minReturnRetention) ? `retention ≥ ${formatPct(b.minReturnRetention, 0)}` : null,
        ]
          .filter(Boolean)
          .join(', ')
      : DASH;
  return `<section class="panel" id="bundles"><h2>Bundles</h2>${htmlTable({
    head: ['device', 'directory', 'environment', 'artifacts (backend)', 'files', 'size', 'budgets'],
    rows: d.bundles.map((b) => [b.device, b.dir, b.envId ?? DASH, b.artifacts.map((a) => `${a.name} (${a.backend})`).join(', '), String(b.files), formatBytes(b.bytes), budgets(b.budgets)]),
    numeric: [4, 5],
    wrap: [1, 3, 6],
  })}</section>`;
}

function compressCell(key: string, v: string | number | boolean | null): string {
  if (v === null) return DASH;
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'string') return v;
  if (/bytes/i.test(key)) return formatBytes(v);
  if (/agreement|retention|sparsity|share|ratio|fraction/i.test(key) && v >= 0 && v <= 1) return formatPct(v);
  if (/err/i.test(key)) return formatError(v);
  if (/seconds/i.test(key)) return `${trimZeros(sig(v))} s`;
  return formatNumber(v);
}

function compressSection(d: ReportData): string {
  const head = '<h2>Compression</h2>';
  const c = d.compress;
  if (!c) return `<section class="panel" id="compress">${head}${notRun('no compression report.', 'Run <code>edgedistill compress</code>; it writes <code>compress-report.json</code>.')}</section>`;
  // Columns that say something: none where every row is empty.
  const cols = [...new Set(c.steps.flatMap((r) => Object.keys(r)))].filter((k) => c.steps.some((r) => r[k] !== null && r[k] !== undefined));
  const numeric = cols.map((k, i) => (c.steps.some((r) => typeof r[k] === 'number') ? i : -1)).filter((i) => i >= 0);
  // camelCase keys read as words: wallSeconds -> "wall seconds".
  const words = (k: string) => k.replace(/([a-z])([A-Z])/g, (_m, a: string, b: string) => `${a} ${b.toLowerCase()}`);
  const factList = Object.entries(c.facts).map(([k, v]) => [words(k), compressCell(k, v)] as [string, string]);
  const notes = (c.notes ?? []).length ? `<ul class="notes">${c.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '';
  return `<section class="panel" id="compress">${head}<p class="lede">Each step the compressor tried, in order, with what it measured after it; a step not kept was tried and dropped.</p>${factList.length ? facts(factList) : ''}${
    c.steps.length ? htmlTable({ head: cols, rows: c.steps.map((r) => cols.map((k) => compressCell(k, r[k] ?? null))), numeric, wrap: [0] }, 'data compress') : notRun('no steps.', '')
  }${notes}</section>`;
}

function machineSection(d: ReportData): string {
  const m = d.machine;
  const rows: string[][] = [
    ['report built on', m.hostname ?? DASH, m.cpu ?? DASH, isNum(m.cores) ? String(m.cores) : DASH, [m.os, m.arch].filter(Boolean).join(' ') || DASH, m.node ?? DASH, formatDate(m.date)],
    ...d.checks.map((c) => [`device ${c.device}`, c.platform.hostname ?? DASH, [c.platform.board, c.platform.cpu].filter(Boolean).join(', ') || DASH, isNum(c.platform.cores) ? String(c.platform.cores) : DASH, [c.platform.os, c.platform.arch].filter(Boolean).join(' ') || DASH, c.platform.node ?? DASH, formatDate(c.date)]),
  ];
  const distilled = d.distill ? `<p class="lede">Distillation ran on ${esc(d.distill.backend)} and took ${esc(sig(d.distill.wallSeconds))} s.</p>` : '';
  return `<section class="panel" id="machine"><h2>Machines</h2>${distilled}${htmlTable({ head: ['role', 'host', 'CPU', 'cores', 'OS', 'Node', 'date'], rows, numeric: [3], wrap: [2, 4] })}</section>`;
}

export function renderReportHtml(d: ReportData): string {
  const when = formatDate(d.generatedAt);
  const sub = [d.distill ? `${d.distill.student.hidden.join('×')} student` : null, d.teacher ? `teacher ${d.teacher.name}` : null, `${d.checks.length} device check${d.checks.length === 1 ? '' : 's'}`].filter(Boolean).join(' · ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="edgedistill report (${esc(d.schema)})">
<title>${esc(d.title)}</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<main>
<header class="top"><div class="eyebrow">edgedistill report</div><h1>${esc(d.env ?? 'Policy distillation')}: student vs teacher</h1><p class="meta">${esc(sub)}</p><p class="meta">Built ${esc(when)} on ${esc(machineLine(d.machine) || 'an unknown machine')}${d.machine.hostname ? ` (${esc(d.machine.hostname)})` : ''}.</p></header>
${summaryCards(d)}
${distillSection(d)}
${returnsSection(d)}
${artifactsSection(d)}
${devicesSection(d)}
${bundlesSection(d)}
${compressSection(d)}
${machineSection(d)}
<footer><div>Data from ${d.sources.length} file${d.sources.length === 1 ? '' : 's'}${d.sources.length ? ':' : '.'}</div>${d.sources.length ? `<ul>${d.sources.map((s) => `<li><code>${esc(s)}</code></li>`).join('')}</ul>` : ''}<div>Schema ${esc(d.schema)}. The same data is in report.json next to this file (report-data.json in a distill output directory).</div></footer>
</main>
</body>
</html>
`;
}
