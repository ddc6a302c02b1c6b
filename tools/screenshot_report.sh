#!/usr/bin/env bash
# Screenshot a run report (or any HTML page) with headless Chromium, to check it renders.
#
#   tools/screenshot_report.sh RUN_DIR|PAGE.html [OUT.png] [WIDTHxHEIGHT]
#
# Needs a Chromium (Debian/Ubuntu: apt-get install chromium); the page needs nothing else, every
# figure is embedded. The default size, 1400x9000, holds a default run's whole report.
set -euo pipefail
target=${1:?usage: tools/screenshot_report.sh RUN_DIR|PAGE.html [OUT.png] [WIDTHxHEIGHT]}
page=$target
[[ -d $target ]] && page=$target/report.html
[[ -f $page ]] || { echo "no page at $page (make it with: spinlock report RUN_DIR)" >&2; exit 2; }
out=${2:-${page%.html}.png}
size=${3:-1400x9000}
browser=""
for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$candidate" >/dev/null; then browser=$candidate; break; fi
done
[[ -n $browser ]] || { echo "no Chromium found; install one (apt-get install chromium)" >&2; exit 2; }
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="${size/x/,}" \
  --screenshot="$(realpath -m "$out")" "file://$(realpath "$page")" 2>/dev/null
echo "wrote $out"
