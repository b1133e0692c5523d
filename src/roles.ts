import type { Logger } from './log.js';

/**
 * A long-running part of Attune (the event processor, timers, sensors, a
 * worker): started once, stopped once. `stop` finishes what is in hand (the
 * current batch, say) and resolves when nothing more will be done.
 */
export interface Role {
  name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Where the signals come from: `process` in a command, an EventEmitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, handler: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, handler: (signal: NodeJS.Signals) => void): unknown;
}

/** Options for `runRoles`. */
export interface RunRolesOptions {
  logger: Logger;
  /** Default: `process`. */
  signals?: SignalSource;
  /** Which signals stop the roles. Default: SIGINT and SIGTERM. */
  stopOn?: NodeJS.Signals[];
  /** Called on a second signal while stopping: leave at once. Default: `process.exit`. */
  exit?: (code: number) => void;
  /** Stops the roles as a signal would (a role that cannot go on, a test). */
  abort?: AbortSignal;
}

/** Exit code after a second signal: 128 + SIGINT's number, as shells report it. */
export const FORCED_EXIT_CODE = 130;

/**
 * Starts `roles` in order, then waits for SIGINT or SIGTERM (or `abort`) and
 * stops them in reverse order, so a role never outlives what it was started
 * on. A second signal while stopping exits at once. Resolves with the exit
 * code: 0 when every role started and stopped cleanly, 1 when one failed to
 * start (the ones already started are stopped) or to stop (the others are
 * still stopped).
 */
export async function runRoles(roles: readonly Role[], options: RunRolesOptions): Promise<number> {
  const { logger } = options;
  const signals = options.signals ?? process;
  const stopOn = options.stopOn ?? ['SIGINT', 'SIGTERM'];
  const exit = options.exit ?? ((code: number) => process.exit(code));

  let requestStop!: (reason: string) => void;
  const stopRequested = new Promise<string>((resolve) => (requestStop = resolve));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal while stopping: exiting now');
      exit(FORCED_EXIT_CODE);
      return;
    }
    stopping = true;
    logger.info({ signal }, 'signal received: stopping');
    requestStop(signal);
  };
  const onAbort = (): void => {
    if (stopping) return;
    stopping = true;
    logger.info('stop requested');
    requestStop('abort');
  };
  for (const signal of stopOn) signals.on(signal, onSignal);
  if (options.abort?.aborted) onAbort();
  else options.abort?.addEventListener('abort', onAbort, { once: true });

  const started: Role[] = [];
  let exitCode = 0;
  try {
    for (const role of roles) {
      if (stopping) break;
      logger.info({ role: role.name }, 'starting role');
      try {
        await role.start();
      } catch (error) {
        logger.error({ role: role.name, err: describe(error) }, 'role failed to start');
        exitCode = 1;
        break;
      }
      started.push(role);
      logger.info({ role: role.name }, 'role started');
    }
    if (exitCode === 0 && !stopping) {
      logger.info({ roles: started.map((role) => role.name) }, 'running; SIGINT or SIGTERM stops');
      await stopRequested;
    }
    stopping = true;
    for (const role of started.reverse()) {
      logger.info({ role: role.name }, 'stopping role');
      try {
        await role.stop();
        logger.info({ role: role.name }, 'role stopped');
      } catch (error) {
        logger.error({ role: role.name, err: describe(error) }, 'role failed to stop');
        exitCode = 1;
      }
    }
  } finally {
    for (const signal of stopOn) signals.off(signal, onSignal);
    options.abort?.removeEventListener('abort', onAbort);
  }
  logger.info({ exitCode }, 'stopped');
  return exitCode;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
