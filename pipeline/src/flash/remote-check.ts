/**
 * `edgedistill check --target`: run the on-device check on the current release and bring its
 * report back. Read-only on the device apart from the report the check writes into the release.
 * A dir: target is refused (the check needs the device's CPU).
 */
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { CHECK, splitCheckOutput } from './remote-scripts.js';
import { NO_CHECK, summarizeCheck, type RemoteCheckResult } from './result.js';
import { saveReport } from './save-report.js';
import { parseKeyValues, runRemoteScript, sshErrorText, type SshOptions } from './ssh.js';
import type { Target } from './target.js';

export interface CheckOptions extends SshOptions {
  /** Deploy path when the target has none (default /home/pi/edgedistill). */
  readonly deployPath?: string;
  /** Node on the device when the target has no ?node=; default: the current manifest's nodePath. */
  readonly nodePath?: string;
  readonly checkArgs?: readonly string[];
  readonly checkTimeoutSeconds?: number;
  /** Save reports under OUT/<label>/check-report.json. */
  readonly outDir?: string;
  readonly onProgress?: (detail: string) => void;
}

export const DEFAULT_DEPLOY_PATH = '/home/pi/edgedistill';

export async function checkRemote(t: Target, o: CheckOptions = {}): Promise<RemoteCheckResult> {
  const t0 = Date.now();
  const done = (release: string | null, check: RemoteCheckResult['check'], error: string | null): RemoteCheckResult => {
    o.onProgress?.(error ? `failed: ${error}` : check.passed ? 'passed' : 'check failed');
    return { target: t.raw, label: t.label, ok: error === null && check.passed === true, release, check, error, seconds: (Date.now() - t0) / 1000 };
  };
  if (t.kind === 'dir') return done(null, NO_CHECK, 'dir: targets cannot be checked from here (the check needs the device); use ssh://');
  try {
    o.onProgress?.('running the check');
    const r = await runRemoteScript(t, o, CHECK, [t.path ?? o.deployPath ?? DEFAULT_DEPLOY_PATH, t.node ?? o.nodePath ?? '-', ...(o.checkArgs ?? [])], {
      timeoutMs: (o.checkTimeoutSeconds ?? 3600) * 1000,
    });
    const parts = splitCheckOutput(r.stdout);
    const kv = parseKeyValues(parts.head);
    if (r.code !== 0 || !kv.has('checkrc')) throw new EdgeDistillError('DEVICE', kv.get('error') ?? sshErrorText(r));
    let check = summarizeCheck(Number(kv.get('checkrc')), parts.checkStdout, parts.checkStderr);
    if (o.outDir && check.report) check = { ...check, savedTo: await saveReport(o.outDir, t.label, check.report) };
    return done(kv.get('current') ?? null, check, check.report ? null : check.error);
  } catch (e) {
    return done(null, NO_CHECK, e instanceof EdgeDistillError ? e.message : String((e as Error)?.message ?? e));
  }
}
