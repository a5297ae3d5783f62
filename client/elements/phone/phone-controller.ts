/**
 * The logic behind `<webrtc-phone>`: a Lit `ReactiveController` that owns one {@link PhoneSession}
 * per sign-in and the camera and microphone of the current call. The element reads its getters
 * to render and calls its actions from buttons; everything asynchronous happens here.
 *
 * Media is opened per call, when the user places or accepts it (so the camera light is on only
 * during calls), and stopped when the call ends. Watches open the camera on their own when the
 * first watcher starts and stop it when the last one is gone, so that a call ending does not cut
 * a watcher off (the browser shares the device between the two streams). Opening it takes a moment and may show a
 * permission prompt; meanwhile the call can be cancelled, or ended by the other side, and every
 * asynchronous step checks that its call is still wanted before it goes on.
 *
 * Around the call: the link's {@link LinkConnection} with the grace countdown (shared with
 * `<webrtc-room>`), the ring of an incoming call ({@link IncomingCallAlert}, driven by the phase
 * alone so that every way a ring ends silences it), the call's chat over its data channel, the
 * other party's media state, and one polite live region.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
import type { ChatMessage } from "../../core/chat.ts";
import type { MediaState } from "../../../shared/protocol/mesh.ts";
import {
  CallState,
  PhoneError,
  PhoneSession,
  type CallEnd,
  type CallParty,
  type IceServer,
  type MissedCall,
  type PhoneCall,
  type PhoneWatch,
  type PresenceUser,
  type WatchRequest,
  type Watcher,
} from "../../core/phone.ts";
import { PhonePhase, phoneEvent, type PhoneElementErrorCode, type PhoneUserInfo, type WebRtcPhoneEventDetail, type WebRtcPhoneEventMap } from "./phone-events.ts";
import { endNotice, watchEndNotice } from "./phone-text.ts";
import { IncomingCallAlert } from "./incoming-alert.ts";
import type { ChatEntry } from "../shared/chat-panel.ts";
import { Announcer } from "../shared/announcer.ts";
import { ConnectionNotices, LinkConnection } from "../shared/connection-notice.ts";
import { displayName } from "../shared/display-name.ts";
import { LatestRun } from "../shared/latest-run.ts";
import { LocalMediaControls, acquireLocalMedia, describeMissingMedia, stopStream, type LocalMedia } from "../shared/local-media.ts";
import { signalingUrl } from "../shared/signaling-url.ts";

/** What the controller reads from its host when signing in. */
export interface PhoneSettings {
  /** The `server` attribute; empty for the page's origin. */
  server: string;
  /** ICE servers for calls; undefined for the core's default. */
  iceServers: readonly IceServer[] | undefined;
  /** The `ringtone` attribute: `off` rings silently unless the user switched it on here. */
  ringtone: string;
}

/** The host: a Lit element (updates on request) that events are dispatched on. */
export type PhoneHost = ReactiveControllerHost & EventTarget;

/** Why the session failed (phase `failed`). */
export interface PhoneFailure {
  code: PhoneElementErrorCode;
  message: string;
}

/** How long a call's outcome stays on screen unless dismissed. */
export const NOTICE_MS = 8_000;

/** Where the user's own choice of ringtone (`on` / `off`) is remembered, over the attribute. */
export const RINGTONE_STORAGE_KEY = "webrtc-room.ringtone";

/** Chat messages of a call kept; past it the oldest go. */
export const CALL_CHAT_MESSAGES_KEPT = 1_000;

/** Most characters of a chat message read out by the live region. */
const CHAT_ANNOUNCED_CHARS = 200;

/** ICE states in which the call's media is interrupted but may come back. */
const ICE_INTERRUPTED = new Set(["disconnected", "failed"]);

/** An outgoing call whose media is still being opened: nothing has been sent yet. */
interface PendingCall {
  remote: CallParty;
}

/** Sign-in, presence and one call at a time for one `<webrtc-phone>`. */
export class PhoneController implements ReactiveController {
  readonly #host: PhoneHost;
  readonly #readSettings: () => PhoneSettings;
  #session: PhoneSession | undefined;
  #failure: PhoneFailure | undefined;
  #pending: PendingCall | undefined;
  /** True while media is being opened to accept the ringing call. */
  #accepting = false;
  #notice: string | undefined;
  #noticeTimer: ReturnType<typeof setTimeout> | undefined;
  #missed: MissedCall[] = [];
  #soundBlocked = false;
  /** Set while this side closes its own session, so that the session's `close` is not a failure. */
  #signingOut = false;
  /** The current sign-in or call attempt: every new one, sign-out or cancel makes it stale. */
  readonly #attempt = new LatestRun();
  #lastPhase: PhonePhase = PhonePhase.signedOut;
  /** The camera watchers receive, while anyone watches (or a watch is starting). */
  #watchMedia: Promise<MediaStream | undefined> | undefined;

  /** Camera and microphone of the current call (none between calls); a switch is announced to the other party. */
  readonly local = new LocalMediaControls(() => this.#announceMedia());
  /** The link's connection state, with the grace countdown and the "Reconnected" notice. */
  readonly #notices = new ConnectionNotices(
    (connection) => this.#onConnectionChange(connection),
    () => this.#host.requestUpdate(),
  );
  readonly #alert = new IncomingCallAlert();
  /** The user's own ringtone choice on this browser, over the attribute; undefined when never made. */
  #ringtoneChoice: boolean | undefined = readRingtoneChoice();
  readonly #announcer: Announcer;
  /** The chat of the current (or last) call, oldest first; a new call starts a new one. */
  #chat: ChatEntry[] = [];
  #chatOpen = false;
  #unreadChat = 0;
  /** Stops listening to the ICE state of the call's connection. */
  #iceWatch: AbortController | undefined;
  /** The name signed in with last, for "Sign in again". */
  #lastName: string | undefined;

  constructor(host: PhoneHost, readSettings: () => PhoneSettings) {
    this.#host = host;
    this.#readSettings = readSettings;
    this.#announcer = new Announcer(() => host.requestUpdate());
    host.addController(this);
  }

  /** Where the link to the server stands (see {@link LinkConnection}); `disconnected` unless signed in. */
  get connection(): LinkConnection {
    return this.#notices.connection;
  }

  /** While `reconnecting`: milliseconds left in the server's resume grace window, if it told one. */
  get graceRemainingMs(): number | undefined {
    return this.#notices.graceRemainingMs;
  }

  /** The text of the polite live region. */
  get announcement(): string {
    return this.#announcer.text;
  }

  /** True when an incoming call rings aloud: the user's choice here, else the `ringtone` attribute. */
  get ringtoneOn(): boolean {
    return this.#ringtoneChoice ?? this.#readSettings().ringtone !== "off";
  }

  /** Switches the ringtone on or off, remembered on this browser; a ring going on follows at once. */
  setRingtone(on: boolean): void {
    this.#ringtoneChoice = on;
    try {
      localStorage.setItem(RINGTONE_STORAGE_KEY, on ? "on" : "off");
    } catch {
      // Storage refused (private mode, sandboxed frame): the choice lasts while the page does.
    }
    this.#alert.setSound(on);
    this.#host.requestUpdate();
  }

  /** The other party's announced microphone and camera state; both on until it says otherwise. */
  get remoteMedia(): MediaState {
    return this.currentCall?.remoteMedia ?? { audio: true, video: true };
  }

  /** True while the call's media is interrupted: ICE disconnected, or the connection lost and the call about to end. */
  get callReconnecting(): boolean {
    const call = this.currentCall;
    if (!call || call.state !== CallState.active) {
      return false;
    }
    return call.reconnecting || ICE_INTERRUPTED.has(call.peerConnection?.iceConnectionState ?? "");
  }

  /** The chat of the call in progress (or of the last one), oldest first. */
  get chatMessages(): readonly ChatEntry[] {
    return this.#chat;
  }

  /** True while the chat panel is open. */
  get chatOpen(): boolean {
    return this.#chatOpen;
  }

  /** Messages received while the panel was closed. */
  get unreadChat(): number {
    return this.#unreadChat;
  }

  /** Opens or closes the chat panel; opening it reads the unread messages. */
  setChatOpen(open: boolean): void {
    this.#chatOpen = open;
    if (open) {
      this.#unreadChat = 0;
    }
    this.#host.requestUpdate();
  }

  /**
   * Sends `text` to the other party of the call; throws the session's {@link PhoneError}
   * (`chat_too_long`, `chat_empty`, `not_ready` without a call) and sends nothing then.
   */
  sendChat(text: string): ChatMessage {
    const session = this.#session;
    if (!session) {
      throw new PhoneError("not_ready", "sendChat() needs a call placed or accepted");
    }
    const message = session.sendChat(text);
    this.#addChat(message, true);
    return message;
  }

  /**
   * Signs in again with the name used last, after the session was cut off past the server's grace
   * window ("You were disconnected"), without waiting for the automatic attempts.
   */
  signInAgain(): void {
    const name = this.#lastName;
    if (name !== undefined) {
      this.signOut();
      this.signIn(name);
    }
  }

  /** What the element shows, derived from the session, its call and the media being opened. */
  get phase(): PhonePhase {
    const session = this.#session;
    if (this.#failure) {
      return PhonePhase.failed;
    }
    if (!session || session.closed) {
      return PhonePhase.signedOut;
    }
    if (!session.isReady) {
      return PhonePhase.signingIn;
    }
    const call = session.currentCall;
    if (this.#pending || (call?.direction === "outgoing" && (call.state === CallState.dialing || call.state === CallState.ringing))) {
      return PhonePhase.calling;
    }
    if (call?.direction === "incoming" && call.state === CallState.ringing && !this.#accepting) {
      return PhonePhase.ringing;
    }
    return call ? PhonePhase.inCall : PhonePhase.lobby;
  }

  /** The signed-in user's own directory entry. */
  get self(): PresenceUser | undefined {
    return this.#session?.self;
  }

  /** Everyone else online, in the order they signed in. */
  get others(): PresenceUser[] {
    const selfID = this.#session?.login?.userID;
    return (this.#session?.users ?? []).filter((user) => user.userID !== selfID);
  }

  /** The call in progress (not one whose media is still being opened). */
  get currentCall(): PhoneCall | undefined {
    return this.#session?.currentCall;
  }

  /** The other party of the call being placed, ringing or in progress. */
  get remote(): CallParty | undefined {
    return this.#pending?.remote ?? this.currentCall?.remote;
  }

  /** The state of the call in progress, if any. */
  get callState(): CallState | undefined {
    return this.currentCall?.state;
  }

  get remoteStream(): MediaStream | undefined {
    return this.currentCall?.remoteStream;
  }

  /** This user's watches of others (requests included), in the order they were asked. */
  get watching(): PhoneWatch[] {
    return (this.#session?.watches ?? []).filter((watch) => watch.role === "watcher");
  }

  /** Who watches this user now. */
  get watchers(): readonly Watcher[] {
    return this.#session?.watchers ?? [];
  }

  /** Requests to watch this user that wait for an answer. */
  get watchRequests(): readonly WatchRequest[] {
    return this.#session?.watchRequests ?? [];
  }

  /** True when `userID` may be watched now: signed in, someone else online, not watched by this user already. */
  canWatch(userID: string): boolean {
    const session = this.#session;
    return (
      session !== undefined &&
      session.isReady &&
      userID !== session.login?.userID &&
      session.user(userID) !== undefined &&
      !this.watching.some((watch) => watch.remote.userID === userID)
    );
  }

  /** Asks to watch `userID`'s camera. */
  watch(userID: string): void {
    if (this.canWatch(userID)) {
      this.#session?.watch(userID);
      this.#refresh();
    }
  }

  /** Ends the watch `watchId`, either side. */
  stopWatch(watchId: string): void {
    this.#session?.stopWatching(watchId);
    this.#refresh();
  }

  /** Answers the request `watchId`; `always` lets its asker watch again without asking (this sign-in). */
  answerWatch(watchId: string, allow: boolean, always = false): void {
    const session = this.#session;
    const request = session?.watchRequests.find((candidate) => candidate.watchId === watchId);
    if (!session || !request) {
      return;
    }
    if (allow && always) {
      session.allowWatching(request.from.userID, true).catch((error: unknown) => {
        this.#dispatch("error", { code: "peer_error", message: `allowWatching: ${error instanceof Error ? error.message : String(error)}` });
      });
    }
    if (allow) {
      request.accept();
    } else {
      request.deny();
    }
    this.#refresh();
  }

  /** The outcome of the last call, while it is shown. */
  get notice(): string | undefined {
    return this.#notice;
  }

  /** Missed calls not yet dismissed, oldest first. */
  get missedCalls(): readonly MissedCall[] {
    return this.#missed;
  }

  /** Why the session failed (phase `failed`). */
  get failure(): PhoneFailure | undefined {
    return this.#failure;
  }

  /** True when the browser refused to play the remote sound without a user gesture. */
  get soundBlocked(): boolean {
    return this.#soundBlocked;
  }

  /**
   * True when a call to `userID` may be placed now: signed in, no call here, and `userID` is someone
   * else who is online. A busy user may be called: the server answers busy, as a phone line would,
   * and the directory may be a moment behind anyway.
   */
  canCall(userID: string): boolean {
    const session = this.#session;
    return (
      this.#pending === undefined &&
      session !== undefined &&
      session.isReady &&
      session.currentCall === undefined &&
      userID !== session.login?.userID &&
      session.user(userID) !== undefined
    );
  }

  hostConnected(): void {
    // Nothing to open: the user signs in from the form.
  }

  hostDisconnected(): void {
    this.signOut();
    this.#announcer.clear();
  }

  /**
   * Signs in as `name` (the user id and the display name), or, with `password`, as the account
   * `name` of a server running with accounts. Ignored unless signed out or failed.
   */
  signIn(name: string, password?: string): void {
    const phase = this.phase;
    if (phase !== PhonePhase.signedOut && phase !== PhonePhase.failed) {
      return;
    }
    const userID = displayName(name);
    this.#lastName = name;
    let url: string;
    try {
      url = signalingUrl(this.#readSettings().server, globalThis.location?.href ?? "http://localhost/");
    } catch (error) {
      this.#fail("bad_server_url", error instanceof Error ? error.message : String(error));
      return;
    }
    const attempt = this.#attempt.start();
    this.#failure = undefined;
    this.#missed = [];
    this.#setNotice(undefined);
    const iceServers = this.#readSettings().iceServers;
    const session = new PhoneSession({
      url,
      userID,
      username: userID,
      ...(password !== undefined ? { password } : {}),
      watchStream: () => this.#openWatchMedia(),
      ...(iceServers ? { iceServers } : {}),
    });
    this.#session = session;
    this.#subscribe(session);
    session.connect().then(
      () => this.#refresh(),
      (error: unknown) => {
        if (!attempt.aborted && session === this.#session) {
          this.#fail(failureCode(error), error instanceof Error ? error.message : String(error));
        }
      },
    );
    this.#refresh();
  }

  /** Hangs up any call, signs out and goes back to the form. Safe in any phase. */
  signOut(): void {
    this.#attempt.cancel();
    this.#pending = undefined;
    this.#accepting = false;
    const session = this.#session;
    this.#session = undefined;
    if (session) {
      this.#signingOut = true;
      try {
        session.close();
      } finally {
        this.#signingOut = false;
      }
    }
    this.#releaseMedia();
    this.#releaseWatchMediaWhenUnwatched();
    this.#failure = undefined;
    this.#setNotice(undefined);
    this.#refresh();
  }

  /** Calls `userID`: opens camera and microphone, then rings. Ignored when `userID` cannot be called. */
  call(userID: string): void {
    const session = this.#session;
    const entry = session?.user(userID);
    if (!session || !entry || !this.canCall(userID)) {
      return;
    }
    const pending: PendingCall = { remote: { userID, username: entry.username, avatar: entry.avatar } };
    this.#pending = pending;
    this.#setNotice(undefined);
    const attempt = this.#attempt.start();
    this.#refresh();
    void this.#openMedia().then((media) => {
      if (attempt.aborted || this.#pending !== pending || this.#session !== session) {
        // Cancelled, signed out, or an incoming call took over while the camera was opening.
        stopStream(media.stream);
        return;
      }
      this.#pending = undefined;
      this.#useMedia(media);
      try {
        session.call(userID, media.stream);
      } catch (error) {
        this.#releaseMedia();
        this.#setNotice(error instanceof Error ? `The call could not be placed (${error.message}).` : "The call could not be placed.");
      }
      this.#refresh();
    });
  }

  /** Accepts the ringing call: opens camera and microphone, then answers. */
  accept(): void {
    const session = this.#session;
    const call = session?.currentCall;
    if (!session || !call || call.direction !== "incoming" || call.state !== CallState.ringing || this.#accepting) {
      return;
    }
    this.#accepting = true;
    const attempt = this.#attempt.signal;
    this.#refresh();
    void this.#openMedia().then((media) => {
      this.#accepting = false;
      if (attempt.aborted || session.currentCall !== call || call.state !== CallState.ringing) {
        // The caller gave up (or this user signed out) while the camera was opening.
        stopStream(media.stream);
        this.#refresh();
        return;
      }
      this.#useMedia(media);
      session.accept(media.stream);
      this.#refresh();
    });
  }

  /** Declines the ringing call. */
  reject(): void {
    this.#accepting = false;
    this.#session?.reject();
    this.#refresh();
  }

  /** Gives up the outgoing call, whether or not it is ringing yet. */
  cancel(): void {
    if (this.#pending) {
      this.#pending = undefined;
      this.#attempt.cancel();
      this.#refresh();
      return;
    }
    this.#session?.cancel();
    this.#refresh();
  }

  /** Ends the call in any state. */
  hangUp(): void {
    if (this.#pending) {
      this.cancel();
      return;
    }
    this.#accepting = false;
    this.#session?.hangUp();
    this.#refresh();
  }

  /** Hides the outcome of the last call. */
  dismissNotice(): void {
    this.#setNotice(undefined);
  }

  /** Forgets the missed calls shown. */
  dismissMissed(): void {
    this.#missed = [];
    this.#refresh();
  }

  /** Called by the view when the remote video could not start with sound (autoplay policy). */
  reportSoundBlocked(): void {
    if (!this.#soundBlocked) {
      this.#soundBlocked = true;
      this.#refresh();
    }
  }

  /** Called from a click (a user gesture): the remote sound may now play. */
  unblockSound(): void {
    this.#soundBlocked = false;
    this.#refresh();
  }

  #subscribe(session: PhoneSession): void {
    // The session drops every listener when it closes, so none of these outlive it.
    session.on("directory", () => this.#refresh());
    session.on("call-state", ({ call, state, previous }) => {
      if (previous === undefined) {
        // A new call, a new conversation.
        this.#chat = [];
        this.#chatOpen = false;
        this.#unreadChat = 0;
      }
      if (state === CallState.active) {
        this.#watchIce(call);
        this.#announcer.announce(`Connected with ${call.remote.username}`);
      }
      this.#refresh();
    });
    session.on("remote-stream", () => this.#refresh());
    session.on("remote-media", () => this.#refresh());
    session.on("call-connection-lost", () => this.#refresh());
    session.on("chat-message", ({ message }) => this.#addChat(message, false));
    session.on("reconnecting", () => this.#notices.lost(session.connection.session?.resumeGraceMs));
    session.on("reconnected", () => this.#notices.back());
    session.on("incoming-call", (call) => {
      // Media being opened for an outgoing call is abandoned: the server rang this user first.
      this.#pending = undefined;
      this.#dispatch("incoming-call", { caller: { userID: call.remote.userID, username: call.remote.username } });
      this.#refresh();
    });
    session.on("call-ended", ({ call, end }) => this.#onCallEnded(call, end));
    session.on("missed-call", (missed) => {
      this.#missed = [...this.#missed, missed];
      this.#dispatch("missed-call", { caller: { userID: missed.callerID, username: missed.username }, reason: missed.reason });
      this.#refresh();
    });
    session.on("error", ({ code, message }) => this.#dispatch("error", { code, message }));
    session.on("watch-request", (request) => {
      this.#dispatch("watch-request", { watchId: request.watchId, from: userInfo(request.from) });
      this.#refresh();
    });
    session.on("watch-request-ended", () => this.#refresh());
    session.on("watch-started", (watch) => {
      this.#dispatch("watch-started", { watchId: watch.watchId ?? "", role: watch.role, remote: userInfo(watch.remote) });
      this.#refresh();
    });
    session.on("watch-stream", () => this.#refresh());
    session.on("watchers", () => this.#releaseWatchMediaWhenUnwatched());
    session.on("watch-ended", ({ watch, end }) => {
      this.#dispatch("watch-ended", { watchId: watch.watchId, role: watch.role, remote: userInfo(watch.remote), reason: end.reason, byLocal: end.byLocal });
      if (watch.role === "watcher") {
        const notice = watchEndNotice(watch, end);
        if (notice !== undefined) {
          this.#setNotice(notice);
        }
      }
      this.#releaseWatchMediaWhenUnwatched();
    });
    session.on("close", (info) => {
      if (this.#signingOut || session !== this.#session) {
        return;
      }
      if (info.replaced) {
        this.#fail("replaced", "another connection signed in with this name");
      } else if (info.opened && session.login !== undefined) {
        this.#fail("signaling_closed", `the connection to the server closed (code ${info.code})`);
      }
      // A socket that never opened, or a refused login (the session closes before connect()
      // rejects), is reported by connect()'s rejection, with the server's reason.
    });
  }

  #onCallEnded(call: PhoneCall, end: CallEnd): void {
    this.#accepting = false;
    this.#releaseMedia();
    this.#iceWatch?.abort();
    this.#iceWatch = undefined;
    // The notice is a status banner, read by screen readers as it is: not announced again.
    this.#setNotice(endNotice(call, end));
    this.#dispatch("call-ended", {
      remote: { userID: call.remote.userID, username: call.remote.username },
      direction: call.direction,
      reason: end.reason,
      byLocal: end.byLocal,
    });
    this.#refresh();
  }

  /** Opens camera and microphone, reporting what is missing; never rejects. */
  async #openMedia(): Promise<LocalMedia> {
    const media = await acquireLocalMedia();
    const missing = describeMissingMedia(media);
    if (missing) {
      this.#dispatch("error", { code: "media_unavailable", message: `calling without ${missing}` });
    }
    return media;
  }

  #useMedia(media: LocalMedia): void {
    this.#releaseMedia();
    this.local.use(media, { audio: true, video: true });
    this.#announceMedia();
  }

  /** Tells the other party whether the microphone and camera are on (now, and when the next call connects). */
  #announceMedia(): void {
    this.#session?.setMediaState({ audio: this.local.audioOn, video: this.local.videoOn });
    this.#refresh();
  }

  /** Redraws when the call's ICE connection is interrupted or back (until the call ends). */
  #watchIce(call: PhoneCall): void {
    this.#iceWatch?.abort();
    const watch = new AbortController();
    this.#iceWatch = watch;
    call.peerConnection?.addEventListener("iceconnectionstatechange", () => this.#refresh(), { signal: watch.signal });
  }

  /** Shows a sent or received chat message, counts it unread while the panel is closed, tells the page. */
  #addChat(message: ChatMessage, own: boolean): void {
    const entry: ChatEntry = { ...message, own };
    this.#chat = [...this.#chat.slice(1 - CALL_CHAT_MESSAGES_KEPT), entry];
    if (!own) {
      if (!this.#chatOpen) {
        this.#unreadChat += 1;
      }
      this.#announcer.announce(`${message.from.username} says: ${message.text.slice(0, CHAT_ANNOUNCED_CHARS)}`);
    }
    this.#dispatch("chat-message", entry);
    this.#host.requestUpdate();
  }

  /** The link moved to `connection`: tell the page and the live region. */
  #onConnectionChange(connection: LinkConnection): void {
    const graceRemainingMs = this.graceRemainingMs;
    this.#dispatch("connection-state", {
      state: this.#lastPhase,
      previous: this.#lastPhase,
      connection,
      ...(graceRemainingMs !== undefined ? { graceRemainingMs } : {}),
    });
    switch (connection) {
      case LinkConnection.reconnecting:
        this.#announcer.announce("Connection lost. Reconnecting…");
        break;
      case LinkConnection.reconnected:
        this.#announcer.announce("Reconnected");
        break;
      case LinkConnection.disconnected:
        this.#announcer.announce("You were disconnected");
        break;
      case LinkConnection.connected:
        break;
    }
    this.#host.requestUpdate();
  }

  /** The camera for watchers: opened with the first watch, shared by the next ones. */
  #openWatchMedia(): Promise<MediaStream | undefined> {
    this.#watchMedia ??= acquireLocalMedia().then((media) => media.stream);
    return this.#watchMedia;
  }

  /** Stops the watchers' camera once nobody watches this user any more. */
  #releaseWatchMediaWhenUnwatched(): void {
    const watched = this.#session?.watches.some((watch) => watch.role === "watched" && !watch.ended) ?? false;
    if (!watched && this.#watchMedia) {
      const media = this.#watchMedia;
      this.#watchMedia = undefined;
      void media.then(stopStream);
    }
    this.#refresh();
  }

  #releaseMedia(): void {
    this.local.release();
    this.#soundBlocked = false;
  }

  #setNotice(notice: string | undefined): void {
    clearTimeout(this.#noticeTimer);
    this.#noticeTimer = undefined;
    this.#notice = notice;
    if (notice !== undefined) {
      this.#noticeTimer = setTimeout(() => this.#setNotice(undefined), NOTICE_MS);
    }
    this.#refresh();
  }

  #fail(code: PhoneElementErrorCode, message: string): void {
    const session = this.#session;
    this.#session = undefined;
    this.#attempt.cancel();
    this.#pending = undefined;
    this.#accepting = false;
    if (session && !session.closed) {
      this.#signingOut = true;
      try {
        session.close();
      } finally {
        this.#signingOut = false;
      }
    }
    this.#releaseMedia();
    this.#releaseWatchMediaWhenUnwatched();
    this.#failure = { code, message };
    this.#dispatch("error", { code, message });
    this.#refresh();
  }

  /** Re-renders, reports a phase change, and rings while (and only while) a call rings here. */
  #refresh(): void {
    const phase = this.phase;
    if (phase !== this.#lastPhase) {
      const previous = this.#lastPhase;
      this.#lastPhase = phase;
      const signedIn = phase !== PhonePhase.signedOut && phase !== PhonePhase.signingIn && phase !== PhonePhase.failed;
      const wasSignedIn = previous !== PhonePhase.signedOut && previous !== PhonePhase.signingIn && previous !== PhonePhase.failed;
      if (signedIn !== wasSignedIn) {
        this.#notices.reset(signedIn ? LinkConnection.connected : LinkConnection.disconnected);
      }
      this.#dispatch("phone-state", { state: phase, previous });
      this.#dispatch("connection-state", { state: phase, previous, connection: this.connection });
    }
    const remote = this.remote;
    if (phase === PhonePhase.ringing && remote) {
      this.#alert.start({ callerName: remote.username || remote.userID, sound: this.ringtoneOn });
    } else {
      this.#alert.stop();
    }
    this.#host.requestUpdate();
  }

  #dispatch<Name extends keyof WebRtcPhoneEventMap>(name: Name, detail: WebRtcPhoneEventDetail<Name>): void {
    this.#host.dispatchEvent(phoneEvent(name, detail));
  }

  /** True when `userID` is online and said it is unavailable (a camera whose source is down). */
  isUnavailable(userID: string): boolean {
    return this.#session?.user(userID)?.status === "unavailable";
  }
}

/**
 * The element's code for a failed sign-in: `user_online` when the server refused the login because
 * that user is signed in elsewhere (the element says so), else the session's own code.
 */
function failureCode(error: unknown): PhoneElementErrorCode {
  if (!(error instanceof PhoneError)) {
    return "signaling_unreachable";
  }
  const serverCode = error.serverCode;
  return serverCode === "user_online" || serverCode === "bad_credentials" || serverCode === "too_many_attempts" || serverCode === "credentials_missing" ? serverCode : error.code;
}

/** A watch's other side as the element's events name it. */
function userInfo(party: { userID: string; username: string }): PhoneUserInfo {
  return { userID: party.userID, username: party.username };
}

/** The ringtone choice remembered on this browser, if the user made one. */
function readRingtoneChoice(): boolean | undefined {
  try {
    const stored = globalThis.localStorage?.getItem(RINGTONE_STORAGE_KEY);
    return stored === "on" ? true : stored === "off" ? false : undefined;
  } catch {
    return undefined;
  }
}
