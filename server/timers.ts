/**
 * The server's one timer service: keyed one-shot timers for everything the registries ask to run
 * later (a call's ring timeout and `ending` period, a suspended session's grace window, the
 * presence window). Starting a key that runs replaces it; each callback runs inside the failure
 * boundary; {@link TimerService.close} clears them all at shutdown and refuses new ones, so no
 * timer keeps a stopped server's process alive or acts on state that is being torn down.
 */

/** Runs `body` inside a failure boundary named `place` (see `FailureReporter.guarded`). */
export type Guard = (place: string, body: () => void) => void;

/** A pending timer: a `setTimeout`, or a `setImmediate` for a zero delay. */
type PendingTimer = { kind: "timeout"; handle: NodeJS.Timeout } | { kind: "immediate"; handle: NodeJS.Immediate };

/** Keyed one-shot timers, each firing inside the failure boundary. */
export class TimerService {
  readonly #guard: Guard;
  readonly #pending = new Map<string, PendingTimer>();
  #closed = false;

  constructor(guard: Guard) {
    this.#guard = guard;
  }

  /**
   * Runs `callback` once after `delayMs` (0: at the end of this event-loop turn, after the I/O
   * already queued), replacing a timer that runs under `key`. Failures are reported under `place`.
   * Does nothing once the service is closed.
   */
  start(key: string, delayMs: number, place: string, callback: () => void): void {
    if (this.#closed) {
      return;
    }
    this.cancel(key);
    const fire = (): void => {
      this.#pending.delete(key);
      this.#guard(place, callback);
    };
    this.#pending.set(key, delayMs > 0 ? { kind: "timeout", handle: setTimeout(fire, delayMs) } : { kind: "immediate", handle: setImmediate(fire) });
  }

  /** Drops the timer under `key`, if one is pending. */
  cancel(key: string): void {
    const timer = this.#pending.get(key);
    if (!timer) {
      return;
    }
    this.#pending.delete(key);
    if (timer.kind === "timeout") {
      clearTimeout(timer.handle);
    } else {
      clearImmediate(timer.handle);
    }
  }

  /** True while a timer is pending under `key`. */
  has(key: string): boolean {
    return this.#pending.has(key);
  }

  /** Number of pending timers. */
  get size(): number {
    return this.#pending.size;
  }

  /** Clears every pending timer and ignores later starts (shutdown). Safe to call twice. */
  close(): void {
    this.#closed = true;
    for (const key of [...this.#pending.keys()]) {
      this.cancel(key);
    }
  }
}
