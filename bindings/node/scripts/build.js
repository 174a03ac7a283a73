// Builds the native addon with cargo (release) and puts it beside index.js as tenure.node.
// Runs on `npm install`; set TENURE_NODE_ADDON to use an addon built elsewhere instead.
"use strict";
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

if (process.env.TENURE_NODE_ADDON) {
  process.exit(0);
}
const manifest = path.join(__dirname, "..", "Cargo.toml");
const cargo = process.env.CARGO || "cargo";
const built = JSON.parse(
  execFileSync(cargo, ["metadata", "--format-version", "1", "--no-deps", "--manifest-path", manifest], {
    encoding: "utf8",
  }),
).target_directory;
execFileSync(cargo, ["build", "--release", "-p", "tenure-node", "--manifest-path", manifest], { stdio: "inherit" });
const names = { linux: "libtenure_node.so", darwin: "libtenure_node.dylib", win32: "tenure_node.dll" };
const library = path.join(built, "release", names[process.platform] || names.linux);
fs.copyFileSync(library, path.join(__dirname, "..", "tenure.node"));
