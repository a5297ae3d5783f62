// Stands in for the `debug` package in the browser bundle (see scripts/build.ts). simple-peer logs
// through `require("debug")("simple-peer")`; those logs are off unless `localStorage.debug` is
// set, and shipping the logger and its `ms` dependency costs ~2 KB gzipped on every page.
module.exports = function createDebug() {
  return function debug() {};
};
