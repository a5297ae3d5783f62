/**
 * Styles of `<webrtc-room>`. Every colour, radius and spacing comes from a `--webrtc-room-*`
 * custom property with a default (dark, or light under `prefers-color-scheme: light`), so a page
 * can theme the element without `::part()`. Text on buttons keeps at least 4.5:1 with the defaults.
 *
 * Sizing: the element fills a container that has a height (`height: 100%`); without one (a bare
 * page) the stage takes 16:9 of its width (3:4 when narrower than 560 px) above the toolbar.
 */
import { css } from "lit";

/** The element's shadow styles. */
export const roomStyles = css`
  :host {
    --_bg: var(--webrtc-room-background, #0b0d12);
    --_surface: var(--webrtc-room-surface, #161a23);
    --_raised: var(--webrtc-room-raised, #232938);
    --_raised-hover: var(--webrtc-room-raised-hover, #2e3548);
    --_text: var(--webrtc-room-text, #eef1f6);
    --_text-dim: var(--webrtc-room-text-dim, #99a3b6);
    --_accent: var(--webrtc-room-accent, #5b8cff);
    --_on-accent: var(--webrtc-room-on-accent, #0b0d12);
    --_danger: var(--webrtc-room-danger, #d23439);
    --_on-danger: var(--webrtc-room-on-danger, #fff);
    --_danger-text: #ffb4b6;
    /* Saturation, lightness and alpha of the glow behind a tile's avatar. */
    --_glow: 35% 22% / 0.9;
    --_ok: var(--webrtc-room-ok, #30c46c);
    --_warn: var(--webrtc-room-warn, #f5a524);
    --_radius: var(--webrtc-room-radius, 16px);
    --_gap: var(--webrtc-room-gap, 12px);

    display: block;
    position: relative;
    height: 100%;
    overflow: hidden;
    box-sizing: border-box;
    background: var(--_bg);
    color: var(--_text);
    font-family: var(--webrtc-room-font, Inter, ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
    font-size: 14px;
    line-height: 1.4;
    color-scheme: dark;
  }

  @media (prefers-color-scheme: light) {
    :host {
      --_bg: var(--webrtc-room-background, #f4f6fa);
      --_surface: var(--webrtc-room-surface, #e3e7ef);
      --_raised: var(--webrtc-room-raised, #dde2eb);
      --_raised-hover: var(--webrtc-room-raised-hover, #cfd5e1);
      --_text: var(--webrtc-room-text, #1d2330);
      --_text-dim: var(--webrtc-room-text-dim, #55607a);
      --_accent: var(--webrtc-room-accent, #2f5bd3);
      --_on-accent: var(--webrtc-room-on-accent, #fff);
      --_danger: var(--webrtc-room-danger, #c42b31);
      --_danger-text: #a3262b;
      --_glow: 50% 80% / 0.9;
      --_ok: var(--webrtc-room-ok, #1f8a4c);
      --_warn: var(--webrtc-room-warn, #9a5b00);
      color-scheme: light;
    }
  }

  @media (prefers-reduced-motion: reduce) {
    *,
    *::before,
    *::after {
      animation: none !important;
      transition: none !important;
    }
  }

  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }

  .room {
    container: room / inline-size;
    display: flex;
    flex-direction: column;
    height: 100%;
  }

  /* ── grid ─────────────────────────────────────────────────────────────── */

  .stage {
    position: relative;
    /*
     * Its 16:9 is only the basis: in a container with a height the stage grows or shrinks to fill
     * it. Without one, it never pushes the toolbar below the window.
     */
    flex: 1 1 auto;
    aspect-ratio: 16 / 9;
    min-height: 0;
    max-height: calc(100dvh - 96px);
    padding: var(--_gap) var(--_gap) 0;
  }

  .grid {
    /*
     * --cols and --rows come from the participant count; tiles keep their aspect ratio and take the largest
     * size that fits both ways. A portrait stage (a phone) swaps columns and rows and uses 4:3.
     */
    --c: var(--cols);
    --r: var(--rows);
    --ar-w: 16;
    --ar-h: 9;
    container: grid / size;
    height: 100%;
    display: flex;
    flex-wrap: wrap;
    align-content: center;
    justify-content: center;
    gap: var(--_gap);
  }

  .tile {
    position: relative;
    margin: 0;
    width: min(
      (100cqw - (var(--c) - 1) * var(--_gap)) / var(--c),
      ((100cqh - (var(--r) - 1) * var(--_gap)) / var(--r)) * var(--ar-w) / var(--ar-h)
    );
    aspect-ratio: var(--ar-w) / var(--ar-h);
    border-radius: var(--_radius);
    overflow: hidden;
    background:
      radial-gradient(circle at 50% 40%, hsl(var(--hue) var(--_glow)), transparent 70%),
      var(--_surface);
    box-shadow: 0 0 0 1px rgb(255 255 255 / 0.06), 0 8px 24px rgb(0 0 0 / 0.35);
  }

  /* A portrait stage (a phone) stacks tiles (--portrait-cols, --portrait-rows), which take the height up to 3:4. */
  @container grid (aspect-ratio < 1) {
    .tile {
      --c: var(--portrait-cols);
      --r: var(--portrait-rows);
      --w: calc((100cqw - (var(--c) - 1) * var(--_gap)) / var(--c));
      width: var(--w);
      height: min((100cqh - (var(--r) - 1) * var(--_gap)) / var(--r), var(--w) * 4 / 3);
      aspect-ratio: auto;
    }
  }

  .tile video {
    position: absolute;
    inset: 0;
    width: 100%;
    height: 100%;
    object-fit: cover;
    background: #000;
  }

  .tile.local video {
    transform: scaleX(-1);
  }

  .tile video.hidden {
    visibility: hidden;
  }

  .avatar {
    position: absolute;
    top: 50%;
    left: 50%;
    transform: translate(-50%, -50%);
    display: grid;
    place-items: center;
    width: clamp(48px, 28%, 132px);
    aspect-ratio: 1;
    border-radius: 50%;
    background: linear-gradient(145deg, hsl(var(--hue) 62% 58%), hsl(calc(var(--hue) + 30) 58% 42%));
    color: #fff;
    font-size: clamp(18px, 4.2cqw, 46px);
    font-weight: 600;
    letter-spacing: 0.02em;
    box-shadow: 0 6px 20px rgb(0 0 0 / 0.35);
    user-select: none;
  }

  .label {
    position: absolute;
    left: 10px;
    bottom: 10px;
    max-width: calc(100% - 20px);
    display: inline-flex;
    align-items: center;
    gap: 7px;
    padding: 5px 10px 5px 9px;
    border-radius: 999px;
    background: rgb(10 12 18 / 0.62);
    backdrop-filter: blur(8px);
    /* Over video or the tile's colour in both themes: always light on dark. */
    color: #eef1f6;
    font-size: 13px;
    font-weight: 500;
    white-space: nowrap;
  }

  .label .name {
    overflow: hidden;
    text-overflow: ellipsis;
  }

  .label .you {
    color: #c3cad8;
    font-weight: 400;
  }

  .label .muted {
    display: inline-flex;
    color: var(--_danger);
  }

  .label .muted .icon {
    width: 15px;
    height: 15px;
  }

  .dot {
    flex: none;
    width: 8px;
    height: 8px;
    border-radius: 50%;
    background: var(--_ok);
  }

  .dot.connecting {
    background: var(--_warn);
  }

  .dot.failed,
  .dot.closed {
    background: var(--_danger);
  }

  .state-chip {
    position: absolute;
    top: 10px;
    left: 10px;
    display: inline-flex;
    align-items: center;
    gap: 8px;
    padding: 4px 10px;
    border-radius: 999px;
    background: rgb(10 12 18 / 0.62);
    backdrop-filter: blur(8px);
    font-size: 12px;
    color: #c3cad8;
  }

  .state-chip.failed,
  .state-chip.closed {
    color: #ffb4b6;
  }

  .spinner {
    width: 12px;
    height: 12px;
    border-radius: 50%;
    border: 2px solid color-mix(in srgb, var(--_text) 25%, transparent);
    border-top-color: var(--_text);
    animation: spin 0.9s linear infinite;
  }

  @keyframes spin {
    to {
      transform: rotate(360deg);
    }
  }

  /* ── banners over the stage ───────────────────────────────────────────── */

  .banners {
    position: absolute;
    z-index: 1;
    top: calc(var(--_gap) + 12px);
    left: 50%;
    transform: translateX(-50%);
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 8px;
    width: max-content;
    max-width: calc(100% - 4 * var(--_gap));
  }

  .notice {
    display: flex;
    align-items: center;
    gap: 10px;
    padding: 8px 8px 8px 14px;
    border-radius: 12px;
    background: rgb(40 30 10 / 0.88);
    border: 1px solid rgb(245 165 36 / 0.35);
    color: #fbdca0;
    backdrop-filter: blur(8px);
    box-shadow: 0 8px 24px rgb(0 0 0 / 0.35);
  }

  .notice .icon {
    flex: none;
    width: 18px;
    height: 18px;
    color: var(--_warn);
  }

  .notice button {
    flex: none;
    border: 0;
    border-radius: 8px;
    padding: 4px 10px;
    background: rgb(255 255 255 / 0.08);
    color: inherit;
    font: inherit;
    cursor: pointer;
  }

  .notice button:hover {
    background: rgb(255 255 255 / 0.16);
  }

  .sound {
    display: inline-flex;
    align-items: center;
    gap: 8px;
    border: 0;
    border-radius: 999px;
    padding: 8px 16px;
    background: var(--_accent);
    color: var(--_on-accent);
    font: inherit;
    font-weight: 600;
    cursor: pointer;
    box-shadow: 0 8px 24px rgb(0 0 0 / 0.35);
  }

  .sound .icon {
    width: 18px;
    height: 18px;
  }

  /* ── toolbar ──────────────────────────────────────────────────────────── */

  .toolbar {
    flex: none;
    display: grid;
    grid-template-columns: 1fr auto 1fr;
    align-items: center;
    gap: var(--_gap);
    padding: 14px calc(var(--_gap) + 6px);
  }

  .info {
    min-width: 0;
    display: flex;
    flex-direction: column;
  }

  .info .room-name {
    font-weight: 600;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }

  .info .status {
    color: var(--_text-dim);
    font-size: 12.5px;
  }

  .controls {
    display: flex;
    gap: 12px;
  }

  .control {
    display: inline-grid;
    place-items: center;
    width: 52px;
    height: 52px;
    border: 0;
    border-radius: 50%;
    background: var(--_raised);
    color: var(--_text);
    cursor: pointer;
    transition: background-color 120ms ease, transform 120ms ease;
  }

  .control:hover:not(:disabled) {
    background: var(--_raised-hover);
  }

  .control:active:not(:disabled) {
    transform: scale(0.96);
  }

  .control.off {
    background: color-mix(in srgb, var(--_danger) 22%, transparent);
    color: var(--_danger-text);
  }

  .control:disabled {
    opacity: 0.45;
    cursor: not-allowed;
  }

  .control.leave {
    width: auto;
    grid-auto-flow: column;
    gap: 8px;
    padding: 0 22px 0 18px;
    border-radius: 999px;
    background: var(--_danger);
    color: var(--_on-danger);
    font: inherit;
    font-weight: 600;
  }

  .control.leave:hover {
    background: color-mix(in srgb, var(--_danger) 85%, #fff);
  }

  .icon {
    width: 22px;
    height: 22px;
  }

  button:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 2px;
  }

  /* ── hosts: badge, lock, tile menu, lobby, room settings ───────────────── */

  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip-path: inset(50%);
    white-space: nowrap;
  }

  .host-badge,
  .badge {
    padding: 1px 7px;
    border-radius: 999px;
    background: var(--_accent);
    color: var(--_on-accent);
    font-size: 11.5px;
    font-weight: 700;
  }

  .locked {
    display: inline-flex;
    align-items: center;
    gap: 4px;
    margin-inline-start: 8px;
    color: var(--_warn);
    font-size: 12.5px;
    font-weight: 600;
  }

  .locked .icon {
    width: 14px;
    height: 14px;
  }

  .tile-actions {
    position: absolute;
    top: 8px;
    right: 8px;
    display: flex;
    flex-direction: column;
    align-items: flex-end;
    gap: 6px;
  }

  .menu-button {
    display: grid;
    place-items: center;
    width: 34px;
    height: 34px;
    border: 0;
    border-radius: 50%;
    background: rgb(10 12 18 / 0.62);
    color: var(--_text);
    cursor: pointer;
  }

  .menu-button .icon {
    width: 18px;
    height: 18px;
  }

  .menu,
  .popover,
  .lobby {
    display: flex;
    flex-direction: column;
    gap: 4px;
    padding: 8px;
    border-radius: 12px;
    background: var(--_surface);
    border: 1px solid var(--_raised);
    box-shadow: 0 8px 24px rgb(0 0 0 / 0.45);
  }

  .menu p {
    margin: 4px 6px;
    max-width: 220px;
  }

  .menu button,
  .popover button,
  .lobby button {
    display: inline-flex;
    align-items: center;
    gap: 8px;
    border: 0;
    border-radius: 8px;
    padding: 7px 10px;
    background: var(--_raised);
    color: var(--_text);
    font: inherit;
    cursor: pointer;
    white-space: nowrap;
  }

  .menu button:hover,
  .popover button:hover,
  .lobby button:hover {
    background: var(--_raised-hover);
  }

  .menu button .icon {
    width: 16px;
    height: 16px;
  }

  .menu button.danger,
  .lobby button.deny {
    color: var(--_danger-text);
  }

  .lobby {
    min-width: 260px;
  }

  .lobby h3 {
    display: flex;
    align-items: center;
    gap: 8px;
    margin: 2px 4px 4px;
    font-size: 14px;
    font-weight: 600;
  }

  .lobby ul {
    margin: 0;
    padding: 0;
    list-style: none;
  }

  .lobby li {
    display: flex;
    align-items: center;
    gap: 6px;
    padding: 2px 4px;
  }

  .lobby li .name {
    flex: 1;
    overflow: hidden;
    text-overflow: ellipsis;
  }

  .lobby button.admit {
    background: var(--_accent);
    color: var(--_on-accent);
    font-weight: 600;
  }

  .settings {
    position: relative;
  }

  .settings .control {
    position: relative;
  }

  .settings .badge {
    position: absolute;
    top: -2px;
    right: -2px;
  }

  .popover {
    position: absolute;
    z-index: 2;
    bottom: calc(100% + 10px);
    left: 50%;
    transform: translateX(-50%);
    width: 280px;
    gap: 10px;
    padding: 12px;
  }

  .switch {
    display: flex;
    align-items: flex-start;
    gap: 10px;
    cursor: pointer;
  }

  .switch input {
    margin: 3px 0 0;
    accent-color: var(--_accent);
  }

  .switch span,
  .room-password {
    display: flex;
    flex-direction: column;
    gap: 4px;
    font-weight: 500;
  }

  small {
    color: var(--_text-dim);
    font-size: 12px;
    font-weight: 400;
  }

  .room-password .row {
    display: flex;
    gap: 6px;
  }

  .room-password input {
    flex: 1;
    min-width: 0;
    padding: 7px 10px;
    border-radius: 8px;
    border: 1px solid var(--_raised-hover);
    background: transparent;
    color: inherit;
    font: inherit;
  }

  .popover button.link {
    align-self: flex-start;
    padding: 2px 0;
    background: none;
    color: var(--_accent);
    text-decoration: underline;
  }

  .spinner.large {
    width: 28px;
    height: 28px;
    border-width: 3px;
  }

  /* ── panels (left, failed, no room) ───────────────────────────────────── */

  .panel {
    height: 100%;
    display: grid;
    place-items: center;
    padding: 24px;
    text-align: center;
  }

  .panel .card {
    max-width: 420px;
    display: flex;
    flex-direction: column;
    align-items: center;
    gap: 10px;
  }

  .panel h2 {
    margin: 0;
    font-size: 22px;
    font-weight: 600;
  }

  .panel p {
    margin: 0 0 10px;
    color: var(--_text-dim);
  }

  .panel .password {
    display: flex;
    flex-direction: column;
    gap: 6px;
    width: min(280px, 100%);
    margin-bottom: 6px;
    text-align: start;
    font-weight: 500;
  }

  .panel .password input {
    padding: 10px 12px;
    border-radius: 10px;
    border: 1px solid var(--_raised);
    background: transparent;
    color: inherit;
    font: inherit;
  }

  .primary {
    border: 0;
    border-radius: 999px;
    padding: 11px 26px;
    background: var(--_accent);
    /* Dark on the dark theme's accent: white on it is 3.2:1, under WCAG AA's 4.5:1. */
    color: var(--_on-accent);
    font: inherit;
    font-weight: 600;
    cursor: pointer;
  }

  .primary:hover {
    background: color-mix(in srgb, var(--_accent) 85%, #fff);
  }

  /* ── the help and leave dialogs ───────────────────────────────────────── */

  dialog {
    width: min(420px, calc(100% - 32px));
    padding: 20px;
    border: 1px solid var(--_raised);
    border-radius: var(--_radius);
    background: var(--_surface);
    color: var(--_text);
    box-shadow: 0 24px 48px rgb(0 0 0 / 0.45);
  }

  dialog::backdrop {
    background: rgb(0 0 0 / 0.5);
  }

  dialog h2 {
    margin: 0 0 12px;
    font-size: 18px;
  }

  dialog dl {
    display: grid;
    grid-template-columns: auto 1fr;
    gap: 8px 14px;
    margin: 0 0 16px;
  }

  dialog dd {
    margin: 0;
  }

  kbd {
    display: inline-block;
    min-width: 26px;
    padding: 2px 7px;
    border: 1px solid var(--_raised-hover);
    border-radius: 6px;
    font: 600 13px ui-monospace, monospace;
    text-align: center;
  }

  dialog .actions {
    display: flex;
    justify-content: flex-end;
    gap: 8px;
  }

  dialog .actions button:not(.primary) {
    border: 0;
    border-radius: 999px;
    padding: 11px 20px;
    background: var(--_raised);
    color: var(--_text);
    font: inherit;
    cursor: pointer;
  }

  .primary.danger {
    background: var(--_danger);
    color: var(--_on-danger);
  }

  /* ── narrow elements and short windows: smaller controls, labels as accessible names only ── */

  @container room (max-width: 560px) {
    .stage {
      aspect-ratio: 3 / 4;
    }

    /* The room's name and status on one line above the controls. */
    .toolbar {
      grid-template-columns: minmax(0, 1fr);
      justify-items: center;
      row-gap: 6px;
      padding-top: 8px;
    }

    .info {
      max-width: 100%;
      flex-direction: row;
      align-items: baseline;
      gap: 8px;
      white-space: nowrap;
    }

    .toolbar .spacer {
      display: none;
    }

    .controls {
      gap: 8px;
    }

    .control {
      width: 44px;
      height: 44px;
    }

    .control.leave {
      width: 44px;
      padding: 0;
    }

    .control.leave span {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip-path: inset(50%);
    }
  }

  @media (max-height: 480px) {
    .stage {
      padding-top: 8px;
    }

    .toolbar {
      padding: 6px var(--_gap);
    }

    .control {
      width: 44px;
      height: 44px;
    }

    .control.leave {
      width: 44px;
      padding: 0;
    }

    .control.leave span {
      position: absolute;
      width: 1px;
      height: 1px;
      overflow: hidden;
      clip-path: inset(50%);
    }
  }

  /* A camera peer whose source is down (camera_status offline). */
  .camera-offline {
    position: absolute;
    left: 50%;
    bottom: 48px;
    transform: translateX(-50%);
    display: inline-flex;
    align-items: center;
    gap: 8px;
    padding: 6px 12px;
    border-radius: 999px;
    background: rgb(10 12 18 / 0.72);
    color: #ffb4b6;
    font-size: 13px;
    white-space: nowrap;
  }

  .camera-offline svg {
    width: 16px;
    height: 16px;
  }
`;
