/**
 * Styles of `<webrtc-phone>`. It reads the same `--webrtc-room-*` custom properties as
 * `<webrtc-room>`, with the same dark defaults, so one theme on a page styles both elements.
 * Written one rule per line: Lit ships CSS as written, and the bundle has a size budget.
 */
import { css } from "lit";

/** The element's shadow styles. */
export const phoneStyles = css`
  :host {
    --_bg: var(--webrtc-room-background, #0b0d12);
    --_surface: var(--webrtc-room-surface, #161a23);
    --_raised: var(--webrtc-room-raised, #232938);
    --_raised-hover: var(--webrtc-room-raised-hover, #2e3548);
    --_text: var(--webrtc-room-text, #eef1f6);
    --_dim: var(--webrtc-room-text-dim, #99a3b6);
    --_accent: var(--webrtc-room-accent, #5b8cff);
    --_on-accent: var(--webrtc-room-on-accent, #0b0d12);
    --_danger: var(--webrtc-room-danger, #d23439);
    --_on-danger: var(--webrtc-room-on-danger, #fff);
    --_danger-text: #ffb4b6;
    /* The names the shared chat panel and notices read. */
    --_text-dim: var(--_dim);
    --_ok: var(--webrtc-room-ok, #30c46c);
    --_warn: var(--webrtc-room-warn, #f5a524);
    --_radius: var(--webrtc-room-radius, 16px);
    --_gap: var(--webrtc-room-gap, 12px);
    --_ring: 0 0 0 1px rgb(255 255 255 / 0.06);
    --_shadow: 0 8px 24px rgb(0 0 0 / 0.35);
    --_glass: rgb(10 12 18 / 0.62);
    display: block; position: relative; height: 100%; min-height: 420px; overflow: hidden; box-sizing: border-box;
    background: var(--_bg); color: var(--_text); color-scheme: dark; font-size: 14px; line-height: 1.4;
    font-family: var(--webrtc-room-font, Inter, ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  }
  *, *::before, *::after { box-sizing: inherit; }
  button { font: inherit; color: inherit; border: 0; cursor: pointer; }
  button:focus-visible, input:focus-visible { outline: 2px solid var(--_accent); outline-offset: 2px; }
  .icon { width: 20px; height: 20px; flex: none; }
  .dim, .status, .card p, .dialog p { color: var(--_dim); }

  /* avatars and status dots */
  .avatar {
    flex: none; display: grid; place-items: center; width: 42px; aspect-ratio: 1; border-radius: 50%; overflow: hidden;
    background: linear-gradient(145deg, hsl(var(--hue) 62% 58%), hsl(calc(var(--hue) + 30) 58% 42%));
    color: #fff; font-weight: 600; letter-spacing: 0.02em; user-select: none;
  }
  .avatar img { width: 100%; height: 100%; object-fit: cover; }
  .avatar.small { width: 34px; font-size: 13px; }
  .avatar.big { width: 104px; font-size: 36px; box-shadow: var(--_shadow); }
  .avatar.pulse { animation: pulse 1.6s ease-out infinite; }
  @keyframes pulse { from { box-shadow: 0 0 0 0 hsl(var(--hue) 62% 58% / 0.55); } to { box-shadow: 0 0 0 26px hsl(var(--hue) 62% 58% / 0); } }
  .dot { flex: none; width: 8px; height: 8px; border-radius: 50%; background: var(--_ok); }
  .dot.connecting, .dot.ending { background: var(--_warn); }
  .dot.in_call { background: var(--_danger); }
  .status { display: inline-flex; align-items: center; gap: 7px; font-size: 12.5px; }
  .who { flex: 1; min-width: 0; display: flex; flex-direction: column; gap: 2px; }
  .name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }

  /* lobby */
  .lobby, .call { display: flex; flex-direction: column; height: 100%; }
  .bar { flex: none; display: flex; align-items: center; gap: 12px; padding: 14px calc(var(--_gap) + 8px); border-bottom: 1px solid rgb(255 255 255 / 0.06); }
  .ghost { border-radius: 999px; padding: 8px 16px; background: var(--_raised); font-weight: 600; }
  .ghost:hover { background: var(--_raised-hover); }
  .content { flex: 1; min-height: 0; overflow-y: auto; width: 100%; max-width: 720px; margin: 0 auto; padding: calc(var(--_gap) + 8px); display: flex; flex-direction: column; gap: 14px; }
  .banner { display: flex; align-items: center; gap: 12px; padding: 10px 10px 10px 14px; border-radius: 12px; background: var(--_surface); box-shadow: var(--_ring); }
  .banner > span { flex: 1; min-width: 0; }
  .banner.missed { background: rgb(40 30 10 / 0.88); box-shadow: 0 0 0 1px rgb(245 165 36 / 0.35); color: #fbdca0; }
  .banner.missed > .icon { color: var(--_warn); }
  .banner .time { margin-left: 6px; opacity: 0.75; font-size: 12.5px; }
  .banner button { flex: none; display: inline-flex; align-items: center; gap: 6px; border-radius: 8px; padding: 5px 10px; background: rgb(255 255 255 / 0.08); }
  .banner button:hover { background: rgb(255 255 255 / 0.16); }
  .banner button .icon { width: 16px; height: 16px; }
  h2.section { margin: 6px 2px 0; font-size: 13px; font-weight: 600; letter-spacing: 0.04em; text-transform: uppercase; color: var(--_dim); }
  .people { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
  .person { display: flex; align-items: center; gap: 14px; padding: 12px 12px 12px 14px; border-radius: var(--_radius); background: var(--_surface); box-shadow: var(--_ring); }
  .call-button { flex: none; display: inline-flex; align-items: center; gap: 8px; border-radius: 999px; padding: 9px 18px 9px 14px; background: var(--_ok); color: #04130a; font-weight: 600; }
  .call-button:hover:not(:disabled) { background: color-mix(in srgb, var(--_ok) 85%, #fff); }
  .call-button.busy { background: var(--_raised); color: var(--_text); }
  .call-button:disabled { background: var(--_raised); color: var(--_dim); cursor: not-allowed; }
  .call-button .icon { width: 17px; height: 17px; }
  .watch-button:not(:disabled) { background: var(--_accent); color: var(--_on-accent); }
  .empty { padding: 28px 20px; border-radius: var(--_radius); border: 1px dashed rgb(255 255 255 / 0.14); color: var(--_dim); text-align: center; }

  /* dialogs: calling, ringing */
  dialog::backdrop { background: rgb(5 7 10 / 0.72); backdrop-filter: blur(6px); }
  .dialog {
    width: min(360px, calc(100% - 48px)); flex-direction: column; align-items: center; gap: 8px; padding: 36px 28px 28px; border: 0;
    border-radius: 24px; background: var(--_surface); color: var(--_text); box-shadow: var(--_ring), 0 24px 60px rgb(0 0 0 / 0.5); text-align: center;
  }
  .dialog[open] { display: flex; }
  .dialog .avatar { margin-bottom: 14px; }
  .dialog h2 { margin: 0; font-size: 21px; font-weight: 650; overflow-wrap: anywhere; }
  .dialog p { margin: 0; }
  .actions { display: flex; gap: 40px; margin-top: 24px; }
  .action { display: flex; flex-direction: column; align-items: center; gap: 8px; padding: 0; background: none; color: var(--_dim); font-size: 13px; }
  .disc { display: grid; place-items: center; width: 62px; height: 62px; border-radius: 50%; color: #fff; transition: transform 120ms ease; }
  .action:hover .disc { transform: scale(1.06); }
  .action .icon { width: 26px; height: 26px; }
  .decline .disc { background: var(--_danger); }
  .decline .icon { transform: rotate(135deg); }
  .accept .disc { background: var(--_ok); }

  /* the call */
  .stage {
    position: relative; flex: 1; min-height: 0; margin: var(--_gap) var(--_gap) 0; border-radius: var(--_radius); overflow: hidden;
    background: radial-gradient(circle at 50% 40%, hsl(var(--hue) 35% 22% / 0.9), transparent 70%), var(--_surface); box-shadow: var(--_ring), var(--_shadow);
  }
  .stage > video { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; background: #000; }
  video.hidden { visibility: hidden; }
  .stage > .avatar { position: absolute; top: 50%; left: 50%; transform: translate(-50%, -50%); }
  .chip, .sound { position: absolute; top: 12px; display: inline-flex; align-items: center; gap: 8px; border-radius: 999px; font-size: 12.5px; }
  .chip { left: 12px; padding: 5px 12px; background: var(--_glass); backdrop-filter: blur(8px); color: var(--_dim); }
  .sound { left: 50%; transform: translateX(-50%); padding: 8px 16px; background: var(--_accent); color: var(--_on-accent); font-weight: 600; }
  .spinner { width: 12px; height: 12px; border-radius: 50%; border: 2px solid rgb(255 255 255 / 0.25); border-top-color: var(--_text); animation: spin 0.9s linear infinite; }
  @keyframes spin { to { transform: rotate(360deg); } }
  .self { position: absolute; right: 14px; bottom: 14px; width: clamp(120px, 24%, 260px); aspect-ratio: 16 / 9; border-radius: 12px; overflow: hidden; background: var(--_raised); box-shadow: 0 0 0 1px rgb(255 255 255 / 0.1), var(--_shadow); }
  .self video { width: 100%; height: 100%; object-fit: cover; transform: scaleX(-1); }
  .self .off { position: absolute; inset: 0; display: grid; place-items: center; gap: 4px; color: var(--_dim); font-size: 12px; }
  .toolbar { flex: none; display: grid; grid-template-columns: 1fr auto 1fr; align-items: center; gap: var(--_gap); padding: 14px calc(var(--_gap) + 6px); }
  .controls { display: flex; gap: 12px; }
  .control { display: inline-grid; place-items: center; width: 52px; height: 52px; border-radius: 50%; background: var(--_raised); transition: background-color 120ms ease, transform 120ms ease; }
  .control:hover:not(:disabled) { background: var(--_raised-hover); }
  .control:active:not(:disabled) { transform: scale(0.96); }
  .control.off { background: color-mix(in srgb, var(--_danger) 22%, transparent); color: #ff8a8d; }
  .control:disabled { opacity: 0.45; cursor: not-allowed; }
  .control.hang-up { width: auto; grid-auto-flow: column; gap: 8px; padding: 0 22px 0 18px; border-radius: 999px; background: var(--_danger); color: var(--_on-danger); font-weight: 600; }
  .control.hang-up:hover { background: color-mix(in srgb, var(--_danger) 85%, #fff); }
  .control .icon { width: 22px; height: 22px; }

  /* panels: sign in, failed */
  .panel { height: 100%; display: grid; place-items: center; padding: 24px; }
  .card { width: min(400px, 100%); display: flex; flex-direction: column; gap: 14px; padding: 32px; border-radius: 20px; background: var(--_surface); box-shadow: var(--_ring), 0 24px 48px rgb(0 0 0 / 0.4); }
  .card h2 { margin: 0; font-size: 22px; font-weight: 650; }
  .card p { margin: 0; }
  .card label { display: flex; flex-direction: column; gap: 6px; font-weight: 500; }
  .card input { padding: 11px 14px; border-radius: 12px; border: 1px solid var(--_raised-hover); background: var(--_bg); color: inherit; font: inherit; font-size: 15px; }
  .primary { border-radius: 999px; padding: 12px 18px; background: var(--_accent); color: var(--_on-accent); font-size: 15px; font-weight: 600; }
  .primary:hover:not(:disabled) { background: color-mix(in srgb, var(--_accent) 85%, #fff); }
  .primary:disabled { opacity: 0.6; cursor: progress; }

  @media (max-width: 560px) {
    .toolbar { grid-template-columns: 1fr auto; }
    .spacer, .control.hang-up span, .call-button span { display: none; }
    .control { width: 46px; height: 46px; }
    .control.hang-up { padding: 0 14px; }
    .call-button { padding: 10px; }
  }

  /* watches */
  .always { display: inline-flex; gap: 6px; }
  .watchers ul { display: flex; flex-wrap: wrap; gap: 8px; margin: 0; padding: 0; list-style: none; }
  .watchers li { display: inline-flex; align-items: center; gap: 6px; }
  .watches { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: var(--_gap); }
  .watch { position: relative; aspect-ratio: 4 / 3; border-radius: 12px; overflow: hidden; background: var(--_surface); box-shadow: var(--_ring); }
  .watch video { width: 100%; height: 100%; object-fit: cover; }
  .watch .dim { display: grid; place-items: center; height: 100%; }
  .watch-bar { position: absolute; inset: auto 0 0 0; display: flex; align-items: center; gap: 8px; padding: 8px 10px; background: var(--_glass); }
  .watch-bar .name { flex: 1; }
  .call-watch { flex: none; display: flex; flex-direction: column; gap: 8px; padding: 8px; }
  .dot.unavailable { background: var(--_dim); }
  .watch .camera-offline { position: absolute; inset: 0 0 auto 0; display: flex; align-items: center; justify-content: center; gap: 8px; padding: 8px; background: var(--_glass); color: var(--_danger); }
  .watch .camera-offline svg { width: 16px; height: 16px; }

  /* calls: the other party's camera and microphone off, the connection interrupted, chat */
  .remote-off { position: absolute; top: 50%; left: 50%; transform: translate(-50%, -50%); display: flex; flex-direction: column; align-items: center; gap: 6px; }
  .remote-off .avatar { margin-bottom: 8px; }
  .remote-off .name { font-size: 18px; }
  .remote-muted { position: absolute; top: 12px; right: 12px; display: grid; place-items: center; width: 36px; height: 36px; border-radius: 50%; background: var(--_glass); color: #ff8a8d; }
  .chat-open .self { right: calc(320px + 2 * var(--_gap)); }
  .toolbar .unread { color: var(--_on-danger); }

  /* connection notices and the live region */
  .notices { position: absolute; z-index: 4; top: 12px; left: 50%; transform: translateX(-50%); display: flex; flex-direction: column; gap: 8px; pointer-events: none; }
  .notice { display: flex; align-items: center; gap: 10px; padding: 8px 16px; border-radius: 999px; border: 1px solid rgb(245 165 36 / 0.45); background: rgb(40 30 10 / 0.92); color: #fbdca0; box-shadow: var(--_shadow); white-space: nowrap; }
  .notice .spinner { border-top-color: currentColor; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
  @media (prefers-reduced-motion: reduce) { *, *::before, *::after { animation: none !important; transition: none !important; } }
`;
