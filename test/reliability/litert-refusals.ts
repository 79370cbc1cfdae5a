/**
 * Child process of runtime-guarantees.test.ts (a hang must not take the test runner with it):
 * keeps KEEP good models open, lets LiteRT refuse a damaged model N times, then opens a good one.
 * Prints one JSON line: {refusals, otherErrors, goodLoads, error}.
 *
 *   node --import tsx test/reliability/litert-refusals.ts N KEEP
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EdgeDistillError } from '../../runtime/src/errors.js';
import { openTfliteModel } from '../../runtime/src/backends/litert/index.js';

const BAD = join(import.meta.dirname, '../fixtures/bad');
const [n, keep] = process.argv.slice(2).map(Number);
const refused = readFileSync(join(BAD, 'tflite/litert-refuses.tflite'));
const good = readFileSync(join(BAD, 'good/cartpole.tflite'));
const open = [];
for (let i = 0; i < keep; i++) open.push(await openTfliteModel(good, { name: 'good.tflite' }));
let refusals = 0;
const otherErrors: string[] = [];
for (let i = 0; i < n; i++) {
  try {
    (await openTfliteModel(refused, { name: 'refused.tflite' })).dispose();
  } catch (e) {
    if (e instanceof EdgeDistillError && /Failed to load model from buffer/.test(e.message)) refusals++;
    else otherErrors.push(String((e as Error).message).slice(0, 120));
  }
}
let error: string | null = null;
try {
  (await openTfliteModel(good, { name: 'good.tflite' })).dispose();
} catch (e) {
  error = String((e as Error).message).slice(0, 200);
}
process.stdout.write(`${JSON.stringify({ refusals, otherErrors: otherErrors.slice(0, 3), otherErrorCount: otherErrors.length, goodLoads: error === null, error })}\n`);
process.exit(0);
