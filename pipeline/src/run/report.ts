/**
 * OUT/report.html and OUT/report.json for a run, through pipeline/src/report: the stages' own
 * files (distill/report.json, compress/compress-report.json, export/artifacts.json, each bundle's
 * manifest, the host's check-report.json) given explicitly, so nothing stale elsewhere under OUT
 * is merged in. The run's stage table (times) and figures go in as a "Run" section of the page
 * and a `run` member of report.json (the rest of report.json is the report's own schema).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { htmlTable } from '../report/charts.js';
import { esc } from '../report/format.js';
import { buildReport, machineFacts, renderReportHtml, reportToJson, REPORT_HTML, REPORT_JSON, type Sourced } from '../report/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { figureLines, stageRows, type RunSummary } from './summary.js';

export interface RunReportInputs {
  readonly out: string;
  readonly distillReport: string | null;
  readonly compressReport: string | null;
  readonly artifacts: string | null;
  /** Bundle .tar.gz files with their manifest (parsed). */
  readonly bundles: readonly { readonly file: string; readonly manifest: unknown }[];
  readonly checkReport: string | null;
  readonly teacherFile: string | null;
  readonly title: string;
}

function sourced(out: string, file: string | null): Sourced | null {
  if (!file || !existsSync(file)) return null;
  try {
    return { data: JSON.parse(readFileSync(file, 'utf8')), file: relative(out, file) };
  } catch (e) {
    throw new EdgeDistillError('BAD_CONFIG', `not valid JSON: ${(e as Error).message}`, { file });
  }
}

/** The run section: stage table with times, then the figures. */
export function runSectionHtml(s: RunSummary): string {
  const verdict = s.ok
    ? '<span class="pill ok">run passed</span>'
    : `<span class="pill bad">FAILED at ${esc(s.failedStage)}</span>`;
  const lede = `<p class="lede">${verdict} Every stage of <code>edgedistill run</code> with its wall time on this machine (${esc(s.wallSeconds.toFixed(1))} s in all).${
    s.failure ? ` ${esc(s.failedStage)}: ${esc(s.failure)}` : ''
  }</p>`;
  const table = htmlTable({ head: ['stage', 'status', 'time', 'what it did'], rows: stageRows(s), numeric: [2], wrap: [3] });
  const figures = `<ul class="notes">${figureLines(s)
    .map((l) => `<li>${esc(l)}</li>`)
    .join('')}</ul>`;
  return `<section class="panel" id="run"><h2>Run</h2>${lede}${table}${figures}</section>`;
}

/** Inserts the run section after the summary cards (before the first panel). */
export function withRunSection(html: string, section: string): string {
  const at = html.indexOf('<section class="panel"');
  return at < 0 ? html.replace('</main>', `${section}\n</main>`) : `${html.slice(0, at)}${section}\n${html.slice(at)}`;
}

export async function writeRunReport(i: RunReportInputs, summary: RunSummary): Promise<{ html: string; json: string }> {
  let teacher: { bytes: number } | null = null;
  if (i.teacherFile) {
    try {
      teacher = { bytes: statSync(i.teacherFile).size };
    } catch {
      teacher = null;
    }
  }
  const data = buildReport({
    distill: sourced(i.out, i.distillReport),
    compress: sourced(i.out, i.compressReport),
    artifacts: sourced(i.out, i.artifacts),
    bundles: i.bundles.map((b) => ({ data: b.manifest, file: `${relative(i.out, b.file)}/manifest.json` })),
    checks: [sourced(i.out, i.checkReport)].filter((x): x is Sourced => x !== null),
    teacher,
    machine: machineFacts(),
    title: i.title,
  });
  const html = join(i.out, REPORT_HTML);
  const json = join(i.out, REPORT_JSON);
  // report.json: the report's data (its own JSON form) with the run's stages and figures as `run`.
  const withRun = { ...(JSON.parse(reportToJson(data)) as Record<string, unknown>), run: summary };
  await writeFileAtomic(json, `${JSON.stringify(withRun, null, 2)}\n`);
  await writeFileAtomic(html, withRunSection(renderReportHtml(data), runSectionHtml(summary)));
  return { html, json };
}
