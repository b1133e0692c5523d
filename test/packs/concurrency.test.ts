/**
 * Concurrency of pack activation (two connections switching the active
 * version at once, many rounds) and of materialisation (two writers of one
 * version at once, and a writer that crashed mid-write). These commit for
 * real.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { activatePack } from '../../src/packs/activate.js';
import { materializePack, temporaryFolderPrefix } from '../../src/packs/materialize.js';
import { registerPack } from '../../src/packs/register.js';
import { PackFileRepository, versionContentHash } from '../../src/repositories/pack-files.js';
import { PackRepository } from '../../src/repositories/packs.js';
import { cleanDatabase, createTestPool } from '../../src/testing/database.js';
import { tempDir, writePack } from './support.js';

const pool = createTestPool({ maxConnections: 4 });
beforeEach(() => cleanDatabase(pool));
afterAll(() => pool.end());

const pack = (version: string): Record<string, string> => ({
  'pack.yaml': `ref: racer\nname: Racer\nversion: ${version}\n`,
  'actions/go.yaml': 'name: go\nrunner_type: local-shell-script\nentry_point: go.sh\n',
  'actions/go.sh': `#!/bin/sh\necho ${version}\n`,
  'actions/lib/data.txt': 'x'.repeat(50_000),
});

describe('activatePack under concurrency', () => {
  it('two connections switching versions at once: both succeed, one after the other, and one version is active', async () => {
    await registerPack(pool, await writePack(pack('1.0.0')));
    await registerPack(pool, await writePack(pack('2.0.0')));
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      for (let round = 0; round < 25; round += 1) {
        // Both transactions switch before either commits: without the pack lock the second
        // would collide with the first's new active row on packs_one_active_per_ref.
        await a.query('BEGIN');
        await b.query('BEGIN');
        // Each commits as soon as its switch is done; whichever got the lock first finishes first.
        const committed: string[] = [];
        const switchAndCommit = async (client: typeof a, version: string) => {
          const report = await activatePack(client, 'racer', version);
          await client.query('COMMIT');
          committed.push(report.version);
          return report;
        };
        const reports = await Promise.all([
          switchAndCommit(a, round % 2 === 0 ? '1.0.0' : '2.0.0'),
          switchAndCommit(b, round % 2 === 0 ? '2.0.0' : '1.0.0'),
        ]);
        expect(reports.map((r) => r.version).sort()).toEqual(['1.0.0', '2.0.0']);
        const active = (await PackRepository.listVersions(pool, 'racer')).filter((p) => p.isActive);
        expect(active.map((p) => p.version)).toEqual([committed[1]]);
      }
    } finally {
      await a.query('ROLLBACK').catch(() => undefined);
      await b.query('ROLLBACK').catch(() => undefined);
      a.release();
      b.release();
    }
  });
});

describe('materializePack', () => {
  it('writes the files with their modes, then reuses the folder', async () => {
    const source = await writePack(pack('1.0.0'));
    await chmod(join(source, 'actions/go.sh'), 0o755);
    const { packId } = await registerPack(pool, source);
    const dir = await tempDir();
    const first = await materializePack(pool, packId, dir);
    expect(first).toMatchObject({ reused: false, files: 4 });
    expect(first.contentHash).toBe(versionContentHash(await PackFileRepository.listForPack(pool, packId)));
    expect(await readFile(join(first.path, 'actions/go.sh'), 'utf8')).toBe('#!/bin/sh\necho 1.0.0\n');
    expect((await stat(join(first.path, 'actions/go.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(first.path, 'pack.yaml'))).mode & 0o777).toBe(0o644);
    expect(await materializePack(pool, packId, dir)).toMatchObject({ path: first.path, reused: true });
    expect(await readdir(dir)).toEqual([first.contentHash]);
  });

  it('two writers at once: one folder, complete, and no temporary folder left', async () => {
    const { packId } = await registerPack(pool, await writePack(pack('1.0.0')));
    for (let round = 0; round < 10; round += 1) {
      const dir = await tempDir();
      const results = await Promise.all([materializePack(pool, packId, dir), materializePack(pool, packId, dir), materializePack(pool, packId, dir)]);
      expect(new Set(results.map((r) => r.path)).size).toBe(1);
      expect(await readdir(dir)).toEqual([results[0]!.contentHash]);
      expect((await readFile(join(results[0]!.path, 'actions/lib/data.txt'))).length).toBe(50_000);
    }
  });

  it('two processes at once: both end with the same complete folder', { timeout: 60_000 }, async () => {
    const { packId } = await registerPack(pool, await writePack(pack('1.0.0')));
    const dir = await tempDir();
    const script = join(import.meta.dirname, 'materialize-child.ts');
    const run = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', script, String(packId), dir], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
        child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child exited ${code}: ${err}`))));
      });
    const [one, two] = await Promise.all([run(), run()]);
    expect(one).toBe(two);
    const entries = await readdir(dir);
    expect(entries).toHaveLength(1);
    expect(await readFile(join(one, 'actions/go.sh'), 'utf8')).toBe('#!/bin/sh\necho 1.0.0\n');
  });

  it('a crash mid-write leaves only a temporary folder, which never counts as done and is cleared by the next writer', async () => {
    const { packId } = await registerPack(pool, await writePack(pack('1.0.0')));
    const dir = await tempDir();
    const hash = versionContentHash(await PackFileRepository.listForPack(pool, packId));
    // What a writer that died half-way leaves: a temp folder of a process that no longer runs, holding part of the files.
    const crashed = join(dir, `${temporaryFolderPrefix(hash)}999999999-deadbeef`);
    await mkdir(join(crashed, 'actions'), { recursive: true });
    await writeFile(join(crashed, 'pack.yaml'), 'ref: racer\n');
    const result = await materializePack(pool, packId, dir);
    expect(result.reused).toBe(false);
    expect(await readdir(dir)).toEqual([hash]);
    expect((await readdir(join(result.path, 'actions'))).sort()).toEqual(['go.sh', 'go.yaml', 'lib']);
  });

  it('refuses a stored path that would leave the folder, writing nothing', async () => {
    const { packId } = await registerPack(pool, await writePack(pack('1.0.0')));
    // The table's CHECK refuses such a path; a row changed behind its back (the
    // constraint dropped inside a transaction that is rolled back) is refused again on the way out.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('ALTER TABLE pack_files DROP CONSTRAINT pack_files_path_check');
      await client.query(`UPDATE pack_files SET path = '../../escape.sh' WHERE pack_id = $1 AND path = 'actions/go.sh'`, [packId]);
      const dir = await tempDir();
      await expect(materializePack(client, packId, dir)).rejects.toMatchObject({ code: 'ATTUNE_VALIDATION', field: 'path' });
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
