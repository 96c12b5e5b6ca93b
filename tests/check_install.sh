#!/bin/sh
# cmake --install into a temporary prefix, then build every examples/*.c
# against the installed tree alone (pkg-config lmtune: headers, liblmtune.a
# and liblmtune.so), static and shared, and run the fill-mask example from
# both against the one built in the tree. The shared library exports only
# the public API (LMT_API), so linking the examples to it also proves they
# use nothing else.
#
#   tests/check_install.sh BUILD_DIR SOURCE_DIR CC [EXTRA_CFLAGS]
#
# A cross build sets LMT_EMULATOR (the command that runs the target's
# programs, e.g. qemu-aarch64-static -L ...) and NM (the target's nm).
set -eu
emu=${LMT_EMULATOR:-}
nm=${NM:-nm}
build=$1
src=$2
cc=$3
extra=${4:-}
tmp=$(mktemp -d /tmp/lmt-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check_install: $*"; exit 1; }

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; fail "cmake --install failed"; }
P=$tmp/prefix
pc=$(find "$P" -name lmtune.pc)
[ -n "$pc" ] || fail "no lmtune.pc installed"
libdir=$(dirname "$(dirname "$pc")")
for f in include/lmtune/lmtune.h include/lmtune/tokenizer.h include/lmtune/chat.h include/lmtune/data.h include/lmtune/trainer.h \
         include/lmtune/generate.h include/lmtune/pipeline.h bin/lmtune; do
    [ -f "$P/$f" ] || fail "$f is not installed"
done
for f in liblmtune.a liblmtune.so; do [ -e "$libdir/$f" ] || fail "$libdir/$f is not installed"; done
extra_headers=$(find "$P/include" -type f ! -path "$P/include/lmtune/*.h")
[ -z "$extra_headers" ] || fail "headers outside include/lmtune: $extra_headers"
# the shared library exports exactly the functions the headers mark LMT_API
"$nm" -D --defined-only "$libdir/liblmtune.so" | awk '$2 == "T" {print $3}' | sort >"$tmp/exported.txt"
grep -h LMT_API "$P"/include/lmtune/*.h | grep -o 'lmt_[a-z0-9_]*(' | tr -d '(' | sort -u >"$tmp/declared.txt"
diff "$tmp/declared.txt" "$tmp/exported.txt" || fail "liblmtune.so exports (>) other functions than the headers declare (<)"
$emu "$P/bin/lmtune" bleu --help >/dev/null 2>&1 || $emu "$P/bin/lmtune" --help >/dev/null 2>&1 || fail "the installed lmtune does not run"

export PKG_CONFIG_PATH="$(dirname "$pc")"
cflags=$(pkg-config --cflags lmtune) || fail "pkg-config does not know lmtune"
shared_libs=$(pkg-config --libs lmtune)
# static: the archive itself, then what it needs (Libs.private, Requires.private)
static_deps=""
for w in $(pkg-config --static --libs lmtune); do [ "$w" = -llmtune ] || static_deps="$static_deps $w"; done
warn="-std=c11 -Wall -Wextra -Werror"
for ex in "$src"/examples/*.c; do
    name=$(basename "$ex" .c)
    # shellcheck disable=SC2086
    $cc $warn $extra $cflags "$ex" -o "$tmp/${name}_shared" $shared_libs -Wl,-rpath,"$libdir" || fail "$name: shared build failed"
    # shellcheck disable=SC2086
    $cc $warn $extra $cflags "$ex" -o "$tmp/${name}_static" "$libdir/liblmtune.a" $static_deps || fail "$name: static build failed"
    readelf -d "$tmp/${name}_shared" | grep -q 'NEEDED.*liblmtune' || fail "$name: the shared build does not use liblmtune.so"
    if readelf -d "$tmp/${name}_static" | grep -q 'NEEDED.*liblmtune'; then fail "$name: the static build needs liblmtune.so"; fi
done
# the public headers alone, as C++ (extern "C", no C-only constructs)
if command -v c++ >/dev/null 2>&1; then
    for h in "$P"/include/lmtune/*.h; do
        echo "#include \"lmtune/$(basename "$h")\"" | c++ -x c++ -fsyntax-only -Wall -Werror $cflags - || fail "$h does not compile as C++"
    done
fi

fixture="$src/tests/fixtures/models/bert-fillmask"
text="She said the [MASK] king saw a [MASK] tree!"
$emu "$build/fill_mask" "$fixture" 3 "$text" >"$tmp/want.txt" || fail "the tree's fill_mask failed"
for kind in shared static; do
    $emu "$tmp/fill_mask_$kind" "$fixture" 3 "$text" >"$tmp/$kind.txt" || fail "installed fill_mask ($kind) failed"
    cmp -s "$tmp/want.txt" "$tmp/$kind.txt" || { diff "$tmp/want.txt" "$tmp/$kind.txt"; fail "installed fill_mask ($kind) prints something else"; }
done
[ -s "$tmp/want.txt" ] || fail "fill_mask printed nothing"
echo "check_install: installed headers, liblmtune.a, liblmtune.so, lmtune.pc and bin/lmtune; examples built static and shared and run"
