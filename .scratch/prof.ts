import * as ort from 'onnxruntime-node';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
const files = process.argv.slice(2);
const x = new ort.Tensor('float32', new Float32Array(3*416*416).map((_, i) => (i * 7919) % 255), [1,3,416,416]);
for (const f of files) {
  const s = await ort.InferenceSession.create(f, { intraOpNumThreads: 2, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: '/tmp/exp/p' });
  const name = s.inputNames[0];
  for (let i = 0; i < 20; i++) await s.run({ [name]: x });
  const t0 = performance.now(); let n = 0;
  while (performance.now() - t0 < 3000) { await s.run({ [name]: x }); n++; }
  const fps = n / ((performance.now() - t0) / 1000);
  const pf = (s as any).endProfiling?.();
  console.log(f.split('/').pop(), fps.toFixed(1), 'FPS', pf);
  await s.release();
}
