/**
 * A second process for test/packs/concurrency.test.ts: materialises pack
 * version argv[2] into folder argv[3] and prints the folder. Run with
 * `node --import tsx`.
 */
import { createPool } from '../../src/db/pool.js';
import { materializePack } from '../../src/packs/materialize.js';

const [packId, dir] = process.argv.slice(2);
const url = process.env.ATTUNE__DATABASE__URL;
if (url === undefined || packId === undefined || dir === undefined) throw new Error('usage: materialize-child <packId> <dir> with ATTUNE__DATABASE__URL set');
const pool = createPool({ url, maxConnections: 1 });
try {
  const result = await materializePack(pool, Number(packId), dir);
  process.stdout.write(`${result.path}\n`);
} finally {
  await pool.end();
}
