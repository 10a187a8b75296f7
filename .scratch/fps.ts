import * as ort from 'onnxruntime-node';
const files = process.argv.slice(2);
const threads = Number(process.env.T ?? 2);
const x = new ort.Tensor('float32', new Float32Array(3*416*416).map((_, i) => (i * 7919) % 255), [1,3,416,416]);
async function main() {
  const ss = [] as ort.InferenceSession[];
  for (const f of files) ss.push(await ort.InferenceSession.create(f, { intraOpNumThreads: threads, graphOptimizationLevel: 'all' }));
  const counts = files.map(() => [] as number[]);
  for (let r = 0; r < 6; r++) for (let k = 0; k < ss.length; k++) {
    const s = ss[k]!; const name = s.inputNames[0]!;
    for (let i = 0; i < 3; i++) await s.run({ [name]: x });
    const t0 = performance.now(); let n = 0;
    while (performance.now() - t0 < 700) { await s.run({ [name]: x }); n++; }
    counts[k]!.push(n / ((performance.now() - t0) / 1000));
  }
  files.forEach((f, k) => { const c = counts[k]!.sort((a, b) => a - b); console.log(f.split('/').pop(), 'median', c[3]!.toFixed(1), c.map(v => v.toFixed(0)).join(' ')); });
}
main();
