/**
 * Reading a bundle .tar.gz on the desktop (flash, tests): its manifest, its id, and every file
 * checked against the manifest before anything is sent anywhere.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { EdgeDistillError, type ErrorDetail } from '@edgedistill/runtime/errors';
import type { BundleManifest } from '../../../runtime/src/bundle/manifest.js';
import { BUNDLE_ID_LENGTH, MANIFEST_FILE } from './build.js';
import { readSafeTarGz, type SafeTarEntry } from '../util/safe-tar.js';

export interface BundleArchive {
  readonly path: string;
  readonly bytes: number;
  /** sha256 of the .tar.gz. */
  readonly sha256: string;
  readonly manifest: BundleManifest;
  readonly manifestBytes: Buffer;
  readonly manifestSha256: string;
  /** Release id on the device: the first 16 hex digits of manifestSha256. */
  readonly id: string;
  /** Regular files (manifest.json included), by path. */
  readonly files: ReadonlyMap<string, Buffer>;
  readonly entries: readonly SafeTarEntry[];
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Reads and verifies a bundle archive: every listed file present with its sha256, nothing unlisted. */
export function readBundleArchive(pathArg: string): BundleArchive {
  const path = resolve(pathArg);
  let gz: Buffer;
  try {
    gz = readFileSync(path);
  } catch (e) {
    throw new EdgeDistillError('IO', `cannot read bundle: ${(e as Error).message}`, { file: path, cause: e });
  }
  // The safe reader refuses '..', absolute paths, links leaving the root, devices, duplicates and
  // oversized archives before anything is written anywhere (the device's tar would follow them).
  const entries = readSafeTarGz(gz, path);
  const link = entries.find((e) => e.type === 'symlink');
  if (link) {
    throw new EdgeDistillError('BAD_CONFIG', `bundle holds a symbolic link (${link.path} -> ${link.linkTarget}); bundles never contain links`, { file: path, field: link.path });
  }
  const files = new Map<string, Buffer>();
  for (const e of entries) if (e.type === 'file') files.set(e.path, e.data);
  const manifestBytes = files.get(MANIFEST_FILE);
  if (!manifestBytes) throw new EdgeDistillError('BAD_CONFIG', `not a bundle: no ${MANIFEST_FILE} inside`, { file: path });
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as BundleManifest;
  } catch (e) {
    throw new EdgeDistillError('BAD_CONFIG', `${MANIFEST_FILE} is not valid JSON: ${(e as Error).message}`, { file: path, field: MANIFEST_FILE });
  }
  if (!manifest || typeof manifest.files !== 'object' || manifest.files === null) {
    throw new EdgeDistillError('BAD_CONFIG', `${MANIFEST_FILE} lists no files`, { file: path, field: 'files' });
  }
  const bad: ErrorDetail[] = [];
  for (const [p, f] of Object.entries(manifest.files)) {
    const b = files.get(p);
    if (!b) bad.push({ file: path, field: `files["${p}"]`, text: `${p} is missing from the archive` });
    else if (b.length !== f.bytes || sha(b) !== f.sha256) bad.push({ file: path, field: `files["${p}"]`, text: `${p} does not match its sha256 in the manifest` });
  }
  for (const p of files.keys()) {
    if (p !== MANIFEST_FILE && !Object.hasOwn(manifest.files, p)) bad.push({ file: path, field: p, text: `${p} is in the archive but not in the manifest` });
  }
  if (bad.length > 0) {
    throw new EdgeDistillError('CHECKSUM', `bundle does not match its manifest: ${bad[0].text}`, { file: path, field: bad[0].field, details: bad });
  }
  const manifestSha256 = sha(manifestBytes);
  return {
    path,
    bytes: gz.length,
    sha256: sha(gz),
    manifest,
    manifestBytes,
    manifestSha256,
    id: manifestSha256.slice(0, BUNDLE_ID_LENGTH),
    files,
    entries,
  };
}
