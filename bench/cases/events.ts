/**
 * Event benchmarks: single create, batch inserts of 1, 100 and 1,000 rows
 * against the server's multi-row insert (and COPY), and lists over 100,000
 * events.
 */
import { EventRepository, type CreateEventInput } from '../../src/repositories/events.js';
import { copyFrom, copyValue } from '../copy.js';
import { BATCH_TARGET, SINGLE_ROW_TARGET, type BenchCase } from '../harness.js';
import { cycle, type BenchContext } from '../context.js';
import { pageWithCount } from './packs.js';
import { SIZES } from '../seed.js';

export const EVENT_COLUMNS = 'id, trigger_id, trigger_ref, payload, source, trace_id, created_at';

const OFFSETS = [0, 20, 100];
/** [trigger popularity rank, offset]: hot (~12k events), warm (~1k), cold (~50), hot deeper. */
const TRIGGER_OPS: [number, number][] = [
  [0, 0],
  [9, 20],
  [300, 0],
  [0, 100],
];

export function eventCases(ctx: BenchContext): BenchCase[] {
  const { db, client } = ctx;
  /** Trigger refs by popularity: [0] has ~12% of the events, the tail a few dozen each. */
  let triggerRefs: string[] = [];
  let triggerIds = new Map<string, number>();
  const load = async () => {
    if (triggerRefs.length > 0) return;
    const rows = (await db.query<{ id: number; ref: string }>('SELECT id, ref FROM triggers ORDER BY id')).rows;
    triggerRefs = rows.map((row) => row.ref);
    triggerIds = new Map(rows.map((row) => [row.ref, Number(row.id)]));
  };

  const eventInput = (i: number, k = 0): CreateEventInput => ({
    triggerRef: cycle(triggerRefs, (i * 31 + k) % 50),
    payload: { host: `host-${(i + k) % 50}`, n: i, ok: true, message: 'disk usage above threshold on /var' },
    source: 'sensor.bench',
    traceId: `trace-${i}-${k}`,
  });

  const singleBaseline = async (i: number) => {
    const input = eventInput(i);
    const result = await db.query(
      `INSERT INTO events (trigger_id, trigger_ref, payload, source, trace_id)
       SELECT (SELECT id FROM triggers WHERE ref = $1), $1, $2, $3, $4 RETURNING ${EVENT_COLUMNS}`,
      [input.triggerRef, JSON.stringify(input.payload), input.source, input.traceId],
    );
    return result.rows[0];
  };

  const batchCase = (size: number): BenchCase => {
    // A few prepared batches, reused: building the input objects is the caller's cost, not the insert's.
    let batches: CreateEventInput[][] = [];
    return {
      name: `event.create-many-${size}`,
      writes: true,
      plan: { bigTables: ['events'], rows: SIZES.events },
      group: 'events',
      title: `EventRepository.createMany, ${size.toLocaleString('en')} a batch`,
      baselineTitle: 'INSERT INTO events … SELECT … FROM unnest($1::text[], $2::jsonb[], …) LEFT JOIN triggers … RETURNING …',
      rowsPerOp: size,
      ...(size === 1000 ? { target: BATCH_TARGET } : {}),
      maxOpsPerRound: Math.max(1, Math.floor(5000 / size)),
      setup: async () => {
        await load();
        if (batches.length === 0) batches = Array.from({ length: 4 }, (_, b) => Array.from({ length: size }, (_, k) => eventInput(b, k)));
      },
      repo: (i) => EventRepository.createMany(db, cycle(batches, i)),
      baseline: async (i) => {
        const batch = cycle(batches, i);
        const refs: string[] = [];
        const payloads: string[] = [];
        const sources: (string | null)[] = [];
        const traceIds: (string | null)[] = [];
        for (const input of batch) {
          refs.push(input.triggerRef!);
          payloads.push(JSON.stringify(input.payload ?? {}));
          sources.push(input.source ?? null);
          traceIds.push(input.traceId ?? null);
        }
        const result = await db.query(
          `INSERT INTO events (trigger_id, trigger_ref, payload, source, trace_id)
           SELECT t.id, u.trigger_ref, u.payload, u.source, u.trace_id
             FROM unnest($1::text[], $2::jsonb[], $3::text[], $4::text[]) WITH ORDINALITY AS u(trigger_ref, payload, source, trace_id, ord)
             LEFT JOIN triggers t ON t.ref = u.trigger_ref
            ORDER BY u.ord
           RETURNING ${EVENT_COLUMNS}`,
          [refs, payloads, sources, traceIds],
        );
        return result.rows;
      },
      extras: [
        {
          name: 'copy',
          title: 'COPY events (…) FROM STDIN, trigger ids resolved in the client, nothing returned',
          run: async (i) => {
            const lines: string[] = [];
            for (const input of cycle(batches, i)) {
              lines.push(
                `${copyValue(triggerIds.get(input.triggerRef!) ?? null)}\t${copyValue(input.triggerRef)}\t${copyValue(JSON.stringify(input.payload ?? {}))}\t${copyValue(input.source)}\t${copyValue(input.traceId)}\n`,
              );
            }
            ctx.exec.statements++;
            return copyFrom(client, 'COPY events (trigger_id, trigger_ref, payload, source, trace_id) FROM STDIN', lines);
          },
        },
      ],
    };
  };

  return [
    {
      name: 'event.create',
      writes: true,
      plan: { bigTables: ['events'], rows: SIZES.events },
      group: 'events',
      title: 'EventRepository.create (trigger resolved by ref)',
      baselineTitle: 'INSERT INTO events … SELECT (SELECT id FROM triggers WHERE ref = $1), $1, … RETURNING …',
      target: SINGLE_ROW_TARGET,
      setup: load,
      repo: (i) => EventRepository.create(db, eventInput(i)),
      baseline: singleBaseline,
    },
    batchCase(1),
    batchCase(100),
    batchCase(1000),
    {
      name: 'event.list-by-trigger',
      group: 'events',
      title: 'EventRepository.list({ triggerRef }) 20 a page, newest first (50–12k matches)',
      baselineTitle: 'WHERE trigger_ref = $1 ORDER BY created_at DESC, id DESC page + count(*) subquery',
      setup: load,
      plan: { bigTables: ['events'], rows: SIZES.events },
      comparePages: true,
      cycle: TRIGGER_OPS.length,
      repo: (i) => EventRepository.list(db, { triggerRef: triggerRefs[cycle(TRIGGER_OPS, i)[0]]!, limit: 20, offset: cycle(TRIGGER_OPS, i)[1] }),
      baseline: (i) =>
        pageWithCount(db, 'events', EVENT_COLUMNS, 'trigger_ref = $1', 'created_at DESC, id DESC', [triggerRefs[cycle(TRIGGER_OPS, i)[0]]!], 20, cycle(TRIGGER_OPS, i)[1]),
    },
    {
      name: 'event.list-recent',
      group: 'events',
      title: 'EventRepository.list({}) 20 a page, newest first (all 100k)',
      baselineTitle: 'ORDER BY created_at DESC, id DESC page + count(*) subquery',
      plan: { bigTables: ['events'], rows: SIZES.events },
      comparePages: true,
      cycle: OFFSETS.length,
      repo: (i) => EventRepository.list(db, { limit: 20, offset: cycle(OFFSETS, i) }),
      baseline: (i) => pageWithCount(db, 'events', EVENT_COLUMNS, '', 'created_at DESC, id DESC', [], 20, cycle(OFFSETS, i)),
    },
  ];
}
