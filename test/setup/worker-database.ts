import { inject } from 'vitest';

// Point this worker at its own clone: files in one worker run one after
// another, so they never see each other's committed rows mid-test.
const urls = inject('attuneDatabaseUrls');
const slot = Number(process.env.VITEST_POOL_ID ?? '1');
const url = urls[(slot - 1) % urls.length];
if (!url) throw new Error(`No test database for worker slot ${slot}`);
process.env.ATTUNE__DATABASE__URL = url;
