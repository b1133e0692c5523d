import { pino, type Logger } from 'pino';
import type { LogLevel } from './config.js';

/** Paths pino blanks out wherever they appear, so secrets never reach a log line. */
export const REDACTED_PATHS = [
  'password',
  'passwordHash',
  'encryptionKey',
  'secret',
  'value',
  'plaintext',
  '*.password',
  '*.passwordHash',
  '*.encryptionKey',
  '*.secret',
  '*.value',
  '*.plaintext',
  'config.security.encryptionKey',
];

/** The structured logger every role uses; secrets are redacted by path. */
export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { app: 'attune' } };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
