/**
 * `npm run bench`: runs the benchmarks, prints JSON to stdout and writes bench/results.json.
 * (Temporary version with the environment benchmark only; the lead wires in the others.)
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { benchEnvs } from './envs.js';

const results = {
  machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
  envs: await benchEnvs(),
};
const text = `${JSON.stringify(results, null, 2)}\n`;
process.stdout.write(text);
writeFileSync(new URL('./results.json', import.meta.url), text);
