#!/usr/bin/env bash
# Conversion accuracy over the MNIST model zoo (benches/zoo/models, listed in
# zoo.json; made by benches/zoo/make_zoo.py). For every model, with snncc's
# DEFAULT conversion settings (as the JSON reports them; potential read-out):
#
#   snncc eval      MODEL                                         CNN accuracy
#   snncc simulate  MODEL --timesteps 16,32,64,128,256 --json     float SNN
#   snncc simulate  MODEL --bits 8 --timesteps 32,64 --json       8-bit SNN
#   snncc simulate  MODEL --timesteps 64 --cutoff auto --json     float, early cutoff
#
# (simulate with --calib examples/data/calib-images.npy, all on the 2,000
# test digits examples/data/test-{images,labels}.npy) and prints a markdown
# table of accuracy losses in percentage points: loss = CNN accuracy (snncc
# eval) - SNN accuracy, positive = worse; plus a "worst case" row.
#
#   bash benches/zoo/zoo_table.sh [--limit N]
#
# Binary: $SNNCC, else target/release/snncc (not rebuilt here). Raw JSON,
# stderr logs and table.md go to benches/results/zoo/ (a --limit run to
# benches/results/zoo/limit<N>/). A failing snncc command is reported with
# its command line and error, shown as ERR in the table, and makes the
# script exit with status 1 after the table.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"

limit=()
res=benches/results/zoo
while [ $# -gt 0 ]; do
    case "$1" in
        --limit) limit=(--limit "$2"); res="benches/results/zoo/limit$2"; shift 2 ;;
        --limit=*) limit=(--limit "${1#--limit=}"); res="benches/results/zoo/limit${1#--limit=}"; shift ;;
        -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1 (usage: zoo_table.sh [--limit N])" >&2; exit 2 ;;
    esac
done

bin=${SNNCC:-target/release/snncc}
if [ ! -x "$bin" ]; then
    echo "snncc binary not found: $bin (build it, or set SNNCC)" >&2
    exit 2
fi
zoo=benches/zoo/models
data=(--data examples/data/test-images.npy --labels examples/data/test-labels.npy)
calib=(--calib examples/data/calib-images.npy)
mkdir -p "$res"
"$bin" --version > "$res/snncc-version.txt"

mapfile -t models < <(python3 -c '
import json, sys
for m in json.load(open(sys.argv[1]))["models"]:
    print(m["name"] + "\t" + m["file"])' "$zoo/zoo.json")

failures=0
run() {  # run OUT.json CMD...: stdout to OUT.json, stderr to OUT.log
    local out=$1; shift
    echo "+ $*" >&2
    if ! "$@" > "$out" 2> "${out%.json}.log"; then
        failures=$((failures + 1))
        echo "FAILED: $*" >&2
        sed 's/^/    /' "${out%.json}.log" >&2
        mv "$out" "${out%.json}.failed"
        echo "$*" >> "${out%.json}.failed"
    fi
}

for entry in "${models[@]}"; do
    name=${entry%%$'\t'*}
    file=$zoo/${entry#*$'\t'}
    echo "== $name ($file)" >&2
    rm -f "$res/$name".*.json "$res/$name".*.failed "$res/$name".*.log
    start=$SECONDS
    run "$res/$name.eval.json" "$bin" eval "$file" "${data[@]}" "${limit[@]}" --json
    run "$res/$name.float.json" "$bin" simulate "$file" "${calib[@]}" "${data[@]}" "${limit[@]}" \
        --timesteps 16,32,64,128,256 --json
    run "$res/$name.bits8.json" "$bin" simulate "$file" "${calib[@]}" "${data[@]}" "${limit[@]}" \
        --bits 8 --timesteps 32,64 --json
    run "$res/$name.cutoff.json" "$bin" simulate "$file" "${calib[@]}" "${data[@]}" "${limit[@]}" \
        --timesteps 64 --cutoff auto --json
    echo "   $((SECONDS - start)) s" >&2
done

python3 - "$res" "$zoo/zoo.json" "${#limit[@]}" > "$res/table.md" <<'EOF'
import json, os, sys

res, zoo_path, limited = sys.argv[1], sys.argv[2], sys.argv[3] != "0"
zoo = json.load(open(zoo_path))["models"]
FLOAT_T, BITS_T = [16, 32, 64, 128, 256], [32, 64]

def load(name, kind):
    path = os.path.join(res, f"{name}.{kind}.json")
    return json.load(open(path)) if os.path.exists(path) else None

def by_t(doc):
    return {r["timesteps"]: r["accuracy"] for r in doc["runs"]} if doc else {}

head = (["model", "writer", "CNN %"] + ([] if limited else ["Keras %"])
        + [f"T={t}" for t in FLOAT_T] + [f"8b T={t}" for t in BITS_T]
        + ["cutoff loss", "cutoff steps"])
rows, cols, notes = [], {h: [] for h in head}, []
n_seen = set()
settings = set()
for m in zoo:
    name = m["name"]
    ev, fl, b8, co = (load(name, k) for k in ("eval", "float", "bits8", "cutoff"))
    cnn = ev["accuracy"] if ev else None
    for doc in (ev, fl, b8, co):
        if doc:
            n_seen.add(doc["n"])
    if fl:
        scales = "per-channel" if fl.get("per_channel") else "per-layer"
        changes = fl.get("conversion", {}).get("changes", [])
        calibrated = [c for c in changes if "calibrated the initial potentials" in c]
        per = "per channel" if any("per channel" in c for c in calibrated) else "per layer"
        h = f"initial potentials calibrated {per}" if calibrated else f"h = {fl.get('h')}"
        most = max(fl.get("burst") or [1])
        after = fl.get("burst_after", 0)
        burst = f"burst spikes after {after} steps" if most > 1 else "one spike a step"
        settings.add(f"{fl.get('norm')} {scales} scales, {h}, {burst}")
    row = {"model": name, "writer": m["writer"]}
    row["CNN %"] = 100 * cnn if cnn is not None else None
    if not limited:
        row["Keras %"] = 100 * m["accuracy"]
        if cnn is not None and abs(cnn - m["accuracy"]) > 1e-9:
            notes.append(f"{name}: snncc eval {100*cnn:.2f} % != Keras {100*m['accuracy']:.2f} %")
    for doc in (fl, b8, co):
        if doc and cnn is not None and abs(doc["cnn_accuracy"] - cnn) > 1e-9:
            notes.append(f"{name}: simulate's cnn_accuracy {doc['cnn_accuracy']} != eval's {cnn}")
    loss = lambda acc: None if acc is None or cnn is None else 100 * (cnn - acc)  # noqa: E731
    f, b = by_t(fl), by_t(b8)
    for t in FLOAT_T:
        row[f"T={t}"] = loss(f.get(t))
    for t in BITS_T:
        row[f"8b T={t}"] = loss(b.get(t))
    c = co.get("cutoff") if co else None
    row["cutoff loss"] = loss(c["accuracy"]) if c else None
    row["cutoff steps"] = c["mean_timesteps"] if c else None
    for h in head[2:]:
        if row[h] is not None:
            cols[h].append(row[h])
    rows.append(row)

def fmt(h, v):
    if v is None:
        return "ERR"
    if h in ("CNN %", "Keras %"):
        return f"{v:.2f}"
    if h == "cutoff steps":
        return f"{v:.1f}"
    return f"{v:+.2f}"

n = "/".join(str(x) for x in sorted(n_seen)) or "?"
print(f"Conversion loss over the zoo (snncc defaults: {'; '.join(sorted(settings)) or '?'}), {n} test digits.")
print("Loss columns: CNN accuracy (snncc eval) minus SNN accuracy, percentage points "
      "(positive = worse). T=...: float SNN; 8b: `--bits 8`; cutoff: `--timesteps 64 "
      "--cutoff auto` (float), loss and mean steps per digit.")
print()
print("| " + " | ".join(head) + " |")
print("|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|")
for row in rows:
    print("| " + " | ".join([row["model"], row["writer"]] + [fmt(h, row[h]) for h in head[2:]]) + " |")
worst = ["**worst case**", ""]
for h in head[2:]:
    v = cols[h]
    if not v:
        worst.append("ERR")
    elif h in ("CNN %", "Keras %"):
        worst.append(fmt(h, min(v)) + " (min)")
    else:
        worst.append(fmt(h, max(v)))
print("| " + " | ".join(worst) + " |")
for note in notes:
    print(f"\nnote: {note}")
EOF
cat "$res/table.md"
echo >&2
echo "results: $res/ (table.md, <model>.{eval,float,bits8,cutoff}.json)" >&2
if [ "$failures" -gt 0 ]; then
    echo "$failures snncc command(s) failed; see $res/*.failed" >&2
    exit 1
fi
