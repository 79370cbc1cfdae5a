import { writeOnnx } from './src/onnx/write.js';
await writeOnnx('/tmp/exp/cp.onnx', { envId: 'CartPole-v1', obsDim: 4, obsNorm: null, layers: [{ inDim: 4, outDim: 2, weight: Float32Array.of(0, 0, 0, 0, 0, 0, 1, 1), bias: Float32Array.of(0, 0), activation: 'none' }], head: { kind: 'discrete', output: 'logits', n: 2 }, card: {} });
