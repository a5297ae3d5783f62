/**
 * The stage of `<webrtc-room>`: screen shares, who is speaking, the layout, the pinned and the
 * full-screen tile, and the video hints that follow the tiles' sizes. The {@link RoomController}
 * owns one and hands it each stay's session ({@link StageController.attach}); the element reads
 * it to render (see `stage-layout.ts`) and calls its actions from buttons.
 *
 * Screen sharing goes through the session (`shareScreen`: one share per room, the newest wins).
 * Remote screens arrive as `screen` publications; the newest is the stage tile. Levels and the
 * active speaker come from the session's `levels` and `active-speaker` (4 times a second, with
 * hysteresis); an `active-speaker` DOM event tells the page who speaks. Changes a screen reader
 * user must know (a share started or stopped, the layout, a pin) go to the room's live region.
 */
import type { MeshSession } from "../../core/index.ts";
import type { RoomHost } from "./room-controller.ts";
import { roomEvent, type ActiveSpeakerDetail } from "./room-events.ts";
import { TileSizeHints } from "./video-hints.ts";

/** How the tiles are laid out: all alike (`grid`), or the active speaker large over a strip (`speaker`). */
export const RoomLayout = {
  grid: "grid",
  speaker: "speaker",
} as const;

/** A value of {@link RoomLayout}. */
export type RoomLayout = (typeof RoomLayout)[keyof typeof RoomLayout];

/** Key of the local participant's camera tile. */
export const LOCAL_TILE_KEY = "local";

/** Key of the screen tile of participant `id` (`"local"` for this participant's own). */
export function screenTileKey(id: string): string {
  return `screen:${id}`;
}

/** A screen being shared, as the stage shows it. */
export interface ScreenView {
  /** Tile key ({@link screenTileKey}). */
  key: string;
  /** The sharer's participant id, `"local"` for this participant. */
  ownerId: string;
  ownerName: string;
  stream: MediaStream;
  /** When the share started, epoch ms (the sharer's clock): the newest is on stage. */
  sinceMs: number;
}

/** Where a screen share of this participant stands. */
export type ShareState = "off" | "starting" | "on";

/** Options of a {@link StageController}. */
export interface StageControllerOptions {
  host: RoomHost;
  /** Queues a sentence for the room's polite live region. */
  announce: (text: string) => void;
  /** This participant's display name. */
  name: () => string;
}

/** Screen shares, speaking, layout, pin and full screen of one `<webrtc-room>`. */
export class StageController {
  readonly #options: StageControllerOptions;
  #session: MeshSession | undefined;
  #stay: AbortController | undefined;
  #levels = new Map<string, number>();
  #activeSpeakerId: string | undefined;
  #layout: RoomLayout = RoomLayout.grid;
  #pinnedKey: string | undefined;
  #fullscreenKey: string | undefined;
  #share: ShareState = "off";
  /** This participant's screen capture while sharing, for its own preview. */
  #localScreen: { stream: MediaStream; sinceMs: number } | undefined;
  /** Sends the tiles' sizes as video hints to the current session's peers. */
  readonly hints = new TileSizeHints((peerId, source, size) => this.#session?.setVideoHint(peerId, size, source));

  constructor(options: StageControllerOptions) {
    this.#options = options;
    // Fired at the tile and composed: it reaches the host, so nothing outlives the element.
    options.host.addEventListener("fullscreenchange", () => {
      if (!document.fullscreenElement) {
        this.#fullscreenKey = undefined;
      }
      options.host.requestUpdate();
    });
  }

  /** True where the browser can capture a screen (`getDisplayMedia`); the Share button shows only then. */
  get canShare(): boolean {
    return typeof globalThis.navigator?.mediaDevices?.getDisplayMedia === "function";
  }

  /** Where this participant's screen share stands. */
  get shareState(): ShareState {
    return this.#share;
  }

  get layout(): RoomLayout {
    return this.#layout;
  }

  /** The key of the pinned tile, if any (it stays large whatever the layout). */
  get pinnedKey(): string | undefined {
    return this.#pinnedKey;
  }

  /** The key of the tile in full screen, if any. */
  get fullscreenKey(): string | undefined {
    return this.#fullscreenKey;
  }

  /** The remote participant who speaks now or spoke last (hysteresis in the core), if any. */
  get activeSpeakerId(): string | undefined {
    return this.#activeSpeakerId;
  }

  /** The last audio level of remote participant `id` (0–1), 0 before any reading. */
  levelOf(id: string): number {
    return this.#levels.get(id) ?? 0;
  }

  /** The screens shared now, newest first: this participant's own and the remotes'. */
  get screens(): ScreenView[] {
    const screens: ScreenView[] = [];
    const local = this.#localScreen;
    if (local) {
      screens.push({ key: screenTileKey(LOCAL_TILE_KEY), ownerId: LOCAL_TILE_KEY, ownerName: this.#options.name(), ...local });
    }
    for (const peer of this.#session?.peers.values() ?? []) {
      const stream = peer.streamsBySource.get("screen");
      if (stream && peer.trackBySource("screen")) {
        screens.push({ key: screenTileKey(peer.id), ownerId: peer.id, ownerName: peer.username, stream, sinceMs: peer.screenSinceMs ?? 0 });
      }
    }
    return screens.sort((a, b) => b.sinceMs - a.sinceMs);
  }

  /** Starts following `session` (a new stay). */
  attach(session: MeshSession): void {
    this.detach();
    this.#session = session;
    const stay = new AbortController();
    this.#stay = stay;
    const host = this.#options.host;
    const update = (): void => host.requestUpdate();
    session.on("levels", ({ levels }) => {
      this.#levels = new Map(levels.map(({ peerId, level }) => [peerId, level]));
      update();
    });
    session.on("active-speaker", ({ peerId }) => {
      this.#activeSpeakerId = peerId;
      host.dispatchEvent(roomEvent("active-speaker", this.#speakerDetail(session, peerId)));
      update();
    });
    session.on("peer-track-published", ({ peer, source }) => {
      if (source === "screen") {
        this.#options.announce(`${peer.username} is sharing their screen`);
        update();
      }
    });
    session.on("peer-track-unpublished", ({ peer, source }) => {
      if (source === "screen" && !stay.signal.aborted) {
        this.#options.announce(`${peer.username} stopped sharing their screen`);
        update();
      }
    });
    session.on("peer-left", update);
    session.on("screen-share-ended", ({ reason, by }) => {
      this.#share = "off";
      this.#localScreen = undefined;
      this.#options.announce(reason === "replaced" && by ? `${by.username} is sharing now; your screen share stopped` : "You stopped sharing your screen");
      update();
    });
  }

  /** Stops following the session (the stay ended): levels, speaker and own share are gone. */
  detach(): void {
    this.#stay?.abort();
    this.#stay = undefined;
    this.#session = undefined;
    this.#levels.clear();
    this.#activeSpeakerId = undefined;
    this.#share = "off";
    this.#localScreen = undefined;
    this.hints.reset();
  }

  /** Starts sharing the screen (the browser asks which), or stops the share. Called from a click. */
  async toggleShare(): Promise<void> {
    const session = this.#session;
    if (!session || this.#share === "starting") {
      return;
    }
    if (this.#share === "on") {
      session.stopScreenShare();
      return;
    }
    this.#share = "starting";
    this.#options.host.requestUpdate();
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true });
    } catch {
      // The user closed the picker (NotAllowedError) or the browser refused: nothing to share.
      this.#share = "off";
      this.#options.host.requestUpdate();
      return;
    }
    if (session !== this.#session || session.closed) {
      stream.getTracks().forEach((track) => track.stop());
      return;
    }
    try {
      session.shareScreen(stream);
    } catch {
      // The room took the publish grant away meanwhile: nothing may be sent.
      stream.getTracks().forEach((track) => track.stop());
      this.#share = "off";
      this.#options.host.requestUpdate();
      return;
    }
    this.#share = "on";
    this.#localScreen = { stream, sinceMs: session.publications.get("screen")?.sinceMs ?? Date.now() };
    this.#options.announce("You are sharing your screen");
    this.#options.host.requestUpdate();
  }

  /** Switches between the grid and the speaker layout. */
  toggleLayout(): void {
    this.#layout = this.#layout === RoomLayout.grid ? RoomLayout.speaker : RoomLayout.grid;
    this.#options.announce(this.#layout === RoomLayout.speaker ? "Speaker layout" : "Grid layout");
    this.#options.host.requestUpdate();
  }

  /** Pins the tile `key` (shown large), or unpins it when it is the pinned one. `name` is what is announced. */
  togglePin(key: string, name: string): void {
    this.#pinnedKey = this.#pinnedKey === key ? undefined : key;
    this.#options.announce(this.#pinnedKey === undefined ? `${name} unpinned` : `${name} pinned`);
    this.#options.host.requestUpdate();
  }

  /** Shows `tile` (the tile `key`) full screen, or leaves full screen when it already is. */
  toggleFullscreen(key: string, tile: Element): void {
    if (this.#fullscreenKey === key && document.fullscreenElement) {
      void document.exitFullscreen().catch(() => undefined);
      return;
    }
    this.#fullscreenKey = key;
    void tile.requestFullscreen().catch(() => {
      this.#fullscreenKey = undefined;
      this.#options.host.requestUpdate();
    });
    this.#options.host.requestUpdate();
  }

  #speakerDetail(session: MeshSession, peerId: string | undefined): ActiveSpeakerDetail {
    const username = (id: string): string => session.peers.get(id)?.username ?? "";
    const speaker = peerId === undefined ? null : { id: peerId, username: username(peerId) };
    const levels = [...this.#levels].map(([id, level]): ActiveSpeakerDetail["levels"][number] => ({ id, username: username(id), level }));
    return { speaker, levels };
  }
}
