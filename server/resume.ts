/**
 * Session resumption: the pure state that lets a session survive a signaling reconnect.
 *
 * A session is what one connection holds on the server, its room membership and/or its login, and
 * its id is the connection id. Every session that joined a room or logged in holds one secret
 * resume token (the same for both). When its socket is lost abruptly the session is *suspended*
 * rather than ended: it keeps its seat and its login (the others see nothing), and what is
 * addressed to it is buffered, within bounds, until a new connection presents the token (`resume`)
 * or the grace window ends. No sockets and no timers here: the session layer asks
 * {@link suspendsOnClose} whether to suspend; a suspension's effects start its grace timer
 * ({@link graceTimerId}), and the session layer calls {@link SessionResumption.expire} when it fires.
 */
import { timingSafeEqual } from "node:crypto";
import { CLOSE_CODES } from "../shared/protocol/errors.ts";
import type { Effects, TimerCommand } from "./effects.ts";
import type { SuspendedSessions } from "./stores.ts";

/** Owner part of the grace timers' ids (see `timerOwner` in server/effects.ts). */
export const GRACE_TIMER_OWNER = "grace";

/** The id of session `id`'s grace timer. */
export function graceTimerId(id: string): string {
  return `${GRACE_TIMER_OWNER}:${id}`;
}

/** Default grace window after an abrupt disconnect, in milliseconds. */
export const DEFAULT_RESUME_GRACE_MS = 15_000;

/** Most messages buffered for one suspended session; one more ends the suspension as a leave. */
export const RESUME_BUFFER_MAX_MESSAGES = 256;

/** Most bytes buffered for one suspended session; more ends the suspension as a leave. */
export const RESUME_BUFFER_MAX_BYTES = 1024 * 1024;

/** A frame held for a suspended session: one serialized server message. */
export type BufferedFrame = string;

/** Options of a {@link SessionResumption}. */
export interface SessionResumptionOptions {
  /** How long a suspended session may be resumed. */
  graceMs: number;
  maxBufferedMessages?: number;
  maxBufferedBytes?: number;
}

/** Why a `resume` was refused (all answered as `resume_failed`; the reason is for logs and tests). */
export type ResumeRefusal = "unknown_id" | "wrong_token" | "expired";

/** Outcome of {@link SessionResumption.suspend}: when the grace window ends, and its timer. */
export interface SuspendOutcome extends Effects {
  deadlineMs: number;
  timers: TimerCommand[];
}

/** Outcome of {@link SessionResumption.resume}; on success its effects cancel the grace timer. */
export type ResumeOutcome =
  | (Effects & {
      ok: true;
      /**
       * `suspended`: the session's socket was gone; `live`: its old socket is still open as far
       * as the server knows (half-open), and the caller closes it.
       */
      from: "suspended" | "live";
      /** What was addressed to the session while it was away, oldest first. */
      frames: BufferedFrame[];
    })
  | { ok: false; reason: ResumeRefusal };

/** Outcome of {@link SessionResumption.buffer}. */
export type BufferOutcome =
  /** Held until the session resumes. */
  | "buffered"
  /** The bounds were exceeded: the suspension is over and the caller ends the session. */
  | "overflow"
  /** The session is not suspended (gone, or never joined nor logged in): drop the frame. */
  | "not_suspended";

interface Suspension {
  deadlineMs: number;
  frames: BufferedFrame[];
  bytes: number;
}

/**
 * Beginnings of the reasons uWebSockets.js gives when it drops a connection (1006) because the client
 * broke the WebSocket protocol (a frame over the hard cap, invalid UTF-8 in a text frame). Network
 * loss comes with no reason, an idle timeout with "WebSocket timed out from inactivity".
 */
const PROTOCOL_VIOLATION_REASONS = ["Received invalid UTF-8", "Received too big message"];

/**
 * Decides whether closing the socket of a session (joined or logged in) suspends it (true) or ends
 * it at once.
 *
 * `code` and `reason` are what the transport reported; `closedByServer` says the server had ended
 * the socket itself. A client that says goodbye (1000 normal, 1001 going away, 1005 a close frame
 * without a code, which is what `WebSocket.close()` without arguments sends) leaves at once. So does
 * a socket the server ended: a shutdown (1012) takes every session with it, a misbehaving client
 * (4001) and a replaced login (4003) are not to come back, and a slow reader (4002) has lost what
 * sat unread in its send buffer, so a resumed session would be silently missing messages. So does a
 * client the transport dropped for breaking the protocol. Everything else is the network (1006:
 * loss, a cut proxy, an idle timeout) and is suspended.
 */
export function suspendsOnClose(code: number, closedByServer: boolean, reason = ""): boolean {
  if (closedByServer || code === 1000 || code === 1001 || code === 1005 || code === CLOSE_CODES.service_restart) {
    return false;
  }
  return !PROTOCOL_VIOLATION_REASONS.some((violation) => reason.startsWith(violation));
}

/** Compares two tokens in time independent of where they differ. */
function tokensMatch(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}


/**
 * Resume tokens of live sessions and the suspended sessions with their buffers. A session id is in
 * exactly one of three states: unknown, live (admitted), or suspended.
 */
export class SessionResumption implements SuspendedSessions {
  /** session id → its current resume token (live and suspended sessions). */
  readonly #tokens = new Map<string, string>();
  /** session id → its suspension, for suspended sessions only. */
  readonly #suspended = new Map<string, Suspension>();
  readonly #graceMs: number;
  readonly #maxBufferedMessages: number;
  readonly #maxBufferedBytes: number;

  constructor(options: SessionResumptionOptions) {
    this.#graceMs = options.graceMs;
    this.#maxBufferedMessages = options.maxBufferedMessages ?? RESUME_BUFFER_MAX_MESSAGES;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? RESUME_BUFFER_MAX_BYTES;
  }

  /** The grace window, in milliseconds. */
  get graceMs(): number {
    return this.#graceMs;
  }

  /** The current token of live or suspended session `id`, or undefined when it holds none. */
  tokenOf(id: string): string | undefined {
    return this.#tokens.get(id);
  }

  /** Registers live session `id` with `token` (on a join or login, and with a fresh token on resume). */
  admit(id: string, token: string): void {
    this.#suspended.delete(id);
    this.#tokens.set(id, token);
  }

  /**
   * Suspends live session `id`: from now on frames for it are buffered. Returns when the grace
   * window ends with the timer that ends it, or undefined when `id` is not a live session (nothing
   * to suspend).
   */
  suspend(id: string, nowMs: number): SuspendOutcome | undefined {
    if (!this.#tokens.has(id) || this.#suspended.has(id)) {
      return undefined;
    }
    const deadlineMs = nowMs + this.#graceMs;
    this.#suspended.set(id, { deadlineMs, frames: [], bytes: 0 });
    return { deadlineMs, deliveries: [], timers: [{ op: "start", timerId: graceTimerId(id), delayMs: this.#graceMs }] };
  }

  /** True while `id` is suspended. */
  isSuspended(id: string): boolean {
    return this.#suspended.has(id);
  }

  /**
   * Holds `frame` for suspended session `id`. A frame that would pass either bound ends the
   * suspension (`overflow`): the session is forgotten here and the caller removes it from its
   * room and ends its login, since a client that resumed without those messages would hold a state
   * that is wrong.
   */
  buffer(id: string, frame: BufferedFrame): BufferOutcome {
    const suspension = this.#suspended.get(id);
    if (!suspension) {
      return "not_suspended";
    }
    const bytes = Buffer.byteLength(frame);
    if (suspension.frames.length + 1 > this.#maxBufferedMessages || suspension.bytes + bytes > this.#maxBufferedBytes) {
      this.forget(id);
      return "overflow";
    }
    suspension.frames.push(frame);
    suspension.bytes += bytes;
    return "buffered";
  }

  /**
   * Lets a new connection take over session `id` with `token`. On success the session is
   * live again under `nextToken` (the old token stops working) and the buffered frames are handed
   * over. A live session can be taken over too: its old socket is half-open (the client saw the
   * loss before the server did), and the caller closes it. A suspension past its deadline is
   * refused even if its timer has not fired yet.
   */
  resume(id: string, token: string, nextToken: string, nowMs: number): ResumeOutcome {
    const expected = this.#tokens.get(id);
    if (expected === undefined) {
      return { ok: false, reason: "unknown_id" };
    }
    if (!tokensMatch(expected, token)) {
      return { ok: false, reason: "wrong_token" };
    }
    const suspension = this.#suspended.get(id);
    if (suspension && nowMs > suspension.deadlineMs) {
      return { ok: false, reason: "expired" };
    }
    this.admit(id, nextToken);
    return {
      ok: true,
      from: suspension ? "suspended" : "live",
      frames: suspension?.frames ?? [],
      deliveries: [],
      timers: [{ op: "cancel", timerId: graceTimerId(id) }],
    };
  }

  /**
   * Ends the suspension of `id` if its grace window is over at `nowMs`; true when it did (the
   * caller ends the session). False when `id` resumed, ended or is not due.
   */
  expire(id: string, nowMs: number): boolean {
    const suspension = this.#suspended.get(id);
    if (!suspension || nowMs < suspension.deadlineMs) {
      return false;
    }
    this.forget(id);
    return true;
  }

  /** Forgets `id` entirely (it left its room and holds no login); its token stops working. */
  forget(id: string): Effects {
    this.#tokens.delete(id);
    this.#suspended.delete(id);
    return { deliveries: [], timers: [{ op: "cancel", timerId: graceTimerId(id) }] };
  }

  /** Ids of every suspended session. */
  suspendedIds(): string[] {
    return [...this.#suspended.keys()];
  }

  /** Number of suspended sessions (for health and metrics). */
  suspendedCount(): number {
    return this.#suspended.size;
  }
}
