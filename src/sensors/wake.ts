/**
 * A sleep that can be cut short: role loops wait on it between rounds and a
 * NOTIFY (or stop) wakes them at once.
 */
export class Wakeup {
  #pending: (() => void) | undefined;
  #woken = false;

  /** Resolves after `ms`, or sooner when `wake()` is called (also when it was called since the last sleep). */
  sleep(ms: number): Promise<void> {
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#pending = () => {
        this.#pending = undefined;
        done();
      };
    });
  }

  /** Ends the current sleep, or the next one when none is under way. */
  wake(): void {
    if (this.#pending) this.#pending();
    else this.#woken = true;
  }
}
