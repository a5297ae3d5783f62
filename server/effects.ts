/**
 * One shape for what the pure registries ask of the rest of the server ({@link Effects}: messages
 * to deliver, timers to start or cancel, connections to close, presence changes), and the one
 * {@link EffectsApplier} that carries it out through a delivery port (the transport), the
 * suspended sessions, the presence directory and the one {@link TimerService}.
 */
import type { CloseReason } from "../shared/protocol/errors.ts";
import type { ServerMessage } from "../shared/protocol/index.ts";
import type { PresenceChanges } from "./presence.ts";
import type { PresenceDirectory, SuspendedSessions } from "./stores.ts";
import type { TimerService } from "./timers.ts";

/** One message for one connection (a session), identified by its server-assigned id. */
export interface Delivery<Message extends ServerMessage = ServerMessage> {
  to: string;
  message: Message;
}

/**
 * A timer the applier runs for a registry: on `start`, hand `timerId` back to its owner after
 * `delayMs`; on `cancel`, drop that timer if it is still pending. Ids are `<owner>:<key>`.
 */
export type TimerCommand = { op: "start"; timerId: string; delayMs: number } | { op: "cancel"; timerId: string };

/** A connection to close, after this result's deliveries. */
export interface CloseCommand {
  connectionId: string;
  code: number;
  reason: CloseReason;
}

/**
 * Everything an accepted operation asks of the server, applied in this order: deliveries, presence
 * changes, timer commands, closes. Absent fields ask nothing.
 */
export interface Effects<Message extends ServerMessage = ServerMessage> {
  deliveries: Delivery<Message>[];
  timers?: TimerCommand[];
  closes?: CloseCommand[];
  /** How the presence directory and its audience changed. */
  presence?: PresenceChanges;
}

/**
 * One operation made of two steps, `first`'s effects before `second`'s in every field. Used where a
 * login ends: the call registry's effects (the call ends, other entries change status) come first,
 * then the login directory's (`loggedOut`, the 4003 close, the login leaving the audience or taken
 * over), as they always went out. The two presence changes are about different entries (the call
 * registry reports only logins still present, the directory only the one that ended or came in),
 * so their lists simply follow each other.
 */
export function combineEffects<First extends ServerMessage, Second extends ServerMessage>(
  first: Effects<First>,
  second: Effects<Second>,
): Required<Effects<First | Second>> {
  const presence: PresenceChanges = {
    unsubscribed: [...(first.presence?.unsubscribed ?? []), ...(second.presence?.unsubscribed ?? [])],
    left: [...(first.presence?.left ?? []), ...(second.presence?.left ?? [])],
    updated: [...(first.presence?.updated ?? []), ...(second.presence?.updated ?? [])],
  };
  const subscribed = second.presence?.subscribed ?? first.presence?.subscribed;
  if (subscribed !== undefined) {
    presence.subscribed = subscribed;
  }
  return {
    deliveries: [...first.deliveries, ...second.deliveries],
    timers: [...(first.timers ?? []), ...(second.timers ?? [])],
    closes: [...(first.closes ?? []), ...(second.closes ?? [])],
    presence,
  };
}

/** The owner part of a timer id (`ring`, `ending`, `grace`, …): what a timer belongs to. */
export function timerOwner(timerId: string): string {
  const colon = timerId.indexOf(":");
  return colon < 0 ? timerId : timerId.slice(0, colon);
}

/** Where deliveries and closes go: the connections that have a socket now (the transport). */
export interface DeliveryPort {
  /** True when connection `id` has an open socket. */
  isConnected(id: string): boolean;
  /** Queues a serialized frame for connection `id`; dropped when it has no open socket. */
  sendFrame(id: string, frame: string): void;
  /** Queues a close of connection `id` after what is queued for it; false when it has no socket. */
  close(id: string, code: number, reason: string): boolean;
}

/** What an {@link EffectsApplier} works with. */
export interface EffectsApplierOptions {
  transport: DeliveryPort;
  suspended: Pick<SuspendedSessions, "isSuspended" | "buffer">;
  presence: PresenceDirectory;
  timers: TimerService;
  /** The presence window: how long changes are coalesced; 0 ends it with the event-loop turn. */
  presenceWindowMs: number;
  /** Hands a fired timer to its owner (see {@link timerOwner}), which applies what follows from it. */
  timerFired(timerId: string): void;
  /**
   * Ends a suspended session as a close would end it: its buffer overflowed, or a close was asked
   * for it while it has no socket (a newer login took over a suspended one).
   */
  endSession(id: string): void;
}

/** The presence window's timer id. */
const PRESENCE_WINDOW_TIMER = "presence:window";

/** Failure place of the presence window's timer, as `/metrics` counts it. */
const PRESENCE_WINDOW_PLACE = "presence window";

/** Failure places of the registries' timers, by owner, as `/metrics` counts them. */
const TIMER_PLACES: ReadonlyMap<string, string> = new Map([["ring", "call timer"], ["ending", "call timer"], ["watchring", "watch timer"], ["grace", "grace timer"]]);

/** Carries out {@link Effects}; the one place where registry results meet sockets and timers. */
export class EffectsApplier {
  readonly #options: EffectsApplierOptions;
  /** Suspended sessions whose buffer overflowed, ended once the current effects are out. */
  readonly #overflowed: string[] = [];

  constructor(options: EffectsApplierOptions) {
    this.#options = options;
  }

  /**
   * Applies `effects`: deliveries, presence, timers, closes, and only then ends the suspended
   * sessions whose buffer overflowed, so that nobody sees such a leave in the middle of another
   * event's messages (ending one is another operation, with effects of its own).
   */
  apply(effects: Effects): void {
    this.#queue(effects.deliveries);
    if (effects.presence) {
      this.#presenceChanged(effects.presence);
    }
    for (const timer of effects.timers ?? []) {
      this.#runTimerCommand(timer);
    }
    for (const close of effects.closes ?? []) {
      if (!this.#options.transport.close(close.connectionId, close.code, close.reason) && this.#options.suspended.isSuspended(close.connectionId)) {
        // A close asked for a session without a socket: it ends as the close would end it (a
        // close the server makes is never suspended).
        this.#options.endSession(close.connectionId);
      }
    }
    this.settleOverflows();
  }

  /** Buffers `frame` for suspended session `id`; an overflow ends the session after the current effects. */
  hold(id: string, frame: string): void {
    if (this.#options.suspended.buffer(id, frame) === "overflow") {
      this.#overflowed.push(id);
    }
  }

  /** Ends the sessions whose buffer overflowed since the last call (see {@link apply}). */
  settleOverflows(): void {
    while (this.#overflowed.length > 0) {
      this.#options.endSession(this.#overflowed.shift() as string);
    }
  }

  /**
   * Queues each delivery for its socket, or buffers it for a suspended session; a message object
   * shared by several recipients is serialized once.
   */
  #queue(deliveries: readonly Delivery[]): void {
    const { transport, suspended } = this.#options;
    let lastMessage: ServerMessage | undefined;
    let lastFrame = "";
    const frames = deliveries.length > 2 ? new Map<ServerMessage, string>() : undefined;
    for (const { to, message } of deliveries) {
      const connected = transport.isConnected(to);
      if (!connected && !suspended.isSuspended(to)) {
        continue;
      }
      if (message !== lastMessage) {
        lastMessage = message;
        lastFrame = frames?.get(message) ?? JSON.stringify(message);
        frames?.set(message, lastFrame);
      }
      if (connected) {
        transport.sendFrame(to, lastFrame);
      } else {
        this.hold(to, lastFrame);
      }
    }
  }

  /**
   * Hands directory changes to the presence fan-out: a new login's snapshot goes out now, right
   * after its `loginResponse`; everything else when the window it opened runs out.
   */
  #presenceChanged(changes: PresenceChanges): void {
    const { presence, timers } = this.#options;
    const result = presence.apply(changes);
    this.#queue(result.deliveries);
    if (result.startWindow) {
      timers.start(PRESENCE_WINDOW_TIMER, this.#options.presenceWindowMs, PRESENCE_WINDOW_PLACE, () => {
        this.apply({ deliveries: presence.flush() });
      });
    }
  }

  #runTimerCommand(command: TimerCommand): void {
    const { timers } = this.#options;
    if (command.op === "cancel") {
      timers.cancel(command.timerId);
      return;
    }
    const place = TIMER_PLACES.get(timerOwner(command.timerId)) ?? "timer";
    timers.start(command.timerId, command.delayMs, place, () => this.#options.timerFired(command.timerId));
  }
}
