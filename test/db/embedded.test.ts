import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { defaults } from '../../src/config.js';
import { EmbeddedServer, findFreePort, runningEmbeddedServer, stopEmbeddedServer } from '../../src/db/embedded.js';
import { spawnSync } from 'node:child_process';
import { DatabaseUnavailableError } from '../../src/errors.js';
import { expectErrorType } from '../../src/testing/assertions.js';
import { startTestServer } from '../../src/testing/database.js';

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

/**
 * The user a child process runs as to prove the server starts for an
 * ordinary user: as root, ATTUNE_TEST_UNPRIVILEGED_USER or `nobody`; as
 * anyone else, the current user (no switch needed). Undefined, with the
 * reason, when root has no such user or it cannot read the checkout.
 */
function ordinaryUser(): { uid: number; gid: number } | { skip: string } {
  if (process.getuid?.() !== 0) return { uid: process.getuid!(), gid: process.getgid!() };
  const name = process.env.ATTUNE_TEST_UNPRIVILEGED_USER ?? 'nobody';
  const id = (flag: string) => spawnSync('id', [flag, name], { encoding: 'utf8' });
  const [uid, gid] = [id('-u'), id('-g')];
  if (uid.status !== 0 || gid.status !== 0) return { skip: `no OS user '${name}' to run as (set ATTUNE_TEST_UNPRIVILEGED_USER)` };
  for (let dir = process.cwd(); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o005) !== 0o005) return { skip: `OS user '${name}' cannot read the checkout (${dir} is closed to others)` };
  }
  return { uid: Number(uid.stdout), gid: Number(gid.stdout) };
}

describe('EmbeddedServer', () => {
  const user = ordinaryUser();

  it.skipIf('skip' in user)(`starts, serves and stops for an ordinary user, creating no OS user${'skip' in user ? ` (skipped: ${user.skip})` : ''}`, async () => {
    if ('skip' in user) return;
    const home = mkdtempSync(path.join(tmpdir(), 'attune-ordinary-user-'));
    chownSync(home, user.uid, user.gid);
    const script = `
      import { readFileSync } from 'node:fs';
      import pg from 'pg';
      const { EmbeddedServer, findFreePort } = await import('./src/db/embedded.ts');
      const dataDir = process.env.HOME + '/data';
      const server = new EmbeddedServer({ dataDir, port: await findFreePort(), durability: 'none' });
      await server.start();
      try {
        const client = new pg.Client({ connectionString: server.url() });
        await client.connect();
        const { rows } = await client.query('SELECT current_user AS "user", 40 + 2 AS answer');
        await client.end();
        const pid = readFileSync(dataDir + '/postmaster.pid', 'utf8').split('\\n')[0];
        const serverUid = Number(/^Uid:\\s+(\\d+)/m.exec(readFileSync('/proc/' + pid + '/status', 'utf8'))[1]);
        console.log(JSON.stringify({ ...rows[0], serverUid }));
      } finally {
        await server.stop();
      }
    `;
    try {
      const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        cwd: process.cwd(),
        encoding: 'utf8',
        uid: user.uid,
        gid: user.gid,
        env: { PATH: process.env.PATH, HOME: home, TMPDIR: home },
      });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({ user: 'postgres', answer: 42, serverUid: user.uid });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);

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

  it('a process that exits without stopping its server takes the server down with it, keeping its exit code', async () => {
    const dataDir = path.join(root, 'exit-hook');
    const script = `
      import { readFileSync } from 'node:fs';
      const { EmbeddedServer, findFreePort } = await import('./src/db/embedded.ts');
      const server = new EmbeddedServer({ dataDir: process.env.DATA_DIR, port: await findFreePort(), durability: 'none' });
      await server.start();
      console.log(readFileSync(process.env.DATA_DIR + '/postmaster.pid', 'utf8').split('\\n')[0]);
      process.exit(3);
    `;
    const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      encoding: 'utf8',
      env: { ...process.env, DATA_DIR: dataDir },
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(3);
    const pid = Number(result.stdout.trim());
    expect(pid).toBeGreaterThan(0);
    // The exit hook only sends the fast-shutdown signal; wait for the server to finish it.
    expect(await gone(pid)).toBe(true);
    expect(runningEmbeddedServer(dataDir)).toBeUndefined();
  }, 60_000);

  it('finds the server running on its data folder, refuses a second start there naming it, and stops it from outside', async () => {
    const dataDir = path.join(root, 'running');
    const port = await findFreePort();
    const first = new EmbeddedServer({ dataDir, port, durability: 'none' });
    await first.start();
    try {
      const running = runningEmbeddedServer(dataDir);
      expect(running).toEqual({ pid: expect.any(Number), port, dataDir });
      // Another port, so the refusal can only come from the data folder.
      const error = await expectErrorType(new EmbeddedServer({ dataDir, port: await findFreePort() }).start(), DatabaseUnavailableError);
      expect(error.message).toBe(
        `Attune's embedded PostgreSQL for ${dataDir} is already running (pid ${running!.pid}, port ${port}): another command is using it, ` +
          "or one that was killed left it running; stop it with 'attune db stop' (in a checkout: npm run db:stop), then try again",
      );
      expect(error.field).toBe('database.embeddedDataDir');
      expect(await stopEmbeddedServer(dataDir)).toEqual(running);
      expect(runningEmbeddedServer(dataDir)).toBeUndefined();
      expect(await stopEmbeddedServer(dataDir)).toBeUndefined();
      await expect(query(first.url(), 'SELECT 1')).rejects.toThrow();
    } finally {
      await first.stop();
    }
  }, 60_000);

  it('two servers of two data folders started at once on one port: one runs, the other names the port and the setting', async () => {
    const port = await findFreePort();
    const servers = ['race-a', 'race-b'].map((name) => new EmbeddedServer({ dataDir: path.join(root, name), port, durability: 'none' }));
    // Both pass the port probe before either binds (initdb takes a while), so the loser fails in PostgreSQL itself.
    const results = await Promise.allSettled(servers.map((server) => server.start()));
    try {
      expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
      const failure = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
      expect(failure.reason).toBeInstanceOf(DatabaseUnavailableError);
      expect(failure.reason.message).toMatch(new RegExp(`^Port ${port} is already in use on 127\\.0\\.0\\.1 by another program, not by the embedded PostgreSQL of ${root}/race-[ab] `));
      expect(failure.reason.message).toContain('set ATTUNE__DATABASE__EMBEDDED_PORT to a free port');
      expect(failure.reason.field).toBe('database.embeddedPort');
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  }, 60_000);

  it('a port taken between the probe and the bind (a server starting at the same moment) gives the same clear message', async () => {
    const dataDir = path.join(root, 'late-bind');
    const port = await findFreePort();
    const starting = new EmbeddedServer({ dataDir, port, durability: 'none' }).start();
    // The data folder appears only after the port probe passed; initdb then
    // takes far longer than this loop, so the blocker binds before PostgreSQL does.
    while (!existsSync(dataDir)) await new Promise((resolve) => setTimeout(resolve, 2));
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', () => resolve()));
    try {
      const error = await expectErrorType(starting, DatabaseUnavailableError);
      expect(error.message).toMatch(new RegExp(`^Port ${port} is already in use on 127\\.0\\.0\\.1 by another program, not by the embedded PostgreSQL of ${dataDir} `));
      // A cause means PostgreSQL itself failed to bind: the probe had passed.
      expect(error.cause).toBeInstanceOf(Error);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('a failed first start removes the data folder it created, so the next start can initialise it', async () => {
    const dataDir = path.join(root, 'bad-locale');
    const saved = process.env.LC_ALL;
    process.env.LC_ALL = 'xx_XX.UTF-8'; // initdb refuses a locale that does not exist
    try {
      const error = await expectErrorType(new EmbeddedServer({ dataDir, port: await findFreePort() }).start(), DatabaseUnavailableError);
      expect(error.message).toContain(`Embedded PostgreSQL failed to start in ${dataDir}`);
      expect(error.message, error.message).toContain('invalid locale settings');
    } finally {
      if (saved === undefined) delete process.env.LC_ALL;
      else process.env.LC_ALL = saved;
    }
    expect(existsSync(dataDir)).toBe(false);
  }, 60_000);
});

describe('startTestServer', () => {
  it('removes its temporary folder when the embedded server fails to start', async () => {
    const scratch = mkdtempSync(path.join(root, 'tmp-'));
    const saved = { TMPDIR: process.env.TMPDIR, LC_ALL: process.env.LC_ALL };
    process.env.TMPDIR = scratch;
    process.env.LC_ALL = 'xx_XX.UTF-8';
    try {
      const config = defaults();
      config.database.url = undefined;
      await expectErrorType(startTestServer(config), DatabaseUnavailableError);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    expect(readdirSync(scratch)).toEqual([]);
  }, 60_000);
});

/** Waits (up to 30 s) for process `pid` to be gone or a zombie; false if it is still running then. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 300; i++) {
    try {
      process.kill(pid, 0);
      if (/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}
