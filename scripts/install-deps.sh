#!/usr/bin/env bash
# Install what building and testing snncc needs on a fresh Debian machine.
# snncc itself is pure Rust (no C libraries); it needs a Rust toolchain
# (1.85 or newer) and a C compiler for the linker. The hardware tests need
# the Verilog tools from Debian: Icarus Verilog, Verilator (with g++ and
# make to build its simulations), Yosys, and nextpnr-ice40 for the iCE40
# Fmax in `snncc synth`.
set -euo pipefail
need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v iverilog >/dev/null 2>&1 || need_apt+=(iverilog)
command -v verilator >/dev/null 2>&1 || need_apt+=(verilator)
command -v yosys >/dev/null 2>&1 || need_apt+=(yosys)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
command -v make >/dev/null 2>&1 || need_apt+=(make)
command -v nextpnr-ice40 >/dev/null 2>&1 || need_apt+=(nextpnr-ice40)
if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found. Install a Rust toolchain >= 1.85 (https://rustup.rs) and rerun." >&2
    exit 1
fi
if [ ${#need_apt[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
    else
        sudo apt-get update -qq && sudo apt-get install -y -qq "${need_apt[@]}"
    fi
fi
