/**
 * Writes a distillation's artifacts into one directory, each atomically (temp file, fsync,
 * rename): student.onnx (through the project's ONNX writer), policy.json (IR + card) and
 * report.json. A crash leaves either the old file or the new one, never half of one.
 */
import { join } from 'node:path';
import { makeEnv, type Env, type EnvOptions } from '@edgedistill/runtime/envs';
import type { PolicyModel } from '../ir/types.js';
import { writePolicyFile } from '../ir/serialize.js';
import { writeOnnx } from '../onnx/write.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { DistillReport } from './distill.js';

export interface DistillArtifacts {
  onnx: string;
  policy: string;
  report: string;
  onnxSha256: string;
}

/** `report` is distill's report, or another student report with the same role (PPO fine-tuning's). */
export async function writeDistillArtifacts(dir: string, student: PolicyModel, report: DistillReport | (object & { loss?: string | null })): Promise<DistillArtifacts> {
  const env = student.envId ? envOrNull(student.envId, student.card?.envOptions as EnvOptions | undefined) : null;
  const onnx = join(dir, 'student.onnx');
  const policy = join(dir, 'policy.json');
  const reportPath = join(dir, 'report.json');
  const written = await writeOnnx(onnx, student, {
    observationSpace: env?.observationSpace ?? null,
    actionSpace: env?.actionSpace ?? null,
    docString: `edgedistill student${student.envId ? ` for ${student.envId}` : ''} (${report.loss ? `distilled, ${report.loss} loss` : 'fine-tuned with ppo'})`,
  });
  await writePolicyFile(policy, student);
  await writeFileAtomic(reportPath, `${JSON.stringify(report, null, 2)}\n`);
  return { onnx, policy, report: reportPath, onnxSha256: written.sha256 };
}

/** The env for its spaces in the ONNX metadata; an id that is not registered here just leaves them out. */
function envOrNull(id: string, options?: EnvOptions): Env | null {
  try {
    return makeEnv(id, options);
  } catch {
    return null;
  }
}
