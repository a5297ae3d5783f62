/**
 * The effects applier on a fake transport (the sockets are the only fake): real suspended
 * sessions, presence fan-out and timer service. Order of what goes out, buffering for suspended
 * sessions, overflow and close handling, timers and the presence window; and how two steps'
 * effects combine into one operation's.
 */
import { describe, expect, it } from "vitest";
import type { ServerMessage } from "../shared/protocol/index.ts";
import { combineEffects, EffectsApplier, timerOwner, type DeliveryPort, type Effects } from "../server/effects.ts";
import { PresenceFanout } from "../server/presence.ts";
import { SessionResumption } from "../server/resume.ts";
import { TimerService } from "../server/timers.ts";

/** Sockets as a log: what was written and closed, for the ids that are "connected". */
class FakeTransport implements DeliveryPort {
  readonly log: string[] = [];
  constructor(readonly connected: Set<string>) {}
  isConnected(id: string): boolean {
    return this.connected.has(id);
  }
  sendFrame(id: string, frame: string): void {
    this.log.push(`${id} <- ${frame}`);
  }
  close(id: string, code: number, reason: string): boolean {
    if (!this.connected.has(id)) {
      return false;
    }
    this.log.push(`${id} closed ${code} ${reason}`);
    return true;
  }
}

interface Setup {
  applier: EffectsApplier;
  transport: FakeTransport;
  suspended: SessionResumption;
  timers: TimerService;
  ended: string[];
  fired: string[];
}

function setup(options: { connected?: string[]; suspended?: string[]; maxBufferedMessages?: number; presenceWindowMs?: number } = {}): Setup {
  const transport = new FakeTransport(new Set(options.connected ?? []));
  const suspended = new SessionResumption({ graceMs: 1_000, maxBufferedMessages: options.maxBufferedMessages ?? 8 });
  for (const id of options.suspended ?? []) {
    suspended.admit(id, "token");
    suspended.suspend(id, 0);
  }
  const timers = new TimerService((_place, body) => body());
  const ended: string[] = [];
  const fired: string[] = [];
  const applier = new EffectsApplier({
    transport,
    suspended,
    presence: new PresenceFanout(),
    timers,
    presenceWindowMs: options.presenceWindowMs ?? 0,
    timerFired: (timerId) => fired.push(timerId),
    endSession: (id) => {
      ended.push(id);
      transport.log.push(`ended ${id}`);
      suspended.forget(id);
    },
  });
  return { applier, transport, suspended, timers, ended, fired };
}

const pong: ServerMessage = { type: "pong" };

describe("EffectsApplier (happy path)", () => {
  it("queues deliveries in order, serializing a shared message once and skipping unknown ids", () => {
    const { applier, transport } = setup({ connected: ["a", "b"] });
    applier.apply({ deliveries: [{ to: "a", message: pong }, { to: "nobody", message: pong }, { to: "b", message: pong }, { to: "a", message: { type: "pong", t: 1 } }] });
    expect(transport.log).toEqual(['a <- {"type":"pong"}', 'b <- {"type":"pong"}', 'a <- {"type":"pong","t":1}']);
  });

  it("holds what is addressed to a suspended session for its resume", () => {
    const { applier, transport, suspended } = setup({ suspended: ["s"] });
    applier.apply({ deliveries: [{ to: "s", message: pong }] });
    expect(transport.log).toEqual([]);
    const resumed = suspended.resume("s", "token", "next", 1);
    expect(resumed.ok && resumed.frames).toEqual(['{"type":"pong"}']);
  });

  it("sends deliveries, then the presence snapshot of a new login, then the closes", () => {
    const { applier, transport } = setup({ connected: ["a", "b"] });
    applier.apply({
      deliveries: [{ to: "a", message: pong }],
      presence: { subscribed: "a", unsubscribed: [], left: [], updated: [{ userID: "alice", username: "Alice", status: "online" }] },
      closes: [{ connectionId: "b", code: 4003, reason: "replaced" }],
    });
    expect(transport.log).toEqual([
      'a <- {"type":"pong"}',
      'a <- {"type":"presence","users":[{"userID":"alice","username":"Alice","status":"online"}]}',
      "b closed 4003 replaced",
    ]);
  });

  it("hands a started timer back to its owner when it runs out, and not a cancelled one", async () => {
    const { applier, fired } = setup();
    await new Promise<void>((resolve) => {
      applier.apply({ deliveries: [], timers: [{ op: "start", timerId: "ring:1", delayMs: 1 }, { op: "start", timerId: "ending:1", delayMs: 1 }, { op: "cancel", timerId: "ending:1" }] });
      applier.apply({ deliveries: [], timers: [{ op: "start", timerId: "grace:z", delayMs: 20 }] });
      setTimeout(resolve, 40);
    });
    expect(fired).toEqual(["ring:1", "grace:z"]);
  });

  it("flushes the presence window through the timer service", async () => {
    const { applier, transport, timers } = setup({ connected: ["a"] });
    applier.apply({ deliveries: [], presence: { subscribed: "a", unsubscribed: [], left: [], updated: [] } });
    applier.apply({ deliveries: [], presence: { unsubscribed: [], left: [], updated: [{ userID: "bob", username: "Bob", status: "online" }] } });
    expect(timers.has("presence:window")).toBe(true);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(transport.log.at(-1)).toBe('a <- {"type":"presenceUpdate","user":{"userID":"bob","username":"Bob","status":"online"}}');
  });

  it.each([
    ["ring:c1", "ring"],
    ["grace:abc:def", "grace"],
    ["presence", "presence"],
  ])("names the owner of timer %s %s", (timerId, owner) => {
    expect(timerOwner(timerId)).toBe(owner);
  });
});

describe("EffectsApplier (failure cases)", () => {
  it("ends a session whose buffer overflowed only after the whole effects went out", () => {
    const { applier, transport, ended } = setup({ connected: ["a"], suspended: ["s"], maxBufferedMessages: 1 });
    applier.apply({ deliveries: [{ to: "s", message: pong }, { to: "s", message: pong }, { to: "a", message: pong }] });
    expect(ended).toEqual(["s"]);
    expect(transport.log).toEqual(['a <- {"type":"pong"}', "ended s"]);
  });

  it("ends a suspended session asked to close, and ignores a close for an unknown id", () => {
    const { applier, ended } = setup({ suspended: ["s"] });
    applier.apply({ deliveries: [], closes: [{ connectionId: "s", code: 4003, reason: "replaced" }, { connectionId: "gone", code: 4003, reason: "replaced" }] });
    expect(ended).toEqual(["s"]);
  });
});

describe("combineEffects", () => {
  const alice = { userID: "alice", username: "Alice", status: "ending" } as const;
  const bob = { userID: "bob", username: "Bob", status: "online" } as const;

  it("puts the first step's effects before the second's in every field, the second's login subscribing", () => {
    const callEnded: Effects = {
      deliveries: [{ to: "a", message: { type: "stopCommunication", reason: "replaced" } }],
      timers: [{ op: "start", timerId: "ending:c1", delayMs: 1000 }],
      presence: { unsubscribed: [], left: [], updated: [alice] },
    };
    const takeover: Effects = {
      deliveries: [{ to: "b", message: { type: "loggedOut", reason: "replaced" } }, { to: "b2", message: pong }],
      closes: [{ connectionId: "b", code: 4003, reason: "replaced" }],
      presence: { subscribed: "b2", unsubscribed: ["b"], left: [], updated: [bob] },
    };
    expect(combineEffects(callEnded, takeover)).toEqual({
      deliveries: [...callEnded.deliveries, ...takeover.deliveries],
      timers: callEnded.timers,
      closes: takeover.closes,
      presence: { subscribed: "b2", unsubscribed: ["b"], left: [], updated: [alice, bob] },
    });
  });

  it("gives every field, empty ones included, for steps that ask nothing", () => {
    expect(combineEffects({ deliveries: [] }, { deliveries: [], presence: { unsubscribed: ["a"], left: ["alice"], updated: [] } })).toEqual({
      deliveries: [],
      timers: [],
      closes: [],
      presence: { unsubscribed: ["a"], left: ["alice"], updated: [] },
    });
  });
});
