import type { TestProject } from 'vitest/node';
import { cloneDatabase, dropDatabase, dropStaleRunDatabases, prepareTemplate, runDatabasePrefix, startTestServer } from '../../src/testing/database.js';
import { loadTestConfig } from '../../src/testing/env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** One database URL per worker slot (VITEST_POOL_ID - 1). */
    attuneDatabaseUrls: string[];
    attuneTemplate: { adminUrl: string; name: string };
  }
}

/**
 * Starts (or reaches) the test server, migrates the template once per
 * migrations checksum, and clones one database per worker slot.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = loadTestConfig();
  const server = await startTestServer(config);
  const databases: string[] = [];
  try {
    await dropStaleRunDatabases(server);
    const template = await prepareTemplate(server);
    const workers = Math.max(1, Number(project.globalConfig.maxWorkers) || 1);
    const prefix = runDatabasePrefix(server.baseName);
    const urls: string[] = [];
    for (let slot = 1; slot <= workers; slot++) {
      const name = `${prefix}_${slot}`;
      urls.push(await cloneDatabase(server, template.name, name));
      databases.push(name);
    }
    project.provide('attuneDatabaseUrls', urls);
    project.provide('attuneTemplate', { adminUrl: server.adminUrl, name: template.name });
    if (process.env.ATTUNE_TEST_VERBOSE) {
      console.log(`attune tests: ${server.kind} PostgreSQL ${server.serverVersion}, template ${template.rebuilt ? 'rebuilt' : 'reused'}, ${workers} worker databases`);
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
  return async () => {
    for (const name of databases) await dropDatabase(server, name).catch(() => undefined);
    await server.stop();
  };
}
