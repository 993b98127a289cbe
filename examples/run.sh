#!/usr/bin/env bash
# Set up snncc on a fresh Debian machine and run it on the bundled example:
# installs what is missing, builds the release binary, then inspects and
# evaluates the LeNet example on the 2,000 committed MNIST test digits.
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
