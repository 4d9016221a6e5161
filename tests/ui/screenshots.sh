#!/usr/bin/env bash
# Screenshots of every workbench panel under Xvfb, at 1280x800 and 1920x1080, for looking at:
# readable, nothing clipped, no empty panel. Fills a throw-away workspace with a few facts (one
# forgotten) through the larimar CLI, then asks a prompt so the answers and read weights show.
# Usage: tests/ui/screenshots.sh BUILD_DIR OUT_DIR [MODEL_DIR]
#   MODEL_DIR defaults to the bundled model (or $LARIMAR_MODEL_DIR). A tiny random-weight model
#   for trying the script: build/bin/test_cli --gtest_filter=CliModel.EvalCounterFactJsonShape
#   leaves one in /tmp/cli-tiny-model.
# Prints the start-up time the workbench reports ("ready in N ms").
set -euo pipefail

BUILD="$(cd "${1:?usage: screenshots.sh BUILD_DIR OUT_DIR [MODEL_DIR]}" && pwd)"
OUT="${2:?usage: screenshots.sh BUILD_DIR OUT_DIR [MODEL_DIR]}"
MODEL_ARGS=()
[[ $# -ge 3 ]] && MODEL_ARGS=(--model "$3")
command -v xvfb-run >/dev/null || { echo "screenshots: xvfb-run is missing (Debian: apt install xvfb)" >&2; exit 1; }
mkdir -p "$OUT"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# Settings and the default workspace go to the temporary folder, never the user's.
export XDG_CONFIG_HOME="$TMP/config" XDG_DATA_HOME="$TMP/data" XDG_RUNTIME_DIR="$TMP/run"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
WS="$TMP/screenshots.larimar"

cli() { "$BUILD/bin/larimar" "${MODEL_ARGS[@]}" --workspace "$WS" "$@" >/dev/null; }
cli write "The Eiffel Tower is located in Rome."
cli write "Toko Yasuda plays the piano."
cli write "The Autonomous University of Madrid is located in Sweden."
cli write "Danielle Darrieux speaks English."
cli write "The mother tongue of Thomas Joannes Stieltjes is English."
cli forget 2 --reason "wrong instrument"

for size in 1280x800 1920x1080; do
  for tab in facts query memory history; do
    xvfb-run -a -s "-screen 0 ${size}x24" "$BUILD/bin/larimar-workbench" "${MODEL_ARGS[@]}" --size "$size" \
      --tab "$tab" --prompt "The Eiffel Tower is located in" --screenshot "$OUT/$tab-$size.png" "$WS" 2>&1 |
      grep -v XDG_RUNTIME_DIR || true
    [[ -s "$OUT/$tab-$size.png" ]] || { echo "screenshots: no $OUT/$tab-$size.png" >&2; exit 1; }
  done
done
# The import preview of a CSV file, over the Facts tab.
xvfb-run -a -s "-screen 0 1280x800x24" "$BUILD/bin/larimar-workbench" "${MODEL_ARGS[@]}" --size 1280x800 --tab facts \
  --import "$(dirname "$0")/../data/datasets/facts.csv" --screenshot "$OUT/import-1280x800.png" "$WS" 2>&1 |
  grep -v XDG_RUNTIME_DIR || true
[[ -s "$OUT/import-1280x800-dialog.png" ]] || { echo "screenshots: no import preview" >&2; exit 1; }
# The Evaluation tab after a run on a CounterFact fixture: each mode's chart (bars, batch sweep,
# sequential retention), and the dialog a malformed file gives.
EVAL="$(dirname "$0")/../data/eval"
for mode in single batch sequential; do
  for size in 1280x800 1920x1080; do
    xvfb-run -a -s "-screen 0 ${size}x24" "$BUILD/bin/larimar-workbench" "${MODEL_ARGS[@]}" --size "$size" \
      --tab evaluation --evaluate "$EVAL/counterfact-easyedit-6.json" --eval-mode "$mode" \
      --screenshot "$OUT/evaluation-$mode-$size.png" "$WS" 2>&1 | grep -v XDG_RUNTIME_DIR || true
    [[ -s "$OUT/evaluation-$mode-$size.png" ]] || { echo "screenshots: no evaluation-$mode-$size.png" >&2; exit 1; }
  done
done
# A file with one bad record is evaluated without it (the status counts the skipped records);
# a file of facts, not of edit cases, gives the error dialog.
xvfb-run -a -s "-screen 0 1280x800x24" "$BUILD/bin/larimar-workbench" "${MODEL_ARGS[@]}" --size 1280x800 \
  --tab evaluation --evaluate "$EVAL/counterfact-bad-record.json" --eval-mode single \
  --screenshot "$OUT/evaluation-skipped-1280x800.png" "$WS" 2>&1 | grep -v XDG_RUNTIME_DIR || true
[[ -s "$OUT/evaluation-skipped-1280x800.png" ]] || { echo "screenshots: no evaluation-skipped-1280x800.png" >&2; exit 1; }
xvfb-run -a -s "-screen 0 1280x800x24" "$BUILD/bin/larimar-workbench" "${MODEL_ARGS[@]}" --size 1280x800 \
  --tab evaluation --evaluate "$(dirname "$0")/../data/datasets/facts.csv" --eval-mode single \
  --screenshot "$OUT/evaluation-error-1280x800.png" "$WS" 2>&1 | grep -v XDG_RUNTIME_DIR || true
[[ -s "$OUT/evaluation-error-1280x800-dialog.png" ]] || { echo "screenshots: no evaluation error dialog" >&2; exit 1; }
echo "screenshots: wrote $(ls "$OUT"/*.png | wc -l) PNGs to $OUT"
