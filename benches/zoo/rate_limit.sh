#!/usr/bin/env bash
# Is the converted network exact in the rate limit? For every zoo model
# (benches/zoo/models) and both bundled examples, converts with snncc's
# default settings (p99.9 scales, burst spikes: --burst auto) and at one
# spike a step (--burst 1), evaluates each network's rate limit
# (`snncc eval NET/ --dump-outputs`) and the Keras model on the 2,000 test
# digits, and prints per model: the digits answered unlike the CNN and the
# digits whose outputs differ by more than 1e-4 of the row's largest
# (softmax applied to the rate limit where the model ends in one).
#
#   bash benches/zoo/rate_limit.sh
#
# Conversions use --calibrate none (calibration changes initial potentials,
# not the rate limit). Binary: $SNNCC, else target/release/snncc. The
# table goes to benches/results/rate_limit/table.md (networks and outputs
# to a temporary directory). Needs only python3.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bin=${SNNCC:-target/release/snncc}
if [ ! -x "$bin" ]; then
    echo "snncc binary not found: $bin (build it, or set SNNCC)" >&2
    exit 2
fi
mkdir -p benches/results/rate_limit
res=$(mktemp -d)
trap 'rm -rf "$res"' EXIT
data=examples/data/test-images.npy
calib=examples/data/calib-images.npy
models=(benches/zoo/models/*.h5 benches/zoo/models/*.keras examples/models/lenet.keras examples/models/vgg.keras)
rows=()
for model in "${models[@]}"; do
    name=$(basename "$model"); name=${name%%.*}
    [ "$model" = "${model#examples/}" ] || name="example_$name"
    echo "== $name" >&2
    "$bin" eval "$model" --data "$data" --dump-outputs "$res/$name.cnn.npy" > /dev/null
    for burst in 1 default; do
        net="$res/$name.burst-$burst"
        flags=(--burst "$burst")
        [ "$burst" != default ] || flags=()
        "$bin" convert "$model" --calib "$calib" --calibrate none "${flags[@]}" -o "$net" \
            2> "$net.log" > /dev/null
        "$bin" eval "$net" --data "$data" --dump-outputs "$net.npy" > /dev/null
    done
    rows+=("$name")
done
python3 - "$res" "${rows[@]}" <<'PY' | tee benches/results/rate_limit/table.md
import ast, math, struct, sys

def load(path):
    """A float32 little-endian C-order .npy of N x K."""
    with open(path, "rb") as f:
        assert f.read(6) == b"\x93NUMPY"
        major = f.read(2)[0]
        hlen = struct.unpack("<H" if major == 1 else "<I", f.read(2 if major == 1 else 4))[0]
        header = ast.literal_eval(f.read(hlen).decode("latin1"))
        assert header["descr"] == "<f4" and not header["fortran_order"], header
        n, k = header["shape"]
        flat = struct.unpack(f"<{n * k}f", f.read(4 * n * k))
    return [flat[i * k:(i + 1) * k] for i in range(n)]

def softmax(row):
    m = max(row)
    e = [math.exp(v - m) for v in row]
    s = sum(e)
    return [v / s for v in e]

def argmax(row):
    return max(range(len(row)), key=lambda i: (row[i], -i))

res, names = sys.argv[1], sys.argv[2:]
print("| model | burst | layers' bursts | answers unlike the CNN | outputs off by > 1e-4 | largest relative difference |")
print("|---|---|---|---:|---:|---:|")
for name in names:
    cnn = load(f"{res}/{name}.cnn.npy")
    is_softmax = all(abs(sum(r) - 1) < 1e-3 and min(r) >= 0 for r in cnn)
    for burst in ("1", "default"):
        snn = load(f"{res}/{name}.burst-{burst}.npy")
        # snn.yaml writes `burst: N` only where N > 1.
        with open(f"{res}/{name}.burst-{burst}/snn.yaml") as f:
            found = [int(l.split(":")[1]) for l in f if l.strip().startswith("burst:")]
        bursts = f"up to {max(found)}" if found else "1"
        unlike = off = 0
        worst = 0.0
        for c, s in zip(cnn, snn):
            s = softmax(s) if is_softmax else list(s)
            unlike += argmax(c) != argmax(s)
            scale = max(abs(v) for v in c) or 1.0
            d = max(abs(a - b) for a, b in zip(c, s)) / scale
            off += d > 1e-4
            worst = max(worst, d)
        print(f"| {name} | {burst} | {bursts} | {unlike} | {off} | {worst:.1e} |")
PY
