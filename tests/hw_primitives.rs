//! The hand-written memory primitives under Icarus Verilog and Verilator,
//! with self-checking testbenches: the block-RAM wrapper (initialisation
//! from a memory image rendered by `codegen::render_mem`, registered read-first
//! reads, writes) and the spike list (append in order, read back, clear).
//! Both are lint-clean under `verilator --lint-only -Wall`.

mod common;

use common::{root, run_tool, simulate_both};
use snncc::quant::arith::fit;
use snncc::quant::Overflow;

#[test]
fn ram_initialises_reads_one_cycle_late_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mem = dir.path().join("w.mem");
    // Values i * 37 mod 4096 as 12-bit words, rendered as snncc renders
    // every memory image (so its header is proven readable by both tools).
    let values: Vec<i64> = (0..40)
        .map(|i| fit(i * 37 % 4096, 12, Overflow::Wrap).0)
        .collect();
    let image = snncc::codegen::render_mem("test weights, Q1.11", "index = address", &values, 12);
    std::fs::write(&mem, image).unwrap();
    let tb = dir.path().join("tb.v");
    std::fs::write(
        &tb,
        format!(
            r#"`timescale 1ns/1ps
module tb;
    reg clk = 0;
    reg [5:0] addr = 0;
    reg we = 0;
    reg [11:0] wdata = 0;
    wire [11:0] rdata;
    integer i, errors = 0;
    snn_ram #(.WIDTH(12), .DEPTH(40), .ADDR_BITS(6), .INIT("{mem}")) dut (
        .clk(clk), .addr(addr), .we(we), .wdata(wdata), .rdata(rdata));
    task tick; begin #1 clk = 1; #1 clk = 0; end endtask
    initial begin
        for (i = 0; i < 40; i = i + 1) begin
            addr = i[5:0];
            tick;
            if (rdata !== (i * 37) % 4096) begin
                $display("read %0d: got %h", i, rdata);
                errors = errors + 1;
            end
        end
        // Write 5 -> 0xabc: the same cycle's read returns the old value.
        addr = 5; we = 1; wdata = 12'habc;
        tick;
        if (rdata !== 12'd185) errors = errors + 1;
        we = 0;
        tick;
        if (rdata !== 12'habc) errors = errors + 1;
        if (errors != 0) $fatal(1, "%0d errors", errors);
        $display("RAM PASS");
        $finish;
    end
endmodule
"#,
            mem = mem.display()
        ),
    )
    .unwrap();
    simulate_both(dir.path(), &tb, &[root().join("hw/snn_ram.v")], "RAM PASS");
}

#[test]
fn spike_list_appends_in_order_and_clears() {
    let dir = tempfile::tempdir().unwrap();
    let tb = dir.path().join("tb.v");
    std::fs::write(
        &tb,
        r#"`timescale 1ns/1ps
module tb;
    reg clk = 0;
    reg clear = 0, push = 0;
    reg [3:0] push_addr = 0, read_index = 0;
    wire [3:0] read_addr;
    wire [4:0] count;
    integer i, errors = 0;
    snn_spike_list #(.ADDR_BITS(4), .DEPTH(16), .COUNT_BITS(5)) dut (
        .clk(clk), .clear(clear), .push(push), .push_addr(push_addr),
        .read_index(read_index), .read_addr(read_addr), .count(count));
    task tick; begin #1 clk = 1; #1 clk = 0; end endtask
    initial begin
        clear = 1; tick; clear = 0;
        // Neurons 1, 4, 9, 15 fire.
        push = 1;
        push_addr = 1; tick;
        push_addr = 4; tick;
        push_addr = 9; tick;
        push_addr = 15; tick;
        push = 0;
        if (count !== 4) errors = errors + 1;
        for (i = 0; i < 4; i = i + 1) begin
            read_index = i[3:0];
            tick;
            if (read_addr !== (i == 0 ? 1 : i == 1 ? 4 : i == 2 ? 9 : 15)) errors = errors + 1;
        end
        clear = 1; tick; clear = 0;
        if (count !== 0) errors = errors + 1;
        // A full step: all 16 fire.
        push = 1;
        for (i = 0; i < 16; i = i + 1) begin push_addr = i[3:0]; tick; end
        push = 0;
        if (count !== 16) errors = errors + 1;
        read_index = 15; tick;
        if (read_addr !== 15) errors = errors + 1;
        if (errors != 0) $fatal(1, "%0d errors", errors);
        $display("LIST PASS");
        $finish;
    end
endmodule
"#,
    )
    .unwrap();
    simulate_both(
        dir.path(),
        &tb,
        &[root().join("hw/snn_spike_list.v")],
        "LIST PASS",
    );
}

#[test]
fn primitives_are_lint_clean() {
    for (file, params) in [
        (
            "snn_ram.v",
            vec!["-GWIDTH=72", "-GDEPTH=1000", "-GADDR_BITS=10"],
        ),
        ("snn_ram.v", vec![]),
        (
            "snn_spike_list.v",
            vec!["-GADDR_BITS=12", "-GDEPTH=3456", "-GCOUNT_BITS=13"],
        ),
        ("snn_spike_list.v", vec![]),
    ] {
        run_tool(
            std::process::Command::new("verilator")
                .args(["--lint-only", "-Wall"])
                .args(params)
                .arg(root().join("hw").join(file)),
        );
    }
}
