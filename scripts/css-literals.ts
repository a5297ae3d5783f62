/**
 * Shrinks the CSS in Lit's `css` tagged templates for the browser bundle: esbuild minifies the
 * JavaScript around them but keeps template text as written, so every comment and indentation of
 * the elements' styles shipped as is (about 1 KiB of the gzipped bundle).
 *
 * Only literals without `${…}` are touched. Comments go; each run of white space becomes one
 * space, or none next to `{`, `}` and `;`. That is safe for CSS except inside strings, where a run
 * of spaces would shrink to one: the elements' styles have no such string.
 */
import { readFile } from "node:fs/promises";
import type { Plugin } from "esbuild";

/** A `css` tagged template without substitutions; group 1 is its text. */
const CSS_LITERAL = /\bcss`((?:[^`\\$]|\\.|\$(?!\{))*)`/g;

/** Returns `source` with the text of its plain `css` literals minified (see the module comment). */
export function minifyCssLiterals(source: string): string {
  return source.replace(CSS_LITERAL, (_literal, text: string) => {
    const minified = text
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/\s+/g, " ")
      .replace(/ ?([{};]) ?/g, "$1")
      .trim();
    return `css\`${minified}\``;
  });
}

/** An esbuild plugin that applies {@link minifyCssLiterals} to the elements' TypeScript files. */
export const cssLiteralsPlugin: Plugin = {
  name: "css-literals",
  setup(build) {
    build.onLoad({ filter: /[\\/]client[\\/]elements[\\/].*\.ts$/ }, async ({ path }) => {
      const source = await readFile(path, "utf8");
      return { contents: minifyCssLiterals(source), loader: "ts" };
    });
  },
};
