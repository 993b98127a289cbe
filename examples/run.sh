#!/usr/bin/env bash
# Set up snncc on a fresh Debian machine and run it on the bundled example:
# installs what is missing, builds the release binary, then inspects the
# LeNet example, evaluates it as a CNN, converts it to a spiking network with
# ECC and simulates that on the 2,000 committed MNIST test digits, in float
# and then bit-accurately in 8-bit fixed point; then builds it as Verilog,
# co-simulates the RTL against the bit-accurate simulator and synthesises it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release --locked
bin=target/release/snncc
echo "== snncc inspect examples/models/lenet.keras"
"$bin" inspect examples/models/lenet.keras
echo
for model in examples/models/lenet.keras examples/models/vgg.tf2.h5; do
    echo "== snncc eval $model (float CNN reference)"
    "$bin" eval "$model" \
        --data examples/data/test-images.npy \
        --labels examples/data/test-labels.npy
    echo
done
echo "== snncc simulate examples/models/lenet.keras (ECC conversion + SNN, T = 16..256)"
"$bin" simulate examples/models/lenet.keras \
    --calib examples/data/calib-images.npy \
    --data examples/data/test-images.npy \
    --labels examples/data/test-labels.npy \
    --timesteps 16,32,64,128,256
echo
echo "== snncc simulate examples/models/lenet.keras --bits 8 (bit-accurate integer SNN, automatic formats)"
"$bin" simulate examples/models/lenet.keras \
    --calib examples/data/calib-images.npy \
    --data examples/data/test-images.npy \
    --labels examples/data/test-labels.npy \
    --timesteps 32,64,256 --bits 8

echo
out=target/lenet-verilog
echo "== snncc build examples/models/lenet.keras --target verilog -o $out (8-bit, T = 16, early cutoff)"
"$bin" build examples/models/lenet.keras --calib examples/data/calib-images.npy \
    --target verilog --bits 8 --timesteps 16 --cutoff auto -o "$out"
echo
echo "== snncc cosim $out (the RTL under Verilator against the bit-accurate simulator, spike for spike)"
"$bin" cosim "$out" --data examples/data/test-images.npy --limit 20 --simulator verilator --trace
echo
echo "== snncc synth $out --target ecp5 (Yosys and nextpnr-ecp5 on an LFE5U-45F, 10-15 minutes on 2 cores; latency at the routed clock)"
"$bin" synth "$out" --target ecp5
