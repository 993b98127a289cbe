//! The hand-written IF neuron (hw/snn_if_neuron.v) against the arithmetic
//! specification as implemented in `quant::arith` (docs/fixed-point.md
//! §4.2–4.3): random vectors, saturate and wrap, narrow and 64-bit widths,
//! with values chosen to overflow often, and burst spikes (§4.2: up to 3
//! and 16 spikes a step, against `snn::burst::fire_again`, in steps before
//! and after bursts begin); run under Icarus Verilog for every
//! configuration and under Verilator for one, and lint-checked.
//! Needs iverilog and verilator (scripts/install-deps.sh installs them).

mod common;

use std::path::Path;
use std::process::Command;

use common::{root, run_tool as run};
use snncc::quant::arith::{fit, if_step, readout_step};
use snncc::quant::Overflow;
use snncc::snn::burst::fire_again;

#[derive(Debug, Clone, Copy)]
struct Config {
    membrane: u32,
    acc: u32,
    theta: u32,
    saturate: bool,
    fires: bool,
    /// Spikes a step at most (burst spikes).
    burst: u32,
}

/// Two's complement hex of `raw` in `bits` bits.
fn hex(raw: i64, bits: u32) -> String {
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    format!(
        "{:0width$x}",
        raw as u64 & mask,
        width = bits.div_ceil(4) as usize
    )
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 11
    }

    /// A value of a `bits`-wide format, biased toward the ends of the range.
    fn value(&mut self, bits: u32) -> i64 {
        let raw = (self.next() << 11 | self.next() & 0x7ff) as i64;
        let v = fit(i128::from(raw), bits, Overflow::Wrap).0;
        match self.next() % 4 {
            0 => fit(i128::from(v) / 2, bits, Overflow::Wrap).0,
            1 => v >> (bits / 2),
            _ => v,
        }
    }
}

/// Write the vectors and a self-checking testbench; returns its path.
fn testbench(dir: &Path, cfg: Config, n: usize) -> std::path::PathBuf {
    let mut rng = Lcg(u64::from(cfg.membrane * 1000 + cfg.acc * 10 + cfg.theta));
    let overflow = if cfg.saturate {
        Overflow::Saturate
    } else {
        Overflow::Wrap
    };
    let mut files: [(String, String, u32); 8] = [
        ("v_in".into(), String::new(), cfg.membrane),
        ("current".into(), String::new(), cfg.acc),
        ("theta".into(), String::new(), cfg.theta),
        ("v_out".into(), String::new(), cfg.membrane),
        ("spike".into(), String::new(), 1),
        ("overflow".into(), String::new(), 1),
        ("fires".into(), String::new(), cfg.burst),
        ("bursting".into(), String::new(), 1),
    ];
    let mut bursts = 0;
    for _ in 0..n {
        let v = rng.value(cfg.membrane);
        let c = rng.value(cfg.acc);
        let t = rng.value(cfg.theta).max(1);
        let mut s = if cfg.fires {
            if_step(v, c, t, cfg.membrane, overflow)
        } else {
            readout_step(v, c, cfg.membrane, overflow)
        };
        // The further spikes of a burst, as the simulators fire them, in
        // the steps where bursts have begun (three in four).
        let bursting = rng.next() % 4 != 0;
        let mut spikes = Vec::from_iter(s.spike.then_some(0));
        let mut after = [s.v];
        if s.spike && bursting {
            fire_again(&mut after, t, cfg.burst - 1, &mut spikes);
        }
        s.v = after[0];
        bursts += usize::from(spikes.len() > 1);
        let thermometer = (1i64 << spikes.len()) - 1;
        let row = [
            v,
            c,
            t,
            s.v,
            i64::from(s.spike),
            i64::from(s.overflow),
            thermometer,
            i64::from(bursting),
        ];
        for (f, x) in files.iter_mut().zip(row) {
            f.1.push_str(&hex(x, f.2));
            f.1.push('\n');
        }
    }
    assert!(
        cfg.burst == 1 || bursts > n / 10,
        "{cfg:?}: only {bursts} bursts"
    );
    let mut decls = String::new();
    let mut loads = String::new();
    for (name, body, bits) in &files {
        let path = dir.join(format!("{name}.mem"));
        std::fs::write(&path, format!("// {name}, {bits} bits\n{body}")).unwrap();
        decls.push_str(&format!(
            "    reg [{}:0] m_{name} [0:{}];\n",
            bits - 1,
            n - 1
        ));
        loads.push_str(&format!(
            "        $readmemh(\"{}\", m_{name});\n",
            path.display()
        ));
    }
    let tb = format!(
        r#"`timescale 1ns/1ps
module tb;
{decls}    reg signed [{m1}:0] v_in;
    reg signed [{a1}:0] current;
    reg signed [{t1}:0] theta;
    wire signed [{m1}:0] v_out;
    wire spike, overflow;
    wire [{b1}:0] fires;
    reg bursting;
    integer i, errors;
    snn_if_neuron #(.MEMBRANE_BITS({m}), .ACC_BITS({a}), .THETA_BITS({t}), .SATURATE({sat}), .FIRES({fires}), .BURST({b}))
        dut (.v_in(v_in), .current(current), .theta(theta), .bursting(bursting), .v_out(v_out),
             .spike(spike), .fires(fires), .overflow(overflow));
    initial begin
{loads}        errors = 0;
        for (i = 0; i < {n}; i = i + 1) begin
            v_in = m_v_in[i];
            current = m_current[i];
            theta = m_theta[i];
            bursting = m_bursting[i][0];
            #1;
            if (v_out !== m_v_out[i] || spike !== m_spike[i][0] || overflow !== m_overflow[i][0]
                || fires !== m_fires[i]) begin
                if (errors < 5)
                    $display("MISMATCH %0d: v_in=%h current=%h theta=%h bursting=%b got v=%h s=%b f=%b o=%b want v=%h s=%b f=%b o=%b",
                             i, v_in, current, theta, bursting, v_out, spike, fires, overflow, m_v_out[i], m_spike[i][0],
                             m_fires[i], m_overflow[i][0]);
                errors = errors + 1;
            end
        end
        if (errors != 0) $fatal(1, "%0d mismatches", errors);
        $display("PASS %0d", {n});
        $finish;
    end
endmodule
"#,
        m = cfg.membrane,
        m1 = cfg.membrane - 1,
        a = cfg.acc,
        a1 = cfg.acc - 1,
        t = cfg.theta,
        t1 = cfg.theta - 1,
        sat = u8::from(cfg.saturate),
        fires = u8::from(cfg.fires),
        b = cfg.burst,
        b1 = cfg.burst - 1,
    );
    let path = dir.join("tb.v");
    std::fs::write(&path, tb).unwrap();
    path
}

/// The neuron and the fit it is built from.
fn neuron() -> [std::path::PathBuf; 2] {
    [
        root().join("hw/snn_if_neuron.v"),
        root().join("hw/snn_if_fit.v"),
    ]
}

const CONFIGS: [Config; 9] = [
    Config {
        membrane: 8,
        acc: 6,
        theta: 7,
        saturate: true,
        fires: true,
        burst: 1,
    },
    Config {
        membrane: 8,
        acc: 6,
        theta: 7,
        saturate: false,
        fires: true,
        burst: 1,
    },
    Config {
        membrane: 5,
        acc: 9,
        theta: 12,
        saturate: true,
        fires: true,
        burst: 1,
    },
    Config {
        membrane: 21,
        acc: 13,
        theta: 12,
        saturate: true,
        fires: true,
        burst: 1,
    },
    Config {
        membrane: 17,
        acc: 17,
        theta: 17,
        saturate: false,
        fires: false,
        burst: 1,
    },
    Config {
        membrane: 64,
        acc: 64,
        theta: 64,
        saturate: true,
        fires: true,
        burst: 1,
    },
    Config {
        membrane: 64,
        acc: 40,
        theta: 50,
        saturate: false,
        fires: true,
        burst: 1,
    },
    // Burst spikes: narrow thresholds against wide membranes fire often
    // more than once, and a 16-spike burst reaches the widest j theta.
    Config {
        membrane: 10,
        acc: 9,
        theta: 6,
        saturate: true,
        fires: true,
        burst: 3,
    },
    Config {
        membrane: 21,
        acc: 20,
        theta: 13,
        saturate: false,
        fires: true,
        burst: 16,
    },
];

#[test]
fn icarus_matches_the_specification_in_every_configuration() {
    for cfg in CONFIGS {
        let dir = tempfile::tempdir().unwrap();
        let tb = testbench(dir.path(), cfg, 2000);
        let sim = dir.path().join("tb.vvp");
        run(Command::new("iverilog")
            .args(["-g2005", "-Wall", "-o"])
            .arg(&sim)
            .arg(&tb)
            .args(neuron()));
        let out = run(Command::new("vvp").arg("-n").arg(&sim));
        assert!(
            out.contains("PASS 2000") && !out.contains("WARNING") && !out.contains("ERROR"),
            "{cfg:?}:\n{out}"
        );
    }
}

#[test]
fn verilator_matches_the_specification() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = CONFIGS[3];
    let tb = testbench(dir.path(), cfg, 2000);
    let obj = dir.path().join("obj");
    run(Command::new("verilator")
        .args([
            "--binary",
            "--timing",
            "-Wno-fatal",
            "--top-module",
            "tb",
            "-Mdir",
        ])
        .arg(&obj)
        .arg(&tb)
        .args(neuron()));
    let out = run(&mut Command::new(obj.join("Vtb")));
    assert!(out.contains("PASS 2000"), "{out}");
}

#[test]
fn neuron_is_lint_clean_at_every_width() {
    for cfg in CONFIGS {
        run(Command::new("verilator")
            .args(["--lint-only", "-Wall"])
            .arg(format!("-GMEMBRANE_BITS={}", cfg.membrane))
            .arg(format!("-GACC_BITS={}", cfg.acc))
            .arg(format!("-GTHETA_BITS={}", cfg.theta))
            .arg(format!("-GSATURATE={}", u8::from(cfg.saturate)))
            .arg(format!("-GFIRES={}", u8::from(cfg.fires)))
            .arg(format!("-GBURST={}", cfg.burst))
            .args(neuron()));
    }
}
