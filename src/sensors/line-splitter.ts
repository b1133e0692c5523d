/**
 * Splits a byte stream into lines without ever holding more than
 * `maxLineBytes` of an unfinished line: past that, the rest of the line is
 * dropped as it arrives and reported once, when its newline comes.
 */
export interface LineSplitterEvents {
  line(text: string): void;
  /** A line longer than the limit was dropped; `bytes` is its full length. */
  tooLong(bytes: number): void;
}

export class LineSplitter {
  #parts: Buffer[] = [];
  #held = 0;
  /** Bytes of the current line seen so far, kept or not. */
  #length = 0;
  #dropping = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly events: LineSplitterEvents,
  ) {}

  /** Feeds a chunk; complete lines are handed over at once. */
  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline < 0 ? chunk.length : newline;
      this.#append(chunk.subarray(start, end));
      if (newline < 0) return;
      this.#finish();
      start = newline + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.#length > 0) this.#finish();
  }

  #append(bytes: Buffer): void {
    this.#length += bytes.length;
    if (this.#dropping) return;
    if (this.#held + bytes.length > this.maxLineBytes) {
      this.#dropping = true;
      this.#parts = [];
      this.#held = 0;
      return;
    }
    if (bytes.length > 0) {
      // A copy: the chunk's buffer may be reused by the stream.
      this.#parts.push(Buffer.from(bytes));
      this.#held += bytes.length;
    }
  }

  #finish(): void {
    if (this.#dropping) this.events.tooLong(this.#length);
    else {
      const text = Buffer.concat(this.#parts, this.#held).toString('utf8').replace(/\r$/, '');
      if (text.trim() !== '') this.events.line(text);
    }
    this.#parts = [];
    this.#held = 0;
    this.#length = 0;
    this.#dropping = false;
  }
}
