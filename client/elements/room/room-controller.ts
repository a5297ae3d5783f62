/**
 * The logic behind `<webrtc-room>`: a Lit `ReactiveController` that owns the local media and one
 * {@link MeshSession} per stay in the room. The element reads its getters to render and calls its
 * actions from buttons; everything asynchronous happens here.
 *
 * A stay runs: join (with the join token and, once asked for, the room's password) → joined →
 * only then, and only with the `publish` grant, ask for camera and microphone (falling back to
 * whatever is granted) and publish them. A refused join (a full or locked room, a missing or
 * expired token, a password) never opens the camera; a viewer never does either. The stay ends
 * with `leave()` (phase `left`), a refused join or lost server (`failed`), or the element leaving
 * the document (`idle`). `rejoin()` starts a new stay with a new session, since a session is
 * single-use, going straight back to `joining` (never through `idle`); so does a change of
 * `server`, `room`, `name` or `token`, which keeps the microphone and camera switched as they were.
 * With `prejoin`, the pre-join screen comes first (phase `idle`): it opens camera and microphone
 * for its preview, and the stay its Join starts publishes those (see {@link RoomDevices}).
 * The first stay starts only once the page's own scripts had a chance to listen (see
 * {@link afterPageScripts}), so that its first `connection-state` is never missed. Every asynchronous step checks that its stay is still the current one, so a stay
 * abandoned halfway (the element removed while the camera prompt is open) never publishes late.
 *
 * A room with a lobby holds the join in phase `waiting` (camera still closed) until a host admits
 * or denies it. Hosts (the `host` grant, or named in the room state's `hosts`, which changes live)
 * get the room's settings, the lobby and per-participant actions; a host's removal ends the stay
 * in `failed` (`removed`) without rejoining, and a host's mute request switches the local
 * microphone or camera off with a notice (the user may switch it on again: a mesh cannot enforce).
 *
 * Beside the phase runs the link's {@link RoomConnection}: a lost signaling socket makes it
 * `reconnecting` (with the seconds left in the server's resume grace window), then `reconnected`
 * for a few seconds, or `disconnected` once the window is over; the session keeps trying by itself
 * and `rejoin()` starts over at once. Chat messages are kept here for the element's lifetime
 * (across stays), and every change worth hearing goes to one throttled {@link Announcer}.
 */
import type { ReactiveController, ReactiveControllerHost } from "lit";
// From the core's modules, not its index: the index also exports the phone, and a page with only
// `<webrtc-room>` (room.js) must not load it (the bundle splits by the files an entry reaches).
import type { ChatMessage, MediaState, MuteKind, RemotePeer, RoomState } from "../../core/index.ts";
import { MeshError, MeshSession } from "../../core/room-session.ts";
import { displayName } from "../shared/display-name.ts";
import { LatestRun } from "../shared/latest-run.ts";
import {
  LocalMediaControls,
  acquireLocalMedia,
  acquireOneKind,
  describeMissingMedia,
  stopStream,
  type MediaSwitches,
} from "../shared/local-media.ts";
import { ROOM_NAME_PATTERN, type AccountCredentials } from "../../../shared/protocol/index.ts";
import { Announcer, peopleCount } from "../shared/announcer.ts";
import { ConnectionNotices } from "../shared/connection-notice.ts";
import {
  RoomConnection,
  RoomPhase,
  roomEvent,
  type ParticipantInfo,
  type RoomChatMessage,
  type RoomErrorCode,
  type WebRtcRoomEventDetail,
  type WebRtcRoomEventMap,
} from "./room-events.ts";
import { signalingUrl } from "../shared/signaling-url.ts";
import { serverOrigin } from "../shared/devices.ts";
import { RoomDevices } from "./device-settings.ts";
import { INVALID_ROOM_MESSAGE, hostMuteNotice, lobbyAnnouncement } from "./room-text.ts";
import { cameraBackAnnouncement, cameraOfflineAnnouncement } from "./room-text.ts";
import { isCameraStatusMessage, type CameraStatusState } from "../../core/camera-status.ts";
import { StageController } from "./stage-controller.ts";

/** Chat messages kept; past it the oldest go. */
export const CHAT_MESSAGES_KEPT = 1_000;

/** Most characters of a chat message read out by the live region. */
const CHAT_ANNOUNCED_CHARS = 200;

/** A chat message as the panel shows it. */
export type ChatEntry = RoomChatMessage;

/** What the controller reads from its host when a stay starts. */
export interface RoomSettings {
  /** The `server` attribute; empty for the page's origin. */
  server: string;
  room: string;
  /** Display name; sanitized with {@link displayName}. */
  name: string;
  /** The join token from the host page (`new_user.token`); empty for none. */
  token: string;
  /** Start with the microphone on. */
  audio: boolean;
  /** Start with the camera on. */
  video: boolean;
  /** The `uplink-budget` attribute: this side's uplink video budget in kbit/s; absent for the server's. */
  uplinkBudgetKbps?: number | undefined;
  /** The `account` property: the account to join as on a server running with accounts; absent for none. */
  account?: AccountCredentials | undefined;
  /** The `prejoin` attribute: show the pre-join screen (preview, devices, name) before the first stay. */
  prejoin?: boolean | undefined;
}

/** The host: a Lit element (updates on request) that events are dispatched on. */
export type RoomHost = ReactiveControllerHost & EventTarget;

/** Why the current stay is not in the room, when it failed. */
export interface RoomFailure {
  code: RoomErrorCode;
  message: string;
}

/** Room membership, local media and their controls for one `<webrtc-room>`. */
export class RoomController implements ReactiveController {
  readonly #host: RoomHost;
  readonly #readSettings: () => RoomSettings;
  #phase: RoomPhase = RoomPhase.idle;
  #session: MeshSession | undefined;
  #failure: RoomFailure | undefined;
  #soundBlocked = false;
  #noticeDismissed = false;
  #connected = false;
  /** Settings of the current stay, to notice when the host's attributes change. */
  #settingsKey = "";
  /**
   * The current stay: every start and stop makes the previous one stale, so that an async step
   * of an abandoned stay gives up, and removes the listeners it added to remote streams.
   */
  readonly #stay = new LatestRun();
  /** Set while this side ends its own session, so that the session's `closed` is not a failure. */
  #leaving = false;
  /** The room password the user typed after a `password_required` refusal; kept while the settings stay the same. */
  #password: string | undefined;
  /** What a host did to this participant's media, until dismissed or the stay ends. */
  #hostNotice: string | undefined;
  /** The link's {@link RoomConnection}, with the grace countdown and the "Reconnected" notice. */
  readonly #notices = new ConnectionNotices(
    (connection) => this.#onConnectionChange(connection),
    () => this.#host.requestUpdate(),
  );
  /** Chat messages of every stay, oldest first. */
  #chat: ChatEntry[] = [];
  #chatOpen = false;
  #unreadChat = 0;
  /** The text of the one polite live region. */
  readonly #announcer: Announcer;
  /** The switches of a stay restarted by a change of settings, for the next stay to keep (not the attributes'). */
  #keptSwitches: MediaSwitches | undefined;
  /** Cancels the first stay's deferred start when the element leaves the document first. */
  #pendingStart: AbortController | undefined;

  /** Camera and microphone of the current stay; a switch is announced to the others. */
  readonly local = new LocalMediaControls(() => this.#announceMedia());

  /** True while the pre-join screen waits for Join (phase `idle`). */
  #prejoinOpen = false;
  /** True while the pre-join screen's first camera and microphone request is pending. */
  #prejoinOpening = false;

  /** The devices in use, their pickers, and what happens when one goes away. */
  readonly devices = new RoomDevices({
    local: this.local,
    publications: () => (this.#phase === RoomPhase.joined ? this.#session?.publications : undefined),
    origin: () => serverOrigin(this.#readSettings().server, globalThis.location?.href ?? "http://localhost/"),
    onChange: () => this.#host.requestUpdate(),
    onDeviceChange: (detail) => this.#dispatch("device-change", detail),
    onAnnounce: (text) => this.#announce(text),
  });

  /** Screen shares, who is speaking, layout, pin and full screen (see `stage-controller.ts`). */
  readonly stage: StageController;

  constructor(host: RoomHost, readSettings: () => RoomSettings) {
    this.#host = host;
    this.#readSettings = readSettings;
    this.#announcer = new Announcer(() => host.requestUpdate());
    this.stage = new StageController({ host, announce: (text) => this.#announce(text), name: () => this.name });
    host.addController(this);
  }

  /** Where the element is in its stay. */
  get phase(): RoomPhase {
    return this.#phase;
  }

  /** This participant's sanitized display name. */
  get name(): string {
    return displayName(this.#readSettings().name);
  }

  /**
   * True once joined without the `publish` grant: a viewer, who sees and hears everyone and has no
   * camera or microphone (the element shows no controls for them).
   */
  get isViewer(): boolean {
    return this.#session?.grants?.publish === false;
  }

  /**
   * True when this participant hosts the room: the `host` grant, or named in the room state's
   * `hosts` (open mode hands the room over when the last host leaves). Only hosts see the room's
   * settings, the lobby and the per-participant actions.
   */
  get isHost(): boolean {
    const session = this.#session;
    const id = session?.id;
    return session?.grants?.host === true || (id !== undefined && (session?.roomState?.hosts.includes(id) ?? false));
  }

  /** The room's lock, password, lobby and hosts, once joined. */
  get roomState(): RoomState | undefined {
    return this.#session?.roomState;
  }

  /** Hosts: who waits in the lobby (empty for everyone else). */
  get lobby(): readonly ParticipantInfo[] {
    return this.isHost ? this.#session?.lobby ?? [] : [];
  }

  /** What the polite live region says now: joins, leaves, the count, connection changes, chat. */
  get announcement(): string {
    return this.#announcer.text;
  }

  /** Where the link to the room stands (see {@link RoomConnection}). */
  get connection(): RoomConnection {
    return this.#notices.connection;
  }

  /** While `reconnecting`: milliseconds left in the server's resume grace window, if it told one. */
  get graceRemainingMs(): number | undefined {
    return this.#notices.graceRemainingMs;
  }

  /** Every chat message shown so far, oldest first (kept across stays). */
  get chatMessages(): readonly ChatEntry[] {
    return this.#chat;
  }

  /** Messages from others that arrived while the chat panel was closed. */
  get unreadChat(): number {
    return this.#unreadChat;
  }

  /** Whether the chat panel is open. */
  get chatOpen(): boolean {
    return this.#chatOpen;
  }

  /** "A host muted your microphone", until dismissed ({@link dismissHostNotice}) or the stay ends. */
  get hostNotice(): string | undefined {
    return this.#hostNotice;
  }

  /** The other participants, in the order they appeared; hidden participants are not among them. Empty unless in a room. */
  get remotes(): RemotePeer[] {
    return this.#session ? [...this.#session.peers.values()] : [];
  }

  /** Why the stay failed (phase `failed`), or why it ended. */
  get failure(): RoomFailure | undefined {
    return this.#failure;
  }

  /** True when the browser refused to play remote audio without a user gesture; see {@link unblockSound}. */
  get soundBlocked(): boolean {
    return this.#soundBlocked;
  }

  /** True once the user closed the missing-media notice of this stay. */
  get noticeDismissed(): boolean {
    return this.#noticeDismissed;
  }

  hostConnected(): void {
    this.#connected = true;
    const pending = new AbortController();
    this.#pendingStart = pending;
    void afterPageScripts().then(() => {
      if (!pending.signal.aborted) {
        this.#pendingStart = undefined;
        this.#begin();
      }
    });
  }

  hostDisconnected(): void {
    this.#connected = false;
    this.#pendingStart?.abort();
    this.#pendingStart = undefined;
    this.#keptSwitches = undefined;
    this.#prejoinOpen = false;
    this.#stop(RoomPhase.idle);
    this.#announcer.clear();
  }

  /**
   * Restarts the stay when `server`, `room`, `name` or `token` changed (not after the user left),
   * with the microphone and camera switched as the user left them: a rename must not unmute.
   */
  hostUpdate(): void {
    if (this.#connected && !this.#pendingStart && !this.#prejoinOpen && this.#phase !== RoomPhase.left && this.#keyOf(this.#readSettings()) !== this.#settingsKey) {
      this.#password = undefined;
      if (this.local.hasAudio || this.local.hasVideo) {
        this.#keptSwitches = this.local.switches;
      }
      // A stay that never started (no room until now) may begin with the pre-join screen.
      const neverStarted = this.#phase === RoomPhase.idle;
      this.#stop(undefined);
      if (neverStarted) {
        this.#begin();
      } else {
        this.#start();
      }
    }
  }

  /** Leaves the room and turns camera and microphone off. Safe to call in any phase. */
  leave(): void {
    if (this.#phase !== RoomPhase.idle && this.#phase !== RoomPhase.left) {
      this.#stop(RoomPhase.left);
    }
  }

  /** Starts a new stay after `leave()`, a failure, or while `disconnected` (without waiting for the automatic attempts). */
  rejoin(): void {
    if (this.#connected && (this.#phase === RoomPhase.left || this.#phase === RoomPhase.failed || this.connection === RoomConnection.disconnected)) {
      this.#stop(undefined);
      this.#start();
    }
  }

  /**
   * Asks again for the camera (`video`) or microphone (`audio`) that was denied, missing or busy
   * when the stay started (see {@link LocalMediaControls.canRetry}), and publishes it if granted
   * now: no rejoin needed. Called from a click, so that the browser may prompt again.
   */
  async retryMedia(kind: keyof MediaSwitches): Promise<void> {
    const session = this.#session;
    const stay = this.#stay.signal;
    const inRoom = session !== undefined && this.#phase === RoomPhase.joined;
    if (!(inRoom || this.#prejoinOpen) || !this.local.canRetry(kind)) {
      return;
    }
    const result = await acquireOneKind(kind);
    if (stay.aborted || session?.closed === true) {
      if ("track" in result) {
        result.track.stop();
      }
      return;
    }
    if ("problem" in result) {
      this.local.setProblem(kind, result.problem);
      this.#noticeDismissed = false;
      this.#host.requestUpdate();
      return;
    }
    if (this.local.adopt(result.track)) {
      session?.publications.publish(kind === "video" ? "camera" : "microphone", result.track);
    }
    if (kind === "audio" && this.devices.metering) {
      this.devices.meter(true);
    }
    void this.devices.refresh();
    this.#announceMedia();
  }

  /** Joins again with the room's `password`, after the server asked for one (or refused the last one). */
  joinWithPassword(password: string): void {
    this.#password = password;
    this.rejoin();
  }

  /** Opens or closes the chat panel; opening marks every message read. */
  setChatOpen(open: boolean): void {
    this.#chatOpen = open;
    if (open) {
      this.#unreadChat = 0;
    }
    this.#host.requestUpdate();
  }

  /**
   * Sends a chat message to everyone in the room and shows it. Throws a `MeshError`:
   * `chat_too_long`, `chat_empty`, `not_ready` when not in the room, `not_allowed` without the
   * `data` grant.
   */
  sendChat(text: string): ChatMessage {
    const session = this.#session;
    if (!session || this.#phase !== RoomPhase.joined) {
      throw new MeshError("not_ready", "not in the room");
    }
    const message = session.sendChat(text);
    this.#addChat(message, true);
    return message;
  }

  /** Called by the view when a remote video could not start with sound (autoplay policy). */
  reportSoundBlocked(): void {
    if (!this.#soundBlocked) {
      this.#soundBlocked = true;
      this.#host.requestUpdate();
    }
  }

  /** Called from a click (a user gesture): remote media may now play with sound. */
  unblockSound(): void {
    this.#soundBlocked = false;
    this.#host.requestUpdate();
  }

  /** Hosts: locks or unlocks the room; the change shows once the server confirms it (`room-state`). */
  lockRoom(locked: boolean): void {
    this.#session?.lockRoom(locked);
  }

  /** Hosts: sets the room's password (1–128 characters) or clears it (`null`). */
  setRoomPassword(password: string | null): void {
    this.#session?.setRoomPassword(password);
  }

  /** Hosts: turns the lobby on (newcomers wait to be let in) or off. */
  setLobby(enabled: boolean): void {
    this.#session?.setLobby(enabled);
  }

  /** Hosts: asks participant `id` to switch its microphone (`audio`) or camera (`video`) off. */
  muteParticipant(id: string, kind: MuteKind): void {
    this.#session?.muteParticipant(id, kind);
  }

  /** Hosts: removes participant `id` from the room. */
  removeParticipant(id: string): void {
    this.#session?.removeParticipant(id);
  }

  /** Hosts: lets participant `id` in from the lobby. */
  admit(id: string): void {
    this.#session?.admit(id);
  }

  /** Hosts: turns participant `id` away from the lobby. */
  deny(id: string): void {
    this.#session?.deny(id);
  }

  /** Hides the host's mute notice. */
  dismissHostNotice(): void {
    this.#hostNotice = undefined;
    this.#host.requestUpdate();
  }

  /** Hides the missing-media notice until the next stay. */
  dismissNotice(): void {
    this.#noticeDismissed = true;
    this.#host.requestUpdate();
  }

  #keyOf(settings: RoomSettings): string {
    return JSON.stringify([settings.server, settings.room, displayName(settings.name), settings.token, settings.account?.userID, settings.account?.password]);
  }

  /** Starts a stay; never rejects (every failure lands in phase `failed`). */
  #start(): void {
    const stay = this.#stay.start();
    const settings = this.#readSettings();
    this.#settingsKey = this.#keyOf(settings);
    this.#failure = undefined;
    this.#hostNotice = undefined;
    if (!settings.room) {
      this.#setPhase(RoomPhase.idle);
      return;
    }
    if (!ROOM_NAME_PATTERN.test(settings.room)) {
      // Refused here, before any connection, and in words: the server's answer names a pattern.
      this.#fail("invalid_room", INVALID_ROOM_MESSAGE);
      return;
    }
    this.#run(stay, settings).catch((error: unknown) => {
      if (!stay.aborted) {
        this.#fail("internal_error", error instanceof Error ? error.message : String(error));
      }
    });
  }

  async #run(stay: AbortSignal, settings: RoomSettings): Promise<void> {
    let url: string;
    try {
      url = signalingUrl(settings.server, globalThis.location?.href ?? "http://localhost/");
    } catch (error) {
      this.#fail("bad_server_url", error instanceof Error ? error.message : String(error));
      return;
    }
    const session = new MeshSession({
      url,
      room: settings.room,
      username: displayName(settings.name),
      ...(settings.token ? { token: settings.token } : {}),
      ...(this.#password !== undefined ? { password: this.#password } : {}),
      ...(settings.account !== undefined ? { account: settings.account } : {}),
      ...(settings.uplinkBudgetKbps !== undefined && settings.uplinkBudgetKbps > 0 ? { uplinkBudgetKbps: settings.uplinkBudgetKbps } : {}),
      // The camera and microphone open once admitted, after the offers went out: keep their places.
      reserveUserMedia: true,
    });
    this.#session = session;
    this.#subscribe(session);
    this.stage.attach(session);
    this.#announceMedia();
    this.#setPhase(RoomPhase.joining);
    try {
      await session.join();
    } catch (error) {
      if (!stay.aborted) {
        const code = error instanceof MeshError ? error.code : "signaling_unreachable";
        this.#fail(code, error instanceof Error ? error.message : String(error));
      }
      return;
    }
    if (stay.aborted) {
      return;
    }
    this.#setPhase(RoomPhase.joined);
    this.#announce(`You joined ${settings.room}`, true);
    if (session.roomState) {
      this.#dispatch("room-state", session.roomState);
    }
    if (session.grants?.publish !== false) {
      await this.#publishLocalMedia(stay, session, settings);
    } else {
      // A viewer publishes nothing: the pre-join screen's camera and microphone go off.
      this.local.release();
      this.devices.unwatch();
      this.#host.requestUpdate();
    }
  }

  /**
   * In the room with the `publish` grant: opens camera and microphone (unless the pre-join screen
   * opened them already: those are the ones sent) and sends them to everyone.
   */
  async #publishLocalMedia(stay: AbortSignal, session: MeshSession, settings: RoomSettings): Promise<void> {
    if (!this.local.hasAudio && !this.local.hasVideo) {
      const media = await acquireLocalMedia(this.devices.preferred());
      if (stay.aborted || session.closed) {
        stopStream(media.stream);
        return;
      }
      this.local.use(media, this.#keptSwitches ?? { audio: settings.audio, video: settings.video });
    }
    this.#keptSwitches = undefined;
    this.devices.watch();
    this.#noticeDismissed = false;
    this.#reportMediaProblems();
    const [audio] = this.local.stream?.getAudioTracks() ?? [];
    const [video] = this.local.stream?.getVideoTracks() ?? [];
    if (audio) {
      session.publications.publish("microphone", audio);
    }
    if (video) {
      session.publications.publish("camera", video);
    }
    this.#announceMedia();
  }

  #subscribe(session: MeshSession): void {
    // The session drops every listener when it closes, so none of these outlive it.
    session.on("peer-joined", ({ peer }) => {
      this.#dispatch("peer-joined", { peer: { id: peer.id, username: peer.username } });
      // Those this side offers to were there before it (joined, or joined again as new): no news.
      if (!peer.initiator) {
        this.#announce(`${peer.username} joined`, true);
      }
      this.#host.requestUpdate();
    });
    session.on("peer-left", ({ peer, reason }) => {
      this.#dispatch("peer-left", { peer: { id: peer.id, username: peer.username }, reason });
      if (reason === "left") {
        this.#announce(`${peer.username} left`, true);
      }
      this.#host.requestUpdate();
    });
    session.on("reconnecting", () => this.#onReconnecting(session));
    session.on("reconnected", () => this.#notices.back());
    session.on("chat-message", (message) => this.#addChat(message, false));
    session.on("peer-state", () => this.#host.requestUpdate());
    session.on("peer-stream", ({ stream }) => {
      // A track negotiated later (the remote's camera, when this side joined without one and the
      // remote asked for a video transceiver) joins the same stream without a new `peer-stream`.
      const update = (): void => this.#host.requestUpdate();
      stream.addEventListener("addtrack", update, { signal: this.#stay.signal });
      stream.addEventListener("removetrack", update, { signal: this.#stay.signal });
      update();
    });
    session.on("peer-media", () => this.#host.requestUpdate());
    session.on("peer-data", ({ peer, data }) => this.#onCameraStatus(peer.id, data));
    session.on("peer-left", ({ peer }) => this.#cameraStates.delete(peer.id));
    session.on("waiting", () => this.#setPhase(RoomPhase.waiting));
    session.on("room-state", ({ roomState }) => {
      this.#dispatch("room-state", roomState);
      this.#host.requestUpdate();
    });
    session.on("grants", () => this.#host.requestUpdate());
    let waiting: readonly ParticipantInfo[] = [];
    session.on("lobby", ({ waiting: next }) => {
      const arrivals = lobbyAnnouncement(waiting, next);
      if (arrivals !== undefined && this.isHost) {
        this.#announce(arrivals);
      }
      waiting = next;
      this.#dispatch("lobby", { waiting: next.map(({ id, username }) => ({ id, username })) });
      this.#host.requestUpdate();
    });
    session.on("removed", () => {
      // The session closes right after; its `state` listener ends the stay with this failure.
      this.#failure = { code: "removed", message: "a host removed this participant from the room" };
      this.#dispatch("error", this.#failure);
    });
    session.on("mute-request", ({ kind }) => {
      this.local.switchOff(kind);
      this.#hostNotice = hostMuteNotice(kind);
      this.#announceMedia();
    });
    session.on("error", ({ code, message, peerId }) => {
      if (code === "signaling_closed") {
        // Reported as the failure of the stay when the session closes right after.
        this.#failure = { code, message };
      }
      this.#dispatch("error", peerId === undefined ? { code, message } : { code, message, peerId });
    });
    session.on("state", ({ state }) => {
      if (state === "closed" && !this.#leaving && session === this.#session && this.#phase === RoomPhase.joined) {
        this.#failure ??= { code: "signaling_closed", message: "the connection to the server closed" };
        this.#stop(RoomPhase.failed);
      }
    });
  }

  /** Ends the current stay (session, then media) and moves to `phase` (`undefined`: a new stay starts at once). */
  #stop(phase: RoomPhase | undefined): void {
    this.#stay.cancel();
    const session = this.#session;
    if (session) {
      this.#leaving = true;
      try {
        session.leave();
      } finally {
        this.#leaving = false;
        this.#session = undefined;
      }
    }
    this.stage.detach();
    this.local.release();
    this.devices.unwatch();
    this.#soundBlocked = false;
    if (phase !== undefined) {
      this.#setPhase(phase);
    }
  }

  #fail(code: RoomErrorCode, message: string): void {
    this.#failure = { code, message };
    this.#dispatch("error", { code, message });
    this.#stop(RoomPhase.failed);
  }

  #reportMediaProblems(): void {
    const { audioProblem, videoProblem } = this.local.media;
    if (!audioProblem && !videoProblem) {
      return;
    }
    this.#dispatch("error", {
      code: "media_unavailable",
      message: `joining without ${describeMissingMedia(this.local.media)}`,
      media: { ...(audioProblem ? { audio: audioProblem } : {}), ...(videoProblem ? { video: videoProblem } : {}) },
    });
  }

  /** Tells the others whether the microphone and camera are on, and re-renders. */
  #announceMedia(): void {
    const state: MediaState = { audio: this.local.audioOn, video: this.local.videoOn };
    this.#session?.setMediaState(state);
    this.#host.requestUpdate();
  }

  #setPhase(phase: RoomPhase): void {
    const previous = this.#phase;
    if (previous === phase) {
      return;
    }
    this.#phase = phase;
    this.#notices.reset(phase === RoomPhase.joined ? RoomConnection.connected : RoomConnection.disconnected);
    this.#dispatch("connection-state", { state: phase, previous, connection: this.connection });
    this.#host.requestUpdate();
  }

  /** The session lost its socket (once per reconnect attempt): start the countdown on the first. */
  #onReconnecting(session: MeshSession): void {
    if (this.#phase === RoomPhase.joined) {
      this.#notices.lost(session.info?.resumeGraceMs);
    }
  }

  /** The link moved to `connection`: tell the page and the live region. */
  #onConnectionChange(connection: RoomConnection): void {
    const graceRemainingMs = this.graceRemainingMs;
    this.#dispatch("connection-state", {
      state: this.#phase,
      previous: this.#phase,
      connection,
      ...(graceRemainingMs !== undefined ? { graceRemainingMs } : {}),
    });
    switch (connection) {
      case RoomConnection.reconnecting:
        this.#announce("Connection lost. Reconnecting…");
        break;
      case RoomConnection.reconnected:
        this.#announce("Reconnected", true);
        break;
      case RoomConnection.disconnected:
        this.#announce("You were disconnected");
        break;
      case RoomConnection.connected:
        break;
    }
    this.#host.requestUpdate();
  }

  /** Shows a sent or received chat message, counts it unread while the panel is closed, tells the page. */
  #addChat(message: ChatMessage, own: boolean): void {
    const entry: ChatEntry = { ...message, own };
    this.#chat = [...this.#chat.slice(1 - CHAT_MESSAGES_KEPT), entry];
    if (!own) {
      if (!this.#chatOpen) {
        this.#unreadChat += 1;
      }
      this.#announce(`${message.from.username} says: ${message.text.slice(0, CHAT_ANNOUNCED_CHARS)}`);
    }
    this.#dispatch("chat-message", entry);
    this.#host.requestUpdate();
  }

  /** Queues `text` for the live region; `withCount` closes the announcement with the people count. */
  #announce(text: string, withCount = false): void {
    this.#announcer.announce(text, withCount ? () => peopleCount(this.remotes.length + 1) : undefined);
  }

  #dispatch<Name extends keyof WebRtcRoomEventMap>(name: Name, detail: WebRtcRoomEventDetail<Name>): void {
    this.#host.dispatchEvent(roomEvent(name, detail));
  }

  // ---- camera peers (webrtc-room camera) ----

  /** The last state camera peers announced (`camera_status`), by participant id. */
  readonly #cameraStates = new Map<string, CameraStatusState>();

  /** True when participant `peerId` is a camera whose source is down: its tile says "Camera offline". */
  cameraOffline(peerId: string): boolean {
    return this.#cameraStates.get(peerId) === "offline" && this.#session?.peers.has(peerId) === true;
  }

  #onCameraStatus(peerId: string, data: unknown): void {
    if (!isCameraStatusMessage(data) || this.#cameraStates.get(peerId) === data.state) {
      return;
    }
    const wasOffline = this.#cameraStates.get(peerId) === "offline";
    this.#cameraStates.set(peerId, data.state);
    if (data.state === "offline") {
      this.#announce(cameraOfflineAnnouncement(data.camera));
    } else if (wasOffline && data.state === "live") {
      this.#announce(cameraBackAnnouncement(data.camera));
    }
  }

  // ---- pre-join screen ----

  /** True while the pre-join screen shows (attribute `prejoin`, before the first Join). */
  get inPrejoin(): boolean {
    return this.#prejoinOpen;
  }

  /** True while the pre-join screen waits for the camera and microphone it asked for. */
  get prejoinOpening(): boolean {
    return this.#prejoinOpening;
  }

  /**
   * From the pre-join screen: remembers the devices and `name` for this server and starts the
   * stay, which publishes the camera and microphone of the preview (no second `getUserMedia`).
   * The element sets its `name` before calling this.
   */
  joinFromPrejoin(name: string): void {
    if (!this.#prejoinOpen) {
      return;
    }
    this.devices.remember({ name, speakerId: this.devices.speakerId });
    this.devices.meter(false);
    this.#prejoinOpen = false;
    this.#prejoinOpening = false;
    this.#start();
  }

  /** The first stay: behind the pre-join screen when asked for and the room is valid, else at once. */
  #begin(): void {
    const settings = this.#readSettings();
    if (settings.prejoin && ROOM_NAME_PATTERN.test(settings.room)) {
      void this.#openPrejoin(settings);
    } else {
      this.#start();
    }
  }

  /** Shows the pre-join screen and opens the remembered camera and microphone for its preview. */
  async #openPrejoin(settings: RoomSettings): Promise<void> {
    const stay = this.#stay.start();
    this.#prejoinOpen = true;
    this.#prejoinOpening = true;
    this.devices.watch();
    this.#host.requestUpdate();
    const media = await acquireLocalMedia(this.devices.preferred());
    if (stay.aborted) {
      stopStream(media.stream);
      return;
    }
    this.#prejoinOpening = false;
    this.local.use(media, { audio: settings.audio, video: settings.video });
    this.devices.meter(true);
    // Labels and ids are listed in full only once a device was granted.
    void this.devices.refresh();
    this.#host.requestUpdate();
  }
}

/**
 * Resolves once the page's own scripts have run, so that a listener a page adds right after its
 * `<webrtc-room>` (in the same script, or in a later `<script>` of the parsed page) hears the
 * first `connection-state`: after a microtask when the element is created by script once the
 * document is parsed, else at `DOMContentLoaded`, which follows every deferred and module script.
 */
function afterPageScripts(): Promise<void> {
  const document = globalThis.document;
  const [navigation] = globalThis.performance?.getEntriesByType?.("navigation") ?? [];
  // "interactive" covers both the deferred scripts' turn and the time after DOMContentLoaded.
  const beforeContentLoaded = document?.readyState === "loading"
    || (document?.readyState === "interactive" && navigation instanceof PerformanceNavigationTiming && navigation.domContentLoadedEventStart === 0);
  if (!beforeContentLoaded) {
    return Promise.resolve();
  }
  return new Promise((resolve) => document.addEventListener("DOMContentLoaded", () => resolve(), { once: true }));
}
