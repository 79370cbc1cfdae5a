/** Bundles: one reproducible .tar.gz per (policy, device) with the device runtime, artifacts, golden set and manifest. */
export { createBundle, parseBudgetOverrides, BUNDLE_ID_LENGTH, MANIFEST_FILE, GOLDEN_FILE, type BundleOptions, type BundleResult, type BundleStep } from './build.js';
export { readBundleArchive, type BundleArchive } from './read.js';
export { writeTar, writeTarGz, readTar, readTarGz, gzipDeterministic, archiveMtime, type TarEntry, type ReadTarEntry } from './tar.js';
export { runtimeFiles, packageFileFilter, BACKEND_PACKAGES, type RuntimeFile, type PackageUse } from './runtime-files.js';
export { readExportDir, planArtifacts, formatOfFile, kindOfFormat, backendFor, type SourceArtifact, type PlannedArtifact } from './artifacts.js';
export { buildGoldenSet, type RecordedGoldenSet } from './golden.js';
export { bundleRuntimeEntry, RUNTIME_ENTRY_PATH, DEFAULT_RUNTIME_ENTRY } from './entry.js';
