/**
 * OrderedMessages on its own: a connection's messages behind an asynchronous handler wait in
 * order, within their bound, and are dropped when the connection closed meanwhile.
 */
import { describe, expect, it } from "vitest";
import type { ClientMessage } from "../shared/protocol/index.ts";
import { OrderedMessages } from "../server/ordered-messages.ts";
import type { Connection } from "../server/transport.ts";

/** A promise and the function that settles it. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

/** A connection record as the transport would hand it over. */
function connection(id: string): Connection {
  return { id, state: 0, rate: { tokens: 0, atMs: 0 }, errorBudget: { tokens: 0, atMs: 0 }, address: "127.0.0.1", host: "" } as unknown as Connection;
}

const ping = (t: number): ClientMessage => ({ type: "ping", t });
const join: ClientMessage = { type: "new_user", room: "r", username: "u" };
const frame = (size: number): Uint8Array => new Uint8Array(size);

/** An OrderedMessages whose `new_user` handler waits for `gate`; records what it handles. */
function harness(gate: Promise<void>, limits = { maxWaitingMessages: 8, maxWaitingBytes: 1000 }) {
  const handled: string[] = [];
  const overflowed: string[] = [];
  const closed = new Set<Connection>();
  const ordered = new OrderedMessages({
    handle: (sender, message) => {
      handled.push(`${sender.id}:${message.type}${message.type === "ping" ? message.t : ""}`);
      return message.type === "new_user" ? gate : undefined;
    },
    isOpen: (sender) => !closed.has(sender),
    failed: () => undefined,
    overflowed: (sender, message) => overflowed.push(`${sender.id}:${message.type}`),
    ...limits,
  });
  return { ordered, handled, overflowed, closed };
}

describe("OrderedMessages", () => {
  it("holds a connection's later messages until its asynchronous handler settles, then hands them on in order", async () => {
    const gate = deferred();
    const { ordered, handled } = harness(gate.promise);
    const a = connection("a");
    const b = connection("b");
    ordered.receive(a, join, "", frame(10), 0);
    ordered.receive(a, ping(1), "", frame(10), 0);
    ordered.receive(b, ping(9), "", frame(10), 0);
    ordered.receive(a, ping(2), "", frame(10), 0);
    expect(handled).toEqual(["a:new_user", "b:ping9"]);
    gate.resolve();
    await gate.promise;
    await Promise.resolve();
    expect(handled).toEqual(["a:new_user", "b:ping9", "a:ping1", "a:ping2"]);
  });

  it("refuses what arrives past the bound on waiting messages or bytes", async () => {
    const gate = deferred();
    const { ordered, handled, overflowed } = harness(gate.promise, { maxWaitingMessages: 2, maxWaitingBytes: 100 });
    const a = connection("a");
    ordered.receive(a, join, "", frame(10), 0);
    ordered.receive(a, ping(1), "", frame(60), 0);
    ordered.receive(a, ping(2), "", frame(60), 0);
    ordered.receive(a, ping(3), "", frame(30), 0);
    ordered.receive(a, ping(4), "", frame(1), 0);
    expect(overflowed).toEqual(["a:ping", "a:ping"]);
    gate.resolve();
    await gate.promise;
    await Promise.resolve();
    expect(handled).toEqual(["a:new_user", "a:ping1", "a:ping3"]);
  });

  it("drops the waiting messages of a connection that closed before the handler settled", async () => {
    const gate = deferred();
    const { ordered, handled, closed } = harness(gate.promise);
    const a = connection("a");
    ordered.receive(a, join, "", frame(10), 0);
    ordered.receive(a, ping(1), "", frame(10), 0);
    closed.add(a);
    gate.resolve();
    await gate.promise;
    await Promise.resolve();
    expect(handled).toEqual(["a:new_user"]);
  });
});
