/**
 * Signals as `attune up` hears them. A Ctrl-C in a terminal reaches every
 * process of the foreground group, and the wrappers between the terminal and
 * Attune pass it on as well (npm forwards SIGINT and SIGTERM to its script,
 * tsx relays them to its child), so `npm start` receives one Ctrl-C two or
 * three times within milliseconds. Taken at face value the copies are "a
 * second signal" and Attune exits at once instead of stopping cleanly. Here
 * a signal repeated within a short window counts once; a person's second
 * Ctrl-C still exits at once.
 */
import type { SignalSource } from '../roles.js';

/** Copies of one signal closer together than this are one signal (the relays take a few ms; a person takes far longer). */
export const SIGNAL_ECHO_MS = 500;

type Handler = (signal: NodeJS.Signals) => void;

/**
 * `source` with each handler called once per burst of the same signal: a
 * repeat within `windowMs` of the previous delivery is dropped. `now` is the
 * clock (tests give their own).
 */
export function coalescedSignals(source: SignalSource = process, windowMs: number = SIGNAL_ECHO_MS, now: () => number = () => performance.now()): SignalSource {
  const wrapped = new Map<Handler, Map<NodeJS.Signals, Handler>>();
  return {
    on(signal, handler) {
      let last = Number.NEGATIVE_INFINITY;
      const once: Handler = (received) => {
        const at = now();
        const echo = at - last < windowMs;
        last = at;
        if (!echo) handler(received);
      };
      const bySignal = wrapped.get(handler) ?? new Map<NodeJS.Signals, Handler>();
      bySignal.set(signal, once);
      wrapped.set(handler, bySignal);
      return source.on(signal, once);
    },
    off(signal, handler) {
      const once = wrapped.get(handler)?.get(signal);
      if (once === undefined) return undefined;
      wrapped.get(handler)!.delete(signal);
      return source.off(signal, once);
    },
  };
}
