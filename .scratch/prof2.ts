import * as ort from 'onnxruntime-node';
const files = process.argv.slice(2);
const threads = Number(process.env.T ?? 2);
const x = new ort.Tensor('float32', new Float32Array(3*416*416).map((_, i) => (i * 7919) % 255), [1,3,416,416]);
async function main() {
  const ss = [] as ort.InferenceSession[];
  for (const [k, f] of files.entries()) ss.push(await ort.InferenceSession.create(f, { intraOpNumThreads: threads, graphOptimizationLevel: 'all', enableProfiling: true, profileFilePrefix: `/tmp/exp/q${k}` }));
  const tot = files.map(() => 0);
  for (let r = 0; r < 200; r++) for (let k = 0; k < ss.length; k++) {
    const s = ss[k]!; const name = s.inputNames[0]!;
    const t0 = performance.now(); await s.run({ [name]: x }); tot[k]! += performance.now() - t0;
  }
  files.forEach((f, k) => console.log(k, f.split('/').pop(), (tot[k]! / 200).toFixed(2), 'ms/run'));
  for (const s of ss) await s.release();
}
main();
