/**
 * Prints a results file as the Markdown tables docs/benchmarks.md uses:
 *
 *   npx tsx bench/markdown.ts [bench/results/latest.json]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatRatio } from './harness.js';
import type { BenchReport } from './report.js';

const file = process.argv[2] ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;

const rate = (value: number): string =>
  !Number.isFinite(value) ? '—' : value >= 10_000_000 ? `${Math.round(value / 1e6)}M` : value >= 1_000_000 ? `${(value / 1e6).toFixed(1)}M` : value >= 10_000 ? `${Math.round(value / 1000)}k` : value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(value >= 100 ? 0 : 1);
const ms = (value: number): string => (!Number.isFinite(value) ? '—' : value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value >= 0.01 ? value.toFixed(2) : value.toPrecision(2));
const us = (value: number | undefined): string => (value === undefined || !Number.isFinite(value) ? '—' : value >= 100 ? value.toFixed(0) : value.toFixed(1));

const m = report.machine;
console.log(
  `Run of ${report.startedAt} (${report.mode}, ${report.durationS} s): ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB RAM, ${m.platform}, Node ${m.node}, PostgreSQL ${m.postgres} (${m.server}; ${m.durability}); load average ${m.loadAverageStart.join(' / ')} at the start, ${(m.loadAverageEnd ?? []).join(' / ')} at the end. ${report.options.rounds} rounds of ~${report.options.roundMs} ms per variant (fewer for slow cases, at least ${report.options.minRounds}).`,
);
console.log('');
console.log('| benchmark | unit | repo | baseline | ratio | thrput | repo p50 / p99 ms | baseline p50 / p99 ms | stmts | client µs | target | rounds × ops |');
console.log('|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|');
for (const r of report.results) {
  if (r.error) {
    console.log(`| \`${r.name}\` | failed: ${r.error} | | | | | | | | | ${r.target ? 'MISS' : '—'} | |`);
    continue;
  }
  const per = (v: typeof r.repo) => (r.unit === 'rows/s' ? v.rowsPerSec : v.opsPerSec);
  console.log(
    `| \`${r.name}\` | ${r.unit} | ${rate(per(r.repo))} | ${rate(per(r.baseline))} | **${formatRatio(r.ratio)}** | ${formatRatio(r.throughputRatio)} | ${ms(r.repo.p50Ms)} / ${ms(r.repo.p99Ms)} | ${ms(r.baseline.p50Ms)} / ${ms(r.baseline.p99Ms)} | ${r.repo.statementsPerOp.toFixed(r.repo.statementsPerOp % 1 ? 1 : 0)} / ${r.baseline.statementsPerOp.toFixed(r.baseline.statementsPerOp % 1 ? 1 : 0)} | ${us(r.repo.clientUs)} / ${us(r.baseline.clientUs)} | ${r.target ? `**${r.target.verdict}** (≥ ${r.target.min.toFixed(2)})` : '—'} | ${r.rounds} × ${r.opsPerRound}${r.baselineOpsPerRound !== undefined ? ` / ${r.baselineOpsPerRound}` : ''} |`,
  );
}
const extras = report.results.flatMap((r) => r.extras.map((e) => ({ r, e })));
if (extras.length > 0) {
  console.log('');
  console.log('| batch | repository createMany | multi-row unnest insert (baseline) | COPY | repo / unnest | repo / COPY |');
  console.log('|---|--:|--:|--:|--:|--:|');
  for (const { r, e } of extras) {
    console.log(
      `| ${r.rowsPerOp.toLocaleString('en')} | ${rate(r.repo.rowsPerSec)} rows/s | ${rate(r.baseline.rowsPerSec)} rows/s | ${rate(e.rowsPerSec)} rows/s | ${r.ratio.toFixed(2)} | ${(r.repo.rowsPerSec / e.rowsPerSec).toFixed(2)} |`,
    );
  }
}
console.log('');
console.log('| benchmark | repository plan (indexes used) | rows read → returned | repo planning + execution ms | baseline planning + execution ms | verdict |');
console.log('|---|---|--:|--:|--:|---|');
const timing = (p: (typeof report.plans)[number] | undefined) => (p?.analyzed ? `${ms(p.planningMs ?? NaN)} + ${ms(p.executionMs ?? NaN)}` : '—');
for (const name of [...new Set(report.plans.map((p) => p.caseName))]) {
  const repo = report.plans.filter((p) => p.caseName === name && p.side === 'repo');
  const baseline = report.plans.filter((p) => p.caseName === name && p.side === 'baseline');
  repo.forEach((p, k) => {
    const shape = p.shape.replace(/\|/g, '/');
    const verdict = p.ok ? (p.warnings.length > 0 ? `index, but ${p.warnings.join('; ')}` : 'ok') : `**${p.problems.join('; ')}**`;
    console.log(
      `| \`${name}\`${repo.length > 1 ? ` (${k + 1}/${repo.length})` : ''} | ${shape} | ${p.analyzed ? `${p.bigTableRowsRead} → ${p.rowsReturned}` : '—'} | ${timing(p)} | ${timing(baseline[k])} | ${verdict} |`,
    );
  });
}
