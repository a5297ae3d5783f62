/**
 * HTML pages served next to the signaling endpoint.
 */
import { ROOM_NAME_PATTERN } from "../shared/protocol/index.ts";

/** True when `room` can be used in `/r/<room>` and in `new_user.room`. */
export function isValidRoomName(room: string): boolean {
  return ROOM_NAME_PATTERN.test(room);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** The join page for `room` (a valid room name). */
export function roomPage(room: string): string {
  const safeRoom = escapeHtml(room);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${safeRoom} · webrtc-room</title>
</head>
<body>
<h1>Room ${safeRoom}</h1>
<p>The signaling endpoint for this room is <code>/ws</code>; send <code>{"type":"new_user","room":"${safeRoom}","username":"…"}</code> to join.</p>
</body>
</html>
`;
}

/** The one-to-one calling page (`/call`). */
export function callPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Call · webrtc-room</title>
</head>
<body>
<h1>Call</h1>
<p>Log in with <code>{"type":"login","userID":"…"}</code> on <code>/ws</code>.</p>
</body>
</html>
`;
}

/** A plain page that embeds `<webrtc-room>` with one script tag (`/embed-example.html`). */
export function embedExamplePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Embed example · webrtc-room</title>
<script type="module" src="/assets/webrtc-room.js"></script>
</head>
<body>
<webrtc-room room="embed-example"></webrtc-room>
</body>
</html>
`;
}
