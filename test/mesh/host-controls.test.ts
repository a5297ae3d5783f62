/**
 * Host controls through the client core (RoomSession over real WebRTC with @roamhq/wrtc and the
 * real server): a mute request is honoured by the target's own session (its published microphone
 * is disabled and the event says so), the lobby makes `join()` wait until a host admits (or
 * denies), the host's room settings come back as `room-state`, and a removed session closes.
 */
import wrtc from "@roamhq/wrtc";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import type { RunningServer } from "../../server/server.ts";
import { RoomSession, type RoomSessionEvents, type RoomSessionOptions } from "../../client/core/index.ts";
import { settleWebRtc } from "../../client/headless/peers.ts";
import { startTestServer } from "./helpers.ts";

let server: RunningServer;
const sessions: RoomSession[] = [];
let roomCounter = 0;

beforeAll(async () => {
  server = await startTestServer();
});

afterEach(async () => {
  for (const session of sessions.splice(0)) {
    session.leave();
  }
  await settleWebRtc();
});

afterAll(async () => {
  await server.close();
});

function session(username: string, room: string, extra: Partial<RoomSessionOptions> = {}): RoomSession {
  const created = new RoomSession({ url: server.wsUrl, room, username, wrtc, WebSocket, ...extra });
  sessions.push(created);
  return created;
}

function freshRoom(): string {
  roomCounter += 1;
  return `host-controls-${roomCounter}`;
}

/** The next `event` of `target`. */
function nextEvent<Name extends keyof RoomSessionEvents>(target: RoomSession, event: Name): Promise<RoomSessionEvents[Name]> {
  return new Promise((resolve) => {
    const unsubscribe = target.on(event, (payload) => {
      unsubscribe();
      resolve(payload);
    });
  });
}

describe("RoomSession host controls", () => {
  test("a mute request disables the target's published microphone and is announced", async () => {
    const room = freshRoom();
    const host = session("Ada", room);
    await host.join();
    expect(host.grants).toEqual({ publish: true, data: true, host: true, hidden: false });
    const source = new wrtc.nonstandard.RTCAudioSource();
    const microphone = source.createTrack();
    try {
      const target = session("Bob", room);
      target.publications.publish("microphone", microphone);
      const { id } = await target.join();
      expect(target.grants?.host).toBe(false);
      const request = nextEvent(target, "mute-request");
      expect(host.muteParticipant(id, "audio")).toBe(true);
      expect(await request).toEqual({ by: host.id, kind: "audio", sources: ["microphone"] });
      expect(target.publications.get("microphone")?.track.enabled).toBe(false);
    } finally {
      microphone.stop();
    }
  });

  test("join() waits in the lobby until a host admits, and hosts see the waiting list", async () => {
    const room = freshRoom();
    const host = session("Ada", room);
    await host.join();
    const settled = nextEvent(host, "room-state");
    host.setLobby(true);
    expect((await settled).roomState.lobby).toBe(true);
    expect(host.roomState?.lobby).toBe(true);

    const waiter = session("Wes", room);
    const waiting = nextEvent(waiter, "waiting");
    const lobby = nextEvent(host, "lobby");
    const joining = waiter.join();
    const { id } = await waiting;
    expect(waiter.isWaiting).toBe(true);
    expect((await lobby).waiting).toEqual([{ id, username: "Wes" }]);
    expect(host.lobby).toEqual([{ id, username: "Wes" }]);
    host.admit(id);
    const info = await joining;
    expect(info.id).toBe(id);
    expect(info.grants.host).toBe(false);
    expect(waiter.isWaiting).toBe(false);
  });

  test("join() rejects with lobby_denied when a host denies", async () => {
    const room = freshRoom();
    const host = session("Ada", room);
    await host.join();
    host.setLobby(true);
    await nextEvent(host, "room-state");
    const waiter = session("Wes", room);
    const waiting = nextEvent(waiter, "waiting");
    const joining = waiter.join();
    host.deny((await waiting).id);
    await expect(joining).rejects.toMatchObject({ code: "lobby_denied" });
    expect(waiter.closed).toBe(true);
  });

  test("a wrong or missing password rejects join() with its code; the right one joins", async () => {
    const room = freshRoom();
    const host = session("Ada", room);
    await host.join();
    host.setRoomPassword("open sesame");
    expect((await nextEvent(host, "room-state")).roomState.passwordSet).toBe(true);
    await expect(session("Bob", room).join()).rejects.toMatchObject({ code: "password_required" });
    await expect(session("Bob", room, { password: "nope" }).join()).rejects.toMatchObject({ code: "wrong_password" });
    await expect(session("Bob", room, { password: "open sesame" }).join()).resolves.toMatchObject({ roomState: { passwordSet: true } });
  });

  test("a removed session is told, closes, and the others see it leave", async () => {
    const room = freshRoom();
    const host = session("Ada", room);
    await host.join();
    const target = session("Bob", room);
    const { id } = await target.join();
    const removed = nextEvent(target, "removed");
    const left = nextEvent(host, "peer-left");
    host.removeParticipant(id);
    expect(await removed).toEqual({ by: host.id });
    expect(target.closed).toBe(true);
    expect((await left).peer.id).toBe(id);
  });

  test("a non-host's control is refused not_host as an error event", async () => {
    const room = freshRoom();
    const host = session("Ada", room);
    await host.join();
    const guest = session("Bob", room);
    await guest.join();
    const error = nextEvent(guest, "error");
    guest.lockRoom(true);
    expect((await error).code).toBe("not_host");
  });

  test("the next participant becomes host when the host leaves (open mode)", async () => {
    const room = freshRoom();
    const host = session("Ada", room);
    await host.join();
    const guest = session("Bob", room);
    await guest.join();
    const grants = nextEvent(guest, "grants");
    host.leave();
    expect((await grants).grants.host).toBe(true);
    expect(guest.roomState?.hosts).toEqual([guest.id]);
  });
});
