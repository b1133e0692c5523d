import { describe, expect, it } from 'vitest';
import { withTransaction } from '../src/db/transaction.js';
import { ActionRepository, ExecutionRepository, PackRepository, WorkerRepository } from '../src/index.js';
import { useTransactionPerTest } from './support/db.js';

const ctx = useTransactionPerTest();

// The README's example, step for step, so the first code a reader copies works.
describe('README example', () => {
  it('creates a pack, an action and an execution in one transaction, then a worker claims and finishes it', async () => {
    const db = ctx.db;
    await withTransaction(db, async (tx) => {
      const pack = await PackRepository.create(tx, { ref: 'core', version: '1.0.0', name: 'Core' });
      await ActionRepository.create(tx, { packId: pack.id, name: 'echo', runnerType: 'shell', entryPoint: 'echo.sh' });
      await ExecutionRepository.create(tx, { actionRef: 'core.echo', params: { message: 'hello' } });
    });
    const worker = await WorkerRepository.create(db, { name: 'worker-1' });
    const [execution] = await ExecutionRepository.claim(db, { workerId: worker.id, leaseSeconds: 60 });
    expect(execution).toMatchObject({ actionRef: 'core.echo', status: 'scheduled', workerId: worker.id, params: { message: 'hello' } });
    await ExecutionRepository.transition(db, execution!.id, 'running');
    const done = await ExecutionRepository.transition(db, execution!.id, 'succeeded', { result: { stdout: 'hello' } });
    expect(done).toMatchObject({ status: 'succeeded', result: { stdout: 'hello' }, leaseExpiresAt: null });
    expect(done.finishedAt).toBeInstanceOf(Date);
  });
});
