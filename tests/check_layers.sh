#!/bin/sh
# The include layering of src/ (docs/ARCHITECTURE.md): a file may include
# "dir/..." only from its own folder or from a lower layer:
#
#   0 core
#   1 io, kernels, tokenizers, hub, jinja
#   2 data, models, eval
#   3 generate
#   4 train
#   5 api
#   6 cli
#
# Folders of one layer are siblings and never include each other (core is
# one folder, so "core any" holds trivially; the current code has no sibling
# includes at all, so the rule stays strict). The public headers count as the
# layer that implements them: lmtune/lmtune.h core, lmtune/tokenizer.h
# tokenizers, every other lmtune/*.h the api. include/lmtune/ headers follow
# the same rule and include nothing from src/ (they are installed alone). Includes without a folder
# ("tokenizer_impl.h") are the file's own folder; <system> includes are free.
#
#   tests/check_layers.sh ROOT              checks ROOT/src and ROOT/include
#   tests/check_layers.sh --self-test ROOT  plants upward includes in a copy
#                                           and fails unless each is caught
set -u

layer_of() {   # folder -> layer number, or nothing when unknown
    case "$1" in
    core) echo 0 ;;
    io|kernels|tokenizers|hub|jinja) echo 1 ;;
    data|models|eval) echo 2 ;;
    generate) echo 3 ;;
    train) echo 4 ;;
    api) echo 5 ;;
    cli) echo 6 ;;
    esac
}

owner_of_public() {   # include path lmtune/X.h -> the folder it counts as
    case "$1" in
    lmtune/lmtune.h) echo core ;;
    lmtune/tokenizer.h) echo tokenizers ;;
    lmtune/hub.h) echo hub ;;
    *) echo api ;;
    esac
}

check() {
    croot=$1
    bad=0
    for f in $(cd "$croot" && find src include -name '*.[ch]' | sort); do
        case "$f" in
        src/*) dir=$(echo "$f" | cut -d/ -f2) ;;
        include/lmtune/*) dir=$(owner_of_public "lmtune/${f#include/lmtune/}") ;;
        *) continue ;;
        esac
        from=$(layer_of "$dir")
        if [ -z "$from" ]; then
            echo "$f: folder \"$dir\" has no layer (add it to tests/check_layers.sh)"
            bad=1
            continue
        fi
        # "LINE:path" for every quoted include
        hits=$(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$croot/$f" | sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
        for h in $hits; do
            line=${h%%:*}
            inc=${h#*:}
            case "$inc" in
            */*) to=${inc%%/*} ;;
            *) continue ;;
            esac
            if [ "${f%%/*}" = include ] && [ "$to" != lmtune ]; then
                echo "$f:$line: the public header includes \"$inc\" from src/ (installed headers see only lmtune/)"
                bad=1
                continue
            fi
            [ "$to" = lmtune ] && to=$(owner_of_public "$inc")
            [ "$to" = "$dir" ] && continue
            lt=$(layer_of "$to")
            if [ -z "$lt" ]; then
                echo "$f:$line: includes \"$inc\" from no known layer"
                bad=1
            elif [ "$lt" -eq "$from" ]; then
                echo "$f:$line: $dir includes its sibling \"$inc\" (both layer $from)"
                bad=1
            elif [ "$lt" -gt "$from" ]; then
                echo "$f:$line: $dir (layer $from) includes \"$inc\" from $to (layer $lt): upward"
                bad=1
            fi
        done
    done
    return $bad
}

if [ "${1:-}" = "--self-test" ]; then
    root=$2
    tmp=$(mktemp -d /tmp/lmt-layers-XXXXXX)
    trap 'rm -rf "$tmp"' EXIT
    cp -r "$root/src" "$root/include" "$tmp/"
    fail=0
    if ! check "$tmp" >/dev/null; then echo "self-test: the unmodified tree does not pass"; fail=1; fi
    # each plant: file, include line, what the message must name
    plant() {
        rm -rf "$tmp/src" "$tmp/include"
        cp -r "$root/src" "$root/include" "$tmp/"
        printf '#include "%s"\n' "$2" >>"$tmp/$1"
        out=$(check "$tmp")
        n=$(wc -l <"$tmp/$1")
        if echo "$out" | grep -q "^$1:$n: "; then
            echo "self-test: caught $1:$n including $2"
        else
            echo "self-test: MISSED $1 including $2 (got: $out)"
            fail=1
        fi
    }
    plant src/data/dataset.h train/trainer.h          # upward by two layers
    plant src/kernels/matmul.h models/config.h        # the old activation.h mistake
    plant src/io/zip.h tokenizers/utf8.h              # sibling
    plant src/core/util.h lmtune/tokenizer.h          # a public header of a higher layer
    plant src/train/trainer.h api/api.h               # train below api
    plant src/generate/generate.h lmtune/trainer.h    # the public API is the api layer
    plant include/lmtune/lmtune.h core/util.h         # a public header reaching into src/
    plant include/lmtune/tokenizer.h lmtune/pipeline.h  # public headers keep the layers too
    exit $fail
fi

check "${1:-.}"
