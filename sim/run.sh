#!/usr/bin/env bash
# Run a built design's self-checking testbench by hand, outside snncc —
# the same commands `snncc cosim` runs (src/cosim/mod.rs).
#
#   sim/run.sh OUT [iverilog|verilator] [--trace] [+first=N] [+count=M] [+vcd]
#
# OUT is a folder written by `snncc build`; its tb/ (testbench, inputs and
# expected values) holds the first calibration inputs, or the inputs of the
# last `snncc cosim OUT --data X.npy`. --trace prints every spike entry (SPIKE step layer entry-hex).
# Plusargs go to the simulation: +first/+count pick inputs, +vcd writes
# OUT/tb/waves.vcd (Verilator: also pass --trace-vcd to build with tracing).
set -euo pipefail
out=${1:?usage: sim/run.sh OUT [iverilog|verilator] [--trace] [--trace-vcd] [+plusargs]}
sim=${2:-iverilog}
shift $(( $# >= 2 ? 2 : 1 ))
defines=() vcd=() plus=()
for a in "$@"; do
    case "$a" in
        --trace) defines+=(-DSNNCC_TRACE) ;;
        --trace-vcd) vcd+=(--trace) ;;
        +*) plus+=("$a") ;;
        *) echo "unknown argument: $a" >&2; exit 2 ;;
    esac
done
tb="$out/tb/tb.v"
[ -f "$tb" ] || { echo "$tb missing: build with --calib, or run 'snncc cosim $out --data X.npy'" >&2; exit 1; }
rtl=("$out"/rtl/*.v)
work="$out/sim/$sim"
mkdir -p "$work"
case "$sim" in
    iverilog)
        iverilog -g2005 -s tb -o "$work/tb.vvp" "${defines[@]}" "$tb" "${rtl[@]}"
        exec vvp -n "$work/tb.vvp" "${plus[@]}"
        ;;
    verilator)
        verilator --binary --timing -Wno-fatal -O3 --x-assign fast --top-module tb \
            -Mdir "$work/obj_dir" "${vcd[@]}" "${defines[@]}" "$tb" "${rtl[@]}" > "$work/build.log"
        exec "$work/obj_dir/Vtb" "${plus[@]}"
        ;;
    *) echo "simulator must be iverilog or verilator, not $sim" >&2; exit 2 ;;
esac
