#!/usr/bin/env bash
# Screenshot a run report (or any HTML page) with headless Chromium, to check it renders.
#
#   tools/screenshot_report.sh RUN_DIR|PAGE.html [OUT.png] [WIDTHxHEIGHT]
#
# Needs a Chromium (Debian/Ubuntu: apt-get install chromium); the page needs nothing else, every
# figure is embedded. The window is the whole screenshot (Chromium does not grow it to the page):
# the default, 1400x30000, holds the whole report of a run of all five stages at scale=small
# (about 26,700 px tall; generate, features and tokenizer alone: about 17,300 px). Pass a larger
# HEIGHT for bigger runs; the page's end is followed by white.
set -euo pipefail
target=${1:?usage: tools/screenshot_report.sh RUN_DIR|PAGE.html [OUT.png] [WIDTHxHEIGHT]}
page=$target
[[ -d $target ]] && page=$target/report.html
[[ -f $page ]] || { echo "no page at $page (make it with: spinlock report RUN_DIR)" >&2; exit 2; }
out=${2:-${page%.html}.png}
size=${3:-1400x30000}
browser=""
for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$candidate" >/dev/null; then browser=$candidate; break; fi
done
[[ -n $browser ]] || { echo "no Chromium found; install one (apt-get install chromium)" >&2; exit 2; }
# A throwaway profile, so a Chromium the user has open (or its profile lock) is never touched.
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size="${size/x/,}" \
  --no-first-run --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" \
  --screenshot="$(realpath -m "$out")" "file://$(realpath "$page")" 2>/dev/null
echo "wrote $out"
