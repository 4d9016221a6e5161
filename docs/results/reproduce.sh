#!/bin/sh
# Reproduces every number and figure of docs/RESULTS.md. Run from the repository root:
#     docs/results/reproduce.sh MODEL_DIR [OUT_DIR]
# MODEL_DIR: a model directory (the bundled model, or a training checkpoint copied elsewhere).
# Writes OUT_DIR/<experiment>.{json,txt,png} (default docs/results/<model name>) and per-case CSVs to $TMPDIR.
# All of it takes about 3 hours on 2 CPU cores (the three full CounterFact runs 30-40 min each).
set -eu
MODEL=${1:?usage: docs/results/reproduce.sh MODEL_DIR [OUT_DIR]}
OUT=${2:-docs/results/$(basename "$MODEL")}
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

# CounterFact, single edit (the paper's main table), on all 1,919 val cases: with the editor's
# scope detector (the default, as the paper's table and as `larimar query` answers) and with the
# memory read for every query (--no-scope, the paper's "memory always read" row).
run cf-single-scope eval counterfact "$CF" --csv "$TMP/cf-single-scope.csv"
run cf-single eval counterfact "$CF" --no-scope --csv "$TMP/cf-single.csv"
# The same without reading the memory: the base model's own answers (its neighbourhood score is
# the bar an edit must not lower).
run cf-single-nomemory eval counterfact "$CF" --no-memory --no-locality --csv "$TMP/cf-single-nomemory.csv"
# Perfect retrieval: edit and paraphrase prompts read with the fact's own encoding (decoding alone).
run cf-single-readfact eval counterfact "$CF" --limit 300 --read-with-fact --no-scope
# zsRE, single edit, on the first 200 records: the training held them out (unseen questions).
run zsre-single-scope eval zsre "$ZSRE" --skip-invalid --limit 200 --no-locality --csv "$TMP/zsre-single-scope.csv"
run zsre-single eval zsre "$ZSRE" --skip-invalid --limit 200 --no-scope --no-locality --csv "$TMP/zsre-single.csv"
run zsre-single-nomemory eval zsre "$ZSRE" --skip-invalid --limit 200 --no-memory --no-locality
# Batch editing: the accuracy curve over the number of edits written into one memory.
run cf-batch eval counterfact "$CF" --limit 512 --sweep 1,16,64,128,256,512 --max-eval 128 --no-generation --no-scope
# Sequential editing: 1,000 CounterFact edits one after another (retention every 100), and zsRE as the paper.
run cf-sequential eval counterfact "$CF" --mode sequential --limit 1000 --every 200 --no-scope --no-generation
run zsre-sequential eval zsre "$ZSRE" --skip-invalid --mode sequential --limit 200 --every 20 --no-scope
# Selective forgetting: N = K and N = 2K facts written, half of them forgotten.
run forget eval forget "$CF" --forget-fraction 0.5 --limit 100
# Speed: write, query, forget end to end, and the decoder against its memory-bandwidth bound.
echo "== bench: larimar --model MODEL bench editor; bench model" >&2
"$LARIMAR" --model "$MODEL" bench editor | tee "$OUT/bench-editor.txt"
"$LARIMAR" --model "$MODEL" bench model | tee "$OUT/bench-model.txt"

# What the encoder writes (no plot): are fact latents told apart, does the latent name the answer.
echo "== latents: larimar --model MODEL eval latents $CF --limit 1919" >&2
"$LARIMAR" --model "$MODEL" eval latents "$CF" --limit 1919 --json-out "$OUT/latents.json" | tee "$OUT/latents.txt"
