#!/usr/bin/env bash
# shellcheck disable=SC2015  # ok() only prints, so `test && ok || fail` is an if-then-else here
# Builds the .deb from an existing build directory, unpacks it into a temporary tree (dpkg -x, no
# root needed, nothing touches the system) and checks what a user would get: the file list, the
# control fields, the desktop/AppStream/man files where their validators are installed, that the
# binaries carry no path into the build tree and find all their libraries, and that the installed
# programs run. Registered with ctest as package_installs (label slow).
# Usage: packaging/check-package.sh BUILD_DIR
set -euo pipefail

BUILD="$(cd "${1:?usage: check-package.sh BUILD_DIR}" && pwd)"
CACHE="$BUILD/CMakeCache.txt"
[[ -f "$CACHE" ]] || { echo "check-package: $BUILD is not a configured build directory" >&2; exit 1; }
cache() { sed -n "s/^$1:[A-Z]*=//p" "$CACHE" | head -n1; }

SRC="$(cache CMAKE_HOME_DIRECTORY)"
CPACK="$(dirname "$(cache CMAKE_COMMAND)")/cpack"
GUI="$(cache LARIMAR_BUILD_GUI)"
MODEL="$(cache LARIMAR_BUNDLED_MODEL)"
DATADIR="$(cache LARIMAR_INSTALL_DATADIR)"
VERSION="$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$BUILD/CPackConfig.cmake")"

# cpack's DEB generator with SHLIBDEPS needs file, readelf (binutils) and dpkg-shlibdeps (dpkg-dev).
for tool in file readelf dpkg-shlibdeps; do
  command -v "$tool" >/dev/null ||
    { echo "check-package: $tool is missing (Debian: apt install file binutils dpkg-dev)" >&2; exit 1; }
done

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() { echo "check-package: FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "check-package: ok: $*"; }
skip() { echo "check-package: skipped: $*"; }

# 1. Bring what the package installs up to date (cpack itself builds nothing under Ninja; a no-op
#    when the build is current), then build the package in the temporary directory: the build
#    directory gets no .deb.
targets=(larimar larimar_man_pages larimar_changelog)
[[ "$GUI" == ON ]] && targets+=(larimar-workbench)
"$(cache CMAKE_COMMAND)" --build "$BUILD" --target "${targets[@]}" >"$TMP/build.log" 2>&1 ||
  { cat "$TMP/build.log" >&2; echo "check-package: building ${targets[*]} failed" >&2; exit 1; }
"$CPACK" --config "$BUILD/CPackConfig.cmake" -G DEB -B "$TMP/pkg" >"$TMP/cpack.log" 2>&1 ||
  { cat "$TMP/cpack.log" >&2; echo "check-package: cpack failed" >&2; exit 1; }
DEB="$(ls "$TMP"/pkg/*.deb)"
ok "built $(basename "$DEB") ($(du -h "$DEB" | cut -f1))"

# 2. Control fields.
field() { dpkg-deb -f "$DEB" "$1"; }
[[ "$(field Package)" == larimar-workbench ]] || fail "Package is '$(field Package)'"
[[ "$(field Version)" == "$VERSION" ]] || fail "Version is '$(field Version)', project is $VERSION"
[[ "$(field Section)" == science ]] || fail "Section is '$(field Section)'"
[[ "$(field Architecture)" == "$(dpkg --print-architecture)" ]] || fail "Architecture is '$(field Architecture)'"
depends="$(field Depends)"
for dep in libopenblas0-pthread libtorch libc6; do
  [[ "$depends" == *"$dep"* ]] || fail "Depends lacks $dep: $depends"
done
[[ "$GUI" != ON || "$depends" == *libqt6widgets6* ]] || fail "Depends lacks Qt 6 Widgets: $depends"
ok "control: $(field Package) $(field Version) $(field Architecture); Depends: $depends"

# 3. Files.
ROOT="$TMP/root"
dpkg -x "$DEB" "$ROOT"
expected=(usr/bin/larimar usr/share/man/man1/larimar.1.gz usr/share/mime/packages/larimar-workbench.xml
          usr/share/doc/larimar-workbench/changelog.gz usr/share/doc/larimar-workbench/copyright)
if [[ "$GUI" == ON ]]; then
  expected+=(usr/bin/larimar-workbench usr/share/man/man1/larimar-workbench.1.gz
             usr/share/applications/larimar-workbench.desktop
             usr/share/metainfo/io.github.larimar.Workbench.metainfo.xml
             usr/share/icons/hicolor/scalable/apps/larimar-workbench.svg)
  for size in 16 32 48 64 128 256; do
    expected+=("usr/share/icons/hicolor/${size}x${size}/apps/larimar-workbench.png")
  done
fi
# The bundled model (in git) and the fetched assets: every file of them must be in the package.
for dir in "$MODEL" assets; do
  [[ -d "$SRC/models/$dir" ]] || { fail "models/$dir is not in the source tree (bundled model / fetched assets missing)"; continue; }
  while IFS= read -r f; do
    expected+=("usr/$DATADIR/models/$dir/$f")
  done < <(cd "$SRC/models/$dir" && find . -type f -printf '%P\n')
done
missing=0
for f in "${expected[@]}"; do
  [[ -f "$ROOT/$f" ]] || { fail "missing /$f"; missing=1; }
done
((missing)) || ok "all ${#expected[@]} expected files present"
changelog_version="$(zcat "$ROOT/usr/share/doc/larimar-workbench/changelog.gz" | dpkg-parsechangelog -l- -S Version)"
[[ "$changelog_version" == "$VERSION" ]] ||
  fail "packaging/changelog starts with version $changelog_version, the project is $VERSION: add an entry"
stray="$(cd "$ROOT" && find . -mindepth 1 -maxdepth 2 ! -path ./usr ! -path ./usr/bin ! -path ./usr/share)"
[[ -z "$stray" ]] || fail "files outside /usr/bin and /usr/share: $stray"

# 4. Metadata validators (each only where it is installed).
if [[ "$GUI" == ON ]]; then
  if command -v desktop-file-validate >/dev/null; then
    # Hints (e.g. two main categories, as intended: Education and Development) are not errors.
    out="$(desktop-file-validate "$ROOT/usr/share/applications/larimar-workbench.desktop" 2>&1 | grep -v ': hint: ' || true)"
    [[ -z "$out" ]] && ok "desktop-file-validate" || fail "desktop-file-validate: $out"
  else
    skip "desktop-file-validate not installed (desktop-file-utils)"
  fi
  if command -v appstreamcli >/dev/null; then
    appstreamcli validate-tree --no-net "$ROOT" >"$TMP/as.log" 2>&1 && ok "appstreamcli validate-tree" ||
      fail "appstreamcli: $(cat "$TMP/as.log")"
  else
    skip "appstreamcli not installed (appstream)"
  fi
  grep -q "<release version=\"$VERSION\"" "$ROOT/usr/share/metainfo/io.github.larimar.Workbench.metainfo.xml" &&
    ok "metainfo has a release entry for $VERSION" ||
    fail "resources/io.github.larimar.Workbench.metainfo.xml.in has no <release version=\"$VERSION\">"
fi
for page in "$ROOT"/usr/share/man/man1/*.1.gz; do
  zgrep -q "^\.TH .*\"Larimar Workbench $VERSION\"" "$page" ||
    fail "$(basename "$page" .gz): .TH does not say \"Larimar Workbench $VERSION\" (packaging/man/)"
done
if command -v man >/dev/null && command -v groff >/dev/null; then
  for page in "$ROOT"/usr/share/man/man1/*.1.gz; do
    out="$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 "$page" 2>&1 >/dev/null || true)"
    [[ -z "$out" ]] && ok "man $(basename "$page") renders without warnings" || fail "man $(basename "$page"): $out"
  done
else
  skip "man or groff not installed: man pages not rendered"
fi
# The MIME type: a workspace without the .larimar extension is still recognised by its header.
if command -v update-mime-database >/dev/null && command -v gio >/dev/null && command -v sqlite3 >/dev/null &&
   [[ -f /usr/share/mime/packages/freedesktop.org.xml ]]; then
  mkdir -p "$TMP/xdg/mime/packages"
  cp /usr/share/mime/packages/freedesktop.org.xml "$ROOT/usr/share/mime/packages/larimar-workbench.xml" "$TMP/xdg/mime/packages/"
  update-mime-database "$TMP/xdg/mime" >/dev/null 2>&1
  sqlite3 "$TMP/workspace.db" "PRAGMA application_id=$((0x4C524D57)); CREATE TABLE t(x);"
  sqlite3 "$TMP/other.db" "CREATE TABLE t(x);"
  mime() { XDG_DATA_HOME="$TMP/xdg" XDG_DATA_DIRS="$TMP/xdg" gio info -a standard::content-type "$1" | sed -n 's/.*content-type: //p'; }
  [[ "$(mime "$TMP/workspace.db")" == application/x-larimar-workspace && "$(mime "$TMP/other.db")" == application/vnd.sqlite3 ]] &&
    ok "MIME magic tells a workspace from other SQLite files" ||
    fail "MIME: workspace.db is $(mime "$TMP/workspace.db"), other.db is $(mime "$TMP/other.db")"
else
  skip "update-mime-database, gio or sqlite3 not installed: MIME magic not tested"
fi

# 5. The installed binaries: no RPATH into the build tree, every library found on the system.
for bin in "$ROOT"/usr/bin/*; do
  rpath="$(readelf -d "$bin" | grep -E 'R(UN)?PATH' || true)"
  [[ -z "$rpath" ]] || fail "$(basename "$bin") has an RPATH: $rpath"
  notfound="$(ldd "$bin" | grep 'not found' || true)"
  [[ -z "$notfound" ]] || fail "$(basename "$bin") misses libraries: $notfound"
done
ok "binaries: no RPATH, all libraries resolved"
# Hardening (LARIMAR_HARDENING, cmake/ProjectOptions.cmake): PIE, full RELRO, stack protector.
hardened=1
for bin in "$ROOT"/usr/bin/*; do
  name="$(basename "$bin")"
  # Whole outputs in variables: `readelf | grep -q` under pipefail fails when grep stops reading early.
  header="$(readelf -hW "$bin")" segments="$(readelf -lW "$bin")" dynamic="$(readelf -dW "$bin")"
  symbols="$(readelf --dyn-syms -W "$bin")"
  [[ "$header" =~ Type:\ *DYN ]] || { fail "$name is not position-independent (PIE)"; hardened=0; }
  [[ "$segments" == *GNU_RELRO* ]] || { fail "$name has no RELRO segment"; hardened=0; }
  [[ "$dynamic" == *BIND_NOW* || "$dynamic" =~ FLAGS.*NOW ]] || { fail "$name is not linked with -z now (partial RELRO)"; hardened=0; }
  [[ "$symbols" == *__stack_chk_fail* ]] || { fail "$name has no stack protector"; hardened=0; }
done
((hardened)) && ok "binaries: PIE, full RELRO, stack protector"

# 6. Run the installed programs.
out="$("$ROOT/usr/bin/larimar" --version)" || fail "larimar --version exited $?"
[[ "$out" == "larimar $VERSION" ]] && ok "installed larimar --version: $out" || fail "larimar --version printed '$out'"
if "$ROOT/usr/bin/larimar" --json bench memory --slots 16 --width 32 --episode 8 --repetitions 2 >"$TMP/bench.json" &&
   grep -q '"benchmark": "memory"' "$TMP/bench.json"; then
  ok "installed larimar bench memory runs"
else
  fail "larimar bench memory: $(cat "$TMP/bench.json")"
fi
L=("$ROOT/usr/bin/larimar" --workspace "$TMP/check.larimar")
export XDG_DATA_HOME="$TMP/xdg-data" XDG_CONFIG_HOME="$TMP/xdg-config"
# A write / query / forget round trip with the installed files.
if "${L[@]}" write "The Eiffel Tower is located in Rome." >"$TMP/write.txt" 2>&1 &&
   "${L[@]}" --json facts >"$TMP/facts.json" 2>&1 && grep -q "Eiffel Tower" "$TMP/facts.json" &&
   "${L[@]}" --json query "The Eiffel Tower is located in" --max-tokens 4 >"$TMP/query.json" 2>&1 &&
   grep -q '"with_memory"' "$TMP/query.json" &&
   id=$(sed -n 's/.*"id": *\([0-9][0-9]*\).*/\1/p' "$TMP/facts.json" | head -1) && [[ -n "$id" ]] &&
   "${L[@]}" forget "$id" --reason "package check" >"$TMP/forget.txt" 2>&1 &&
   "${L[@]}" audit verify >"$TMP/audit.txt" 2>&1; then
  ok "installed write / query / forget round trip (audit verified)"
else
  fail "round trip: $(cat "$TMP"/write.txt "$TMP"/facts.json "$TMP"/query.json "$TMP"/forget.txt "$TMP"/audit.txt 2>/dev/null | tail -20)"
fi
# The installed programs must find the installed model (not the source tree's): `larimar info`
# names the model directory it loaded, which has to lie inside the unpacked tree. It runs on the
# workspace the round trip made: info never creates one.
if "${L[@]}" --json info >"$TMP/info.json" 2>"$TMP/info.err"; then
  if grep -q "\"$ROOT/usr/share/larimar-workbench/models/" "$TMP/info.json"; then
    ok "installed larimar info uses the installed model"
  else
    fail "larimar info did not load the installed model: $(cat "$TMP/info.json")"
  fi
else
  fail "larimar info: $(cat "$TMP/info.err")"
fi
if [[ "$GUI" == ON ]]; then
  if XDG_RUNTIME_DIR="$TMP" QT_QPA_PLATFORM=offscreen timeout 60 "$ROOT/usr/bin/larimar-workbench" --quit-after-start >"$TMP/gui.log" 2>&1; then
    ok "installed larimar-workbench starts (offscreen)"
  else
    fail "larimar-workbench --quit-after-start: $(cat "$TMP/gui.log")"
  fi
fi

if ((failures)); then
  echo "check-package: $failures check(s) failed" >&2
  exit 1
fi
echo "check-package: package OK"
