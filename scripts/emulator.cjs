#!/usr/bin/env node
// `npm run emulator`: starts the emulator from dist/ at once when dist/ is current, building first
// only when a source of the emulator is newer. It runs in this very process (no child), so stopping
// `npm run emulator` stops the emulator; emulator/main.ts also leaves when the process that started it is gone.
"use strict";
const { spawnSync } = require("node:child_process");
const { readdirSync, statSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..");
const built = join(root, "dist", "emulator", "main.js");

/** The newest modification time of the emulator's sources (it imports nothing of provider/). */
function newestSource() {
  let newest = statSync(join(root, "tsconfig.json")).mtimeMs;
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  walk(join(root, "emulator"));
  return newest;
}

let current = false;
try {
  current = statSync(built).mtimeMs >= newestSource();
} catch {
  current = false;
}
if (!current) {
  process.stderr.write("emulator: dist/ is older than emulator/ (or missing): building first (npm run build)…\n");
  const build = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  if (build.status !== 0) process.exit(build.status ?? 1);
}
require(built);
