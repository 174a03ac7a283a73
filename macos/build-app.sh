#!/usr/bin/env bash
# Assembles Tenure.app from a release binary:
#   cargo build --release --bin tenure && macos/build-app.sh
# The bundle lands in target/release/Tenure.app (zip it or wrap it in a .dmg to ship; signing
# and notarisation need an Apple developer identity: codesign --deep -s "Developer ID …").
# Works on macOS and, for checking the layout, on Linux.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}/release"
binary="$target/tenure"
[ -x "$binary" ] || { echo "no release binary at $binary: run cargo build --release --bin tenure" >&2; exit 1; }
app="$target/Tenure.app"
rm -rf "$app"
mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
cp macos/Info.plist "$app/Contents/Info.plist"
cp "$binary" "$app/Contents/MacOS/tenure"
cp macos/Tenure.icns "$app/Contents/Resources/Tenure.icns"
printf 'APPL????' > "$app/Contents/PkgInfo"
echo "$app"
