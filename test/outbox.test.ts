/**
 * Unit tests of the outbox: what is queued during a turn is written, in order, when it flushes.
 */
import { describe, expect, it } from "vitest";
import { Outbox, type OutboxSink } from "../server/outbox.ts";

/** An outbox over a recording sink, flushed by hand. */
function harness(onWrite: (target: string, frame: string) => void = () => {}) {
  const log: string[] = [];
  let pending: (() => void) | undefined;
  let schedules = 0;
  const decoder = new TextDecoder();
  const sink: OutboxSink<string> = {
    write(target, frame) {
      const text = typeof frame === "string" ? frame : decoder.decode(frame);
      log.push(`${target}<${text}`);
      onWrite(target, text);
    },
    end(target, code, reason) {
      log.push(`${target} end ${code} ${reason}`);
    },
  };
  const outbox = new Outbox(sink, (flush) => {
    schedules += 1;
    pending = flush;
  });
  return {
    outbox,
    log,
    schedules: () => schedules,
    flush: () => pending?.(),
  };
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe("Outbox (happy path)", () => {
  it("writes nothing until the flush, then everything in the order it was queued", () => {
    const { outbox, log, flush } = harness();
    outbox.send("a", "1");
    outbox.sendJoined("b", bytes("{head}xx"), 5, bytes("+tail}"));
    outbox.send("a", "2");
    outbox.close("a", 4001, "bye");
    expect(log).toEqual([]);
    flush();
    expect(log).toEqual(["a<1", "b<{head+tail}", "a<2", "a end 4001 bye"]);
    expect(outbox.size).toBe(0);
  });

  it("schedules one flush per turn", () => {
    const { outbox, schedules, flush } = harness();
    outbox.send("a", "1");
    outbox.send("b", "2");
    expect(schedules()).toBe(1);
    flush();
    outbox.send("a", "3");
    expect(schedules()).toBe(2);
  });

  it("copies byte frames, so the caller may reuse its buffers at once", () => {
    const { outbox, log, flush } = harness();
    const head = bytes("{one}");
    const tail = bytes("!}");
    outbox.sendJoined("a", head, 4, tail);
    head.fill(0x78);
    tail.fill(0x78);
    outbox.sendJoined("a", bytes("{two}"), 4, bytes("?}"));
    flush();
    expect(log).toEqual(["a<{one!}", "a<{two?}"]);
  });

  it("grows past its arena for a large turn and keeps every frame intact", () => {
    const { outbox, log, flush } = harness();
    const big = "x".repeat(50_000);
    for (let index = 0; index < 5; index += 1) {
      outbox.sendJoined("a", bytes(`{${big}${index}}`), big.length + 2, bytes("}"));
    }
    flush();
    expect(log.map((line) => line.slice(-3))).toEqual(["x0}", "x1}", "x2}", "x3}", "x4}"]);
  });

  it("writes what is queued while it flushes, in the same flush", () => {
    const { outbox, log, flush } = harness((target) => {
      if (target === "a") {
        outbox.send("b", "caused by a");
      }
    });
    outbox.send("a", "1");
    outbox.send("c", "2");
    flush();
    expect(log).toEqual(["a<1", "c<2", "b<caused by a"]);
  });
});

describe("Outbox (failure cases)", () => {
  it("keeps writing the other entries when one throws", () => {
    const { outbox, log, flush } = harness((target) => {
      if (target === "gone") {
        throw new Error("Invalid access of closed uWS.WebSocket");
      }
    });
    outbox.send("gone", "1");
    outbox.send("a", "2");
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      flush();
    } finally {
      console.error = original;
    }
    expect(log).toEqual(["gone<1", "a<2"]);
    expect(errors).toHaveLength(1);
  });
});
