import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../../src/errors.js';
import { configureLimits, DEFAULT_INPUT_LIMITS, inputLimits } from '../../src/limits.js';
import { ActionRepository } from '../../src/repositories/actions.js';
import { EnforcementRepository } from '../../src/repositories/enforcements.js';
import { EventRepository } from '../../src/repositories/events.js';
import { ExecutionRepository } from '../../src/repositories/executions.js';
import { IdentityRepository } from '../../src/repositories/identities.js';
import { InquiryRepository } from '../../src/repositories/inquiries.js';
import { KeyRepository } from '../../src/repositories/keys.js';
import { NotificationRepository } from '../../src/repositories/notifications.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { RuleRepository } from '../../src/repositories/rules.js';
import { RuntimeRepository } from '../../src/repositories/runtimes.js';
import { TriggerRepository } from '../../src/repositories/triggers.js';
import { WorkerRepository } from '../../src/repositories/workers.js';
import { MIN_TIMESTAMP } from '../../src/repositories/support/validate.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { ExecutionFixture } from '../../src/testing/fixtures/executions.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { useTransactionPerTest } from '../support/db.js';

const ctx = useTransactionPerTest();

/** Whatever the input, the call is refused before SQL with a ValidationError naming `field`. */
async function refused(call: () => Promise<unknown>, field: string): Promise<ValidationError> {
  const error = await expectErrorType(call(), ValidationError);
  expect(error.field).toBe(field);
  return error;
}

// The calls below go through `any` on purpose: they are what a JavaScript
// caller or an API body can send, whatever the TypeScript types say.
/* eslint-disable @typescript-eslint/no-explicit-any */
const loose = (value: unknown): any => value;

/** `depth` nested objects: { a: { a: … { a: 1 } } }. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = { a: 1 };
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

describe('list filters: unknown keys and bad values are refused, never ignored', () => {
  const lists: [string, (filter: unknown) => Promise<unknown>][] = [
    ['packs', (f) => PackRepository.list(ctx.db, loose(f))],
    ['pack search', (f) => PackRepository.search(ctx.db, 'core', loose(f))],
    ['runtimes', (f) => RuntimeRepository.list(ctx.db, loose(f))],
    ['workers', (f) => WorkerRepository.list(ctx.db, loose(f))],
    ['live workers', (f) => WorkerRepository.listLive(ctx.db, loose(f))],
    ['triggers', (f) => TriggerRepository.list(ctx.db, loose(f))],
    ['actions', (f) => ActionRepository.list(ctx.db, loose(f))],
    ['rules', (f) => RuleRepository.list(ctx.db, loose(f))],
    ['events', (f) => EventRepository.list(ctx.db, loose(f))],
    ['enforcements', (f) => EnforcementRepository.list(ctx.db, loose(f))],
    ['identities', (f) => IdentityRepository.list(ctx.db, loose(f))],
    ['executions', (f) => ExecutionRepository.list(ctx.db, loose(f))],
    ['inquiries', (f) => InquiryRepository.list(ctx.db, loose(f))],
    ['pending inquiries', (f) => InquiryRepository.listPending(ctx.db, loose(f))],
    ['keys', (f) => KeyRepository.list(ctx.db, loose(f))],
    ['notifications', (f) => NotificationRepository.list(ctx.db, loose(f))],
    ['pending notifications', (f) => NotificationRepository.listPending(ctx.db, loose(f))],
  ];

  it.each(lists)('%s: a misspelt key is a ValidationError naming it', async (_, list) => {
    const error = await refused(() => list({ stauts: 'failed' }), 'stauts');
    expect(error.message).toContain("'stauts'");
  });

  it.each(lists)('%s: null or a non-object filter names the filter', async (name, list) => {
    const field = name === 'pending notifications' ? 'options' : name === 'pack search' ? 'pagination' : 'filter';
    await refused(() => list(null), field);
    await refused(() => list('status=failed'), field);
  });

  it('a misspelt execution status filter no longer returns every row', async () => {
    await new ExecutionFixture().create(ctx.db);
    await refused(() => ExecutionRepository.list(ctx.db, loose({ stauts: 'failed' })), 'stauts');
    // The correct spelling still filters.
    expect((await ExecutionRepository.list(ctx.db, { status: 'failed' })).total).toBe(0);
    expect((await ExecutionRepository.list(ctx.db, { status: ['requested', 'failed'] })).total).toBe(1);
  });

  it.each([
    ['search: 5', { search: 5 }, 'search'],
    ['keyword: 5', { keyword: 5 }, 'keyword'],
    ["isActive: 'yes'", { isActive: 'yes' }, 'isActive'],
    ['offset: 1e300', { offset: 1e300 }, 'offset'],
    ['offset: 2**63', { offset: 2 ** 63 }, 'offset'],
    ['offset: -1', { offset: -1 }, 'offset'],
    ['limit: 2**63', { limit: 2 ** 63 }, 'limit'],
    ["limit: '10'", { limit: '10' }, 'limit'],
    ['ref: null', { ref: null }, 'ref'],
  ])('packs refuse %s naming the field', async (_, filter, field) => {
    await refused(() => PackRepository.list(ctx.db, loose(filter)), field);
  });

  it('dates outside PostgreSQL timestamp range are refused naming the field', async () => {
    const ancient = new Date(-8.64e15);
    await refused(() => EventRepository.list(ctx.db, { since: ancient }), 'since');
    await refused(() => ExecutionRepository.list(ctx.db, { until: ancient }), 'until');
    await refused(() => NotificationRepository.list(ctx.db, { since: ancient }), 'since');
    await refused(() => EventRepository.create(ctx.db, { triggerRef: 'a.b', createdAt: ancient }), 'createdAt');
    await refused(() => EventRepository.deleteOlderThan(ctx.db, ancient), 'date');
    await refused(() => InquiryRepository.timeOutExpired(ctx.db, ancient), 'now');
  });

  it('the earliest date accepted is stored and read back unchanged', async () => {
    const event = await EventRepository.create(ctx.db, { triggerRef: 'a.b', createdAt: MIN_TIMESTAMP });
    expect(event.createdAt.getTime()).toBe(MIN_TIMESTAMP.getTime());
    await refused(() => EventRepository.create(ctx.db, { triggerRef: 'a.b', createdAt: new Date(MIN_TIMESTAMP.getTime() - 1) }), 'createdAt');
  });

  it('an empty status list and an unknown status in a list are refused', async () => {
    await refused(() => ExecutionRepository.list(ctx.db, loose({ status: [] })), 'status');
    await refused(() => InquiryRepository.list(ctx.db, loose({ status: ['pending', 'nope'] })), 'status');
  });
});

describe('other arguments are checked for type and range', () => {
  it('pythonRequirements takes an array of pack refs, or nothing', async () => {
    await refused(() => PackRepository.pythonRequirements(ctx.db, loose('core')), 'refs');
    await refused(() => PackRepository.pythonRequirements(ctx.db, loose(['core', 5])), 'refs');
    const pack = await new PackFixture().with({ pythonRequirements: ['requests'] }).create(ctx.db);
    expect(await PackRepository.pythonRequirements(ctx.db, [pack.ref])).toEqual(['requests']);
  });

  it('versions and ids are checked before SQL', async () => {
    await refused(() => PackRepository.findVersion(ctx.db, 'core', loose(1)), 'version');
    await refused(() => PackRepository.findVersion(ctx.db, 'core', '1.0\u0000'), 'version');
    await refused(() => PackRepository.update(ctx.db, loose('1'), { name: 'x' }), 'id');
    await refused(() => WorkerRepository.listLive(ctx.db, { withinSeconds: Number.NaN }), 'withinSeconds');
    await refused(() => NotificationRepository.listPending(ctx.db, { limit: 1001 }), 'limit');
  });
});

describe('NUL characters and lone surrogates are refused naming the field', () => {
  const NUL = 'a\u0000b';
  const inputs: [string, () => Promise<unknown>, string][] = [
    ['pack description', () => PackRepository.create(ctx.db, { ref: 'p', description: NUL }), 'description'],
    ['pack name', () => PackRepository.create(ctx.db, { ref: 'p', name: NUL }), 'name'],
    ['pack keyword', () => PackRepository.create(ctx.db, { ref: 'p', keywords: ['ok', NUL] }), 'keywords'],
    ['pack dependency range', () => PackRepository.create(ctx.db, { ref: 'p', dependencies: { core: `^1${NUL}` } }), 'dependencies'],
    ['pack keyword filter', () => PackRepository.list(ctx.db, { keyword: NUL }), 'keyword'],
    ['action description', () => ActionRepository.create(ctx.db, { packRef: 'p', name: 'a', runnerType: 'shell', description: NUL }), 'description'],
    ['action search', () => ActionRepository.list(ctx.db, { search: NUL }), 'search'],
    ['runtime description', () => RuntimeRepository.create(ctx.db, { packRef: 'p', name: 'r', kind: 'shell', description: NUL }), 'description'],
    ['trigger label', () => TriggerRepository.create(ctx.db, { packRef: 'p', name: 't', label: NUL }), 'label'],
    ['rule description', () => RuleRepository.create(ctx.db, { packRef: 'p', name: 'r', triggerRef: 'p.t', actionRef: 'p.a', description: NUL }), 'description'],
    ['worker name', () => WorkerRepository.create(ctx.db, { name: NUL }), 'name'],
    ['worker name lookup', () => WorkerRepository.findByName(ctx.db, NUL), 'name'],
    ['event source', () => EventRepository.create(ctx.db, { triggerRef: 'a.b', source: NUL }), 'source'],
    ['event trace id filter', () => EventRepository.list(ctx.db, { traceId: NUL }), 'traceId'],
    ['event payload key', () => EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: { [NUL]: 1 } }), 'payload'],
    ['execution trace id', () => ExecutionRepository.create(ctx.db, { actionRef: 'a.b', traceId: NUL }), 'traceId'],
    ['inquiry prompt', () => InquiryRepository.create(ctx.db, { executionId: 1, prompt: NUL }), 'prompt'],
    ['identity display name', () => IdentityRepository.create(ctx.db, { login: 'ann', displayName: NUL }), 'displayName'],
    ['identity search', () => IdentityRepository.list(ctx.db, { search: NUL }), 'search'],
    ['key description', () => KeyRepository.create(ctx.db, { ownerType: 'system', name: 'k', value: 1, description: NUL }), 'description'],
    ['key value', () => KeyRepository.create(ctx.db, { ownerType: 'system', name: 'k', value: { text: NUL } }), 'value'],
    ['notification error', () => NotificationRepository.update(ctx.db, 1, { error: NUL }), 'error'],
    ['notification delivery error', () => NotificationRepository.markError(ctx.db, [1], NUL), 'error'],
  ];

  it.each(inputs)('%s', async (_, call, field) => {
    const error = await refused(call, field);
    expect(error.message).toContain('NUL');
  });

  it.each([
    ['a lone high surrogate in a description', () => PackRepository.create(ctx.db, { ref: 'p', description: 'x\uD800' }), 'description'],
    ['a lone low surrogate in a payload', () => EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: { s: '\uDC00x' } }), 'payload'],
    ['half an emoji in a search', () => IdentityRepository.list(ctx.db, { search: '\uD83D' }), 'search'],
    ['a reversed pair in a keyword', () => PackRepository.create(ctx.db, { ref: 'p', keywords: ['\uDE00\uD83D'] }), 'keywords'],
  ] as [string, () => Promise<unknown>, string][])('%s', async (_, call, field) => {
    const error = await refused(call, field);
    expect(error.message).toContain('surrogate');
  });

  it('whole surrogate pairs (emoji, astral characters) are stored unchanged', async () => {
    const pack = await PackRepository.create(ctx.db, { ref: 'p', description: 'ship it 🚀 𝔸', keywords: ['🚀'], meta: { '🔑': '𝔸' } });
    expect(await PackRepository.getById(ctx.db, pack.id)).toMatchObject({ description: 'ship it 🚀 𝔸', keywords: ['🚀'], meta: { '🔑': '𝔸' } });
  });

  it('the message names where in a JSON value the bad string is', async () => {
    const error = await refused(() => EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: { items: [{ ok: 'x' }, { name: 'a\u0000' }] } }), 'payload');
    expect(error.message).toContain('event.payload.items[1].name');
  });
});

describe('JSON and text size limits', () => {
  afterEach(() => configureLimits(DEFAULT_INPUT_LIMITS));

  it('JSON nested 10,000 deep is a ValidationError naming the field and the limit, not a RangeError', async () => {
    const error = await refused(() => EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: nested(10_000) }), 'payload');
    expect(error.message).toContain(`more than ${DEFAULT_INPUT_LIMITS.jsonMaxDepth} levels`);
    expect(error.message).toContain('ATTUNE__LIMITS__JSON_MAX_DEPTH');
  });

  it('JSON exactly at the depth limit is stored', async () => {
    const payload = nested(DEFAULT_INPUT_LIMITS.jsonMaxDepth);
    expect((await EventRepository.create(ctx.db, { triggerRef: 'a.b', payload })).payload).toEqual(payload);
    await refused(() => EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: nested(DEFAULT_INPUT_LIMITS.jsonMaxDepth + 1) }), 'payload');
  });

  it('a payload over the size limit is refused before SQL, naming the limit', async () => {
    const big = 'x'.repeat(8 * 1024 * 1024);
    const error = await refused(() => EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: { big } }), 'payload');
    expect(error.message).toContain(`more than ${DEFAULT_INPUT_LIMITS.jsonMaxBytes} bytes`);
    expect(error.message).toContain('ATTUNE__LIMITS__JSON_MAX_BYTES');
    expect(error.message).not.toContain('xxxx');
    await refused(() => EventRepository.createMany(ctx.db, [{ triggerRef: 'a.b' }, { triggerRef: 'a.b', payload: { big } }]), 'payload');
  });

  it('an oversized secret is refused with the limit, never the value', async () => {
    const secret = `s3cr3t-${'y'.repeat(2 * 1024 * 1024)}`;
    const error = await refused(() => KeyRepository.create(ctx.db, { ownerType: 'system', name: 'k', value: secret }), 'value');
    expect(error.message).toBe(`key.value is more than ${DEFAULT_INPUT_LIMITS.jsonMaxBytes} bytes of JSON (the limit set by ATTUNE__LIMITS__JSON_MAX_BYTES)`);
    expect(error.value).toBeUndefined();
  });

  it('the size limit counts bytes of JSON text exactly, as configured', async () => {
    configureLimits({ jsonMaxBytes: 1024 });
    // {"s":"…"} is 8 bytes around the string; é is two bytes in UTF-8.
    const fits = { s: `${'é'.repeat(500)}${'x'.repeat(16)}` };
    expect(Buffer.byteLength(JSON.stringify(fits))).toBe(1024);
    expect((await EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: fits })).payload).toEqual(fits);
    await refused(() => EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: { s: `${fits.s}x` } }), 'payload');
  });

  it('free-text fields follow the configured text limit; fields with their own limit keep it', async () => {
    const limit = DEFAULT_INPUT_LIMITS.textMaxLength;
    await refused(() => PackRepository.create(ctx.db, { ref: 'p', description: 'd'.repeat(limit + 1) }), 'description');
    configureLimits({ textMaxLength: 20 });
    await refused(() => PackRepository.create(ctx.db, { ref: 'p', description: 'd'.repeat(21) }), 'description');
    expect((await PackRepository.create(ctx.db, { ref: 'p', description: 'd'.repeat(20), name: 'n'.repeat(200) })).name).toHaveLength(200);
  });

  it('a 256 MiB-class string never reaches PostgreSQL', async () => {
    const huge = 'z'.repeat(64 * 1024 * 1024);
    await refused(() => PackRepository.create(ctx.db, { ref: 'p', description: huge }), 'description');
    await refused(() => PackRepository.create(ctx.db, { ref: 'p', meta: { huge } }), 'meta');
  });

  it('cycles, functions and non-finite numbers in JSON are refused naming the field', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect((await refused(() => EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: cyclic }), 'payload')).message).toContain('cycles');
    await refused(() => EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: { f: loose(() => 1) } }), 'payload');
    await refused(() => EventRepository.create(ctx.db, { triggerRef: 'a.b', payload: { n: Number.POSITIVE_INFINITY } }), 'payload');
  });

  it('configureLimits refuses values out of range and unknown names, changing nothing', () => {
    expect(() => configureLimits({ jsonMaxDepth: 0 })).toThrow(ValidationError);
    expect(() => configureLimits({ jsonMaxBytes: 2048, textMaxLength: 1.5 })).toThrow(/textMaxLength/);
    expect(() => configureLimits(loose({ jsonMaxDepht: 10 }))).toThrow(/jsonMaxDepht/);
    expect(inputLimits()).toEqual(DEFAULT_INPUT_LIMITS);
  });
});
