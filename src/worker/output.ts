/**
 * Output capture for one run: stdout and stderr are decoded as UTF-8,
 * coalesced into a few deliveries per second, capped per execution (both
 * streams together) with a marker line, and their tails kept for the result.
 * Memory stays bounded whatever the process prints: the pending chunk, the
 * tails and nothing else.
 */
import { StringDecoder } from 'node:string_decoder';

export type OutputStreamName = 'stdout' | 'stderr';

/** Defaults of the capture; each is an option of `runProcess` too. */
export const OUTPUT_DEFAULTS = {
  /** Bytes of each stream kept for the result. */
  tailBytes: 64 * 1024,
  /** At most this often (ms) pending output is delivered. */
  flushIntervalMs: 250,
  /** A pending chunk this large (bytes) is delivered at once. */
  maxChunkBytes: 64 * 1024,
} as const;

export interface OutputCaptureOptions {
  capBytes: number;
  tailBytes?: number;
  flushIntervalMs?: number;
  maxChunkBytes?: number;
  onOutput(stream: OutputStreamName, chunk: string): void;
}

/** The line written (on the stream that crossed the cap) when delivery stops. */
export function truncationMarker(capBytes: number): string {
  return `\n[output truncated at ${capBytes} bytes]\n`;
}

/** The last `limit` bytes of what was written, in bounded memory. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  total = 0;

  constructor(private readonly limit: number) {}

  push(data: Buffer): void {
    this.total += data.length;
    if (this.limit === 0) return;
    const kept = data.length > this.limit ? data.subarray(data.length - this.limit) : data;
    this.chunks.push(Buffer.from(kept));
    this.size += kept.length;
    while (this.size - (this.chunks[0]?.length ?? 0) >= this.limit) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  /** The tail as text, starting at a character boundary. */
  text(): string {
    let buffer = Buffer.concat(this.chunks);
    if (buffer.length > this.limit) buffer = buffer.subarray(buffer.length - this.limit);
    let start = 0;
    // Skip UTF-8 continuation bytes left by the cut (at most three).
    while (start < 3 && start < buffer.length && (buffer[start]! & 0xc0) === 0x80 && this.total > buffer.length) start += 1;
    return buffer.subarray(start).toString('utf8');
  }

  /** True when the tail holds everything that was written. */
  get complete(): boolean {
    return this.total <= this.limit;
  }
}

/** Captures both streams of one run. Call `write` as data comes, `finish` once at the end. */
export class OutputCapture {
  private readonly capBytes: number;
  private readonly flushIntervalMs: number;
  private readonly maxChunkBytes: number;
  private readonly onOutput: OutputCaptureOptions['onOutput'];
  private readonly tails: Record<OutputStreamName, Tail>;
  private readonly decoders: Record<OutputStreamName, StringDecoder> = {
    stdout: new StringDecoder('utf8'),
    stderr: new StringDecoder('utf8'),
  };
  private readonly pending: Record<OutputStreamName, { text: string; bytes: number }> = {
    stdout: { text: '', bytes: 0 },
    stderr: { text: '', bytes: 0 },
  };
  private delivered = 0;
  private truncatedAt: OutputStreamName | null = null;
  private timer: NodeJS.Timeout | null = null;
  private finished = false;

  constructor(options: OutputCaptureOptions) {
    this.capBytes = Math.max(0, options.capBytes);
    this.flushIntervalMs = options.flushIntervalMs ?? OUTPUT_DEFAULTS.flushIntervalMs;
    this.maxChunkBytes = options.maxChunkBytes ?? OUTPUT_DEFAULTS.maxChunkBytes;
    this.onOutput = options.onOutput;
    const tailBytes = options.tailBytes ?? OUTPUT_DEFAULTS.tailBytes;
    this.tails = { stdout: new Tail(tailBytes), stderr: new Tail(tailBytes) };
  }

  /** True once the cap was reached (the marker was delivered). */
  get truncated(): boolean {
    return this.truncatedAt !== null;
  }

  /** Bytes the process wrote on a stream, delivered or not. */
  totalBytes(stream: OutputStreamName): number {
    return this.tails[stream].total;
  }

  write(stream: OutputStreamName, data: Buffer): void {
    if (this.finished) return;
    this.tails[stream].push(data);
    if (this.truncatedAt !== null) return;
    const room = this.capBytes - this.delivered - this.pending.stdout.bytes - this.pending.stderr.bytes;
    const accepted = data.length <= room ? data : data.subarray(0, Math.max(0, room));
    if (accepted.length > 0) {
      const pending = this.pending[stream];
      pending.text += this.decoders[stream].write(accepted);
      pending.bytes += accepted.length;
    }
    if (accepted.length < data.length) {
      // The cap is reached: deliver what fits, then the marker, then nothing more.
      const pending = this.pending[stream];
      pending.text += this.decoders[stream].end();
      pending.text += truncationMarker(this.capBytes);
      this.truncatedAt = stream;
      this.flush();
      return;
    }
    if (this.pending[stream].bytes >= this.maxChunkBytes) this.flush();
    else this.schedule();
  }

  /** Delivers what is pending and stops the timer. */
  finish(): void {
    if (this.finished) return;
    if (this.truncatedAt === null) {
      for (const stream of ['stdout', 'stderr'] as const) this.pending[stream].text += this.decoders[stream].end();
    }
    this.flush();
    this.finished = true;
  }

  /** The tail of a stream for the result, one trailing newline removed (StackStorm does the same). */
  tail(stream: OutputStreamName): string {
    return stripTrailingNewline(this.tails[stream].text());
  }

  /** The whole of stdout when it fits in the tail, otherwise undefined. */
  wholeStdout(): string | undefined {
    return this.tails.stdout.complete ? this.tails.stdout.text() : undefined;
  }

  private schedule(): void {
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.flushIntervalMs);
  }

  private flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    for (const stream of ['stdout', 'stderr'] as const) {
      const pending = this.pending[stream];
      if (pending.text === '') continue;
      const text = pending.text;
      this.delivered += pending.bytes;
      pending.text = '';
      pending.bytes = 0;
      this.onOutput(stream, text);
    }
  }
}

function stripTrailingNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

/**
 * The parsed value when `text` (trimmed) is one JSON document; undefined
 * otherwise (plain text, empty output, several documents).
 */
export function parseJsonDocument(text: string | undefined): { value: unknown } | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  try {
    return { value: JSON.parse(trimmed) as unknown };
  } catch {
    return undefined;
  }
}
