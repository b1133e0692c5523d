/**
 * `GET /api/v1/executions/{id}/output?follow=true`: the output stored so far,
 * then each batch as the worker stores it, as `output` events whose id is
 * `<attempt>:<seq>` (a reconnect with Last-Event-ID resumes after that chunk),
 * and an `end` event with the final status once the execution is final and
 * its output read to the end.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from '../../errors.js';
import { isFinalStatus } from '../../repositories/execution-states.js';
import { ExecutionOutputRepository, type OutputChunk } from '../../repositories/execution-output.js';
import { ExecutionRepository, type ExecutionStatus } from '../../repositories/executions.js';
import type { ApiContext } from '../app.js';
import { hubFor, openSse } from './session.js';

/** An output position: after chunk `seq` of `attempt`. */
export interface OutputPosition {
  attempt: number;
  seq: number;
}

/** `3:41` → {attempt: 3, seq: 41}; ValidationError on `field` otherwise. */
export function parseOutputPosition(text: string, field: string): OutputPosition {
  const match = /^([1-9][0-9]{0,2}):(-1|0|[1-9][0-9]{0,9})$/.exec(text.trim());
  if (match === null) throw new ValidationError(`${field} must be '<attempt>:<seq>' (the id of an output event), got ${JSON.stringify(text)}`, { entity: 'output', field });
  return { attempt: Number(match[1]), seq: Number(match[2]) };
}

/** A chunk for a response. */
export function chunkData(chunk: OutputChunk): { attempt: number; seq: number; stream: string; data: string; created_at: string } {
  return { attempt: chunk.attempt, seq: chunk.seq, stream: chunk.stream, data: chunk.data, created_at: chunk.createdAt.toISOString() };
}

/** Follows the output of execution `executionId` (which exists) from `from` until it is final or the client leaves. */
export async function followOutput(ctx: ApiContext, request: FastifyRequest, reply: FastifyReply, executionId: number, from: OutputPosition | undefined): Promise<void> {
  const hub = await hubFor(ctx, request);
  const connection = openSse(ctx, request, reply);
  let position = from;
  let reading: Promise<void> | undefined;
  let again = false;
  let finalStatus: ExecutionStatus | undefined;

  const readMore = async (): Promise<void> => {
    for (;;) {
      const chunks = await ExecutionOutputRepository.read(ctx.db, executionId, { ...(position ? { after: position } : {}), limit: 1000 });
      for (const chunk of chunks) connection.send({ id: `${chunk.attempt}:${chunk.seq}`, event: 'output', data: chunkData(chunk) });
      if (chunks.length > 0) position = { attempt: chunks[chunks.length - 1]!.attempt, seq: chunks[chunks.length - 1]!.seq };
      if (chunks.length < 1000 || connection.closed) break;
    }
    if (finalStatus !== undefined && !connection.closed) {
      connection.send({ event: 'end', data: { execution_id: executionId, status: finalStatus } });
      connection.close();
    }
  };
  // One read at a time; a wake-up during a read folds into one more.
  const wake = (): void => {
    if (connection.closed) return;
    if (reading !== undefined) {
      again = true;
      return;
    }
    reading = readMore()
      .catch((error: Error) => {
        request.log.warn({ err: error.message, executionId }, 'reading execution output failed');
        connection.close();
      })
      .finally(() => {
        reading = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  };

  const unsubscribe = hub.subscribe({
    output: (id) => {
      if (id === executionId) wake();
    },
    notifications: (rows) => {
      for (const row of rows) {
        const status = row.content.status as ExecutionStatus;
        if (row.entityType === 'execution' && row.entityId === executionId && isFinalStatus(status)) {
          finalStatus = status;
          wake();
        }
      }
    },
  });
  connection.onClose(unsubscribe);
  // Subscribed first, then read: a finish between the two is seen either way.
  const execution = await ExecutionRepository.getById(ctx.db, executionId);
  if (isFinalStatus(execution.status)) finalStatus = execution.status;
  wake();
}
