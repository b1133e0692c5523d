/**
 * Signals to a whole process group. Every action process is the leader of
 * its own group (spawned detached, so in its own session), and what it forks
 * stays in the group unless it makes a session of its own: killing the group
 * kills them all.
 */

/** Sends `signal` to every process of group `pgid`; false when the group is already empty. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new RangeError(`not a process group id: ${pgid}`);
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

/** True while at least one process of group `pgid` exists. */
export function groupAlive(pgid: number): boolean {
  return signalGroup(pgid, 0);
}
