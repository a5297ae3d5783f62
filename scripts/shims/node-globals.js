// Injected by esbuild into the browser bundle (see scripts/build.ts): simple-peer and its
// readable-stream dependency expect Node's `process` and `Buffer` globals. esbuild rewrites every
// free `process` / `Buffer` reference in the bundle to these exports, so nothing leaks onto
// `window` and pages that define their own globals are unaffected.
export { default as process } from "process/browser.js";
export { Buffer } from "buffer";
