// Temporary (deleted before hand-off): evaluates a checkpoint policy.json.
import { readPolicyFile } from '../ir/serialize.js';
import { evaluatePolicy } from './evaluate.js';
const m = await readPolicyFile(process.argv[2]);
const n = Number(process.argv[3] ?? 100);
const { stats } = evaluatePolicy(m, m.envId!, n, 0);
console.log(JSON.stringify({ step: m.card.checkpointStep, ...stats, seedScheme: undefined }));
