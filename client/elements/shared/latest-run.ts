/**
 * Dropping stale async results, the one way both controllers do it (after Lit's `@lit/task`,
 * which pairs a call id with an `AbortController`; here the controller is the call id).
 *
 * A controller starts a run (a stay in a room, a sign-in, a call being placed) and keeps its
 * `AbortSignal`. Starting the next run or cancelling aborts that signal, so an `await` that
 * resumes afterwards sees `signal.aborted` and gives up, and listeners added with
 * `{ signal }` are removed at the same moment.
 */
export class LatestRun {
  #controller = new AbortController();

  /** The signal of the current run: aborted once it is cancelled or a newer run starts. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Makes every earlier run stale and starts a new one; returns its signal. */
  start(): AbortSignal {
    this.cancel();
    return this.#controller.signal;
  }

  /** Makes the current run stale (its signal aborts). Safe to call any number of times. */
  cancel(): void {
    this.#controller.abort();
    this.#controller = new AbortController();
  }
}
