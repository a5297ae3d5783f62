/**
 * Unit tests of the pure room registry: every transition, table-driven.
 */
import { describe, expect, it } from "vitest";
import { RoomRegistry, type AdmissionResult, type JoinRequest, type RoomResult, type TargetedMessage } from "../server/rooms.ts";

/** A join without any grant, as a token-mode participant with a plain token makes it. */
function asMember(room: string, username: string): JoinRequest {
  return { room, username, grants: { publish: true, data: true, host: false, hidden: false, bypassLobby: false } };
}

const OFFER: TargetedMessage = { type: "send_offer", targetId: "b", sdp: { type: "offer", sdp: "v=0" } };

/** A registry with capacity 3 where `a` and `b` are in room `r1` and `z` is in room `r2`. */
function populated(): RoomRegistry {
  const registry = new RoomRegistry({ roomCapacity: 3, openMode: false });
  registry.join("a", asMember("r1", "Ada"));
  registry.join("b", asMember("r1", "Bob"));
  registry.join("z", asMember("r2", "Zoe"));
  return registry;
}

function errorCode(result: RoomResult | AdmissionResult): string | undefined {
  return result.ok ? undefined : result.code;
}

describe("RoomRegistry transitions (happy path)", () => {
  it("creates a room on first join and tells the newcomer it is alone", () => {
    const registry = new RoomRegistry({ roomCapacity: 8, openMode: false });
    expect(registry.join("a", asMember("r1", "Ada"))).toMatchObject({
      ok: true,
      deliveries: [{ to: "a", message: { type: "connection_list", newUserId: "a", list: [{ id: "a", username: "Ada" }] } }],
    });
    expect(registry.stats()).toEqual({ rooms: 1, participants: 1 });
  });

  it("sends connection_list in join order to every member on a join", () => {
    const registry = populated();
    const result = registry.join("c", asMember("r1", "Cy"));
    const list = [{ id: "a", username: "Ada" }, { id: "b", username: "Bob" }, { id: "c", username: "Cy" }];
    expect(result).toMatchObject({
      ok: true,
      deliveries: ["a", "b", "c"].map((to) => ({ to, message: { type: "connection_list", newUserId: "c", list } })),
    });
  });

  it("relays to the target only, stamped with the sender", () => {
    expect(populated().relay("a", OFFER)).toEqual({
      ok: true,
      deliveries: [{ to: "b", message: { ...OFFER, id: "a", username: "Ada" } }],
    });
  });

  it("sends close_connection and rest_connection_list to the remaining members on leave", () => {
    const registry = populated();
    registry.join("c", asMember("r1", "Cy"));
    const rest = [{ id: "a", username: "Ada" }, { id: "c", username: "Cy" }];
    expect(registry.leave("b")).toEqual({
      ok: true,
      deliveries: ["a", "c"].flatMap((to) => [
        { to, message: { type: "close_connection", id: "b" } },
        { to, message: { type: "rest_connection_list", list: rest } },
      ]),
    });
    expect(registry.participants("r1")).toEqual(rest);
  });

  it("deletes a room with its last member and lets the id join again", () => {
    const registry = populated();
    expect(registry.leave("z")).toEqual({ ok: true, deliveries: [] });
    expect(registry.stats()).toEqual({ rooms: 1, participants: 2 });
    expect(registry.roomOf("z")).toBeUndefined();
    expect(registry.join("z", asMember("r3", "Zoe")).ok).toBe(true);
  });
});

describe("RoomRegistry refusals (failure cases)", () => {
  interface RefusalCase {
    name: string;
    /** Steps that succeed before the refused one. */
    setup?: (registry: RoomRegistry) => void;
    act: (registry: RoomRegistry) => RoomResult | AdmissionResult;
    code: string;
  }

  const cases: RefusalCase[] = [
    { name: "joining a second room", act: (r) => r.join("a", asMember("r2", "Ada")), code: "already_in_room" },
    { name: "joining the same room twice", act: (r) => r.join("a", asMember("r1", "Ada")), code: "already_in_room" },
    { name: "joining a full room", setup: (r) => r.join("c", asMember("r1", "Cy")), act: (r) => r.join("d", asMember("r1", "Di")), code: "room_full" },
    { name: "relaying before joining", act: (r) => r.relay("nobody", OFFER), code: "not_in_room" },
    { name: "relaying to a member of another room", act: (r) => r.relay("a", { ...OFFER, targetId: "z" }), code: "unknown_target" },
    { name: "relaying to an unknown id", act: (r) => r.relay("a", { ...OFFER, targetId: "ghost" }), code: "unknown_target" },
    { name: "relaying to oneself", act: (r) => r.relay("a", { ...OFFER, targetId: "a" }), code: "self_target" },
    { name: "leaving without a room", act: (r) => r.leave("nobody"), code: "not_in_room" },
    { name: "leaving twice", setup: (r) => r.leave("a"), act: (r) => r.leave("a"), code: "not_in_room" },
  ];

  it.each(cases)("refuses $name with $code and changes nothing else", ({ setup, act, code }) => {
    const registry = populated();
    setup?.(registry);
    const snapshot = () => ({ r1: registry.participants("r1"), r2: registry.participants("r2"), stats: registry.stats() });
    const before = snapshot();
    expect(errorCode(act(registry))).toBe(code);
    expect(snapshot()).toEqual(before);
  });

  it("keeps a refused joiner out of every list", () => {
    const registry = populated();
    registry.join("c", asMember("r1", "Cy"));
    registry.join("d", asMember("r1", "Di"));
    expect(registry.roomOf("d")).toBeUndefined();
    expect(registry.participants("r1").map((p) => p.id)).toEqual(["a", "b", "c"]);
  });
});

describe("RoomRegistry host state", () => {
  const OPEN = { publish: true, data: true, host: false, hidden: false, bypassLobby: false };

  it("makes the first participant of a new room host in open mode and hands over to the earliest visible member", () => {
    const registry = new RoomRegistry({ roomCapacity: 8, openMode: true });
    const first = registry.join("a", { room: "r", username: "Ada", grants: OPEN });
    expect(first.ok && first.outcome === "admitted" && first.admission.grants.host).toBe(true);
    registry.join("b", { room: "r", username: "Bob", grants: OPEN });
    registry.join("c", { room: "r", username: "Cy", grants: OPEN });
    const left = registry.leave("a");
    expect(left.ok && left.deliveries.filter((delivery) => delivery.message.type === "room_state").map((delivery) => delivery.to)).toEqual(["b", "c"]);
    expect(registry.viewOf("b")?.grants.host).toBe(true);
    expect(registry.viewOf("c")?.roomState.hosts).toEqual(["b"]);
  });

  it("hands nothing over in token mode and keeps a room with waiters after its members left", () => {
    const registry = new RoomRegistry({ roomCapacity: 8, openMode: false });
    registry.join("h", { room: "r", username: "Hal", grants: { ...OPEN, host: true } });
    registry.join("b", { room: "r", username: "Bob", grants: OPEN });
    registry.configure("h", { lobby: true });
    expect(registry.join("w", { room: "r", username: "Wes", grants: OPEN })).toMatchObject({ ok: true, outcome: "waiting" });
    registry.leave("h");
    expect(registry.viewOf("b")?.grants.host).toBe(false);
    registry.leave("b");
    expect(registry.isWaiting("w")).toBe(true);
    const host = registry.join("h2", { room: "r", username: "Hal", grants: { ...OPEN, host: true } });
    expect(host.ok && host.deliveries.some((delivery) => delivery.to === "h2" && delivery.message.type === "lobby")).toBe(true);
    expect(registry.admitFromLobby("h2", "w")).toMatchObject({ ok: true, outcome: "admitted", admission: { id: "w", roomState: { lobby: true } } });
  });

  it("turns a room's waiters away when its last member leaves in open mode", () => {
    const registry = new RoomRegistry({ roomCapacity: 8, openMode: true });
    registry.join("a", { room: "r", username: "Ada", grants: OPEN });
    registry.configure("a", { lobby: true });
    registry.join("w", { room: "r", username: "Wes", grants: OPEN });
    expect(registry.leave("a")).toEqual({ ok: true, deliveries: [{ to: "w", message: { type: "error", code: "lobby_denied", message: "everyone left the room", refType: "new_user" } }] });
    expect(registry.isWaiting("w")).toBe(false);
    expect(registry.stats()).toEqual({ rooms: 0, participants: 0 });
  });

  it("refuses every host operation of a non-host with not_host and changes nothing", () => {
    const registry = new RoomRegistry({ roomCapacity: 8, openMode: true });
    registry.join("a", { room: "r", username: "Ada", grants: OPEN });
    registry.join("b", { room: "r", username: "Bob", grants: OPEN });
    const before = registry.viewOf("a");
    for (const result of [registry.configure("b", { locked: true }), registry.remove("b", "a"), registry.mute("b", "a", "audio"), registry.admitFromLobby("b", "a"), registry.denyFromLobby("b", "a")]) {
      expect(result).toMatchObject({ ok: false, code: "not_host" });
    }
    expect(registry.viewOf("a")).toEqual(before);
  });
});
