/**
 * COPY … FROM STDIN with the plain `pg` driver and no extra dependency: a
 * minimal "submittable" query (the protocol pg-copy-streams uses) that sends
 * prepared chunks when the server asks for them.
 */
import type pg from 'pg';

interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

class CopyFromQuery {
  callback: ((error: Error | null, rowCount?: number) => void) | undefined;
  private rowCount = 0;
  private done = false;

  constructor(
    private readonly text: string,
    private readonly chunks: Buffer[],
  ) {}

  submit(connection: CopyConnection): null {
    connection.query(this.text);
    return null;
  }

  handleCopyInResponse(connection: CopyConnection): void {
    for (const chunk of this.chunks) connection.sendCopyFromChunk(chunk);
    connection.endCopyFrom();
  }

  handleCommandComplete(message: { text?: string }): void {
    const match = /^COPY (\d+)/.exec(message.text ?? '');
    if (match) this.rowCount = Number(match[1]);
  }

  handleReadyForQuery(): void {
    this.finish(null);
  }

  handleError(error: Error): void {
    this.finish(error);
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  private finish(error: Error | null): void {
    if (this.done) return;
    this.done = true;
    this.callback?.(error, this.rowCount);
  }
}

/** Sends `rows` (already in COPY text format, one line each) with `COPY <table> (…) FROM STDIN`. */
export function copyFrom(client: pg.ClientBase, copySql: string, lines: string[]): Promise<number> {
  const payload = Buffer.from(lines.join(''), 'utf8');
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < payload.length; offset += 64 * 1024) chunks.push(payload.subarray(offset, offset + 64 * 1024));
  const query = new CopyFromQuery(copySql, chunks);
  return new Promise((resolve, reject) => {
    query.callback = (error, rowCount) => (error ? reject(error) : resolve(rowCount ?? 0));
    (client as unknown as { query(q: unknown): unknown }).query(query);
  });
}

/** One value in COPY text format: \N for null, backslash escapes for the rest. */
export function copyValue(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  return String(value).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
}
