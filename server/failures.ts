/**
 * The reporting side of the handler boundaries: an exception caught at a boundary is counted by
 * place and logged with its stack the first time its place and top frame are seen. A client that
 * can trigger one failure at will must neither stop the process nor fill its log.
 */
import type { ServerMetrics } from "./metrics.ts";

/** Most distinct failures logged with their stack; later ones are only counted. */
export const MAX_LOGGED_FAILURES = 100;

/** Counts and logs exceptions caught by handler boundaries. */
export class FailureReporter {
  readonly #metrics: ServerMetrics;
  readonly #log: (text: string) => void;
  /** Signatures (place + first two stack lines) of the failures logged so far. */
  readonly #logged = new Set<string>();

  constructor(metrics: ServerMetrics, log: (text: string) => void = (text) => console.error(text)) {
    this.#metrics = metrics;
    this.#log = log;
  }

  /** Counts `error` under `place` and logs it unless the same failure was logged before. */
  report(place: string, error: unknown): void {
    this.#metrics.countInternalError(place);
    const stack = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : String(error);
    const signature = `${place}\n${stack.split("\n").slice(0, 2).join("\n")}`;
    if (this.#logged.has(signature) || this.#logged.size >= MAX_LOGGED_FAILURES) {
      return;
    }
    this.#logged.add(signature);
    this.#log(`webrtc-room: internal error in ${place} (logged once, counted in /metrics):\n${stack}`);
  }

  /** Runs `body`; an exception is reported, never thrown into the caller (the event loop). */
  guarded(place: string, body: () => void): void {
    try {
      body();
    } catch (error) {
      this.report(place, error);
    }
  }
}
