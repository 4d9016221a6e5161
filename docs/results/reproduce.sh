#!/bin/sh
# Reproduces every number and figure of docs/RESULTS.md. Run from the repository root:
#     docs/results/reproduce.sh MODEL_DIR [OUT_DIR]
# MODEL_DIR: a model directory (the bundled model, or a training checkpoint copied elsewhere).
# Writes OUT_DIR/<experiment>.{json,txt,png} (default docs/results) and per-case CSVs to $TMPDIR.
# Each run is sized to take a few minutes on 2 CPU cores; raise the --limit values for tighter numbers.
set -eu
MODEL=${1:?usage: docs/results/reproduce.sh MODEL_DIR [OUT_DIR]}
OUT=${2:-docs/results}
LARIMAR=${LARIMAR:-build/bin/larimar}
TMP=${TMPDIR:-/tmp}
CF=../shared/data/counterfact/easyedit-val.json
ZSRE=../shared/data/zsre/zsre-train-1k.json
mkdir -p "$OUT"

run() {
    name=$1
    shift
    echo "== $name: larimar --model MODEL $*" >&2
    "$LARIMAR" --model "$MODEL" "$@" --json-out "$OUT/$name.json" --plot "$OUT/$name.png" | tee "$OUT/$name.txt"
}

# CounterFact, single edit (the paper's main table), and zsRE, single edit. The tables of
# RESULTS.md read the memory for every query (--no-scope, the paper's "memory always read");
# the *-scope runs gate every query with the editor's scope detector (the default).
run cf-single eval counterfact "$CF" --limit 500 --no-scope --csv "$TMP/cf-single.csv"
run zsre-single eval zsre "$ZSRE" --skip-invalid --limit 200 --no-scope --csv "$TMP/zsre-single.csv"
run cf-single-scope eval counterfact "$CF" --limit 500 --csv "$TMP/cf-single-scope.csv"
run zsre-single-scope eval zsre "$ZSRE" --skip-invalid --limit 200 --csv "$TMP/zsre-single-scope.csv"
# The same without reading the memory: what the decoder answers on its own (baseline rows).
run cf-single-nomemory eval counterfact "$CF" --limit 500 --no-memory
run zsre-single-nomemory eval zsre "$ZSRE" --skip-invalid --limit 200 --no-memory
# Perfect retrieval: edit and paraphrase prompts read with the fact's own encoding (decoding alone).
run cf-single-readfact eval counterfact "$CF" --limit 500 --read-with-fact --no-scope
# Batch editing: the accuracy curve over the number of edits written into one memory.
run cf-batch eval counterfact "$CF" --limit 512 --sweep 1,4,16,64,128,256,512 --max-eval 128 --no-generation --no-scope
# Sequential editing: edit retention and test retention after every 20 edits (zsRE as the paper, and CounterFact).
run zsre-sequential eval zsre "$ZSRE" --skip-invalid --mode sequential --limit 200 --every 20 --no-scope
run cf-sequential eval counterfact "$CF" --mode sequential --limit 200 --every 20 --no-scope
# Selective forgetting: N = K and N = 2K facts written, half of them forgotten.
run forget eval forget "$CF" --forget-fraction 0.5 --limit 100

# What the encoder writes (no plot): are fact latents told apart, does the latent name the answer.
echo "== latents: larimar --model MODEL eval latents $CF --limit 1919" >&2
"$LARIMAR" --model "$MODEL" eval latents "$CF" --limit 1919 --json-out "$OUT/latents.json" | tee "$OUT/latents.txt"
