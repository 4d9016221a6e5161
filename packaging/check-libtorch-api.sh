#!/bin/sh
# Compiles (syntax and templates, no code generation) every source file of the engine, the
# trainer and the CLI against another libtorch's headers, e.g. the one inside a PyTorch 2.x
# install with CUDA, to show that the code builds there as well as against Debian's 1.13:
#     packaging/check-libtorch-api.sh TORCH_DIR [BUILD_DIR]
# TORCH_DIR: the `torch` package folder (python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))'),
# or the folder a wheel was unpacked to (`pip download --no-deps torch==2.x` and unzip its torch/include).
# BUILD_DIR (default build) must have been configured here (it has compile_commands.json).
# A full CUDA build needs the CUDA toolkit as well: cmake -DCMAKE_PREFIX_PATH=TORCH_DIR/share/cmake
# -DLARIMAR_BUILD_GUI=OFF on the GPU machine. Exit status: 0 when every file compiles.
set -eu
TORCH=${1:?usage: packaging/check-libtorch-api.sh TORCH_DIR [BUILD_DIR]}
BUILD=${2:-build}
[ -f "$TORCH/include/torch/csrc/api/include/torch/torch.h" ] || { echo "no libtorch headers under $TORCH/include" >&2; exit 1; }
[ -f "$BUILD/compile_commands.json" ] || { echo "$BUILD/compile_commands.json is missing: configure $BUILD first" >&2; exit 1; }
exec python3 - "$TORCH" "$BUILD" <<'EOF'
import json, os, re, shlex, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
torch, build = sys.argv[1], sys.argv[2]
root = os.getcwd()
inc = [f"-isystem{torch}/include", f"-isystem{torch}/include/torch/csrc/api/include"]
# Newer libtorch needs C++20 (its torch/all.h says so); cmake/Dependencies.cmake then picks it too.
if "C++20 or later" in open(f"{torch}/include/torch/csrc/api/include/torch/all.h").read():
    inc.append("-std=gnu++20")
jobs = []
for e in json.load(open(os.path.join(build, "compile_commands.json"))):
    src = os.path.relpath(e["file"], root)
    if not (src.startswith("core/") or src.startswith("app/")):
        continue  # the GUI and the tests are not part of the trainer's CUDA build
    args = shlex.split(e["command"])
    out, i = [], 0
    while i < len(args):
        a = args[i]
        nxt = args[i + 1] if i + 1 < len(args) else ""
        if a in ("-o", "-include") or (a == "-isystem" and "/usr/include/torch" in nxt):
            i += 2  # no object; the precompiled header and Debian's torch headers belong to the other libtorch
            continue
        if a != "-Winvalid-pch" and "/usr/include/torch" not in a:
            out.append(a)
        i += 1
    cmd = [out[0]] + inc + out[1:] + ["-fsyntax-only"]
    jobs.append((src, cmd, e["directory"]))

def run(job):
    src, cmd, cwd = job
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return src, r.returncode, r.stderr

bad = 0
with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
    for src, rc, err in pool.map(run, jobs):
        print(("ok    " if rc == 0 else "FAIL  ") + src, flush=True)
        if rc != 0:
            bad += 1
            sys.stderr.write(err[-4000:])
print(f"{len(jobs) - bad} of {len(jobs)} files compile against {torch}")
sys.exit(1 if bad else 0)
EOF
