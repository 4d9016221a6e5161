#!/usr/bin/env bash
# Renders the app icon resources/icons/larimar-workbench.svg to the PNG sizes of the hicolor theme
# (resources/icons/hicolor/<size>x<size>/larimar-workbench.png). The PNGs are committed, so only
# run this after changing the SVG. Needs rsvg-convert (Debian: apt install librsvg2-bin).
# The SVG's shapes lie on a 16-unit grid of its 256-unit canvas, so 16, 32, 48 and 64 px come
# out with sharp cell edges; check small sizes by eye after a change.
set -euo pipefail
ICONS="$(cd "$(dirname "${BASH_SOURCE[0]}")/../resources/icons" && pwd)"
command -v rsvg-convert >/dev/null || { echo "render-icons: rsvg-convert missing (apt install librsvg2-bin)" >&2; exit 1; }
for size in 16 32 48 64 128 256; do
  mkdir -p "$ICONS/hicolor/${size}x${size}"
  rsvg-convert -w "$size" -h "$size" "$ICONS/larimar-workbench.svg" -o "$ICONS/hicolor/${size}x${size}/larimar-workbench.png"
done
echo "render-icons: wrote $ICONS/hicolor/{16,32,48,64,128,256}*/larimar-workbench.png"
