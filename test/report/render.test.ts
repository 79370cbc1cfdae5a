import { describe, expect, it } from 'vitest';
import { buildReport, renderReportHtml, type MachineFacts, type ReportData } from '../../pipeline/src/report/index.js';
import { ARTIFACTS, ARTIFACTS_JSON, COMPRESS, CURVE_POINTS, DEVICES, bundleManifest, checkReport, distillReport } from './fixtures.js';

const machine: MachineFacts = { hostname: 'desk', cpu: 'AMD EPYC', board: null, cores: 2, arch: 'x64', os: 'linux 6.18', node: 'v20.20.2', memMiB: 24106 };
const at = '2026-11-27T20:00:00.000Z';

function full(): ReportData {
  return buildReport({
    machine,
    generatedAt: at,
    distill: { data: distillReport(), file: 'report.json' },
    artifacts: { data: ARTIFACTS_JSON, file: 'export/artifacts.json' },
    compress: { data: COMPRESS, file: 'compress-report.json' },
    bundles: [{ data: bundleManifest('rpi4-arm64', 2000), file: 'bundles/rpi4-arm64/manifest.json' }],
    checks: DEVICES.map((d) => ({ data: checkReport(d), file: `${d.device}/check-report.json` })),
  });
}

/** The markup of one chart (the wide variant for row charts). */
function svgOf(html: string, chart: string): string {
  const m = new RegExp(`<svg[^>]*data-chart="${chart}"[\\s\\S]*?</svg>`).exec(html);
  if (!m) throw new Error(`no chart ${chart}`);
  return m[0];
}
const count = (s: string, re: RegExp) => (s.match(re) ?? []).length;

describe('renderReportHtml', () => {
  const html = renderReportHtml(full());

  it('is one self-contained file: no scripts, no external URLs, no stylesheets or fonts to fetch', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(src|href|xlink:href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/@import|url\(/i);
    expect(count(html, /<style>/g)).toBe(1);
  });

  it('draws every chart with a title, a description and a numbers table', () => {
    const charts = ['curve-agreement', 'curve-loss', 'returns', 'sizes', 'latency-rpi4-arm64-rpi4-lab', 'latency-jetson-orin-nano-orin-01'];
    for (const c of charts) {
      const svg = svgOf(html, c);
      expect(svg).toMatch(new RegExp(`<title id="${c}-t">[^<]+</title><desc id="${c}-d">[^<]{20,}</desc>`));
      expect(svg).toContain(`aria-labelledby="${c}-t ${c}-d"`);
      expect(html).toMatch(new RegExp(`<figure class="chart-figure[^"]*" id="${c}">[\\s\\S]*?<details><summary>Numbers</summary><div class="table-wrap"><table`));
    }
    expect(count(html, /<svg /g)).toBe(charts.length + 3); // row charts (sizes, 2 x latency) also have a compact variant
  });

  it('has one point per curve check, one bar per policy and artifact, four marks per latency row', () => {
    expect(count(svgOf(html, 'curve-agreement'), /class="point"/g)).toBe(CURVE_POINTS);
    expect(count(svgOf(html, 'curve-loss'), /class="point"/g)).toBe(CURVE_POINTS);
    expect(count(svgOf(html, 'curve-agreement'), /class="series /g)).toBe(1);
    const returns = svgOf(html, 'returns');
    expect(count(returns, /class="bar /g)).toBe(3);
    expect(count(returns, /class="whisker"/g)).toBe(2); // the teacher's std is 0: no whisker
    // The teacher's file (from the bundle) and every exported artifact.
    expect(count(svgOf(html, 'sizes'), /class="bar /g)).toBe(ARTIFACTS.length + 1);
    expect(count(svgOf(html, 'sizes'), /class="bar teacher"/g)).toBe(1);
    expect(count(svgOf(html, 'sizes-c'), /class="bar /g)).toBe(ARTIFACTS.length + 1);
    expect(count(svgOf(html, 'latency-rpi4-arm64-rpi4-lab'), /class="point mark /g)).toBe(5 * 4);
    expect(count(svgOf(html, 'latency-rpi4-arm64-rpi4-lab'), /class="limit"/g)).toBe(1);
  });

  it('shows the headline figures and the budgets as measured', () => {
    expect(html).toContain('6.82%'); // 4610 / 67586 parameters
    expect(html).toContain('99.1%'); // held-out agreement
    expect(html).toContain('97.3%'); // return retention
    expect(html).toMatch(/30\.0× <small>faster<\/small>/); // 96.4 / 3.21 us on rpi4
    expect(html).toMatch(/24 <small>\/ 26<\/small>/); // two p99 budgets fail on the jetson's 10 us control period
    expect(html).toContain('2 failed on jetson-orin-nano');
    expect(count(html, /class="budget-cell bad"/g)).toBe(2);
    expect(count(html, /class="budget-cell ok"/g)).toBe(22);
    expect(count(html, /<span class="pill bad">FAIL<\/span>/g)).toBe(1); // tflite-fp16's parity gate
    expect(html).toContain('action agreement with the fp32 IR 98.40% &lt; 99%');
    expect(html).toContain('smallest file 5.98 KiB (tflite-int8): 2.2% of 266 KiB'); // tflite-int8, the smallest file that passed parity
    expect(html).toContain('magnitude pruning cost more than 1% agreement');
    expect(html).toContain('4818627d5a47');
  });

  it('escapes every string from the data', () => {
    const evil = '<script>alert(1)</script>';
    const c = checkReport(DEVICES[0]) as { device: string; artifacts: { name: string }[]; budgets: { name: string; artifact: string | null }[] };
    c.device = `<img src=x onerror=alert(1)>`;
    c.artifacts[1].name = evil;
    c.budgets[0].name = `${evil}/p99LatencyUs`;
    c.budgets[0].artifact = evil;
    const d = buildReport({ machine: { ...machine, hostname: '"><b>host</b>' }, generatedAt: at, checks: [{ data: c, file: 'x/<check>.json' }], title: evil });
    const out = renderReportHtml(d);
    expect(out).not.toContain('<script');
    expect(out).not.toContain('<img');
    expect(out).not.toContain('<b>host');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(out).toContain('&lt;check&gt;.json');
    expect(out).toContain('<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>');
  });

  it('says "not run" for every missing part', () => {
    const out = renderReportHtml(buildReport({ machine, generatedAt: at }));
    expect(count(out, /<div class="card missing">/g)).toBe(5);
    expect(count(out, /Not run:/g)).toBe(5); // distill, returns, artifacts, devices, compression
    expect(out).not.toContain('<svg');
    expect(out).toContain('report built on');
  });

  it('with only a distill report: curves and returns, devices not run', () => {
    const d = buildReport({ machine, generatedAt: at, distill: { data: distillReport(), file: 'report.json' } });
    const out = renderReportHtml(d);
    expect(out).toContain('data-chart="curve-agreement"');
    expect(out).toContain('data-chart="returns"');
    expect(out).not.toContain('data-chart="sizes"');
    expect(out).toContain('no device check yet');
    expect(count(out, /<div class="card missing">/g)).toBe(2); // latency, budgets
  });

  it('continuous actions: action error instead of agreement; negative returns draw downward bars', () => {
    const curve = (distillReport().curve as { samples: number; loss: number }[]).map((p, i) => ({ ...p, agreement: null, actionError: 0.4 / (i + 1) }));
    const d = distillReport({
      env: 'Pendulum-v1',
      agreement: null,
      actionError: 0.021,
      targets: { agreement: null, actionError: 0.05, retention: 0.9 },
      curve,
      teacher: { files: ['t.onnx'], sha256: [null], outputKind: 'action', params: 67586, return: { episodes: 100, mean: -152.3, std: 88.1, min: -380, max: -1, seedStart: 0 } },
      student: { hidden: [32, 32], activation: 'tanh', params: 1217, paramRatio: 0.018, return: { episodes: 100, mean: -170.9, std: 95.2, min: -400, max: -2, seedStart: 0 } },
      random: { return: { episodes: 100, mean: -1221.4, std: 301.7, min: -1800, max: -700, seedStart: 0 } },
      returnRetention: 0.983,
    });
    const out = renderReportHtml(buildReport({ machine, generatedAt: at, distill: { data: d } }));
    expect(out).toContain('Held-out action error vs the teacher');
    expect(out).toContain('Action error vs teacher');
    expect(count(svgOf(out, 'curve-agreement'), /class="point"/g)).toBe(CURVE_POINTS);
    const bars = [...svgOf(out, 'returns').matchAll(/<rect class="bar (\w+)" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"/g)];
    expect(bars.map((b) => b[1])).toEqual(['teacher', 'student', 'random']);
    // All bars hang from the zero line at the top: same y, random the longest.
    expect(new Set(bars.map((b) => b[2])).size).toBe(1);
    expect(Number(bars[2][3])).toBeGreaterThan(Number(bars[0][3]) * 5);
  });

  it('degenerate data still renders: one curve point, no metric, no returns, an empty check', () => {
    const one = distillReport({ curve: [{ samples: 256, round: 0, agreement: null, actionError: null, loss: 0.7, lr: 0.002, seconds: 0.1 }], agreement: null, returnRetention: null, teacher: { files: [], sha256: [], outputKind: 'logits', params: null, return: null }, student: { hidden: [8], activation: 'relu', params: 58, paramRatio: null, return: null }, random: { return: null } });
    const c = checkReport(DEVICES[0]) as Record<string, unknown>;
    c.artifacts = [];
    c.budgets = [];
    const out = renderReportHtml(buildReport({ machine, generatedAt: at, distill: { data: one }, checks: [{ data: c }] }));
    expect(out).not.toMatch(/NaN|Infinity|undefined/);
    expect(count(svgOf(out, 'curve-loss'), /class="point"/g)).toBe(1);
    expect(out).not.toContain('data-chart="curve-agreement"'); // nothing to draw
    expect(out).toContain('no latency figures in this check report');
    expect(out).toContain('no returns measured');
  });
});
