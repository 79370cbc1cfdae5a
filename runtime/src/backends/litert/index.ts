/** LiteRT.js backend: load the runtime in Node, open and run .tflite policies with checked outputs. */
export { loadLiteRt, liteRtWasmDir, LiteRtLog, type LoadedLiteRt } from './load.js';
export {
  openTfliteModel,
  METADATA_NAME,
  type TfliteModel,
  type TfliteTensorInfo,
  type TfliteExpectation,
  type OpenTfliteOptions,
  type LiteRtDType,
} from './model.js';
export { readTfliteFile, type TfliteFileInfo } from './tflite-file.js';
