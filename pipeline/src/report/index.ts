/** Public entry of the report: ReportData from the stages' files, rendered as one self-contained HTML page. */
export { buildReport, normalizeArtifacts, normalizeBundle, normalizeCheck, normalizeCompress, normalizeDistill, type ReportInputs, type Sourced } from './build.js';
export { renderReportHtml } from './html.js';
export { collectInputs, machineFacts, reportToJson, writeReport, REPORT_HTML, REPORT_JSON, REPORT_DATA_JSON, type WrittenReport } from './load.js';
export * from './types.js';
