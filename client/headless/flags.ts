/**
 * The flag tables of the headless commands (`webrtc-room peers`, `webrtc-room camera`): one table
 * per command drives both its parser (`node:util` `parseArgs`, strict) and its `--help` lines.
 */
import { parseArgs } from "node:util";

/** A bad command line: the command prints the message and exits with its usage status. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** One flag: `--name VALUE` when `value` names its argument, a boolean `--name` when null. */
export interface FlagSpec {
  name: string;
  value: string | null;
  help: string;
}

/** The flags of a parsed command line: strings for valued flags, true for boolean ones. */
export interface ParsedFlags {
  /** The value of valued flag `name`, if given. */
  text(name: string): string | undefined;
  /** True when boolean flag `name` was given. */
  has(name: string): boolean;
}

/** Parses `argv` against `flags`, strictly (unknown flags and positionals are refused). Throws {@link UsageError}. */
export function parseFlags(argv: readonly string[], flags: readonly FlagSpec[]): ParsedFlags {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: Object.fromEntries(flags.map((flag) => [flag.name, { type: flag.value ? ("string" as const) : ("boolean" as const) }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  return {
    text: (name) => {
      const value = values[name];
      return typeof value === "string" ? value : undefined;
    },
    has: (name) => values[name] === true,
  };
}

/** The `--help` lines of `flags`: `--name VALUE` padded to `column` characters, then the help. */
export function flagHelpLines(flags: readonly FlagSpec[], column: number): string[] {
  return flags.map((flag) => {
    const left = `--${flag.name}${flag.value ? ` ${flag.value}` : ""}`;
    return `  ${left.padEnd(column)} ${flag.help}`;
  });
}
