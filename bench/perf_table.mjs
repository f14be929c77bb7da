// Runs `tenbin perf --json` on each model at each thread count and prints the markdown table
// of docs/benchmarks.md (prefill and decode tokens/s with their fraction of the limits the
// same run measured), plus the raw JSON records to --out when given.
//
//   node bench/perf_table.mjs --tenbin build/tenbin --threads 1,2 [--reps 3] [--out runs.json] \
//     MODEL.gguf [MODEL.gguf ...]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opts = { tenbin: 'build/tenbin', threads: '1,2', reps: '3', out: '' };
const models = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a.startsWith('--')) opts[a.slice(2)] = args[++i];
  else models.push(a);
}
if (models.length === 0) {
  console.error('usage: node bench/perf_table.mjs [--tenbin PATH] [--threads 1,2] [--reps 3] ' +
    '[--out runs.json] MODEL.gguf...');
  process.exit(2);
}

const records = [];
const rows = [];
for (const model of models) {
  const out = execFileSync(opts.tenbin, ['perf', '-m', model, '-t', opts.threads,
    '-r', opts.reps, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const parsed = JSON.parse(out);  // one object for one thread count, else an array
  for (const run of Array.isArray(parsed) ? parsed : [parsed]) {
    records.push(run);
    const pp = run.results.find((r) => r.test.startsWith('pp'));
    const tg = run.results.find((r) => r.test.startsWith('tg'));
    const pct = (r) => (r ? `${(100 * r.fraction_of_limit).toFixed(0)}%` : '-');
    const tps = (r) => (r ? r.tokens_per_s.toFixed(1) : '-');
    rows.push([path.basename(model), run.type, run.threads, tps(pp), pct(pp), tps(tg), pct(tg),
      run.limits.mem_read_gbs.toFixed(1), run.limits.peak_int8_gops.toFixed(0),
      run.limits.peak_f32_gflops.toFixed(0)]);
  }
}
console.log('| model | type | threads | pp512 tok/s | of peak | tg128 tok/s | of bandwidth | ' +
  'mem read GB/s | int8 GOP/s | f32 GFLOP/s |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (opts.out) fs.writeFileSync(opts.out, JSON.stringify(records, null, 2));
