/**
 * The elements' events: bubbling and composition as documented in README.md, and (checked by
 * `npm run typecheck`) listeners typed through the browser's global event map.
 */
import { describe, expect, expectTypeOf, test } from "vitest";
import { phoneEvent } from "../../client/elements/phone/phone-events.ts";
import { RoomConnection, RoomPhase, roomEvent } from "../../client/elements/room/room-events.ts";
import type { ParticipantInfo, PhonePhase, PhoneUserInfo, RoomErrorDetail, WebRtcRoomEventMap } from "../../client/elements/index.ts";

describe("element events", () => {
  test.each([
    ["peer-joined", roomEvent("peer-joined", { peer: { id: "a", username: "Ann" } }), true],
    ["connection-state", roomEvent("connection-state", { state: RoomPhase.joined, previous: RoomPhase.joining, connection: "connected" }), true],
    ["chat-message", roomEvent("chat-message", { id: "c1", from: { id: "a", username: "Ann" }, text: "hi", sentAtMs: 1, receivedAtMs: 2, own: false }), true],
    ["room-state", roomEvent("room-state", { locked: true, passwordSet: false, lobby: false, hosts: ["a"] }), true],
    ["lobby", roomEvent("lobby", { waiting: [{ id: "b", username: "Bo" }] }), true],
    ["room error", roomEvent("error", { code: "room_full", message: "full" }), false],
    ["phone-state", phoneEvent("phone-state", { state: "lobby", previous: "signing_in" }), true],
    ["phone error", phoneEvent("error", { code: "replaced", message: "elsewhere" }), false],
  ])("%s is composed and bubbles only when it is not error", (_name, event, bubbles) => {
    expect(event).toBeInstanceOf(CustomEvent);
    expect(event.composed).toBe(true);
    expect(event.bubbles).toBe(bubbles);
  });

  test("listeners on any element are typed by the global event map, error by the element's map", () => {
    expectTypeOf<HTMLElementEventMap["peer-joined"]["detail"]["peer"]["username"]>().toEqualTypeOf<string>();
    expectTypeOf<HTMLElementEventMap["connection-state"]["detail"]["state"]>().toEqualTypeOf<RoomPhase>();
    expectTypeOf<HTMLElementEventMap["connection-state"]["detail"]["connection"]>().toEqualTypeOf<RoomConnection>();
    expectTypeOf<HTMLElementEventMap["chat-message"]["detail"]["from"]>().toEqualTypeOf<{ id: string; username: string }>();
    expectTypeOf<HTMLElementEventMap["phone-state"]["detail"]["previous"]>().toEqualTypeOf<PhonePhase>();
    expectTypeOf<HTMLElementEventMap["incoming-call"]["detail"]["caller"]>().toEqualTypeOf<PhoneUserInfo>();
    expectTypeOf<WebRtcRoomEventMap["error"]["detail"]>().toEqualTypeOf<RoomErrorDetail>();
    expectTypeOf<HTMLElementEventMap["room-state"]["detail"]["hosts"]>().toEqualTypeOf<string[]>();
    expectTypeOf<HTMLElementEventMap["lobby"]["detail"]["waiting"]>().toEqualTypeOf<ParticipantInfo[]>();
    // The browser's own error event is untouched.
    expectTypeOf<HTMLElementEventMap["error"]>().toEqualTypeOf<ErrorEvent>();
  });
});
