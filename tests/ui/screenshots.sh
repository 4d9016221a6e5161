#!/usr/bin/env bash
# Screenshots of every workbench panel under Xvfb with a window manager (openbox), at 1093x700
# (a 1366x768 laptop at 125%) and 1920x1080, for looking at: readable, nothing clipped, no empty
# panel. Fills a throw-away workspace with a few facts (one forgotten) through the larimar CLI,
# then asks a prompt so the answers and read weights show. A second part drives the window with
# xdotool as a user would (interactive-*.png, whole screen): the first-run card of an empty
# workspace, the Edit menu naming the undo step, the stale answers after an undo, Ctrl+Z in the
# prompt field, a hover over the memory heatmap, and the handbook (F1).
# Usage: tests/ui/screenshots.sh BUILD_DIR OUT_DIR [MODEL_DIR]
#   MODEL_DIR defaults to the bundled model (or $LARIMAR_MODEL_DIR). A tiny random-weight model
#   for trying the script: LARIMAR_KEEP_TINY_MODEL=1 build/bin/test_cli
#   --gtest_filter=CliModel.EvalCounterFactJsonShape leaves one in /tmp/cli-tiny-model-PID.
# Prints the start-up time the workbench reports ("ready in N ms").
set -euo pipefail

BUILD="$(cd "${1:?usage: screenshots.sh BUILD_DIR OUT_DIR [MODEL_DIR]}" && pwd)"
OUT="${2:?usage: screenshots.sh BUILD_DIR OUT_DIR [MODEL_DIR]}"
MODEL_ARGS=()
[[ $# -ge 3 ]] && MODEL_ARGS=(--model "$3")
for tool in Xvfb openbox xdotool import; do
  command -v "$tool" >/dev/null ||
    { echo "screenshots: $tool is missing (Debian: apt install xvfb openbox xdotool imagemagick)" >&2; exit 1; }
done
mkdir -p "$OUT"
SIZES=(1093x700 1920x1080)

TMP="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
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

# One X server per screen size, with a window manager, as a desktop has.
DISPLAY_NO=91
start_display() { # WxH
  [[ -n "${XVFB_PID:-}" ]] && { kill "$XVFB_PID" "$WM_PID" 2>/dev/null || true; wait "$XVFB_PID" 2>/dev/null || true; }
  DISPLAY_NO=$((DISPLAY_NO + 1))
  Xvfb ":$DISPLAY_NO" -screen 0 "${1}x24" -nolisten tcp >/dev/null 2>&1 &
  XVFB_PID=$!
  PIDS+=("$XVFB_PID")
  export DISPLAY=":$DISPLAY_NO"
  for _ in $(seq 50); do xdotool getdisplaygeometry >/dev/null 2>&1 && break; sleep 0.1; done
  openbox >/dev/null 2>&1 &
  WM_PID=$!
  PIDS+=("$WM_PID")
  sleep 0.5
}
shot() { "$BUILD/bin/larimar-workbench" "${MODEL_ARGS[@]}" "$@" 2>&1 | grep -v XDG_RUNTIME_DIR || true; }

for size in "${SIZES[@]}"; do
  start_display "$size"
  for tab in facts query memory history; do
    shot --size "$size" --tab "$tab" --prompt "The Eiffel Tower is located in" --screenshot "$OUT/$tab-$size.png" "$WS"
    [[ -s "$OUT/$tab-$size.png" ]] || { echo "screenshots: no $OUT/$tab-$size.png" >&2; exit 1; }
  done
done
start_display 1093x700
# The import preview of a CSV file, over the Facts tab.
shot --size 1093x700 --tab facts --import "$(dirname "$0")/../data/datasets/facts.csv" \
  --screenshot "$OUT/import-1093x700.png" "$WS"
[[ -s "$OUT/import-1093x700-dialog.png" ]] || { echo "screenshots: no import preview" >&2; exit 1; }
# The Evaluation tab after a run on a CounterFact fixture: each mode's chart (bars, batch sweep,
# sequential retention), and the dialog a malformed file gives.
EVAL="$(dirname "$0")/../data/eval"
for size in "${SIZES[@]}"; do
  start_display "$size"
  for mode in single batch sequential; do
    shot --size "$size" --tab evaluation --evaluate "$EVAL/counterfact-easyedit-6.json" --eval-mode "$mode" \
      --screenshot "$OUT/evaluation-$mode-$size.png" "$WS"
    [[ -s "$OUT/evaluation-$mode-$size.png" ]] || { echo "screenshots: no evaluation-$mode-$size.png" >&2; exit 1; }
  done
done
start_display 1093x700
# A file with one bad record is evaluated without it (the status counts the skipped records);
# a file of facts, not of edit cases, gives the error dialog.
shot --size 1093x700 --tab evaluation --evaluate "$EVAL/counterfact-bad-record.json" --eval-mode single \
  --screenshot "$OUT/evaluation-skipped-1093x700.png" "$WS"
[[ -s "$OUT/evaluation-skipped-1093x700.png" ]] || { echo "screenshots: no evaluation-skipped-1093x700.png" >&2; exit 1; }
shot --size 1093x700 --tab evaluation --evaluate "$(dirname "$0")/../data/datasets/facts.csv" --eval-mode single \
  --screenshot "$OUT/evaluation-error-1093x700.png" "$WS"
[[ -s "$OUT/evaluation-error-1093x700-dialog.png" ]] || { echo "screenshots: no evaluation error dialog" >&2; exit 1; }

# --- interactive, with xdotool, whole screen (window manager included) ---------------------
grab() { sleep "${2:-1}"; import -window root "$OUT/interactive-$1.png"; }
run_gui() { # args...: starts the workbench, waits for its window and for it to be ready
  "$BUILD/bin/larimar-workbench" "${MODEL_ARGS[@]}" "$@" >"$TMP/gui.log" 2>&1 &
  GUI_PID=$!
  PIDS+=("$GUI_PID")
  for _ in $(seq 600); do grep -q "ready" "$TMP/gui.log" 2>/dev/null && break; sleep 0.1; done
  WIN="$(xdotool search --sync --onlyvisible --name "Larimar Workbench" | head -1)"
  xdotool windowactivate --sync "$WIN" 2>/dev/null || xdotool windowfocus "$WIN"
  sleep 1
}
stop_gui() { kill "$GUI_PID" 2>/dev/null || true; wait "$GUI_PID" 2>/dev/null || true; }
# The window leaves room for the title bar the window manager adds (and so shows its status bar).
fit() { echo "${1%x*}x$(( ${1#*x} - 40 ))"; }
for size in "${SIZES[@]}"; do
  start_display "$size"
  # A new user's empty workspace: the getting-started card.
  run_gui --size "$(fit "$size")" --tab facts "$TMP/empty-$size.larimar"
  grab "first-run-$size"
  stop_gui
done
start_display 1093x700
# The filled workspace: ask, open the Edit menu (it names the step), undo, see the stale answers.
run_gui --size "$(fit 1093x700)" --tab query "$WS"
xdotool key --window "$WIN" ctrl+l
xdotool type --delay 20 "The Eiffel Tower is located in"
xdotool key Return
sleep 4
xdotool key ctrl+z # in the prompt field: undoes the typing, and the status bar says so
grab ctrl-z-in-prompt-1093x700
xdotool key alt+e
grab edit-menu-1093x700
xdotool key Return # Undo Forget of fact 2
grab stale-after-undo-1093x700 2
# The memory tab with the pointer on the heatmap (its tooltip: value, dimension, block, slot).
xdotool key alt+m
sleep 1
eval "$(xdotool getwindowgeometry --shell "$WIN")"
xdotool mousemove --window "$WIN" $((WIDTH / 4)) $((HEIGHT / 3))
sleep 0.3
xdotool mousemove_relative 3 3
grab memory-hover-1093x700 2
xdotool key F1
grab handbook-1093x700 2
stop_gui
echo "screenshots: wrote $(ls "$OUT"/*.png | wc -l) PNGs to $OUT"
