/**
 * Styles of `<webrtc-room>`. Every colour, radius and spacing comes from a `--webrtc-room-*`
 * custom property with a dark default, so a page can theme the element without `::part()`.
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
    --_danger: var(--webrtc-room-danger, #e5484d);
    --_ok: var(--webrtc-room-ok, #30c46c);
    --_warn: var(--webrtc-room-warn, #f5a524);
    --_radius: var(--webrtc-room-radius, 16px);
    --_gap: var(--webrtc-room-gap, 12px);

    display: block;
    position: relative;
    height: 100%;
    min-height: 360px;
    overflow: hidden;
    box-sizing: border-box;
    background: var(--_bg);
    color: var(--_text);
    font-family: var(--webrtc-room-font, Inter, ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
    font-size: 14px;
    line-height: 1.4;
    color-scheme: dark;
  }

  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }

  .room {
    display: flex;
    flex-direction: column;
    height: 100%;
  }

  /* ── grid ─────────────────────────────────────────────────────────────── */

  .stage {
    position: relative;
    flex: 1;
    min-height: 0;
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
      radial-gradient(circle at 50% 40%, hsl(var(--hue) 35% 22% / 0.9), transparent 70%),
      var(--_surface);
    box-shadow: 0 0 0 1px rgb(255 255 255 / 0.06), 0 8px 24px rgb(0 0 0 / 0.35);
  }

  @container grid (aspect-ratio < 1) {
    .tile {
      --c: var(--rows);
      --r: var(--cols);
      --ar-w: 4;
      --ar-h: 3;
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
    font-size: 13px;
    font-weight: 500;
    white-space: nowrap;
  }

  .label .name {
    overflow: hidden;
    text-overflow: ellipsis;
  }

  .label .you {
    color: var(--_text-dim);
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
    color: var(--_text-dim);
  }

  .state-chip.failed,
  .state-chip.closed {
    color: #ffb4b6;
  }

  .spinner {
    width: 12px;
    height: 12px;
    border-radius: 50%;
    border: 2px solid rgb(255 255 255 / 0.25);
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
    color: #fff;
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
    color: #ff8a8d;
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
    color: #fff;
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
    color: #0b0d12;
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
    color: #ffb4b6;
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
    color: #0b0d12;
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
    /* Dark on the accent: white on the default accent is 3.2:1, under WCAG AA's 4.5:1. */
    color: #0b0d12;
    font: inherit;
    font-weight: 600;
    cursor: pointer;
  }

  .primary:hover {
    background: color-mix(in srgb, var(--_accent) 85%, #fff);
  }

  @media (max-width: 560px) {
    .toolbar {
      grid-template-columns: 1fr auto;
    }

    .toolbar .spacer {
      display: none;
    }

    .control {
      width: 46px;
      height: 46px;
    }

    .control.leave span {
      display: none;
    }

    .control.leave {
      padding: 0 14px;
    }
  }
`;
