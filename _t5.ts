import { createBundle } from './pipeline/src/bundle/index.ts';
for (const device of ['rpi4-arm64', 'rpi-zero2w-armv7']) {
const t0 = Date.now();
const r = await createBundle({ device, policyDir: '/tmp/bt/distilled', teacher: 'models/cartpole-v1/teacher.onnx', out: '/tmp/bt/out2', onStep: (s, d) => console.error(s, d) });
console.log(Date.now() - t0, 'ms', r.path, r.bytes, r.exported, r.artifacts.map(a => `${a.name}:${a.backend}:${a.path}`), r.packages.map(p => p.name));
}
