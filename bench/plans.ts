/**
 * Query-plan checks: EXPLAIN (FORMAT JSON) of the exact SQL a repository
 * sent (captured by the RecordingExecutor), with the same values, and a
 * verdict on whether the big table is reached through an index.
 */
import type pg from 'pg';
import type { RecordedQuery } from './harness.js';

/** One node of an EXPLAIN (FORMAT JSON) plan, as far as the checker reads it. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows'?: number;
  'Actual Loops'?: number;
  'Plan Rows'?: number;
  'Filter'?: string;
  'Rows Removed by Filter'?: number;
  'Sort Key'?: string[];
  'Sort Method'?: string;
  Plans?: PlanNode[];
}

export interface ScanInfo {
  table: string;
  node: string;
  index?: string;
  /** Rows the node produced (actual, when ANALYZE ran; else the planner's estimate). */
  rows: number;
  removedByFilter?: number;
}

export interface PlanReport {
  caseName: string;
  side: 'repo' | 'baseline';
  sql: string;
  /** Table sizes the plan was taken at. */
  tableRows: number;
  ok: boolean;
  /** Seq Scans on a big table. */
  problems: string[];
  /** Index plans that still read far more rows than they return (e.g. a window count over every match). */
  warnings: string[];
  /** Node types from the top down, compacted: `Limit > WindowAgg > Sort > Bitmap Heap Scan(executions)`. */
  shape: string;
  scans: ScanInfo[];
  indexes: string[];
  /** Median server planning time (EXPLAIN ANALYZE, TIMING OFF, rolled back). */
  planningMs?: number;
  /** Median server execution time (EXPLAIN ANALYZE, TIMING OFF, rolled back). */
  executionMs?: number;
  analyzed: boolean;
  /** Rows returned by the statement (ANALYZE only). */
  rowsReturned?: number;
  /** Rows the scans of the big tables produced (ANALYZE only): the work behind the page. */
  bigTableRowsRead?: number;
}

const SKIP = /^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|SET|SHOW)\b/i;

interface Explained {
  plan: PlanNode;
  planningMs: number[];
  executionMs: number[];
}

/**
 * EXPLAINs the statements one operation sent, in order, inside a transaction
 * that is rolled back (so writes can be analysed too and change nothing):
 * `passes` times with ANALYZE and TIMING OFF, keeping the median planning
 * and execution times and the last plan. A statement ANALYZE cannot run
 * (e.g. a unique conflict) is explained without it.
 */
export async function checkPlans(
  client: pg.ClientBase,
  caseName: string,
  side: 'repo' | 'baseline',
  queries: RecordedQuery[],
  bigTables: string[],
  tableRows: number,
  passes = 5,
): Promise<PlanReport[]> {
  const statements = queries.filter((q) => !SKIP.test(q.text));
  const explained: (Explained | undefined)[] = statements.map(() => undefined);
  const analyzable = statements.map(() => true);
  for (let pass = 0; pass < passes; pass++) {
    await client.query('BEGIN');
    try {
      for (const [k, query] of statements.entries()) {
        if (!analyzable[k]) continue;
        await client.query('SAVEPOINT bench_explain');
        try {
          const result = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Planning Time'?: number; 'Execution Time'?: number }] }>(
            `EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, FORMAT JSON) ${query.text}`,
            query.values,
          );
          const top = result.rows[0]!['QUERY PLAN'][0];
          const entry = (explained[k] ??= { plan: top.Plan, planningMs: [], executionMs: [] });
          entry.plan = top.Plan;
          entry.planningMs.push(top['Planning Time'] ?? NaN);
          entry.executionMs.push(top['Execution Time'] ?? NaN);
          await client.query('RELEASE SAVEPOINT bench_explain');
        } catch {
          await client.query('ROLLBACK TO SAVEPOINT bench_explain');
          analyzable[k] = false;
        }
      }
    } finally {
      await client.query('ROLLBACK');
    }
  }
  const reports: PlanReport[] = [];
  for (const [k, query] of statements.entries()) {
    let entry = explained[k];
    const analyzed = analyzable[k]! && entry !== undefined;
    if (!analyzed) {
      const result = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${query.text}`, query.values);
      entry = { plan: result.rows[0]!['QUERY PLAN'][0].Plan, planningMs: [], executionMs: [] };
    }
    const plan = entry!.plan;
    const scans: ScanInfo[] = [];
    const indexes = new Set<string>();
    const problems: string[] = [];
    walk(plan, (node) => {
      if (node['Index Name']) indexes.add(node['Index Name']);
      if (node['Relation Name']) {
        const rows = analyzed ? (node['Actual Rows'] ?? 0) * (node['Actual Loops'] ?? 1) : (node['Plan Rows'] ?? 0);
        const scan: ScanInfo = { table: node['Relation Name'], node: node['Node Type'], rows };
        if (node['Index Name']) scan.index = node['Index Name'];
        if (node['Rows Removed by Filter'] !== undefined) scan.removedByFilter = node['Rows Removed by Filter'];
        scans.push(scan);
        if (node['Node Type'] === 'Seq Scan' && bigTables.includes(node['Relation Name'])) {
          problems.push(`Seq Scan on ${node['Relation Name']}${node.Filter ? ` (filter ${node.Filter})` : ''}`);
        }
      }
    });
    const report: PlanReport = {
      caseName,
      side,
      sql: oneLine(query.text),
      tableRows,
      ok: problems.length === 0,
      problems,
      warnings: [],
      shape: shapeOf(plan),
      scans,
      indexes: [...indexes],
      analyzed,
    };
    if (analyzed) {
      report.planningMs = median(entry!.planningMs);
      report.executionMs = median(entry!.executionMs);
      report.rowsReturned = plan['Actual Rows'];
      report.bigTableRowsRead = scans
        .filter((scan) => bigTables.includes(scan.table) && scan.node !== 'ModifyTable')
        .reduce((sum, scan) => sum + scan.rows + (scan.removedByFilter ?? 0), 0);
      const returned = report.rowsReturned ?? 0;
      if (report.bigTableRowsRead > Math.max(1000, 50 * returned)) {
        report.warnings.push(`reads ${report.bigTableRowsRead.toLocaleString('en')} rows of ${bigTables.join('/')} to return ${returned}`);
      }
    }
    reports.push(report);
  }
  return reports;
}

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function walk(node: PlanNode, visit: (node: PlanNode) => void): void {
  visit(node);
  for (const child of node.Plans ?? []) walk(child, visit);
}

function shapeOf(node: PlanNode): string {
  const label = `${node['Node Type']}${node['Relation Name'] ? `(${node['Relation Name']}${node['Index Name'] ? ` via ${node['Index Name']}` : ''})` : node['Index Name'] ? `(${node['Index Name']})` : ''}`;
  const children = node.Plans ?? [];
  if (children.length === 0) return label;
  if (children.length === 1) return `${label} > ${shapeOf(children[0]!)}`;
  return `${label} > [${children.map(shapeOf).join(' | ')}]`;
}

function oneLine(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}
