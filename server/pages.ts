/**
 * HTML pages served next to the signaling endpoint.
 */
import { ROOM_NAME_PATTERN } from "../shared/protocol/index.ts";

/** True when `room` can be used in `/r/<room>` and in `new_user.room`. */
export function isValidRoomName(room: string): boolean {
  return ROOM_NAME_PATTERN.test(room);
}

/**
 * `decodeURIComponent` that cannot throw: undefined for a malformed escape (`%`, `%ZZ`, a truncated
 * or overlong UTF-8 sequence, an encoded lone surrogate) instead of a `URIError`.
 */
export function safeDecodeURIComponent(encoded: string): string | undefined {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}

/**
 * The room named by the raw (still percent-encoded) `<room>` segment of `/r/<room>`, or undefined
 * when it does not decode or is not a valid room name.
 */
export function roomFromPath(rawSegment: string): string | undefined {
  const room = safeDecodeURIComponent(rawSegment);
  return room !== undefined && isValidRoomName(room) ? room : undefined;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** Page chrome shared by the join page and the calling page: dark theme, header and brand. */
const SHARED_PAGE_CSS = `  :root { color-scheme: dark; }
  * { box-sizing: border-box; }
  html, body { height: 100%; margin: 0; }
  body {
    display: flex; flex-direction: column;
    background: #0b0d12; color: #eef1f6;
    font: 14px/1.45 Inter, ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  }
  header {
    display: flex; align-items: center; gap: 12px;
    padding: 12px 20px; border-bottom: 1px solid rgb(255 255 255 / 0.06);
  }
  .brand, button { white-space: nowrap; }
  @media (max-width: 480px) { .room span { display: none; } }
  .brand { display: flex; align-items: center; gap: 8px; font-weight: 650; letter-spacing: 0.01em; }
  .brand i { width: 10px; height: 10px; border-radius: 50%; background: #5b8cff; box-shadow: 0 0 12px #5b8cff; }`;

/** Key under which the join page remembers the display name in `localStorage`. */
const NAME_STORAGE_KEY = "webrtc-room.name";

/**
 * The join page for `room` (a valid room name): `<webrtc-room prejoin>` full-window, whose
 * pre-join screen shows the camera's preview, the microphone's level, the device pickers and the
 * name field (the name typed last, shared with the calling page through `localStorage`), then the
 * room on Join; with a button that copies the room's link (on the host name the page was opened
 * with). The room's name is the page's `<h1>`; dark, or light under `prefers-color-scheme: light`
 * like the element.
 *
 * With `accounts` (a server running with accounts) the page asks for the user name and password
 * first, hands them to the element as its `account` property (never an attribute, never stored;
 * the name shown is the account's, so there is no pre-join screen), and comes back with the
 * refusal's words when the server turns them down.
 */
export function roomPage(room: string, options: { accounts?: boolean } = {}): string {
  const safeRoom = escapeHtml(room);
  const accounts = options.accounts === true;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${safeRoom} · webrtc-room</title>
<link rel="icon" href="data:,">
<script type="module" src="/assets/room.js"></script>
<style>
${SHARED_PAGE_CSS}
  .room { margin: 0; font: inherit; color: #99a3b6; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .room b { color: #eef1f6; font-weight: 600; }
  header button { margin-left: auto; }
  button {
    border: 0; border-radius: 999px; padding: 9px 18px; cursor: pointer;
    font: inherit; font-weight: 600; color: #eef1f6; background: #232938;
  }
  button:hover { background: #2e3548; }
  button:focus-visible { outline: 2px solid #5b8cff; outline-offset: 2px; }
  main { flex: 1; min-height: 0; display: grid; }
  webrtc-room { height: 100%; overflow: auto; }
  @media (prefers-color-scheme: light) {
    :root { color-scheme: light; }
    body { background: #f4f6fa; color: #1d2330; }
    header { border-bottom-color: rgb(0 0 0 / 0.08); }
    .room { color: #55607a; }
    .room b { color: #1d2330; }
    button { color: #1d2330; background: #dde2eb; }
    button:hover { background: #cfd5e1; }
    button:focus-visible { outline-color: #2f5bd3; }
  }
</style>
${accounts ? ACCOUNT_FORM_CSS : ""}</head>
<body data-room="${safeRoom}">
<header>
  <span class="brand"><i></i>webrtc-room</span>
  <h1 class="room"><span>Room </span><b>${safeRoom}</b></h1>
  <button id="copy-link" type="button">Copy link</button>
</header>
<main>
${accounts ? accountForm(safeRoom) : `  <webrtc-room prejoin room="${safeRoom}"></webrtc-room>`}
</main>
<script type="module">
  const storageKey = ${JSON.stringify(NAME_STORAGE_KEY)};
${accounts ? ACCOUNT_JOIN_SCRIPT : PREJOIN_SCRIPT}
  const copy = document.getElementById("copy-link");
  copy.addEventListener("click", async () => {
    // The host name this page was opened with, so that the link works for whoever receives it.
    const link = location.origin + location.pathname;
    try {
      await navigator.clipboard.writeText(link);
      copy.textContent = "Link copied";
      setTimeout(() => { copy.textContent = "Copy link"; }, 2000);
    } catch {
      prompt("Copy this link to invite others:", link);
    }
  });
</script>
</body>
</html>
`;
}

/** The join page's script without accounts: the name typed last fills the pre-join screen and is kept once joined. */
const PREJOIN_SCRIPT = `  const room = document.querySelector("webrtc-room");
  try { room.name = localStorage.getItem(storageKey) ?? ""; } catch {}
  room.addEventListener("connection-state", (event) => {
    if (event.detail.state === "joined") {
      try { localStorage.setItem(storageKey, room.name); } catch {}
    }
  });`;

/** The sign-in form's look on a server running with accounts. */
const ACCOUNT_FORM_CSS = `<style>
  form {
    place-self: center; width: min(400px, calc(100vw - 32px));
    display: flex; flex-direction: column; gap: 14px;
    padding: 32px; border-radius: 20px; background: #161a23;
    box-shadow: 0 0 0 1px rgb(255 255 255 / 0.06), 0 24px 48px rgb(0 0 0 / 0.4);
  }
  form h2 { margin: 0; font-size: 24px; font-weight: 650; }
  form p { margin: 0; color: #99a3b6; }
  label { display: flex; flex-direction: column; gap: 6px; font-weight: 500; }
  input {
    padding: 11px 14px; border-radius: 12px; border: 1px solid #2e3548;
    background: #0b0d12; color: inherit; font: inherit; font-size: 15px;
  }
  input:focus-visible { outline: 2px solid #5b8cff; outline-offset: 2px; }
  /* Dark text on the accent: white on it is 3.2:1. */
  form button { padding: 12px 18px; background: #5b8cff; color: #0b0d12; font-size: 15px; }
  form button:hover { background: #7aa2ff; }
  @media (prefers-color-scheme: light) {
    form p { color: #55607a; }
    form { background: #fff; box-shadow: 0 0 0 1px rgb(0 0 0 / 0.08), 0 24px 48px rgb(0 0 0 / 0.08); }
    input { background: #fff; border-color: #b9c1d0; }
    input:focus-visible { outline-color: #2f5bd3; }
    form button { background: #2f5bd3; color: #fff; }
    form button:hover { background: #264db8; }
  }
</style>
`;

/** The sign-in form on a server running with accounts; `#sign-in-error` holds a refusal. */
function accountForm(safeRoom: string): string {
  return `  <form id="join">
    <h2>Ready to join?</h2>
    <p>Sign in to join <b>${safeRoom}</b>. Your browser will ask for your camera and microphone.</p>
    <p id="sign-in-error" role="alert" hidden></p>
    <label>User name
      <input id="name" name="name" autocomplete="username" maxlength="64" required placeholder="e.g. ada">
    </label>
    <label>Password
      <input id="password" name="password" type="password" autocomplete="current-password" maxlength="128" required>
    </label>
    <button type="submit">Join room</button>
  </form>`;
}

/**
 * The join page's script with accounts: on submit, `<webrtc-room>` replaces the form with the
 * account as its property (the password field emptied), and the form comes back with the
 * refusal's words when the server turns the account down.
 */
const ACCOUNT_JOIN_SCRIPT = `  const form = document.getElementById("join");
  const input = document.getElementById("name");
  const password = document.getElementById("password");
  try { input.value = localStorage.getItem(storageKey) ?? ""; } catch {}
  input.focus();
  const refusals = { bad_credentials: "Wrong user name or password.", too_many_attempts: "Too many wrong passwords: wait a minute, then try again.", credentials_missing: "Enter your user name and password." };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) return;
    try { localStorage.setItem(storageKey, name); } catch {}
    const room = document.createElement("webrtc-room");
    room.setAttribute("room", document.body.dataset.room);
    room.setAttribute("name", name);
    room.account = { userID: name, password: password.value };
    password.value = "";
    room.addEventListener("error", (event) => {
      const refusal = refusals[event.detail.code];
      if (!refusal) return;
      // The form is out of the document now: look inside it, not in the document.
      const error = form.querySelector("#sign-in-error");
      error.textContent = refusal;
      error.hidden = false;
      room.replaceWith(form);
      password.focus();
    });
    form.replaceWith(room);
  });`;

/**
 * What `/r/<room>` shows on a token-mode server: the room needs an invitation (a join token) from
 * the application that hosts it, and this page has none to offer. Tokens never travel in URLs, so
 * the page cannot join; it explains instead of failing silently, and loads no script (no camera
 * prompt).
 */
export function invitationNeededPage(room: string): string {
  const safeRoom = escapeHtml(room);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${safeRoom} · webrtc-room</title>
<link rel="icon" href="data:,">
<style>
${SHARED_PAGE_CSS}
  .room { color: #99a3b6; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .room b { color: #eef1f6; font-weight: 600; }
  main { flex: 1; min-height: 0; display: grid; }
  section {
    place-self: center; width: min(440px, calc(100vw - 32px));
    display: flex; flex-direction: column; gap: 14px;
    padding: 32px; border-radius: 20px; background: #161a23;
    box-shadow: 0 0 0 1px rgb(255 255 255 / 0.06), 0 24px 48px rgb(0 0 0 / 0.4);
  }
  section h1 { margin: 0; font-size: 24px; font-weight: 650; }
  section p { margin: 0; color: #99a3b6; }
</style>
</head>
<body>
<header>
  <span class="brand"><i></i>webrtc-room</span>
  <span class="room"><span>Room </span><b>${safeRoom}</b></span>
</header>
<main>
  <section id="invitation-needed">
    <h1>This room needs an invitation</h1>
    <p>Only people invited by the application that hosts <b>${safeRoom}</b> can join it. Open the room from
    that application (its page or the link it gave you) to join.</p>
    <p>If you were sent this address, ask whoever invited you for an invitation link from that application.</p>
  </section>
</main>
</body>
</html>
`;
}

/**
 * The one-to-one calling page (`/call`): `<webrtc-phone>` full-window under the same header as the
 * room page. The name typed last is remembered in `localStorage` (the room page's key, so one name
 * serves both) and offered the next time. With `accounts` the element asks for a password too
 * (`<webrtc-phone accounts>`), and the user name is what is remembered.
 */
export function callPage(options: { accounts?: boolean } = {}): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Calls · webrtc-room</title>
<link rel="icon" href="data:,">
<script type="module" src="/assets/phone.js"></script>
<style>
${SHARED_PAGE_CSS}
  .page { margin: 0; color: #99a3b6; font-size: inherit; font-weight: inherit; }
  header a { margin-left: auto; color: #99a3b6; text-decoration: none; font-weight: 600; }
  header a:hover { color: #eef1f6; }
  main { flex: 1; min-height: 0; display: grid; }
  webrtc-phone { height: 100%; }
</style>
</head>
<body>
<header>
  <span class="brand"><i></i>webrtc-room</span>
  <h1 class="page">Calls</h1>
  <a href="/">Start a room instead</a>
</header>
<main>
  <webrtc-phone${options.accounts === true ? " accounts" : ""}></webrtc-phone>
</main>
<script type="module">
  const storageKey = ${JSON.stringify(NAME_STORAGE_KEY)};
  const phone = document.querySelector("webrtc-phone");
  try { phone.setAttribute("name", localStorage.getItem(storageKey) ?? ""); } catch {}
  phone.addEventListener("phone-state", (event) => {
    const self = phone.self;
    if (event.detail.state === "lobby" && self) {
      try { localStorage.setItem(storageKey, phone.accounts ? self.userID : self.username); } catch {}
    }
  });
</script>
</body>
</html>
`;
}

/**
 * A plain page that embeds `<webrtc-room>` with one script tag (`/embed-example.html`): the
 * snippet to copy, the element themed through custom properties and `::part()`, and a log of
 * its events. The element is given no height: it sizes itself from its width (so it fits a
 * phone). It is created when the visitor has typed a name and pressed Join, so that nobody is
 * "Guest" and the camera opens only after a click.
 */
export function embedExamplePage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Embed example · webrtc-room</title>
<link rel="icon" href="data:,">
<script type="module" src="/assets/room.js"></script>
<style>
  body { max-width: 880px; margin: 24px auto; padding: 0 16px; font: 16px/1.55 system-ui, sans-serif; color: #1d2330; background: #f6f7fb; }
  pre { padding: 14px 16px; border-radius: 10px; background: #1d2330; color: #e8ecf5; overflow-x: auto; }
  webrtc-room {
    border-radius: 18px;
    /* White on this accent is 5.6:1. */
    --webrtc-room-accent: #6a46f0;
    --webrtc-room-on-accent: #fff;
  }
  webrtc-room::part(label) { background: rgb(74 44 190 / 0.85); }
  form { display: flex; flex-wrap: wrap; align-items: end; gap: 10px; }
  label { display: flex; flex-direction: column; gap: 4px; font-weight: 500; }
  input, button { font: inherit; padding: 8px 12px; border-radius: 8px; border: 1px solid #8a93a6; }
  button { border: 0; background: #6a46f0; color: #fff; font-weight: 600; cursor: pointer; }
  #events { font: 13px/1.5 ui-monospace, monospace; color: #4a5368; padding-left: 20px; overflow-wrap: anywhere; }
</style>
</head>
<body>
<h1>A video room in one tag</h1>
<p>Everyone who joins from this page meets in the room <code>embed-example</code>. To put the same
room on any page, paste:</p>
<pre><code>&lt;script type="module" src="<span class="origin">https://your-server</span>/assets/room.js"&gt;&lt;/script&gt;
&lt;webrtc-room server="<span class="origin">https://your-server</span>" room="embed-example" name="Ada"&gt;&lt;/webrtc-room&gt;</code></pre>
<form id="join">
  <label>Your name <input id="name" name="name" autocomplete="nickname" maxlength="64" required></label>
  <button type="submit">Join</button>
</form>
<h2>Events</h2>
<ul id="events"></ul>
<script type="module">
  for (const span of document.querySelectorAll(".origin")) span.textContent = location.origin;
  const form = document.getElementById("join");
  const list = document.getElementById("events");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const room = document.createElement("webrtc-room");
    room.setAttribute("room", "embed-example");
    room.setAttribute("name", document.getElementById("name").value);
    for (const type of ["peer-joined", "peer-left", "connection-state", "error"]) {
      room.addEventListener(type, (event) => {
        const item = document.createElement("li");
        item.textContent = type + " " + JSON.stringify(event.detail);
        list.prepend(item);
      });
    }
    form.replaceWith(room);
  });
</script>
</body>
</html>
`;
}
