/** Public entry of the orchestrator: a config -> every stage -> OUT/report.html and a summary. */
export { runPipeline, shown, STAGE_DIRS, RUN_JSON, type RunOptions, type RunProgress, type RunResult, type RunFailure } from './run.js';
export { loadRunConfig, resolveConfig, parseConfigText, readConfigFile, schemaProblems, describeSchema, formatPath, exampleConfigs, shippedTeachers, shippedTeacherFile, DEFAULT_CONFIG, ALL_FORMATS, HOST_DEVICE, SCHEMA_FILE, type RunConfig, type ResolveOptions } from './config.js';
export { buildSummary, figureLines, stageRows, bytesText, pct, STAGES, type RunSummary, type StageName, type StageRecord, type StageOutputs } from './summary.js';
export { hostProfile, matchHostProfile, deviceTreeModel, type HostMatch } from './host.js';
export { unpackBundle, runDeviceCheck, type DeviceCheckOptions, type DeviceCheckResult } from './device-check.js';
export { writeRunReport, runSectionHtml, withRunSection } from './report.js';
