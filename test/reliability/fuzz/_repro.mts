import { readFileSync, writeFileSync } from 'node:fs';
const m = JSON.parse(readFileSync(process.argv[2], 'utf8')).mutation;
import { applyMutation } from './mutate.ts';
import { TARGETS } from './targets.ts';
const t = TARGETS.find(t => t.name === process.argv[3])!;
const seeds = t.seeds();
const b = applyMutation(m, seeds);
writeFileSync('/dev/shm/fz/repro.bin', b);
const a = JSON.parse(new TextDecoder().decode(seeds[m.seed])); const c = JSON.parse(new TextDecoder().decode(b));
// show the diff of top-level keys
for (const k of Object.keys(c)) if (JSON.stringify(a[k]) !== JSON.stringify(c[k])) console.log('changed', k, JSON.stringify(c[k]).slice(0, 300));
