import { exportPolicy } from './pipeline/src/export/index.ts';
import { rmSync } from 'node:fs';
rmSync('/tmp/bt/exp', { recursive: true, force: true });
try {
const m = await exportPolicy({ policyDir: '/tmp/bt/distilled', formats: ['onnx', 'onnx-int8', 'js-int8', 'tflite-int8'], outDir: '/tmp/bt/exp', teacher: 'models/cartpole-v1/teacher.onnx' });
console.log(m.artifacts.map(a => [a.format, a.status, a.reasons]));
} catch (e: any) { console.log(e.message); console.log(e.manifest?.artifacts.map((a: any) => [a.format, a.status, a.reasons])); }
