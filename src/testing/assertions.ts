import { AssertionError } from 'node:assert';
import { AttuneError, type ErrorCode } from '../errors.js';

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Awaits `promise`, expects it to reject with an error whose message contains
 * `text`, and returns that error. Works with any test runner.
 */
export async function expectErrorContains(promise: Promise<unknown> | (() => Promise<unknown>), text: string): Promise<Error> {
  const error = await rejection(promise);
  if (!error.message.includes(text)) {
    throw new AssertionError({ message: `Expected an error containing "${text}", got: ${error.message}`, actual: error.message, expected: text });
  }
  return error;
}

/**
 * Awaits `promise` and expects it to reject with an instance of `expected`
 * (a class) or an AttuneError with that code (`'ATTUNE_NOT_FOUND'`).
 * Returns the error, typed.
 */
export async function expectErrorType<E extends Error>(promise: Promise<unknown> | (() => Promise<unknown>), expected: abstract new (...args: never[]) => E): Promise<E>;
export async function expectErrorType(promise: Promise<unknown> | (() => Promise<unknown>), expected: ErrorCode): Promise<AttuneError>;
export async function expectErrorType(promise: Promise<unknown> | (() => Promise<unknown>), expected: ErrorClass | ErrorCode): Promise<Error> {
  const error = await rejection(promise);
  const matches = typeof expected === 'string' ? error instanceof AttuneError && error.code === expected : error instanceof expected;
  if (!matches) {
    const got = error instanceof AttuneError ? `${error.name} (${error.code})` : error.name;
    const want = typeof expected === 'string' ? expected : expected.name;
    throw new AssertionError({ message: `Expected ${want}, got ${got}: ${error.message}`, actual: got, expected: want });
  }
  return error;
}

async function rejection(promise: Promise<unknown> | (() => Promise<unknown>)): Promise<Error> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  throw new AssertionError({ message: 'Expected the promise to reject, but it resolved' });
}
