#!/usr/bin/env node
// Launcher: registers the TypeScript loader, then runs the CLI written in TypeScript.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../server/cli.ts");
process.exitCode = await main(process.argv.slice(2));
