import { readFileSync } from 'node:fs';
for (const f of process.argv.slice(2)) {
  const ev = JSON.parse(readFileSync(f, 'utf8'));
  const by = new Map(); let runs = 0; let total = 0;
  for (const e of ev) {
    if (e.cat === 'Session' && e.name === 'model_run') runs++;
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const op = e.args.op_name; const v = by.get(op) ?? { us: 0, n: 0 }; v.us += e.dur; v.n++; by.set(op, v); total += e.dur;
  }
  console.log('==', f, 'runs', runs, 'kernel ms/run', (total / runs / 1000).toFixed(2));
  [...by].sort((a, b) => b[1].us - a[1].us).slice(0, 14).forEach(([op, v]) => console.log(op.padEnd(28), (v.us / runs / 1000).toFixed(3), 'ms', (v.n / runs).toFixed(0), 'nodes'));
}
