import type { Command } from 'commander';
import { EXIT_HELP } from '../exit-codes.js';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { withBar } from '../progress.js';
import { action, bold, parseNumber, printJson } from '../shared.js';

interface CompressFlags {
  policy: string[];
  teacher?: string[];
  env?: string;
  envOption: string[];
  prune?: string;
  importance?: string;
  scope?: string;
  share?: string;
  quantize?: string;
  autoShrink?: boolean;
  qat?: boolean;
  inputBits?: string;
  percentile?: string;
  outputMargin?: string;
  targetAgreement?: string;
  targetRetention?: string;
  seed: string;
  out: string;
  json?: boolean;
  quiet?: boolean;
}

const repeat = (v: string, acc?: string[]) => [...(acc ?? []), v];


/** "structured:0.5" | "unstructured:0.8" -> PruneSpec. */
function parsePrune(v: string, importance?: string, scope?: string) {
  const m = /^(structured|unstructured):([0-9.]+)$/.exec(v);
  const x = m ? Number(m[2]) : NaN;
  if (!m || !(x > 0 && x < 1)) {
    throw new EdgeDistillError('BAD_ARGUMENT', `--prune expects structured:FRACTION or unstructured:SPARSITY with a number in (0, 1), got "${v}"`, { field: '--prune', suggestion: 'e.g. --prune structured:0.5' });
  }
  if (importance && !['l1', 'l2', 'activation'].includes(importance)) throw new EdgeDistillError('BAD_ARGUMENT', `--importance must be l1, l2 or activation, got "${importance}"`, { field: '--importance' });
  if (scope && !['global', 'layer'].includes(scope)) throw new EdgeDistillError('BAD_ARGUMENT', `--scope must be global or layer, got "${scope}"`, { field: '--scope' });
  return m[1] === 'structured'
    ? { kind: 'structured' as const, fraction: x, method: importance as 'l1' | 'l2' | 'activation' | undefined }
    : { kind: 'unstructured' as const, sparsity: x, scope: scope as 'global' | 'layer' | undefined };
}

export function register(program: Command): void {
  program
    .command('compress')
    .description('Prune, share weights, quantize (int8 / fp16) or fuse distilled students, fine-tuning each step against the teacher; writes OUT/policy.json, OUT/policy-int8.json (int8) and OUT/compress-report.json.')
    .requiredOption('--policy <dir>', 'directory written by `edgedistill distill` (repeat to fuse several students into one)', repeat)
    .option('--teacher <file>', 'teacher .onnx (default: the file named by the policy card; repeat for several)', repeat)
    .option('--env <id>', 'environment id (default: the policy card)')
    .option('--env-option <key=value>', 'environment option (repeatable), e.g. --env-option gravity=12: collect states and score returns on a variant; an unknown key or bad value exits 2 naming it', repeat, [] as string[])
    .option('--prune <spec>', 'structured:FRACTION (remove that fraction of hidden units) or unstructured:SPARSITY (zero that fraction of weights)')
    .option('--importance <m>', 'structured pruning unit importance: l1 | l2 | activation (default activation)')
    .option('--scope <s>', 'unstructured pruning: global | layer (default global)')
    .option('--share <k>', 'weight sharing: k-means codebook of k (2..256) centroids per layer')
    .option('--quantize <q>', 'int8 | fp16')
    .option('--auto-shrink', 'search for the smallest student that still meets the targets (PoPS-style)')
    .option('--qat', 'quantization-aware fine-tuning even when post-training int8 meets the targets')
    .option('--input-bits <b>', 'int8 input quantization: auto (default: 12 bits when 8 miss the targets), 8 or 12')
    .option('--percentile <p>', 'int8 percentile calibration (default 99.99)')
    .option('--output-margin <m>', 'int8 output range widened by this fraction on each side (default 0.1)')
    .option('--target-agreement <a>', 'agreement target for discrete actions (default 0.99; 0 turns it off)')
    .option('--target-retention <r>', 'return retention target (default 0.99)')
    .option('--seed <n>', 'seed of data, clustering and fine-tuning', '0')
    .requiredOption('--out <dir>', 'output directory')
    .option('--json', 'print the report as JSON')
    .option('--quiet', 'print nothing but errors and the result')
    .addHelpText('after', `\n${EXIT_HELP}\n\nExamples:\n  $ edgedistill compress --policy runs/cp-student --auto-shrink --quantize int8 --out runs/cp-small\n  $ edgedistill compress --policy runs/cp-student --prune unstructured:0.8 --share 16 --out runs/cp-sparse --json`)
    .action(
      action(async (opts: CompressFlags) => {
        const { compress, formatTable, readCompressInput, writeCompressArtifacts } = await import('../../compress/index.js');
        const { openTeacher } = await import('../../distill/index.js');
        if (opts.quantize !== undefined && !['int8', 'fp16'].includes(opts.quantize)) throw new EdgeDistillError('BAD_ARGUMENT', `--quantize must be int8 or fp16, got "${opts.quantize}"`, { field: '--quantize' });
        const num = (flag: string, v?: string) => (v === undefined ? undefined : parseNumber(flag, v));
        if (opts.inputBits !== undefined && !['auto', '8', '12'].includes(opts.inputBits)) {
          throw new EdgeDistillError('BAD_ARGUMENT', `--input-bits must be auto, 8 or 12, got "${opts.inputBits}"`, { field: '--input-bits' });
        }
        const inputBits = opts.inputBits === undefined || opts.inputBits === 'auto' ? undefined : (Number(opts.inputBits) as 8 | 12);
        const prune = opts.prune ? parsePrune(opts.prune, opts.importance, opts.scope) : null;
        const inputs: Awaited<ReturnType<typeof readCompressInput>>[] = [];
        for (const dir of opts.policy) inputs.push(await readCompressInput(dir, opts.teacher));
        // --env-option pairs, checked against the env when it is known (else compress checks them).
        const { parseEnvOptionPairs, parseEnvOptions } = await import('../../train/env-options.js');
        const envId = opts.env ?? inputs[0].envId;
        const envOptions = envId ? parseEnvOptions(envId, opts.envOption) : parseEnvOptionPairs(opts.envOption);
        // One tick per reported step; the total grows when more steps come than expected.
        const spec = { format: 'compress {bar} {value} steps | {duration_formatted} | {phase}: {detail}', total: 8, fields: { phase: 'start', detail: '' } };
        const teachers: Awaited<ReturnType<typeof openTeacher>>[] = [];
        try {
          for (const f of inputs[0].teacherFiles) teachers.push(await openTeacher(f));
          const r = await withBar(opts, spec, (bar) => compress({
            policy: inputs.map((i) => i.policy),
            teacher: teachers,
            envId: opts.env ?? inputs[0].envId,
            envOptions,
            prune,
            share: num('--share', opts.share),
            quantize: opts.quantize as 'int8' | 'fp16' | undefined,
            autoShrink: opts.autoShrink,
            qat: opts.qat,
            inputBits,
            percentile: num('--percentile', opts.percentile),
            outputMargin: num('--output-margin', opts.outputMargin),
            targets: { agreement: num('--target-agreement', opts.targetAgreement), retention: num('--target-retention', opts.targetRetention) },
            episodes: inputs[0].episodes,
            evalSeed: inputs[0].evalSeed,
            randomSeed: inputs[0].randomSeed,
            seed: parseNumber('--seed', opts.seed),
            source: opts.policy.join(','),
            onProgress: bar.active
              ? (p) => {
                  if (p.rows + 1 > bar.getTotal()) bar.setTotal(p.rows + 4);
                  bar.update(p.rows, { phase: p.phase, detail: p.detail.slice(0, 80) });
                }
              : undefined,
          }));
          const files = await writeCompressArtifacts(opts.out, r);
          if (opts.json) return printJson(r.report);
          if (opts.quiet) return;
          console.log(formatTable(r.report));
          const res = r.report.result;
          console.log(`${bold(r.report.env)}: ${res.hidden.join('x')} (${res.params} params, ${res.paramRatio !== null ? `${(res.paramRatio * 100).toFixed(2)}% of the teacher` : 'teacher size unknown'}), ${res.semantics}, ${res.targetsMet ? 'targets met' : 'targets missed'}; ${r.report.wallSeconds.toFixed(1)} s`);
          for (const note of r.report.notes) console.log(`  note: ${note}`);
          for (const f of [files.policy, files.int8, files.report]) if (f) console.log(`  wrote ${f}`);
        } finally {
          for (const t of teachers) await (t as { dispose?: () => Promise<void> }).dispose?.();
        }
      }),
    );
}

