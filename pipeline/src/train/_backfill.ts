// Temporary (deleted before hand-off): adds the per-episode returns to cards written before the
// evaluation recorded them, re-running the same evaluation and refusing if the statistics differ.
import { readFileSync } from 'node:fs';
import { readPolicyFile } from '../ir/serialize.js';
import { evaluatePolicy } from './evaluate.js';
import { writeFileAtomic } from './run.js';
const dir = process.argv[2];
const card = JSON.parse(readFileSync(`${dir}/card.json`, 'utf8'));
const m = await readPolicyFile(`${dir}/policy.json`);
const { stats } = evaluatePolicy(m, card.env, 100, 0);
for (const k of ['mean', 'std', 'min', 'max'] as const) {
  if (stats[k] !== card.evaluation[k]) throw new Error(`${dir}: ${k} ${stats[k]} != card ${card.evaluation[k]}`);
}
card.evaluation = stats;
writeFileAtomic(`${dir}/card.json`, `${JSON.stringify(card, null, 2)}\n`);
console.log(dir, 'ok', stats.mean);
