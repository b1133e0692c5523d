/** The benchmark report: its JSON shape and the text rendering. */
import { formatRatio, type CaseResult, type RunOptions, type VariantResult } from './harness.js';
import type { PlanReport } from './plans.js';

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  postgres: string;
  server: 'embedded' | 'external';
  durability: string;
  platform: string;
  loadAverageStart: number[];
  loadAverageEnd?: number[];
}

export interface BenchReport {
  startedAt: string;
  durationS: number;
  mode: 'quick' | 'full';
  options: RunOptions;
  machine: MachineInfo;
  database: string;
  dataset: Record<string, number>;
  skippedGroups: string[];
  only: string[];
  results: CaseResult[];
  plans: PlanReport[];
}

const rate = (value: number): string =>
  !Number.isFinite(value) ? '—' : value >= 10_000_000 ? `${Math.round(value / 1e6)}M` : value >= 1_000_000 ? `${(value / 1e6).toFixed(1)}M` : value >= 10_000 ? `${Math.round(value / 1000)}k` : value >= 1000 ? `${(value / 1000).toFixed(1)}k` : value.toFixed(value >= 100 ? 0 : 1);
const ms = (value: number): string => (!Number.isFinite(value) ? '—' : value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value >= 0.01 ? value.toFixed(2) : value.toPrecision(2));
const perSec = (v: VariantResult, unit: string) => (unit === 'rows/s' ? v.rowsPerSec : v.opsPerSec);

function table(header: string[], rows: string[][], alignRight: boolean[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((cell, i) => (alignRight[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** The human-readable report printed at the end of a run. */
export function formatReport(report: BenchReport): string {
  const out: string[] = [];
  const m = report.machine;
  out.push('');
  out.push(`Attune data-layer benchmarks — ${report.mode} run, ${report.startedAt}, ${report.durationS} s`);
  out.push(
    `machine: ${m.cpus} CPUs (${m.cpuModel}), ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, PostgreSQL ${m.postgres} (${m.server}; ${m.durability}); load ${m.loadAverageStart.join('/')} → ${(m.loadAverageEnd ?? []).join('/')}`,
  );
  out.push(`rates are per operation (ops/s) or per row (rows/s, batches); latencies are per operation in ms; ratio = median over round pairs of repo rate / baseline rate (targets use it); thrput = ratio of total rates;\nstmts = statements per operation; client µs = time per operation with the server replaced by recorded results`);
  out.push('');
  const rows = report.results.map((r) => {
    if (r.error) return [r.name, 'FAILED', '', '', '', '', '', '', '', '', r.target ? 'MISS' : '', r.error.slice(0, 60)];
    return [
      r.name,
      r.unit,
      rate(perSec(r.repo, r.unit)),
      rate(perSec(r.baseline, r.unit)),
      formatRatio(r.ratio),
      formatRatio(r.throughputRatio),
      `${ms(r.repo.p50Ms)}/${ms(r.repo.p99Ms)}`,
      `${ms(r.baseline.p50Ms)}/${ms(r.baseline.p99Ms)}`,
      `${fmtStatements(r.repo.statementsPerOp)}/${fmtStatements(r.baseline.statementsPerOp)}`,
      `${us(r.repo.clientUs)}/${us(r.baseline.clientUs)}`,
      r.target ? `${r.target.verdict} (≥${r.target.min.toFixed(2)})` : '—',
      `${r.rounds}×${r.opsPerRound}${r.baselineOpsPerRound !== undefined ? `/${r.baselineOpsPerRound}` : ''}${r.verifyProblem ? `  ! ${r.verifyProblem}` : ''}`,
    ];
  });
  out.push(
    table(
      ['benchmark', 'unit', 'repo', 'baseline', 'ratio', 'thrput', 'repo p50/p99', 'base p50/p99', 'stmts', 'client µs', 'target', 'rounds×ops'],
      rows,
      [false, false, true, true, true, true, true, true, true, true, false, false],
    ),
  );
  const extras = report.results.filter((r) => r.extras.length > 0);
  if (extras.length > 0) {
    out.push('');
    out.push('comparison variants (timed in the same rounds):');
    for (const r of extras) {
      for (const e of r.extras) {
        out.push(
          `  ${r.name.padEnd(30)} ${e.name.padEnd(10)} ${rate(perSec(e, r.unit)).padStart(7)} ${r.unit}  p50/p99 ${ms(e.p50Ms)}/${ms(e.p99Ms)} ms  repo/this ${(perSec(r.repo, r.unit) / perSec(e, r.unit)).toFixed(2)}  — ${e.title}`,
        );
      }
    }
  }
  const targeted = report.results.filter((r) => r.target);
  if (targeted.length > 0) {
    const misses = targeted.filter((r) => r.target!.verdict === 'MISS');
    out.push('');
    out.push(`targets: ${targeted.length - misses.length} PASS, ${misses.length} MISS`);
    for (const r of misses) out.push(`  MISS ${r.name}: ratio ${formatRatio(r.ratio)} < ${r.target!.min} (${r.target!.label})`);
  }
  if (report.plans.length > 0) {
    const bad = report.plans.filter((p) => !p.ok && p.side === 'repo');
    const badBaseline = report.plans.filter((p) => !p.ok && p.side === 'baseline');
    out.push('');
    out.push(
      bad.length === 0
        ? `query plans: all ${report.plans.filter((p) => p.side === 'repo').length} repository statements reach the big tables through an index`
        : `!!! REPOSITORY QUERY PLAN PROBLEMS (${bad.length} statements) !!!`,
    );
    for (const p of bad) {
      out.push(`  !! ${p.caseName} at ${p.tableRows.toLocaleString('en')} rows: ${p.problems.join('; ')}`);
      out.push(`     ${p.shape}`);
      out.push(`     ${p.sql.slice(0, 400)}`);
    }
    const heavy = report.plans.filter((p) => p.ok && p.side === 'repo' && p.warnings.length > 0);
    if (heavy.length > 0) {
      out.push(`repository statements that use an index but read far more rows than they return (${heavy.length}):`);
      for (const p of heavy) out.push(`  !  ${p.caseName}: ${p.warnings.join('; ')} — ${p.shape}`);
    }
    if (badBaseline.length > 0) {
      out.push(`baseline statements with a Seq Scan (for comparison): ${badBaseline.map((p) => `${p.caseName} (${p.problems.join('; ')})`).join('; ')}`);
    }
    out.push('');
    out.push('plans (rows read from the big tables → rows returned; server planning + execution ms, median of 5 EXPLAIN ANALYZE in rolled-back transactions):');
    for (const p of report.plans) {
      const work = p.analyzed ? ` read ${p.bigTableRowsRead}→${p.rowsReturned} rows, plan ${ms(p.planningMs ?? NaN)} + exec ${ms(p.executionMs ?? NaN)} ms` : ' (not analysed)';
      out.push(`  ${p.ok ? (p.warnings.length > 0 ? '! ' : 'ok') : '!!'} ${p.caseName.padEnd(28)} ${p.side.padEnd(8)} ${p.indexes.join(', ') || '(no index)'}${work}`);
      out.push(`       ${p.shape}`);
    }
  }
  if (report.skippedGroups.length > 0) {
    out.push('');
    out.push(`skipped groups: ${report.skippedGroups.join('; ')}`);
  }
  return out.join('\n');
}

function us(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function fmtStatements(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
