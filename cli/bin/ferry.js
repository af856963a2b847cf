#!/usr/bin/env node
// Ferry runs its TypeScript sources directly: tsx registers the loader, then the CLI starts.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
