import { describe, expect, it } from 'vitest';
import { withTransaction } from '../../src/db/transaction.js';
import { AlreadyExistsError, InvalidReferenceError, ValidationError } from '../../src/errors.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { SENSOR_RUNNER_TYPES, SensorRepository } from '../../src/repositories/sensors.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { PackFixture } from '../../src/testing/fixtures/packs.js';
import { SensorFixture } from '../../src/testing/fixtures/sensors.js';
import { uniqueName } from '../../src/testing/fixtures/unique.js';
import { useTransactionPerTest } from '../support/db.js';
import { checkValues } from '../support/sql.js';

const ctx = useTransactionPerTest();

describe('SensorRepository', () => {
  it('creates a sensor with a StackStorm name, and finds it by id and ref', async () => {
    const pack = await new PackFixture().create(ctx.db);
    const sensor = await new SensorFixture('file_watch.Sensor').forPack(pack).withTriggerTypes(`${pack.ref}.file_watch.line`).withPollInterval(30).create(ctx.db);
    expect(sensor).toMatchObject({ ref: `${pack.ref}.file_watch.Sensor`, runnerType: 'python', triggerTypes: [`${pack.ref}.file_watch.line`], pollInterval: 30, enabled: true });
    expect(await SensorRepository.getById(ctx.db, sensor.id)).toEqual(sensor);
    expect(await SensorRepository.getByRef(ctx.db, sensor.ref)).toEqual(sensor);
    expect(await SensorRepository.findByRef(ctx.db, `${pack.ref}.absent`)).toBeNull();
  });

  it('refuses bad input before SQL and a name taken in the same version', async () => {
    const pack = await new PackFixture().create(ctx.db);
    for (const [override, field] of [
      [{ name: 'a..b' }, 'name'],
      [{ entryPoint: '' }, 'entryPoint'],
      [{ runnerType: 'ruby' }, 'runnerType'],
      [{ triggerTypes: ['nodot'] }, 'triggerTypes'],
      [{ pollInterval: 0 }, 'pollInterval'],
    ] as const) {
      const input = { packId: pack.id, name: 'ok', entryPoint: 'ok.py' } as Record<string, unknown>;
      const error = await expectErrorType(SensorRepository.create(ctx.db, { ...input, ...override } as never), ValidationError);
      expect(error.field).toBe(field);
    }
    await expectErrorType(SensorRepository.create(ctx.db, { packRef: uniqueName('none'), name: 'x', entryPoint: 'x.py' }), InvalidReferenceError);
    await new SensorFixture('dup').forPack(pack).create(ctx.db);
    await expectErrorType(withTransaction(ctx.db, (tx) => new SensorFixture('dup').forPack(pack).create(tx)), AlreadyExistsError);
  });

  it('resolves a ref through the active version and lists by pack, trigger type and flag', async () => {
    const ref = uniqueName('sens');
    const v1 = await new PackFixture(ref).withVersion('1.0.0').create(ctx.db);
    const v2 = await new PackFixture(ref).withVersion('2.0.0').with({ isActive: false }).create(ctx.db);
    const old = await new SensorFixture('watch').forPack(v1).withTriggerTypes('core.st2.webhook').create(ctx.db);
    const next = await new SensorFixture('watch').forPack(v2).disabled().create(ctx.db);
    expect((await SensorRepository.getByRef(ctx.db, `${ref}.watch`)).id).toBe(old.id);
    await PackRepository.activateVersion(ctx.db, ref, '2.0.0');
    expect((await SensorRepository.getByRef(ctx.db, `${ref}.watch`)).id).toBe(next.id);
    expect((await SensorRepository.list(ctx.db, { packRef: ref })).items.map((s) => s.id)).toEqual([next.id]);
    expect((await SensorRepository.list(ctx.db, { triggerType: 'core.st2.webhook' })).items.map((s) => s.id)).toEqual([old.id]);
    expect((await SensorRepository.list(ctx.db, { enabled: false })).items.map((s) => s.id)).toEqual([next.id]);
    expect((await SensorRepository.update(ctx.db, next.id, { enabled: true })).enabled).toBe(true);
    expect(await SensorRepository.delete(ctx.db, next.id)).toBe(true);
  });

  it('SENSOR_RUNNER_TYPES mirrors sensors_runner_type_check', async () => {
    expect(await checkValues(ctx.db, 'sensors_runner_type_check')).toEqual([...SENSOR_RUNNER_TYPES]);
  });
});
