#!/usr/bin/env bash
# The Verilog backend's targets on the bundled examples (issue: bit exact
# on >= 200 LeNet and >= 50 VGG test digits in both simulators at 8-bit
# weights; cycles within 2x of the work bound; LeNet fits a small FPGA).
# Builds both examples at T = 64 with the default 8 lanes, co-simulates
# them under Icarus and Verilator (all CPUs, --jobs), synthesises LeNet
# for Xilinx 7-series and iCE40, and writes everything to
# benches/results/cosim_targets/ (one JSON per run, summary.txt).
#
#   bash benches/cosim_targets.sh [LENET_DIGITS=200] [VGG_DIGITS=50]
#
# Slow by nature: Icarus simulates ~20-30k cycles/s; a LeNet digit is
# ~0.5 M cycles at T = 64, a VGG digit ~2 M.
set -euo pipefail
cd "$(dirname "$0")/.."
lenet_n=${1:-200}
vgg_n=${2:-50}
# SNNCC=path runs a given binary (e.g. a frozen copy) instead of building.
if [ -z "${SNNCC:-}" ]; then
    cargo build --release --locked
fi
bin=${SNNCC:-target/release/snncc}
res=benches/results/cosim_targets
work=$(mktemp -d)
mkdir -p "$res"
for model in lenet vgg; do
    "$bin" build "examples/models/$model.keras" --calib examples/data/calib-images.npy \
        --bits 8 --timesteps 64 -o "$work/$model" > "$res/build_$model.txt"
done
for sim in verilator iverilog; do
    for model in lenet vgg; do
        n=$lenet_n
        [ "$model" = vgg ] && n=$vgg_n
        start=$(date +%s)
        "$bin" cosim "$work/$model" --data examples/data/test-images.npy --limit "$n" \
            --simulator "$sim" --json > "$res/cosim_${model}_$sim.json"
        echo "$model $sim: $(( $(date +%s) - start )) s" >> "$res/times.txt"
    done
done
for target in xilinx ice40; do
    "$bin" synth "$work/lenet" --target "$target" --json > "$res/synth_lenet_$target.json"
done
python3 - "$res" <<'PY'
import json, sys, pathlib
res = pathlib.Path(sys.argv[1])
lines = []
for f in sorted(res.glob("cosim_*.json")):
    r = json.loads(f.read_text())
    lines.append(f"{f.stem}: {r['images']} digits, {r['mismatches']} mismatches, "
                 f"{r['cycles_per_image']:.0f} cycles/digit, work bound {r['work_bound_cycles']:.0f}, "
                 f"ratio {r['latency_ratio']:.2f}")
for f in sorted(res.glob("synth_*.json")):
    r = json.loads(f.read_text())
    fit = r.get("fit") or {}
    lines.append(f"{f.stem}: {r['luts']} LUTs, {r['ffs']} FFs, {r['bram_blocks']} BRAM blocks "
                 f"({r['bram_bits'] // 1024} kbit), {r['dsps']} DSPs; "
                 f"{'fits' if fit.get('fits') else 'does not fit'} {fit.get('device', {}).get('name', '-')}")
(res / "summary.txt").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
PY
rm -rf "$work"
