/** Public entry of distillation: teacher(s) -> small student (IR), with a report. */
export { distill, BACKEND, type DistillOptions, type DistillResult, type DistillReport, type DistillProgress, type CurvePoint } from './distill.js';
export { writeDistillArtifacts, type DistillArtifacts } from './artifacts.js';
export { readDistillCheckpoint, writeDistillCheckpoint, CHECKPOINT_FILE, type DistillCheckpoint } from './checkpoint.js';
export {
  distillMultiTask,
  taskPolicy,
  multiTaskParamCount,
  type MultiTaskPolicy,
  type MultiTaskOptions,
  type MultiTaskReport,
  type TaskHead,
  type TaskReport,
} from './multi-task.js';
export { teacherFromPolicy, openTeacher, describeTeacher, type TeacherLike, type TeacherOutput } from './teacher.js';
export { makeLabelSpec, defaultLoss, defaultTau, type LossName, type LabelSpec } from './labels.js';
export { defaultHidden, STUDENT_SIZES, PREFERRED_STUDENT } from './student.js';
export { evaluateReturns, randomPolicy, type ReturnSummary, type BatchPolicy } from './evaluate.js';
export { readObservations, parseCsv, parseJsonl } from './observations.js';
export { parseNpy, encodeNpy, type Matrix } from './npy.js';
export { MlpTrainer, mlpParamCount, denseForward, denseBackward, type TrainActivation } from './mlp-train.js';
export { Adam, adamUpdate } from './adam.js';
export * from './losses.js';
export { measureTrainerThroughput, type ThroughputResult } from './throughput.js';
export { loadInitStudent, checkInitStudent, foldNormalization, INIT_FLAG, type InitReport } from './init.js';
export { OnlineDistiller, type OnlineDistillOptions, type OnlineInterval, type OnlineSummary } from './online.js';
export { transferStudent, verdict as transferVerdict, type TransferOptions, type TransferResult, type TransferSection, type TransferSide, type FinetuneReport } from './transfer.js';
