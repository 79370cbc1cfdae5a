import type { Command } from 'commander';
import { EdgeDistillError } from '@edgedistill/runtime/errors';
import { withBar } from '../progress.js';
import { action, errRed, bold, dim, green, parseNumber, printJson, red } from '../shared.js';
import { EXIT } from '../exit-codes.js';

interface ExportFlags {
  policy: string;
  format: string;
  out: string;
  teacher?: string;
  calibration?: string;
  golden?: string;
  seed: string;
  minAgreement?: string;
  json?: boolean;
  quiet?: boolean;
}

const EXPORT_EXIT_HELP = 'Exit codes: 0 every artifact passed its parity gate; 1 an artifact failed it (artifacts.json says why); 2 bad input; 3 runtime or I/O failure.';

export function register(program: Command): void {
  program
    .command('export')
    .description('Export a policy (DIR/policy.json) to ONNX / TFLite / compiled JS / C; every artifact runs in its real runtime on a golden set and must pass the parity gate. Writes OUT/artifacts.json and OUT/golden.json.')
    .requiredOption('--policy <dir>', 'directory with policy.json (as `edgedistill distill` writes it)')
    .requiredOption('--format <list>', 'comma-separated: onnx,onnx-int8,onnx-fp16,tflite,tflite-int8,tflite-fp16,js,js-int8,c-int8')
    .requiredOption('--out <dir>', 'output directory')
    .option('--teacher <file>', 'teacher (.onnx or policy.json): golden rollouts follow it, agreement with it is reported')
    .option('--calibration <file>', 'int8: calibrate on these observations (.npy, .jsonl, .csv or golden.json) instead of using DIR/policy-int8.json (from `edgedistill compress`); without either, on rollouts')
    .option('--golden <file>', 'golden observations (default: DIR/golden.json, else 1000 rollout states)')
    .option('--seed <n>', 'reset seed of generated rollouts', '0')
    .option('--min-agreement <share>', 'int8 / fp16 gate: least action agreement with the fp32 policy (default 0.99; recorded in artifacts.json)')
    .option('--json', 'print artifacts.json')
    .option('--quiet', 'print nothing but errors')
    .addHelpText('after', `\n${EXPORT_EXIT_HELP}\n\nExample:\n  $ edgedistill export --policy runs/cp-student --format onnx,onnx-int8,tflite-int8,js-int8,c-int8 --out runs/cp-export --teacher models/cartpole-v1/teacher.onnx`)
    .action(
      action(async (opts: ExportFlags) => {
        const { exportPolicy, ExportParityError } = await import('../../export/index.js');
        // Steps: the golden set, the int8 calibration, then one per format.
        const steps = opts.format.split(',').filter(Boolean).length + 2;
        try {
          const manifest = await withBar(opts, { format: 'export {bar} {value}/{total} | {duration_formatted} | {step}', total: steps, fields: { step: '' } }, (bar) => {
            let done = 0;
            return exportPolicy({
            policyDir: opts.policy,
            formats: [opts.format],
            outDir: opts.out,
            teacher: opts.teacher,
            calibration: opts.calibration,
            golden: opts.golden,
            seed: parseNumber('--seed', opts.seed),
            tolerances: opts.minAgreement === undefined ? undefined : { minAgreement: parseShare(opts.minAgreement) },
            onProgress: bar.active ? (t) => bar.update(done++, { step: t }) : undefined,
            });
          });
          if (opts.json) return printJson(manifest);
          if (!opts.quiet) printArtifactsTable(manifest, opts.out);
        } catch (e) {
          if (!(e instanceof ExportParityError)) throw e;
          if (opts.json) {
            // Scripts get one JSON document: artifacts.json, which says what failed and why.
            printJson(e.manifest);
            process.stderr.write(`${errRed(e.format())}\n`);
            return EXIT.checkFailed;
          }
          if (!opts.quiet) printArtifactsTable(e.manifest, opts.out);
          throw e;
        }
      }),
    );
}

function parseShare(v: string): number {
  const n = parseNumber('--min-agreement', v);
  if (!(n >= 0 && n <= 1)) throw new EdgeDistillError('BAD_ARGUMENT', `--min-agreement is a share in [0, 1], got ${v}`, { field: '--min-agreement' });
  return n;
}

type Manifest = Awaited<ReturnType<typeof import('../../export/index.js').exportPolicy>>;

const pct = (v: number | null) => (v === null ? '-' : `${(v * 100).toFixed(1)}%`);
const sci = (v: number | null) => (v === null ? '-' : v === 0 ? '0' : v.toExponential(1));

/** The parity table of artifacts.json (also printed by `edgedistill run` when the gate fails). */
export function printArtifactsTable(m: Manifest, out: string): void {
  const rows = [
    ['format', 'file', 'bytes', 'runtime', 'max|err| IR', 'vs ref', 'agree IR', 'agree teacher', 'status'],
    ...m.artifacts.map((a) => [
      a.format,
      a.files.map((f) => f.name).join('+'),
      String(a.bytes),
      a.runtime ?? '-',
      sci(a.maxAbsErrorVsIR),
      a.reference ? `${sci(a.maxAbsErrorVsReference)}${a.mismatchesVsReference === 0 ? ' (exact)' : ''}` : '-',
      pct(a.actionAgreementVsIR),
      pct(a.actionAgreementVsTeacher),
      a.status,
    ]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const line = (r: string[]) => r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd();
  console.log(bold(line(rows[0])));
  for (const r of rows.slice(1)) {
    const text = line(r);
    console.log(r[8] === 'pass' ? text : r[8] === 'fail' ? red(text) : dim(text));
  }
  for (const a of m.artifacts) for (const why of a.reasons) console.log(`  ${a.format}: ${why}`);
  const g = m.golden;
  const src = g.source.kind === 'rollouts' ? `${g.source.actor} rollouts in ${g.source.env}` : g.source.kind === 'file' ? g.source.file : 'given';
  console.log(`golden set: ${g.rows} observations (${src}); ${m.calibration ? `int8 calibration: ${m.calibration.rows} (${m.calibration.source}); ` : ''}${m.passed ? green('all artifacts passed') : red('parity gate failed')}; wrote ${out}/artifacts.json`);
}
