/** `noop`: does nothing and succeeds at once, with an empty result. */
import type { Runner, RunnerInput, RunnerOutcome } from './types.js';

export class NoopRunner implements Runner {
  readonly name = 'noop';

  async run(input: RunnerInput): Promise<RunnerOutcome> {
    if (input.signal.aborted) return { status: 'canceled', result: { stdout: '', stderr: '' }, error: 'the execution was canceled' };
    return { status: 'succeeded', result: { stdout: '', stderr: '' } };
  }
}
