/**
 * How the tiles of `<webrtc-room>` are laid out: a grid of equal tiles, or one featured tile large
 * over a strip of the others. What is featured, first match wins ({@link featuredTile}):
 * 1. the tile the user pinned;
 * 2. the newest shared screen (everyone sees it as the stage, the cameras move to the strip);
 * 3. in the speaker layout, the active speaker (else the first other participant, else oneself).
 *
 * Every tile keeps its place in one list whatever the layout (cameras first, screens after them),
 * so that switching never moves a stream to another `<video>` (no black flash); CSS places the
 * featured one and the strip. Each tile carries its
 * level meter, the active speaker's highlight, Pin and Full screen buttons, and, for a remote, the
 * attributes by which its rendered size becomes a video hint (`video-hints.ts`).
 */
import { css, html, nothing, type TemplateResult } from "lit";
import { exitFullscreenIcon, fullscreenIcon, pinIcon } from "../shared/icons.ts";
import { LOCAL_TILE_KEY, RoomLayout, type StageController } from "./stage-controller.ts";
import { gridShape, portraitShape, renderTile, type TileView } from "./tile.ts";

/** What decides the featured tile; keys as in {@link TileView.key} (else `id`). */
export interface StageInput {
  /** Every tile's key, in display order (this participant's camera first, as `"local"`). */
  keys: readonly string[];
  layout: RoomLayout;
  pinnedKey: string | undefined;
  /** The newest screen tile, if any. */
  screenKey: string | undefined;
  /** The active speaker's tile, if any. */
  speakerKey: string | undefined;
}

/** The key of the tile shown large, or `undefined` for a plain grid. Pure; see the module comment. */
export function featuredTile({ keys, layout, pinnedKey, screenKey, speakerKey }: StageInput): string | undefined {
  const present = (key: string | undefined): key is string => key !== undefined && keys.includes(key);
  if (present(pinnedKey)) {
    return pinnedKey;
  }
  if (present(screenKey)) {
    return screenKey;
  }
  if (layout !== RoomLayout.speaker) {
    return undefined;
  }
  return present(speakerKey) ? speakerKey : keys.find((key) => key !== LOCAL_TILE_KEY) ?? keys[0];
}

/** The key of a tile. */
const keyOf = (tile: TileView): string => tile.key ?? tile.id;

/**
 * The stage's tiles: the camera tiles `cameras` (this participant's first) with the shared
 * screens, speaking state, pin and full-screen buttons added, laid out around the featured one.
 */
export function renderStage(cameras: readonly TileView[], stage: StageController): TemplateResult {
  const screens = stage.screens;
  const screenTiles = screens.map((screen): TileView => {
    const owner = cameras.find((tile) => (screen.ownerId === LOCAL_TILE_KEY ? tile.local : tile.id === screen.ownerId));
    return {
      id: screen.ownerId,
      key: screen.key,
      name: screen.ownerName,
      local: screen.ownerId === LOCAL_TILE_KEY,
      state: owner?.state ?? "connected",
      reconnecting: owner?.reconnecting ?? false,
      stream: screen.stream,
      videoOn: true,
      // The screen's own sound (if any) plays from its tile; the sharer's microphone from the camera tile.
      audioOn: true,
      soundBlocked: owner?.soundBlocked ?? false,
      onSoundBlocked: owner?.onSoundBlocked ?? (() => undefined),
      host: false,
      actions: undefined,
      screen: true,
      hintSource: "screen",
    };
  });
  const tiles = [...cameras, ...screenTiles];
  const speakerId = stage.activeSpeakerId;
  const featured = featuredTile({
    keys: tiles.map(keyOf),
    layout: stage.layout,
    pinnedKey: stage.pinnedKey,
    screenKey: screens[0]?.key,
    speakerKey: speakerId,
  });
  const decorated = tiles.map((tile): TileView => {
    const key = keyOf(tile);
    return {
      ...tile,
      featured: key === featured,
      activeSpeaker: !tile.screen && !tile.local && tile.id === speakerId,
      ...(tile.local || tile.screen ? {} : { level: stage.levelOf(tile.id), hintSource: "camera" as const }),
      tools: renderTileTools(stage, key, tile.screen ? `${tile.name}'s screen` : tile.local ? "your camera" : tile.name),
    };
  });
  if (featured === undefined) {
    const { cols, rows } = gridShape(decorated.length);
    const portrait = portraitShape(decorated.length);
    return html`<div class="grid" data-layout="grid" style="--cols: ${cols}; --rows: ${rows}; --portrait-cols: ${portrait.cols}; --portrait-rows: ${portrait.rows}">${decorated.map(renderTile)}</div>`;
  }
  const strip = Math.max(1, decorated.length - 1);
  return html`<div class="grid staged ${decorated.length === 1 ? "alone" : ""}" data-layout="stage" style="--strip: ${strip}">${decorated.map(renderTile)}</div>`;
}

/** Pin and Full screen buttons of tile `key`, labelled with `name` ("Pin Ada", "Full screen: Ada"). */
function renderTileTools(stage: StageController, key: string, name: string): TemplateResult {
  const pinned = stage.pinnedKey === key;
  const fullscreen = stage.fullscreenKey === key;
  const canFullscreen = globalThis.document?.fullscreenEnabled === true;
  return html`<div class="tile-tools">
    <button class="tool" data-tool="pin" aria-pressed=${pinned ? "true" : "false"} aria-label="Pin ${name}" title=${pinned ? `Unpin ${name}` : `Pin ${name}`}
      @click=${() => stage.togglePin(key, name)}>${pinIcon}</button>
    ${canFullscreen
      ? html`<button class="tool" data-tool="fullscreen" aria-label=${fullscreen ? "Leave full screen" : `Full screen: ${name}`} title=${fullscreen ? "Leave full screen" : `Full screen: ${name}`}
          @click=${(event: Event) => {
            const tile = (event.currentTarget as HTMLElement).closest("figure");
            if (tile) {
              stage.toggleFullscreen(key, tile);
            }
          }}>${fullscreen ? exitFullscreenIcon : fullscreenIcon}</button>`
      : nothing}
  </div>`;
}

/** Styles of the staged layout, the speaking tile, the level meter and the tile tools. */
export const stageStyles = css`
  .grid.staged {
    --strip-h: clamp(64px, 18cqh, 150px);
    --strip-w: min(var(--strip-h) * 16 / 9, (100cqw - (var(--strip) - 1) * var(--_gap)) / var(--strip));
    align-content: flex-start;
  }

  .grid.staged .tile {
    width: var(--strip-w);
    height: calc(var(--strip-w) * 9 / 16);
    aspect-ratio: auto;
  }

  .grid.staged .tile.featured {
    order: -1;
    width: 100%;
    height: calc(100cqh - var(--strip-w) * 9 / 16 - var(--_gap));
  }

  .grid.staged.alone .tile.featured {
    height: 100cqh;
  }

  .tile.featured video,
  .tile.screen video,
  .tile:fullscreen video {
    object-fit: contain;
  }

  .tile:fullscreen {
    width: 100%;
    height: 100%;
    border-radius: 0;
  }

  .tile.speaking {
    box-shadow: 0 0 0 3px var(--_accent), 0 8px 24px rgb(0 0 0 / 0.35);
  }

  .level {
    display: inline-flex;
    align-items: end;
    gap: 2px;
    height: 12px;
  }

  .level i {
    width: 3px;
    height: 100%;
    border-radius: 2px;
    background: var(--_ok);
    transform-origin: bottom;
    transform: scaleY(max(0.2, min(1, var(--level) * 4)));
    transition: transform 0.2s;
  }

  .level i:nth-child(2) {
    transform: scaleY(max(0.2, min(1, var(--level) * 6)));
  }

  .level i:nth-child(3) {
    transform: scaleY(max(0.2, min(1, var(--level) * 2.5)));
  }

  .tile-tools {
    position: absolute;
    top: 8px;
    left: 8px;
    display: flex;
    gap: 6px;
    opacity: 0;
    transition: opacity 0.15s;
  }

  .tile:hover .tile-tools,
  .tile:focus-within .tile-tools,
  .tile-tools:has([aria-pressed="true"]) {
    opacity: 1;
  }

  .tool {
    display: grid;
    place-items: center;
    width: 32px;
    height: 32px;
    border: 0;
    border-radius: 50%;
    background: rgb(10 12 18 / 0.62);
    color: #eef1f6;
    cursor: pointer;
  }

  .tool[aria-pressed="true"] {
    background: var(--_accent);
    color: var(--_on-accent);
  }

  .tool .icon {
    width: 16px;
    height: 16px;
  }

  .control.on {
    background: var(--_accent);
    color: var(--_on-accent);
  }

  /*
   * Devices, Share and Layout make nine toolbar buttons: on a phone held upright they shrink, and
   * wrap onto a second row rather than leave the window when they still do not fit.
   */
  @container room (max-width: 420px) {
    .controls {
      gap: 4px;
      flex-wrap: wrap;
      justify-content: center;
      max-width: 100%;
    }

    .control,
    .control.leave {
      width: 40px;
      height: 40px;
    }
  }

  .tool:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }
`;
