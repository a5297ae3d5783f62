/**
 * The few icons the room uses, as inline SVG (24×24, stroked with `currentColor`). Paths after
 * the Lucide icon set (ISC license). The paths are `svg` templates: inside `html` they would be
 * parsed as HTML elements and not drawn.
 */
import { html, svg, type SVGTemplateResult, type TemplateResult } from "lit";

function icon(body: SVGTemplateResult): TemplateResult {
  return html`<svg class="icon" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2"
    stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">${body}</svg>`;
}

/** Microphone on. */
export const micIcon = icon(svg`<path d="M12 2a3 3 0 0 0-3 3v7a3 3 0 0 0 6 0V5a3 3 0 0 0-3-3Z"/>
  <path d="M19 10v2a7 7 0 0 1-14 0v-2"/><line x1="12" x2="12" y1="19" y2="22"/>`);

/** Microphone muted. */
export const micOffIcon = icon(svg`<line x1="2" x2="22" y1="2" y2="22"/>
  <path d="M18.89 13.23A7.12 7.12 0 0 0 19 12v-2"/><path d="M5 10v2a7 7 0 0 0 12 5"/>
  <path d="M15 9.34V5a3 3 0 0 0-5.68-1.33"/><path d="M9 9v3a3 3 0 0 0 5.12 2.12"/>
  <line x1="12" x2="12" y1="19" y2="22"/>`);

/** Camera on. */
export const cameraIcon = icon(svg`<path d="m16 13 5.22 3.48a.5.5 0 0 0 .78-.42V7.94a.5.5 0 0 0-.76-.43L16 10.5"/>
  <rect x="2" y="6" width="14" height="12" rx="2"/>`);

/** Camera off. */
export const cameraOffIcon = icon(svg`<path d="M10.66 6H14a2 2 0 0 1 2 2v2.5l5.25-3.06a.5.5 0 0 1 .75.43v8.26"/>
  <path d="M16 16a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h2"/><line x1="2" x2="22" y1="2" y2="22"/>`);

/** Hang up (a handset turned down). */
export const leaveIcon = icon(svg`<path transform="translate(12 12) rotate(135) scale(0.8) translate(-12 -12)" d="M22 16.92v3a2 2 0 0 1-2.18 2
  19.79 19.79 0 0 1-8.63-3.07 19.5 19.5 0 0 1-6-6 19.79 19.79 0 0 1-3.07-8.67A2 2 0 0 1 4.11 2h3a2 2 0 0 1 2 1.72
  12.84 12.84 0 0 0 .7 2.81 2 2 0 0 1-.45 2.11L8.09 9.91a16 16 0 0 0 6 6l1.27-1.27a2 2 0 0 1 2.11-.45
  12.84 12.84 0 0 0 2.81.7A2 2 0 0 1 22 16.92z"/>`);

/** Warning, for the media notice. */
export const warningIcon = icon(svg`<path d="m21.73 18-8-14a2 2 0 0 0-3.48 0l-8 14A2 2 0 0 0 4 21h16a2 2 0 0 0 1.73-3"/>
  <line x1="12" x2="12" y1="9" y2="13"/><line x1="12" x2="12.01" y1="17" y2="17"/>`);

/** Speaker muted, for the "enable sound" prompt. */
export const soundOffIcon = icon(svg`<path d="M11 5 6 9H2v6h4l5 4V5Z"/>
  <line x1="22" x2="16" y1="9" y2="15"/><line x1="16" x2="22" y1="9" y2="15"/>`);

/** A closed padlock: the room is locked. */
export const lockIcon = icon(svg`<rect x="4" y="11" width="16" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/>`);

/** Three sliders: the room's settings (hosts). */
export const settingsIcon = icon(svg`<line x1="4" x2="20" y1="6" y2="6"/><line x1="4" x2="20" y1="12" y2="12"/>
  <line x1="4" x2="20" y1="18" y2="18"/><circle cx="9" cy="6" r="2"/><circle cx="15" cy="12" r="2"/><circle cx="8" cy="18" r="2"/>`);

/** Three dots in a column: a participant's host actions. */
export const moreIcon = icon(svg`<circle cx="12" cy="5" r="1"/><circle cx="12" cy="12" r="1"/><circle cx="12" cy="19" r="1"/>`);

/** A keyboard: the list of keyboard shortcuts. */
export const keyboardIcon = icon(svg`<rect x="2" y="5" width="20" height="14" rx="2"/><path d="M6 9h.01M10 9h.01M14 9h.01M18 9h.01M8 13h.01M12 13h.01M16 13h.01M7 16h10"/>`);

/** A speaker box: the camera, microphone and speaker settings. */
export const devicesIcon = icon(svg`<rect x="5" y="2" width="14" height="20" rx="2"/><circle cx="12" cy="14" r="4"/><path d="M12 6h.01"/>`);

/** A screen with an arrow up: share the screen. */
export const screenShareIcon = icon(svg`<rect x="2" y="3" width="20" height="14" rx="2"/><path d="M8 21h8M12 17v4"/><path d="m9 10 3-3 3 3M12 7v6"/>`);

/** A screen crossed out: stop sharing. */
export const screenShareOffIcon = icon(svg`<rect x="2" y="3" width="20" height="14" rx="2"/><path d="M8 21h8M12 17v4"/><path d="m9 7 6 6M15 7l-6 6"/>`);

/** One large tile over a strip: the speaker layout. */
export const speakerLayoutIcon = icon(svg`<rect x="3" y="3" width="18" height="12" rx="2"/><rect x="3" y="17" width="5" height="4" rx="1"/>
  <rect x="9.5" y="17" width="5" height="4" rx="1"/><rect x="16" y="17" width="5" height="4" rx="1"/>`);

/** A pin: keep this tile large. */
export const pinIcon = icon(svg`<path d="M12 17v5"/><path d="M9 4h6l-1 6 3 3v2H7v-2l3-3-1-6Z"/>`);

/** Four corners out: full screen. */
export const fullscreenIcon = icon(svg`<path d="M8 3H5a2 2 0 0 0-2 2v3M21 8V5a2 2 0 0 0-2-2h-3M3 16v3a2 2 0 0 0 2 2h3M16 21h3a2 2 0 0 0 2-2v-3"/>`);

/** Four corners in: leave full screen. */
export const exitFullscreenIcon = icon(svg`<path d="M8 3v3a2 2 0 0 1-2 2H3M21 8h-3a2 2 0 0 1-2-2V3M3 16h3a2 2 0 0 1 2 2v3M16 21v-3a2 2 0 0 1 2-2h3"/>`);
