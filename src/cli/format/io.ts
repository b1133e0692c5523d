/**
 * The streams and environment a client command works with: the process's
 * own, or captured ones in tests (the commands never touch `process.std*`
 * directly, so a test can run them in-process and read what they print).
 */
import type { OutputStream } from '../output.js';

/** A writable stream the CLI prints to, with the terminal's width when it is one. */
export interface CliStream extends OutputStream {
  columns?: number;
}

/** What a client command reads and writes. */
export interface CliIo {
  stdout: CliStream;
  stderr: CliStream;
  /** For prompts; a terminal only when `isTTY`. */
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Where the command's exit code goes. */
  setExitCode(code: number): void;
}

/** The real process's streams and environment. */
export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}
