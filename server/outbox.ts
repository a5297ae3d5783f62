/**
 * Outgoing frames and closes, written at the end of the event-loop turn instead of at once.
 *
 * uWebSockets.js corks the socket whose message is being handled. A frame sent from that handler to
 * any other socket (every relay, every room broadcast) cannot use the shared cork buffer, so it is
 * formatted into that socket's own backpressure buffer, a `std::string` that uWebSockets.js clears
 * but never shrinks: each socket would keep, for its whole life, a buffer as large as the largest
 * frame ever relayed to it (a 4 KB SDP; up to four times `maxMessageBytes`). Written after the poll
 * phase, when nothing is corked, each frame up to the 16 KiB cork buffer goes through that shared
 * buffer instead, and a socket holds a buffer of its own only while its reader falls behind or
 * after it was sent a larger frame.
 *
 * Entries keep their order, so a socket receives its frames, and its close, in the order they were
 * queued. Frames built from bytes are copied into one arena that is reused every turn.
 */

/** What the outbox does with an entry when it flushes. */
export interface OutboxSink<Target> {
  /** Writes one text frame to `target`. */
  write(target: Target, frame: string | Uint8Array): void;
  /** Closes `target` with `code` after the frames queued before the close. */
  end(target: Target, code: number, reason: string): void;
}

/** A queued close. */
interface CloseEntry {
  code: number;
  reason: string;
}

/** Initial arena size. */
const ARENA_BYTES = 64 * 1024;
/** Largest arena kept between turns; a turn that needed more gets a fresh small one after. */
const MAX_KEPT_ARENA_BYTES = 1024 * 1024;

/** Frames and closes to write at the end of this turn. */
export class Outbox<Target> {
  readonly #sink: OutboxSink<Target>;
  readonly #schedule: (flush: () => void) => void;
  readonly #onError: (error: unknown) => void;
  readonly #targets: Target[] = [];
  /** Per entry: a text frame, the byte length of a frame in the arena, or a close. */
  readonly #entries: Array<string | number | CloseEntry> = [];
  #arena = new Uint8Array(ARENA_BYTES);
  #arenaUsed = 0;
  #scheduled = false;
  readonly #flush = (): void => this.flush();

  /**
   * `onError` receives what a sink call threw (the server counts and logs it through its failure
   * reporter); by default it is written to the console.
   */
  constructor(
    sink: OutboxSink<Target>,
    schedule: (flush: () => void) => void = setImmediate,
    onError: (error: unknown) => void = (error) => console.error("webrtc-room: outbox entry failed:", error),
  ) {
    this.#sink = sink;
    this.#schedule = schedule;
    this.#onError = onError;
  }

  /** Number of entries waiting for the flush. */
  get size(): number {
    return this.#entries.length;
  }

  /** Queues a text frame for `target`. */
  send(target: Target, frame: string): void {
    this.#push(target, frame);
  }

  /**
   * Queues a text frame for `target` made of the first `headLength` bytes of `head` followed by
   * `tail`. Both are copied now, so the caller may reuse them at once.
   */
  sendJoined(target: Target, head: Uint8Array, headLength: number, tail: Uint8Array): void {
    const length = headLength + tail.length;
    // Room for all of `head`: it is copied whole (no view to make) and `tail` overwrites its end.
    const needed = Math.max(length, head.length);
    if (this.#arena.length - this.#arenaUsed < needed) {
      const grown = new Uint8Array(Math.max(this.#arena.length * 2, this.#arenaUsed + needed));
      grown.set(this.#arena.subarray(0, this.#arenaUsed));
      this.#arena = grown;
    }
    this.#arena.set(head, this.#arenaUsed);
    this.#arena.set(tail, this.#arenaUsed + headLength);
    this.#arenaUsed += length;
    this.#push(target, length);
  }

  /** Queues a close of `target`, after the frames already queued for it. */
  close(target: Target, code: number, reason: string): void {
    this.#push(target, { code, reason });
  }

  /**
   * Writes every entry in order, including those queued while flushing (a close handler that
   * broadcasts a leave). One entry that throws does not stop the others.
   */
  flush(): void {
    this.#scheduled = false;
    const targets = this.#targets;
    const entries = this.#entries;
    let arenaOffset = 0;
    for (let index = 0; index < entries.length; index += 1) {
      const target = targets[index] as Target;
      const entry = entries[index];
      try {
        if (typeof entry === "string") {
          this.#sink.write(target, entry);
        } else if (typeof entry === "number") {
          this.#sink.write(target, this.#arena.subarray(arenaOffset, arenaOffset + entry));
          arenaOffset += entry;
        } else if (entry !== undefined) {
          this.#sink.end(target, entry.code, entry.reason);
        }
      } catch (error) {
        // A socket that went away mid-flush must not cost the others their frames.
        this.#onError(error);
      }
    }
    targets.length = 0;
    entries.length = 0;
    this.#arenaUsed = 0;
    if (this.#arena.length > MAX_KEPT_ARENA_BYTES) {
      this.#arena = new Uint8Array(ARENA_BYTES);
    }
  }

  #push(target: Target, entry: string | number | CloseEntry): void {
    this.#targets.push(target);
    this.#entries.push(entry);
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.#schedule(this.#flush);
    }
  }
}
