/**
 * Per-connection message order across asynchronous handlers.
 *
 * Almost every handler is synchronous. A few (a join or login that verifies a signed token) return
 * a promise: until it settles, the connection's later messages wait here, in arrival order, and are
 * handed on only afterwards, so that a `send_offer` sent right behind a `new_user` never overtakes
 * the join it depends on. Another connection's messages never wait. A connection that closes
 * meanwhile has its waiting messages dropped: the handler that awaited checks the connection is
 * still open before acting, and nothing queued behind it runs. The wait is bounded (count and
 * bytes): a client has no reason to send much before the answer to its join or login, and what it
 * sends past the bound is refused, not held.
 */
import type { ClientMessage } from "../shared/protocol/index.ts";
import type { Connection } from "./transport.ts";

/** A message received while an earlier one of the same connection was still being handled. */
interface WaitingMessage {
  message: ClientMessage;
  text: string;
  /** A copy: the frame's own bytes are valid only during the transport's message callback. */
  bytes: Uint8Array;
}

/** What {@link OrderedMessages} hands messages to and reports to. */
export interface OrderedMessagesOptions {
  /** Handles one message; a promise means "the connection's next message waits for this". */
  handle(sender: Connection, message: ClientMessage, text: string, bytes: Uint8Array, nowMs: number): void | Promise<void>;
  /** True while `connection`'s socket is open and nothing closes it. */
  isOpen(connection: Connection): boolean;
  /** A handler failed after the transport's own boundary (asynchronously, or while draining). */
  failed(sender: Connection, message: ClientMessage, error: unknown): void;
  /** `message` arrived while the connection's wait was full: it is dropped, the sender is told. */
  overflowed(sender: Connection, message: ClientMessage, nowMs: number): void;
  /** Most messages one connection may have waiting. */
  maxWaitingMessages: number;
  /** Most frame bytes one connection may have waiting (each held as its text and its bytes). */
  maxWaitingBytes: number;
}

/** Keeps each connection's messages in order while one of its handlers is asynchronous. */
export class OrderedMessages {
  readonly #options: OrderedMessagesOptions;
  /** Connections with a handler in flight → the messages waiting behind it. */
  readonly #waiting = new WeakMap<Connection, WaitingMessage[]>();
  /** Frame bytes waiting per connection, for {@link OrderedMessagesOptions.maxWaitingBytes}. */
  readonly #waitingBytes = new WeakMap<Connection, number>();

  constructor(options: OrderedMessagesOptions) {
    this.#options = options;
  }

  /**
   * Handles `message` now, or queues it behind the connection's pending handler. A synchronous
   * exception propagates to the caller (the transport's boundary answers it with `internal`).
   */
  receive(sender: Connection, message: ClientMessage, text: string, bytes: Uint8Array, nowMs: number): void {
    const waiting = this.#waiting.get(sender);
    if (waiting !== undefined) {
      const waitingBytes = (this.#waitingBytes.get(sender) ?? 0) + bytes.byteLength;
      if (waiting.length >= this.#options.maxWaitingMessages || waitingBytes > this.#options.maxWaitingBytes) {
        this.#options.overflowed(sender, message, nowMs);
        return;
      }
      this.#waitingBytes.set(sender, waitingBytes);
      waiting.push({ message, text, bytes: bytes.slice() });
      return;
    }
    this.#run(sender, message, text, bytes, nowMs);
  }

  #run(sender: Connection, message: ClientMessage, text: string, bytes: Uint8Array, nowMs: number): void {
    const outcome = this.#options.handle(sender, message, text, bytes, nowMs);
    if (outcome === undefined) {
      return;
    }
    this.#waiting.set(sender, []);
    outcome.then(
      () => this.#drain(sender),
      (error: unknown) => {
        this.#options.failed(sender, message, error);
        this.#drain(sender);
      },
    );
  }

  /** Hands on what waited behind a settled handler, until the queue is empty or another handler is in flight. */
  #drain(sender: Connection): void {
    const queue = this.#waiting.get(sender) ?? [];
    this.#waiting.delete(sender);
    this.#waitingBytes.delete(sender);
    while (queue.length > 0) {
      if (!this.#options.isOpen(sender)) {
        return;
      }
      const next = queue.shift() as WaitingMessage;
      try {
        this.#run(sender, next.message, next.text, next.bytes, performance.now());
      } catch (error) {
        this.#options.failed(sender, next.message, error);
      }
      const pending = this.#waiting.get(sender);
      if (pending !== undefined) {
        // Another handler went asynchronous: the rest waits behind it, still first in line.
        pending.push(...queue);
        this.#waitingBytes.set(sender, queue.reduce((total, waiting) => total + waiting.bytes.byteLength, 0));
        return;
      }
    }
  }
}
