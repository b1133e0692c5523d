/**
 * A one-line progress indicator on a terminal's stderr: a spinner and a
 * label that the operation updates. On a pipe it prints nothing, so logs
 * and scripts see only results.
 */
import type { CliStream } from './io.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const INTERVAL_MS = 100;

/** A spinner with a label, drawn only when `stream` is a terminal. */
export class Progress {
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private shown = false;

  constructor(
    private readonly stream: CliStream,
    private label: string,
    private readonly color: boolean,
  ) {
    if (stream.isTTY) {
      this.timer = setInterval(() => this.draw(), INTERVAL_MS);
      this.timer.unref();
      this.draw();
    }
  }

  /** Changes the label (`uploading 3.2 MB`, `running 12s`). */
  update(label: string): void {
    this.label = label;
    if (this.timer) this.draw();
  }

  /** Clears the line before other output is written, then draws again on the next tick. */
  clear(): void {
    if (this.shown) this.stream.write('\r\u001b[2K');
    this.shown = false;
  }

  /** Stops and clears the line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private draw(): void {
    const spinner = FRAMES[this.frame++ % FRAMES.length]!;
    const width = this.stream.columns ?? 80;
    const text = `${spinner} ${this.label}`.slice(0, Math.max(10, width - 1));
    this.stream.write(`\r\u001b[2K${this.color ? `\u001b[36m${text}\u001b[39m` : text}`);
    this.shown = true;
  }
}
