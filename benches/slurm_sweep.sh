#!/usr/bin/env bash
# The LeNet example's sweep on one machine against the same sweep as a
# Slurm job array of SHARDS tasks on the single-node cluster of
# scripts/slurm-local.sh (this machine), both timed end to end (the array
# from submission to the merged files), and the merged files compared with
# the one-machine ones. On one node the array cannot be faster: it shows
# what sharding costs (each shard converts the model and calibrates again,
# plus Slurm's scheduling), which a cluster of N nodes divides the rest by.
#
#   bash benches/slurm_sweep.sh [SHARDS] [DIGITS]     # default 4 2000
#
# Needs root, slurm-wlm and munge (scripts/install-deps.sh). SNNCC=path
# uses that binary instead of building one.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARDS=${1:-4}
DIGITS=${2:-2000}
cd "$ROOT"
if [ -z "${SNNCC:-}" ]; then
    cargo build --release --quiet
    SNNCC=$ROOT/target/release/snncc
fi
WORK=$(mktemp -d)
trap 'bash scripts/slurm-local.sh stop "$WORK/cluster" >/dev/null; rm -rf "$WORK"' EXIT
export SLURM_CONF
SLURM_CONF=$(bash scripts/slurm-local.sh start "$WORK/cluster" | sed -n 's/^SLURM_CONF=//p')

args=(sweep examples/models/lenet.keras --calib examples/data/calib-images.npy
    --data examples/data/test-images.npy --labels examples/data/test-labels.npy
    --bits 4,6,8,16 --timesteps 16,32,64,128,256 --limit "$DIGITS")

t0=$(date +%s.%N)
"$SNNCC" "${args[@]}" -o "$WORK/whole" >/dev/null 2>&1
t1=$(date +%s.%N)
"$SNNCC" "${args[@]}" -o "$WORK/split" --slurm "$SHARDS" --cpus-per-task 1 --submit >"$WORK/submit.txt"
merge=$(sed -n 's/.*merge job \([0-9]*\).*/\1/p' "$WORK/submit.txt")
while [ -n "$(squeue -h -j "$merge" 2>/dev/null)" ]; do sleep 0.5; done
t2=$(date +%s.%N)
for f in sweep.csv pareto.csv accuracy_vs_timesteps.svg accuracy_vs_memory.svg; do
    cmp -s "$WORK/whole/$f" "$WORK/split/$f" || { echo "$f differs" >&2; cat "$WORK/split/slurm/merge.log" >&2; exit 1; }
done
python3 - "$t0" "$t1" "$t2" "$SHARDS" "$DIGITS" "$(nproc)" <<'EOF'
import sys
t0, t1, t2 = map(float, sys.argv[1:4])
shards, digits, cpus = sys.argv[4:7]
one, arr = t1 - t0, t2 - t1
print(f"LeNet sweep, {digits} digits x 4 widths x 5 T, {cpus} CPUs:")
print(f"  one machine            {one:7.1f} s")
print(f"  {shards}-shard Slurm array   {arr:7.1f} s  (one node; ratio {arr / one:.2f}), merged files identical")
EOF
