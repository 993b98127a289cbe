#!/usr/bin/env bash
# The hardware design space as a table (issue 10): builds the bundled LeNet
# and VGG examples at several time-step counts, with and without the early
# cutoff and at several lane limits; co-simulates DIGITS test digits of each
# under Verilator (bit-exact check and cycles per digit); places and routes
# each on an LFE5U (45F unless the config names another; CABGA381) with
# nextpnr-ecp5; and measures the 8-bit
# accuracy of the same configuration on the 2,000 committed test digits
# (`simulate --bits 8`, with the same cutoff). Prints one row per design:
#
#   model T cutoff lanes | LUT4 FF DP16KD MULT18 | Fmax cycles/digit digits/s | acc loss
#
# digits/s is the routed Fmax over the co-simulated cycles per digit (never
# an assumed clock). Results (one JSON per step, table.md) go to
# benches/results/hardware_table/. Slow by nature: one place and route of
# LeNet takes about 10-20 minutes on 2 cores, VGG longer.
#
#   bash benches/hardware_table.sh [DIGITS=50] [CONFIGS...]
#   TABLE_ONLY=1 bash benches/hardware_table.sh 50 CONFIGS...   (table from saved results)
#
# CONFIGS are model:T:cutoff:lanes[:slack[:device[:flags]]] tuples (slack:
# `build --slack`, percent, default 10; device: `synth --device`, default
# 45k, and named in the result files when not the default; flags: more
# `build` arguments joined by '+', e.g.
# --offchip-weights+relu5+--max-blocks+108); the default set is below,
# most telling first. VGG fits the 45F with relu5's weights off chip and
# the engines fitted to its 108 block RAMs (docs/hardware.md, "Fitting the
# block RAM"); on the 85F it fits whole.
set -euo pipefail
cd "$(dirname "$0")/.."
digits=${1:-50}
shift || true
configs=("$@")
if [ ${#configs[@]} -eq 0 ]; then
    configs=(
        lenet:16:auto:16
        vgg:16:auto:16:10:45k:--offchip-weights+relu5+--max-blocks+108
        vgg:16:auto:16:10:85k
        lenet:16:auto:16:0
        lenet:16:none:16
        lenet:32:auto:16
        lenet:16:auto:8
    )
fi
if [ -z "${SNNCC:-}" ] && [ -z "${TABLE_ONLY:-}" ]; then
    cargo build --release --locked
fi
bin=${SNNCC:-target/release/snncc}
res=benches/results/hardware_table
work=${WORK:-$(mktemp -d)}
mkdir -p "$res"
data=(--data examples/data/test-images.npy)
labels=(--labels examples/data/test-labels.npy)
calib=(--calib examples/data/calib-images.npy)
for cfg in "${configs[@]}"; do
    [ -n "${TABLE_ONLY:-}" ] && break
    IFS=: read -r model t cutoff lanes slack device flags <<< "$cfg"
    slack=${slack:-10}
    device=${device:-45k}
    name="${model}_T${t}_${cutoff}_L${lanes}_S${slack}"
    [ "$device" != 45k ] && name="${name}_${device}"
    extra=()
    if [ -n "${flags:-}" ]; then
        IFS=+ read -r -a extra <<< "$flags"
        name="${name}_$(printf %s "$flags" | tr -c 'A-Za-z0-9' _ | tr -s _ | sed 's/^_//; s/_$//')"
    fi
    out="$work/$name"
    cut=()
    [ "$cutoff" != none ] && cut=(--cutoff "$cutoff")
    echo "== $name" >&2
    "$bin" build "examples/models/$model.keras" "${calib[@]}" --bits 8 --timesteps "$t" \
        --lanes "$lanes" --slack "$slack" "${cut[@]}" "${extra[@]}" -o "$out" > "$res/build_$name.txt" 2>&1
    "$bin" cosim "$out" "${data[@]}" --limit "$digits" --simulator verilator --json \
        > "$res/cosim_$name.json"
    "$bin" synth "$out" --target ecp5 --device "$device" --json > "$res/synth_$name.json"
    "$bin" simulate "examples/models/$model.keras" "${calib[@]}" "${data[@]}" "${labels[@]}" \
        --timesteps "$t" --bits 8 "${cut[@]}" --json > "$res/simulate_$name.json"
done
python3 - "$res" "${configs[@]}" <<'EOF'
import json, sys
res, configs = sys.argv[1], sys.argv[2:]
rows = ["| model | T | cutoff | max lanes | slack | build flags | device | LUT4 | FF | DP16KD | MULT18 "
        "| Fmax (MHz, routed) | cycles / digit | mean steps | digits/s | 8-bit accuracy | loss vs CNN |",
        "|---|---:|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
import re
for cfg in configs:
    model, t, cutoff, lanes, *rest = cfg.split(":")
    slack = rest[0] if rest else "10"
    device = rest[1] if len(rest) > 1 else "45k"
    flags = rest[2] if len(rest) > 2 else ""
    name = f"{model}_T{t}_{cutoff}_L{lanes}_S{slack}"
    if device != "45k":
        name += f"_{device}"
    if flags:
        name += "_" + re.sub("_+", "_", re.sub("[^A-Za-z0-9]", "_", flags)).strip("_")
    shown = " ".join(flags.split("+")) or "-"
    cos = json.load(open(f"{res}/cosim_{name}.json"))
    syn = json.load(open(f"{res}/synth_{name}.json"))
    sim = json.load(open(f"{res}/simulate_{name}.json"))
    assert cos["mismatches"] == 0, f"{name}: {cos['mismatches']} mismatches"
    # Placed counts (nextpnr: LUT4 = TRELLIS_COMB, carry and RAM halves
    # included); Yosys' counts only for a design that was not placed.
    placed = {u["resource"]: u["used"] for u in (syn.get("utilization") or [])}
    cells = syn["cells"]
    luts = placed.get("LUT4", syn["luts"])
    ffs = placed.get("FF", syn["ffs"])
    brams = placed.get("DP16KD", cells.get("DP16KD", 0))
    mults = placed.get("MULT18X18D", cells.get("MULT18X18D", 0))
    if cutoff == "none":
        acc = sim["runs"][-1]["accuracy"]
    else:
        acc = sim["cutoff"]["accuracy"]
    cnn = sim["cnn_accuracy"]
    fmax = syn.get("fmax_mhz")
    cyc = cos["cycles_per_image"]
    if not syn["fit"]["fits"] or fmax is None:
        # Said as it is: no routed clock, so no throughput.
        dev = syn["fit"]["device"]
        over = [k for k in ("luts", "ffs", "bram", "dsps") if (syn["fit"].get(k) or 0) > 1]
        rows.append(f"| {model} | {t} | {cutoff} | {lanes} | {slack} % | {shown} | {dev['name']} | {luts:,} (Yosys) | "
                    f"{ffs:,} | {brams} | {mults} | "
                    f"does not fit the {dev['name']} ({', '.join(over)}) | {cyc:,.0f} | "
                    f"{cos.get('mean_timesteps', float(t)):.2f} | - | {100 * acc:.2f} % | "
                    f"{100 * (cnn - acc):+.2f} pp |")
        continue
    rows.append(f"| {model} | {t} | {cutoff} | {lanes} | {slack} % | {shown} | {syn['fit']['device']['name']} | {luts:,} | "
                f"{ffs:,} | {brams} | {mults} | "
                f"{fmax:.1f} | {cyc:,.0f} | {cos.get('mean_timesteps', float(t)):.2f} | "
                f"{fmax * 1e6 / cyc:,.0f} | {100 * acc:.2f} % | {100 * (cnn - acc):+.2f} pp |")
text = "\n".join(rows)
open(f"{res}/table.md", "w").write(text + "\n")
print(text)
EOF
