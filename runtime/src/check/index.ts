/**
 * The on-device check (`edgedistill-device check`): `runCheck` measures a bundle's teacher and
 * students on this device and compares the figures with the manifest's budgets; the report is
 * `check-report.json` (format `edgedistill.check-report/1`).
 */
export { runCheck, CHECK_DEFAULTS, type CheckOptions, type CheckPhase, type CheckProgress } from './run.js';
export {
  CHECK_REPORT_FILE,
  CHECK_REPORT_FORMAT,
  evaluateBudgets,
  formatReport,
  summaryLine,
  writeCheckReport,
  writeFileAtomic,
  type ArtifactReport,
  type BudgetResult,
  type CheckReport,
} from './report.js';
export {
  MANIFEST_FILE,
  bundlePathProblem,
  manifestProblems,
  readBundleManifest,
  readGoldenSet,
  sha256File,
  verifyBundleFiles,
  type ReadBundle,
} from './bundle.js';
export { measureLatency, packRows, timerOverheadUs, type LatencyOptions, type LatencyResult } from './latency.js';
export { policyReturns, randomReturns, type ReturnStats } from './episodes.js';
export { platformFacts, peakRssMiB, type PlatformFacts } from './platform.js';
export { actionAgreement, actionRmse, maxAbsError, meanStd, percentileSorted, returnRetention, summarizeLatency, type LatencySummary } from './stats.js';
export { main as deviceCliMain, EXIT as DEVICE_EXIT, exitCodeFor as deviceExitCodeFor } from './cli.js';
export { DEVICE_CLI_EXTERNALS, deviceCliBuildOptions, deviceCliEntry } from './device-cli-build.js';
