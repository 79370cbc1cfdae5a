/** Public entry of compression: pruning, weight sharing, int8 / fp16, fusion, and the compress report. */
export { compress, machineName, type CompressOptions, type CompressResult, type CompressProgress, type PruneSpec } from './compress.js';
export { readCompressInput, writeCompressArtifacts, type CompressInput, type CompressArtifacts } from './artifacts.js';
export { formatTable, type CompressReport, type StepRow, type StepKind } from './report.js';
export { autoShrink, nextWidths, type AutoShrinkOptions, type AutoShrinkResult, type ShrinkAttempt } from './auto-shrink.js';
export { structuredPrune, pruneUnits, selectUnits, shrinkWidths, hiddenOf, type StructuredPruneOptions } from './structured.js';
export { unitImportance, allUnitImportance, hiddenActivations, unitStats, type ImportanceMethod } from './importance.js';
export { magnitudeMasks, applyMasks, zeroMasks, sparsityOf, type SparsityScope, type Sparsity } from './magnitude.js';
export { kmeans1d, kmeansPlusPlusInit, type KMeansResult } from './kmeans.js';
export { shareWeights, withoutCodebooks, type ShareResult } from './share.js';
export { roundModelToFloat16, roundToFloat16 } from './fp16.js';
export { fuseEnsemble, ensembleForward, ensembleTeacher, type EnsembleMode } from './fusion.js';
export { quantizeInt8, type Int8Outcome, type Int8Trial, type Int8Options } from './quantize.js';
export { TunableMlp, type LayerParam, type FakeQuantSpec } from './net.js';
export { finetune, type FinetuneOptions, type FinetuneResult, type HeadInfo } from './finetune.js';
export { createContext, evaluateCandidate, heldOutMetrics, candidateOutputs, type Candidate, type CompressContext, type Evaluation } from './context.js';
export { float32Bytes, float16Bytes, codebookBytes, sparseBytes, int8Bytes, textBytes, gzipSize, type ByteCount } from './size.js';
export { makeCompressTargets, makeCompressLabeler } from './labels.js';
export { equalizeInputs, equalizeReluUnits } from './equalize.js';
