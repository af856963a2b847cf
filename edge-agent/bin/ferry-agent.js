#!/usr/bin/env node
// `ferry-agent` from a checkout: tsx registers the loader, then the agent's command starts.
// Devices run the built artifact instead (dist/agent, see edge-agent/README.md).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
