/**
 * Found by the connection-kills scenario: `attune api` and `attune worker`
 * crashed ("Unhandled 'error' event") when pg_terminate_backend hit a
 * connection their pool had checked out. The pool now listens on every client.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { REPO_ROOT } from './support.js';

it('a pool connection terminated while checked out does not crash the process', { timeout: 60_000 }, () => {
  const child = spawnSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'checked-out-client-child.ts'), process.env.ATTUNE__DATABASE__URL!], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 50_000,
  });
  expect(child.stderr).not.toContain("Unhandled 'error' event");
  expect(child.stdout.trim()).toBe('survived');
  expect(child.status).toBe(0);
});
