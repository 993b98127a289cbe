//! The hand-written memory primitives under Icarus Verilog and Verilator,
//! with self-checking testbenches: the block-RAM wrapper (initialisation
//! from a memory image rendered by `codegen::render_mem`, registered read-first
//! reads, writes) and the spike list (append in order, read back, clear).
//! All primitives are lint-clean under `verilator --lint-only -Wall`, and
//! Yosys maps the dense engine's memories to block RAM.

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
fn spike_list_halves_alternate_at_each_flip() {
    let dir = tempfile::tempdir().unwrap();
    let tb = dir.path().join("tb.v");
    std::fs::write(
        &tb,
        r#"`timescale 1ns/1ps
module tb;
    reg clk = 0;
    reg rst = 1, flip = 0, push = 0;
    reg [11:0] push_addr = 0;
    reg [4:0] read_index = 0;
    wire [11:0] read_addr;
    wire [4:0] count;
    integer i, errors = 0;
    snn_spike_list #(.ENTRY_BITS(12), .DEPTH(16), .INDEX_BITS(5)) dut (
        .clk(clk), .rst(rst), .flip(flip), .push(push), .push_entry(push_addr),
        .read_index(read_index), .read_entry(read_addr), .count(count));
    task tick; begin #1 clk = 1; #1 clk = 0; end endtask
    initial begin
        tick; rst = 0;
        // A step's entries (any width: {px, g, mask} in the designs).
        push = 1;
        push_addr = 1; tick;
        push_addr = 4; tick;
        push_addr = 9; tick;
        push_addr = 12'hf0f; tick;
        push = 0;
        // Not readable before the flip: the reader sees the other half.
        if (count !== 0) errors = errors + 1;
        flip = 1; tick; flip = 0;
        if (count !== 4) errors = errors + 1;
        // The next step is written while this one is read.
        push = 1;
        for (i = 0; i < 4; i = i + 1) begin
            push_addr = 12'h100 + i[11:0];
            read_index = i[4:0];
            tick;
            if (read_addr !== (i == 0 ? 1 : i == 1 ? 4 : i == 2 ? 9 : 12'hf0f)) errors = errors + 1;
        end
        push = 0;
        flip = 1; tick; flip = 0;
        if (count !== 4) errors = errors + 1;
        read_index = 2; tick;
        if (read_addr !== 12'h102) errors = errors + 1;
        // An empty step, then a full one: all 16 fire.
        flip = 1; tick; flip = 0;
        if (count !== 0) errors = errors + 1;
        push = 1;
        for (i = 0; i < 16; i = i + 1) begin push_addr = {8'd0, i[3:0]}; tick; end
        push = 0;
        flip = 1; tick; flip = 0;
        if (count !== 16) errors = errors + 1;
        read_index = 15; tick;
        if (read_addr !== 15) errors = errors + 1;
        // Reset empties both halves.
        rst = 1; tick; rst = 0;
        if (count !== 0) errors = errors + 1;
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
fn a_spike_list_of_three_steps_lags_its_reader_two_flips() {
    // A residual add's shortcut list (docs/hardware.md, "Residual adds"):
    // with HALVES = 3 the reader gets the step pushed two beats before,
    // each step with its own count, while the next two are written.
    let dir = tempfile::tempdir().unwrap();
    let tb = dir.path().join("tb.v");
    std::fs::write(
        &tb,
        r#"`timescale 1ns/1ps
module tb;
    reg clk = 0;
    reg rst = 1, flip = 0, push = 0;
    reg [7:0] push_entry = 0;
    reg [2:0] read_index = 0;
    wire [7:0] read_entry;
    wire [2:0] count;
    integer step, i, errors = 0;
    snn_spike_list #(.ENTRY_BITS(8), .DEPTH(4), .INDEX_BITS(3), .HALVES(3)) dut (
        .clk(clk), .rst(rst), .flip(flip), .push(push), .push_entry(push_entry),
        .read_index(read_index), .read_entry(read_entry), .count(count));
    task tick; begin #1 clk = 1; #1 clk = 0; end endtask
    initial begin
        tick; rst = 0;
        // Beat b pushes (b % 4) + 1 entries {b, i}; from beat 2 on, the
        // reader sees beat b - 2's.
        for (step = 0; step < 9; step = step + 1) begin
            flip = 1; tick; flip = 0;
            if (step >= 2) begin
                if (count !== ((step - 2) % 4) + 1) errors = errors + 1;
            end else if (count !== 0) begin
                errors = errors + 1;
            end
            push = 1;
            for (i = 0; i <= step % 4; i = i + 1) begin
                push_entry = {step[3:0], i[3:0]};
                read_index = i[2:0];
                tick;
                if (step >= 2 && i <= (step - 2) % 4 && read_entry !== {step[3:0] - 4'd2, i[3:0]})
                    errors = errors + 1;
            end
            push = 0;
        end
        rst = 1; tick; rst = 0;
        if (count !== 0) errors = errors + 1;
        if (errors != 0) $fatal(1, "%0d errors", errors);
        $display("RING PASS");
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
        "RING PASS",
    );
}

/// The analog layer's registered multiplier: the behavioural register and
/// the ECP5 instance (`SNNCC_ECP5_DSP`, simulated with sim/MULT18X18D.v)
/// give `clr ? 0 : a * b` one cycle later, for signed factors of several
/// widths up to the DSP's 17 + 17 bits, at the extremes and at random.
#[test]
fn registered_multiplier_matches_the_product_on_both_paths() {
    for (a_bits, b_bits) in [(8u32, 9u32), (17, 17), (12, 3)] {
        for ecp5 in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let tb = dir.path().join("tb.v");
            let p_bits = a_bits + b_bits;
            std::fs::write(
                &tb,
                format!(
                    r#"`timescale 1ns/1ps
module tb;
    reg clk = 0;
    reg clr = 0;
    reg signed [{a1}:0] a = 0;
    reg signed [{b1}:0] b = 0;
    wire signed [{p1}:0] p;
    reg signed [{p1}:0] want;
    integer i, errors = 0;
    snn_mul_reg #(.A_BITS({a_bits}), .B_BITS({b_bits})) dut (
        .clk(clk), .clr(clr), .a(a), .b(b), .p(p));
    task tick; begin #1 clk = 1; #1 clk = 0; end endtask
    initial begin
        for (i = 0; i < 400; i = i + 1) begin
            // The first four: both extremes of each factor.
            a = (i == 0 || i == 1) ? {{1'b1, {{{a1}{{1'b0}}}}}} : (i == 2 || i == 3) ? {{1'b0, {{{a1}{{1'b1}}}}}} : $random;
            b = (i == 0 || i == 2) ? {{1'b1, {{{b1}{{1'b0}}}}}} : (i == 1 || i == 3) ? {{1'b0, {{{b1}{{1'b1}}}}}} : $random;
            clr = (i % 7 == 5);
            want = clr ? 0 : $signed(a) * $signed(b);
            tick;
            if (p !== want) begin
                $display("a %0d b %0d clr %0d: got %0d want %0d", a, b, clr, p, want);
                errors = errors + 1;
            end
        end
        if (errors != 0) $fatal(1, "%0d errors", errors);
        $display("MUL PASS");
        $finish;
    end
endmodule
"#,
                    a1 = a_bits - 1,
                    b1 = b_bits - 1,
                    p1 = p_bits - 1,
                ),
            )
            .unwrap();
            let mut sources = vec![];
            if ecp5 {
                let define = dir.path().join("define.v");
                std::fs::write(&define, "`define SNNCC_ECP5_DSP\n").unwrap();
                sources.push(define);
            }
            sources.push(root().join("hw/snn_mul_reg.v"));
            if ecp5 {
                sources.push(root().join("sim/MULT18X18D.v"));
            }
            simulate_both(dir.path(), &tb, &sources, "MUL PASS");
        }
    }
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
            vec!["-GENTRY_BITS=30", "-GDEPTH=3456", "-GINDEX_BITS=12"],
        ),
        (
            "snn_spike_list.v",
            vec!["-GENTRY_BITS=30", "-GDEPTH=256", "-GINDEX_BITS=9"],
        ),
        ("snn_spike_list.v", vec![]),
        (
            "snn_spike_list.v",
            vec![
                "-GENTRY_BITS=17",
                "-GDEPTH=156",
                "-GINDEX_BITS=8",
                "-GHALVES=3",
            ],
        ),
        ("snn_spike_list.v", vec!["-GHALVES=5"]),
    ] {
        run_tool(
            std::process::Command::new("verilator")
                .args(["--lint-only", "-Wall"])
                .args(params)
                .arg(root().join("hw").join(file)),
        );
    }
    run_tool(
        std::process::Command::new("verilator")
            .args(["--lint-only", "-Wall", "-GWIDTH=40", "-GAW=3"])
            .arg(root().join("hw/snn_fifo.v")),
    );
    // The engine in each mode, with what it instantiates (defaults, and
    // widths consistent with a conv-sized layer as the generator sets them).
    let conv = [
        "-GLANES=8",
        "-GSRC_LANES=8",
        "-GSRC_C=6",
        "-GSRC_PX=144",
        "-GG=2",
        "-GN_GROUPS=128",
        "-GLAST_MASK=8'hff",
        "-GSRC_PX_BITS=8",
        "-GSRC_G_BITS=1",
        "-GLIST_BITS=8",
        "-GPX_BITS=6",
        "-GG_BITS=1",
        "-GQ_BITS=7",
        "-GLQ_DEPTH=26",
        "-GLQ_BITS=5",
        "-GN_TAPW=400",
        "-GTAPW_BITS=9",
        "-GTAP_COUNT_BITS=3",
        "-GWB_BITS=9",
        "-GW_DEPTH=300",
        "-GWA_BITS=9",
        "-GCOUNT_BITS=7",
    ];
    for extra in [
        vec![],
        vec!["-GCOUNTS=1", "-GSLOTS=5"],
        vec![
            "-GANALOG=1",
            "-GX_BITS=9",
            "-GP_SHIFT=3",
            "-GIN_LEN=864",
            "-GLIST_BITS=10",
            "-GSLOTS=2",
            "-GUPD_SER=8",
        ],
        vec!["-GMODE=1", "-GACC_BITS=20", "-GFIRES=0", "-GUPD_SER=4"],
        vec!["-GMODE=2", "-GACC_BITS=7", "-GPXS_BITS=6"],
        // A gate whose source has one group per pixel: its source counts
        // are addressed by pixel alone.
        vec!["-GMODE=2", "-GACC_BITS=7", "-GPXS_BITS=6", "-GG=1"],
        // A residual add: two source lists walked in turn.
        vec!["-GGROUPS=2", "-GSLOTS=3", "-GUPD_SER=2"],
        // The analog input kept and replayed every step, merged state.
        vec![
            "-GANALOG=1",
            "-GREPLAY=1",
            "-GMERGED=1",
            "-GX_BITS=9",
            "-GIN_LEN=864",
            "-GLIST_BITS=10",
            "-GSLOTS=2",
        ],
        // Weights off chip, three cycles away.
        vec!["-GW_EXT=3", "-GMERGED=1", "-GACC_BITS=20"],
    ] {
        let params: Vec<&str> = if extra.is_empty() {
            vec![]
        } else {
            conv.iter().copied().chain(extra).collect()
        };
        run_tool(
            std::process::Command::new("verilator")
                .args(["--lint-only", "-Wall", "--top-module", "snn_layer"])
                .args(params)
                .arg(root().join("hw/snn_layer.v"))
                .arg(root().join("hw/snn_mul_reg.v"))
                .arg(root().join("hw/snn_update.v"))
                .arg(root().join("hw/snn_if_fit.v"))
                .arg(root().join("hw/snn_fifo.v")),
        );
    }
    for params in [
        vec![],
        vec![
            "-GLANES=16",
            "-GC=10",
            "-GQ_BITS=1",
            "-GVBITS=17",
            "-GIDX_BITS=4",
            "-GN_BITS=4",
            "-GCUTOFF=1",
            "-GMARGIN=19'd40",
        ],
    ] {
        run_tool(
            std::process::Command::new("verilator")
                .args(["--lint-only", "-Wall", "--top-module", "snn_readout"])
                .args(params)
                .arg(root().join("hw/snn_readout.v")),
        );
    }
}

/// Yosys maps a layer engine's memories to iCE40 block RAM (a
/// combinational read would put the weights in LUTs: STYLE.md's pitfall),
/// for a dense 64 x 32 layer with 8-bit weights in 4 lanes (16 kbit of
/// weights: at least 4 blocks), and its pipeline stays small.
#[test]
fn layer_memories_map_to_block_ram() {
    let dir = tempfile::tempdir().unwrap();
    let text = synth_dense_layer(dir.path(), "", "synth_ice40");
    let count = |cell: &str| cell_count(&text, cell);
    assert!(count("SB_RAM40_4K") >= 4, "{text}");
    // The 16 kbit of weights in flip-flops would need sixteen thousand.
    let ffs: u64 = [
        "SB_DFF",
        "SB_DFFE",
        "SB_DFFSR",
        "SB_DFFESR",
        "SB_DFFSS",
        "SB_DFFESS",
    ]
    .iter()
    .map(|c| count(c))
    .sum();
    assert!(ffs < 2000, "{ffs} flip-flops:\n{text}");
}

/// With SNNCC_LUTRAM (what `snncc synth --target ecp5` defines) the same
/// layer's memories of at most 8 kbit (biases, currents, membranes, taps,
/// offsets) are distributed RAM and only the 16-kbit weight table takes a
/// DP16KD, as codegen::memories counts it.
#[test]
fn small_memories_go_to_distributed_ram_on_an_ecp5() {
    let dir = tempfile::tempdir().unwrap();
    let text = synth_dense_layer(dir.path(), "-DSNNCC_LUTRAM", "synth_ecp5");
    assert_eq!(cell_count(&text, "DP16KD"), 1, "{text}");
    assert!(cell_count(&text, "TRELLIS_DPR16X4") > 0, "{text}");
}

/// The count of `cell` in a Yosys `stat` report.
fn cell_count(text: &str, cell: &str) -> u64 {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|words| words.first() == Some(&cell))
        .and_then(|words| words.get(1)?.parse().ok())
        .unwrap_or(0)
}

/// Synthesise a dense 64 x 32 layer engine (8-bit weights in 4 lanes, 16
/// kbit of them) with `synth` after reading the engine with `defines`;
/// Yosys' `stat` report.
fn synth_dense_layer(dir: &std::path::Path, defines: &str, synth: &str) -> String {
    use snncc::codegen::{render_mem, render_words};
    let values: Vec<i64> = (0..64 * 32).map(|i| (i * 97 % 251) - 125).collect();
    let words: Vec<&[i64]> = values.chunks(4).collect();
    let file = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let w = file("w.mem", render_words("w", "(input) * 8 + g", &words, 8));
    let b = file("b.mem", render_words("b", "g", &words[..8], 8));
    let taps = file("t.mem", render_mem("taps", "one tap", &[0], 2));
    let offs = file("o.mem", render_mem("offsets", "start 0, count 1", &[1], 2));
    let stat = dir.join("stat.txt");
    let script = format!(
        "read_verilog {defines} {hw}/snn_if_fit.v {hw}/snn_fifo.v {hw}/snn_update.v {hw}/snn_layer.v; \
         chparam -set LANES 4 -set SRC_LANES 4 -set SRC_C 64 -set G 8 -set N_GROUPS 8 -set LAST_MASK 15 \
         -set SRC_G_BITS 4 -set LIST_BITS 5 -set G_BITS 3 -set Q_BITS 3 -set LQ_DEPTH 8 -set LQ_BITS 3 \
         -set WB_BITS 9 -set W_DEPTH 512 -set WA_BITS 9 -set ACC_BITS 16 -set MEMBRANE_BITS 20 -set THETA_BITS 12 \
         -set W_INIT \"{w}\" -set B_INIT \"{b}\" -set TAP_INIT \"{taps}\" -set OFFS_INIT \"{offs}\" snn_layer; \
         {synth} -top snn_layer; tee -q -o {stat} stat",
        hw = root().join("hw").display(),
        stat = stat.display(),
    );
    run_tool(std::process::Command::new("yosys").args(["-q", "-p", &script]));
    std::fs::read_to_string(&stat).unwrap()
}
