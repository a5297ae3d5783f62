/**
 * An esbuild plugin that minifies the CSS of the elements' `css` tagged templates (the
 * `*-styles.ts` files) at bundle time: esbuild minifies JavaScript but leaves template contents
 * as written, and the styles' comments and indentation cost about 1.2 KiB of the gzipped bundle.
 * Only changes that cannot alter CSS meaning are made: comments removed, whitespace runs
 * collapsed, and whitespace next to `{`, `}`, `;` and `,` dropped.
 */
import type { Plugin } from "esbuild";
import { readFile } from "node:fs/promises";

/** The CSS text `css` minified as described above. */
export function minifyCss(css: string): string {
  return css
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\s+/g, " ")
    .replace(/\s*([{};,])\s*/g, "$1")
    .trim();
}

/**
 * `source` (a TypeScript module) with the body of every `css` tagged template minified. Templates
 * with `${…}` substitutions are left alone: their pieces are not whole CSS.
 */
export function minifyCssTemplates(source: string): string {
  return source.replace(/\bcss`([^`$]*)`/g, (_template, body: string) => `css\`${minifyCss(body)}\``);
}

/** The plugin: applies {@link minifyCssTemplates} to files whose path ends in `-styles.ts`. */
export const minifyCssPlugin: Plugin = {
  name: "minify-css-templates",
  setup(build) {
    build.onLoad({ filter: /-styles\.ts$/ }, async ({ path }) => ({
      contents: minifyCssTemplates(await readFile(path, "utf8")),
      loader: "ts",
    }));
  },
};
