import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  AttuneError,
  ConfigError,
  DatabaseUnavailableError,
  DecryptionError,
  ErrorCode,
  IllegalStateChangeError,
  InvalidReferenceError,
  LeaseLostError,
  NotFoundError,
  ValidationError,
  httpStatusFor,
  isAttuneError,
} from '../src/errors.js';

describe('error registry', () => {
  it('gives every error class a stable code and its own name', () => {
    const cases: [AttuneError, string][] = [
      [new NotFoundError('pack', 'ref', 'core'), 'ATTUNE_NOT_FOUND'],
      [new AlreadyExistsError('x'), 'ATTUNE_ALREADY_EXISTS'],
      [new InvalidReferenceError('x'), 'ATTUNE_INVALID_REFERENCE'],
      [new ValidationError('x'), 'ATTUNE_VALIDATION'],
      [new IllegalStateChangeError('execution', 'succeeded', 'running'), 'ATTUNE_ILLEGAL_STATE_CHANGE'],
      [new LeaseLostError('x'), 'ATTUNE_LEASE_LOST'],
      [new DatabaseUnavailableError('x'), 'ATTUNE_DATABASE_UNAVAILABLE'],
      [new ConfigError('ATTUNE__LOG__LEVEL', 'bad'), 'ATTUNE_CONFIG'],
      [new DecryptionError('x'), 'ATTUNE_DECRYPTION'],
    ];
    for (const [error, code] of cases) {
      expect(error.code).toBe(code);
      expect(error).toBeInstanceOf(AttuneError);
      expect(error).toBeInstanceOf(Error);
      expect(error.name).toBe(error.constructor.name);
    }
    expect(new Set(Object.values(ErrorCode)).size).toBe(Object.values(ErrorCode).length);
  });

  it('carries entity, field and value, and serialises without stack or cause', () => {
    const error = new NotFoundError('pack', 'ref', 'core', { cause: new Error('inner') });
    expect(error.message).toBe("pack with ref 'core' not found");
    expect(error.toJSON()).toEqual({ code: 'ATTUNE_NOT_FOUND', message: error.message, entity: 'pack', field: 'ref', value: 'core' });
    expect((error.cause as Error).message).toBe('inner');
  });

  it('describes an illegal state change with both states', () => {
    const error = new IllegalStateChangeError('execution', 'succeeded', 'running');
    expect(error.message).toBe('execution cannot change from succeeded to running');
    expect(error).toMatchObject({ from: 'succeeded', to: 'running', field: 'status', entity: 'execution' });
  });

  it('maps codes to HTTP statuses for the API', () => {
    expect(httpStatusFor(ErrorCode.NOT_FOUND)).toBe(404);
    expect(httpStatusFor(ErrorCode.ALREADY_EXISTS)).toBe(409);
    expect(httpStatusFor(ErrorCode.ILLEGAL_STATE_CHANGE)).toBe(409);
    expect(httpStatusFor(ErrorCode.LEASE_LOST)).toBe(409);
    expect(httpStatusFor(ErrorCode.VALIDATION)).toBe(422);
    expect(httpStatusFor(ErrorCode.INVALID_REFERENCE)).toBe(422);
    expect(httpStatusFor(ErrorCode.DATABASE_UNAVAILABLE)).toBe(503);
    expect(httpStatusFor(ErrorCode.DATABASE)).toBe(500);
    expect(httpStatusFor(ErrorCode.UNAUTHENTICATED)).toBe(401);
    expect(httpStatusFor(ErrorCode.FORBIDDEN)).toBe(403);
    expect(httpStatusFor(ErrorCode.PAYLOAD_TOO_LARGE)).toBe(413);
    expect(httpStatusFor(ErrorCode.RATE_LIMITED)).toBe(429);
    expect(httpStatusFor(ErrorCode.INTERNAL)).toBe(500);
  });

  it('isAttuneError checks class and, optionally, code', () => {
    const error = new ValidationError('x');
    expect(isAttuneError(error)).toBe(true);
    expect(isAttuneError(error, ErrorCode.VALIDATION)).toBe(true);
    expect(isAttuneError(error, ErrorCode.NOT_FOUND)).toBe(false);
    expect(isAttuneError(new Error('x'))).toBe(false);
  });
});
