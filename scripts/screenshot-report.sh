#!/usr/bin/env bash
# Renders the HTML after-action report of the bundled ransomware tabletop exercise (scripted players), with headless
# Chromium, into docs/report.png. (The HTML itself is not kept: it is generated, and would drift from the renderer.)
# Needs: swift, chromium (Debian: apt-get install -y chromium). Uses a throw-away MUSTER_HOME.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product muster >/dev/null
muster="$(swift build --show-bin-path)/muster"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
export MUSTER_HOME="$work/home" MUSTER_USER=Dana MUSTER_NOW=2026-03-09T10:00:00Z
"$muster" exercise run exercises/ransomware-tabletop.yaml --speed max >/dev/null
"$muster" report --format html -o "$work/report.html"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
  --screenshot="$PWD/docs/report.png" --window-size=1280,2000 "file://$work/report.html" 2>/dev/null
echo "wrote docs/report.png"
