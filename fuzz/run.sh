#!/usr/bin/env bash
# Fuzz every reader of user files with cargo-fuzz (libFuzzer), each target
# for SECONDS (default 600) or RUNS executions, whichever ends first, and
# print a table of executions, speed, corpus and findings.
#
#   bash fuzz/run.sh [SECONDS] [TARGET...]     # default: every target
#   JOBS=2 RUNS=1000000 bash fuzz/run.sh 600
#
# Seeds are the committed models and data (tests/fixtures, examples/) and a
# network converted from the resnet_mini fixture (the snn_dir and quant_yaml
# targets mutate its snn.yaml and a quant.yaml chosen for it). Builds with
# overflow checks (-a) and without a sanitizer (-s none: the crate is safe
# Rust; a panic, an overflow, a timeout over 10 s or more than 2 GB of memory
# is a finding). A finding is saved under $WORK/artifacts/TARGET/ and the
# script exits 1; turn each into a regression test (tests/fuzz_regressions.rs).
# Needs the nightly toolchain and `cargo install cargo-fuzz`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_EACH=${1:-600}
shift || true
ALL=(keras_h5 keras_zip model_config npy idx quant_yaml snn_dir)
if [ $# -gt 0 ]; then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi
RUNS=${RUNS:-0}
JOBS=${JOBS:-1}
WORK=${WORK:-$ROOT/target/fuzz-work}
mkdir -p "$WORK"

command -v cargo-fuzz >/dev/null || { echo "fuzz/run.sh: cargo-fuzz is not installed (cargo install cargo-fuzz)" >&2; exit 2; }
cargo +nightly --version >/dev/null 2>&1 || { echo "fuzz/run.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2; exit 2; }

echo "== building the compiler and the fuzz targets" >&2
(cd "$ROOT" && cargo build --release --quiet)
SNNCC=$ROOT/target/release/snncc
(cd "$ROOT/fuzz" && cargo +nightly fuzz build -s none -a 2>&1 | tail -1) >&2

echo "== seeds" >&2
FIX=$ROOT/tests/fixtures/models
NET=$WORK/net
rm -rf "$NET"
"$SNNCC" convert "$FIX/resnet_mini.k3.h5" --calib "$FIX/resnet_mini.inputs.npy" -o "$NET" >/dev/null 2>&1
export SNNCC_FUZZ_NET=$NET
seed() { # seed TARGET FILE...
    local dir=$WORK/corpus/$1
    shift
    mkdir -p "$dir"
    cp "$@" "$dir/"
}
rm -rf "$WORK/corpus" "$WORK/artifacts"
seed keras_h5 "$FIX"/*.h5 "$ROOT"/examples/models/lenet.*.h5
seed keras_zip "$FIX"/*.keras "$ROOT"/examples/models/lenet.keras
mkdir -p "$WORK/corpus/model_config"
python3 - "$WORK/corpus/model_config" "$FIX"/*.keras <<'PY'
import sys, zipfile, os
out = sys.argv[1]
for path in sys.argv[2:]:
    with zipfile.ZipFile(path) as z:
        open(os.path.join(out, os.path.basename(path) + ".json"), "wb").write(z.read("config.json"))
PY
seed npy "$FIX"/*.outputs.npy "$FIX"/mlp_flat.inputs.npy "$ROOT"/examples/data/test-labels.npy
gzip -c "$FIX/mlp_flat.inputs.npy" >"$WORK/corpus/npy/mlp_flat.inputs.npy.gz"
mkdir -p "$WORK/corpus/idx"
# The first 20 MNIST test digits and labels, plain and gzipped.
python3 - "$WORK/corpus/idx" "$ROOT/examples/data" <<'PY'
import sys, gzip, os, struct
out, data = sys.argv[1], sys.argv[2]
for name, item in (("mnist-test-images-idx3-ubyte", 28 * 28), ("mnist-test-labels-idx1-ubyte", 1)):
    raw = gzip.open(os.path.join(data, name + ".gz")).read()
    rank = raw[3]
    head = bytearray(raw[:4 + 4 * rank])
    head[4:8] = struct.pack(">I", 20)
    small = bytes(head) + raw[4 + 4 * rank:4 + 4 * rank + 20 * item]
    open(os.path.join(out, name), "wb").write(small)
    open(os.path.join(out, name + ".gz"), "wb").write(gzip.compress(small))
PY
mkdir -p "$WORK/corpus/quant_yaml" "$WORK/corpus/snn_dir"
"$SNNCC" quantize "$NET" --bits 8 -o "$WORK/corpus/quant_yaml/resnet_mini.8bit.yaml" >/dev/null 2>&1
"$SNNCC" quantize "$NET" --bits 4 --timesteps 16 -o "$WORK/corpus/quant_yaml/resnet_mini.4bit.yaml" >/dev/null 2>&1
cp "$NET/snn.yaml" "$WORK/corpus/snn_dir/resnet_mini.snn.yaml"

run_one() {
    local t=$1 log=$WORK/$1.log
    mkdir -p "$WORK/artifacts/$t"
    local limits=(-max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1
        -artifact_prefix="$WORK/artifacts/$t/")
    [ "$RUNS" -gt 0 ] && limits+=(-runs="$RUNS")
    (cd "$ROOT/fuzz" && cargo +nightly fuzz run -s none -a "$t" "$WORK/corpus/$t" -- "${limits[@]}") >"$log" 2>&1 || true
}
echo "== fuzzing ${#TARGETS[@]} target(s), ${SECONDS_EACH} s each, $JOBS at a time" >&2
running=0
for t in "${TARGETS[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

found=0
printf '%-13s %9s %12s %9s %7s %9s %8s\n' target seconds executions exec/s corpus rss_mb findings
for t in "${TARGETS[@]}"; do
    log=$WORK/$t.log
    stat() { sed -n "s/^stat::$1: *//p" "$log" | tail -1; }
    execs=$(stat number_of_executed_units)
    secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | awk '{print $5}' | tail -1)
    rate=$(stat average_exec_per_sec)
    rss=$(stat peak_rss_mb)
    corpus=$(find "$WORK/corpus/$t" -type f | wc -l)
    n=$(find "$WORK/artifacts/$t" -type f | wc -l)
    [ -z "$execs" ] && n=$((n > 0 ? n : 1)) # no final stats: the run died
    found=$((found + n))
    printf '%-13s %9s %12s %9s %7s %9s %8s\n' "$t" "${secs:-?}" "${execs:-?}" "${rate:-?}" "$corpus" "${rss:-?}" "$n"
done
if [ "$found" -gt 0 ]; then
    echo "fuzz/run.sh: $found finding(s); logs in $WORK/*.log, inputs in $WORK/artifacts/" >&2
    exit 1
fi
