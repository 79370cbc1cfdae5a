/**
 * The edges of compress: reading a directory written by `edgedistill distill` (policy.json, whose
 * card names the teacher file(s) and env; report.json for the evaluation episodes and seeds), finding
 * the teacher, and writing OUT/policy.json, OUT/policy-int8.json and OUT/compress-report.json, each
 * atomically (temp file, fsync, rename).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { readPolicyFile, writePolicyFile } from '../ir/serialize.js';
import type { PolicyModel } from '../ir/types.js';
import { writeQuantizedFile } from '../quant/serialize-int8.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { CompressResult } from './compress.js';

export interface CompressInput {
  dir: string;
  policy: PolicyModel;
  policyFile: string;
  /** Teacher file(s): from --teacher, else from the card (resolved), with the card's hashes. */
  teacherFiles: string[];
  teacherSha256: (string | null)[];
  envId: string | null;
  episodes: number | undefined;
  evalSeed: number | undefined;
  randomSeed: number | undefined;
}

const sha256File = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

/** A card's teacher path: as written, else relative to the policy directory (and its parents). */
function resolveTeacherPath(p: string, dir: string): string | null {
  if (isAbsolute(p)) return existsSync(p) ? p : null;
  for (const base of [process.cwd(), dir, dirname(dir), dirname(dirname(dir))]) {
    const c = resolve(base, p);
    if (existsSync(c)) return c;
  }
  return null;
}

export async function readCompressInput(dir: string, teacher?: string | readonly string[] | null): Promise<CompressInput> {
  const policyFile = join(dir, 'policy.json');
  if (!existsSync(policyFile)) {
    throw new EdgeDistillError('BAD_ARGUMENT', 'no policy.json here: --policy takes the directory `edgedistill distill --out` wrote', {
      file: policyFile,
      field: '--policy',
    });
  }
  const policy = await readPolicyFile(policyFile);
  let report: Record<string, unknown> | null = null;
  const reportFile = join(dir, 'report.json');
  if (existsSync(reportFile)) {
    try {
      report = JSON.parse(await readFile(reportFile, 'utf8')) as Record<string, unknown>;
    } catch (e) {
      throw new EdgeDistillError('BAD_ARGUMENT', `not valid JSON: ${(e as Error).message}`, { file: reportFile });
    }
  }
  const card = policy.card;
  const cardTeachers = Array.isArray(card.teacher) ? (card.teacher as { file?: unknown; sha256?: unknown }[]) : [];
  let teacherFiles: string[];
  let teacherSha256: (string | null)[];
  const given = teacher === null || teacher === undefined ? [] : typeof teacher === 'string' ? [teacher] : [...teacher];
  if (given.length > 0) {
    for (const f of given) if (!existsSync(f)) throw new EdgeDistillError('BAD_ARGUMENT', 'teacher file not found', { file: f, field: '--teacher' });
    teacherFiles = given;
    teacherSha256 = given.map(() => null);
  } else {
    if (cardTeachers.length === 0) {
      throw new EdgeDistillError('BAD_ARGUMENT', 'the policy card names no teacher', { file: policyFile, field: 'card.teacher', suggestion: 'pass --teacher FILE' });
    }
    teacherFiles = cardTeachers.map((t, i) => {
      const p = typeof t.file === 'string' ? resolveTeacherPath(t.file, dir) : null;
      if (!p) {
        throw new EdgeDistillError('BAD_ARGUMENT', `teacher ${JSON.stringify(t.file)} named by the card was not found`, {
          file: policyFile,
          field: `card.teacher.${i}.file`,
          suggestion: 'pass --teacher FILE',
        });
      }
      return p;
    });
    teacherSha256 = cardTeachers.map((t) => (typeof t.sha256 === 'string' ? t.sha256 : null));
    for (let i = 0; i < teacherFiles.length; i++) {
      const want = teacherSha256[i];
      if (want && (await sha256File(teacherFiles[i])) !== want) {
        throw new EdgeDistillError('BAD_ARGUMENT', 'the teacher file changed since distillation (sha256 differs from the card)', {
          file: teacherFiles[i],
          field: `card.teacher.${i}.sha256`,
          suggestion: 'pass --teacher FILE to compress against this teacher anyway',
        });
      }
    }
  }
  const ret = (report?.teacher as { return?: { episodes?: unknown; seedStart?: unknown } } | undefined)?.return;
  const num = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);
  const seed = num(report?.seed) ?? num(card.seed);
  return {
    dir,
    policy,
    policyFile,
    teacherFiles,
    teacherSha256,
    envId: policy.envId ?? (typeof card.env === 'string' ? card.env : null),
    episodes: num(ret?.episodes),
    evalSeed: num(ret?.seedStart),
    randomSeed: seed === undefined ? undefined : seed + 1,
  };
}

export interface CompressArtifacts {
  policy: string;
  int8: string | null;
  report: string;
}

export async function writeCompressArtifacts(out: string, r: CompressResult): Promise<CompressArtifacts> {
  const policy = join(out, 'policy.json');
  const report = join(out, 'compress-report.json');
  await writePolicyFile(policy, r.model);
  let int8: string | null = null;
  if (r.quantized) {
    int8 = join(out, 'policy-int8.json');
    await writeQuantizedFile(int8, r.quantized);
  }
  await writeFileAtomic(report, `${JSON.stringify(r.report, null, 2)}\n`);
  return { policy, int8, report };
}
