import { readFileSync, writeFileSync } from 'node:fs';
import { loadPolicy } from '../../../runtime/src/index.ts';
import { TARGETS } from './targets.ts';
const t = TARGETS.find(t => t.name === 'tflite.policy-litert')!;
const good = t.seeds()[0];
writeFileSync('/dev/shm/fz/good.tflite', good);
const bad = readFileSync(process.argv[2]);
writeFileSync('/dev/shm/fz/bad.tflite', bad);
try { const p = await loadPolicy('/dev/shm/fz/bad.tflite', { backend: 'litert' }); await p.act(new Float32Array(p.metadata.obsDim)); await p.dispose(); console.log('bad loaded'); } catch (e) { console.log('bad:', (e as any).code, String((e as Error).message).slice(0, 200)); }
try { const p = await loadPolicy('/dev/shm/fz/good.tflite', { backend: 'litert' }); await p.dispose(); console.log('good OK'); } catch (e) { console.log('good FAILS:', (e as any).code, String((e as Error).message).slice(0, 200)); }
process.exit(0);
