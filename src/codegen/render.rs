//! Printing a decided `Design` into files: RTL from the askama templates
//! plus the embedded primitives, and one memory image per memory.

use std::path::{Path, PathBuf};

use askama::Template;

use super::design::{DenseEngine, Design};
use super::{render_mem, PRIMITIVES};

#[derive(Template)]
#[template(path = "top.v")]
struct Top<'a> {
    d: &'a Design,
    last: &'a DenseEngine,
    top: &'a str,
    mem_dir: String,
}

#[derive(Template)]
#[template(path = "tb.v")]
struct Testbench<'a> {
    top: &'a str,
    images: usize,
    input_len: usize,
    input_bits: u32,
    input_addr_bits: u32,
    out_len: usize,
    out_bits: u32,
    membrane_bits: u32,
    inputs_mem: String,
    expected_mem: String,
    vcd_path: String,
}

/// The name of the generated top module.
pub fn top_name(design: &Design) -> String {
    let clean: String = design
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("snn_{clean}")
}

/// Write `rtl/` (top level and primitives) and `mem/` (weights and biases)
/// under `out`; returns the RTL files in compile order.
pub fn write_design(design: &Design, out: &Path) -> std::io::Result<Vec<PathBuf>> {
    let (rtl, mem) = (out.join("rtl"), out.join("mem"));
    std::fs::create_dir_all(&rtl)?;
    std::fs::create_dir_all(&mem)?;
    let mem = std::fs::canonicalize(&mem)?;
    for e in &design.engines {
        let layout = format!(
            "{} x {} weights, index = input * {} + unit",
            e.n_in, e.n_out, e.n_out
        );
        std::fs::write(
            mem.join(format!("{}_weights.mem", e.name)),
            render_mem(
                &format!("{} weights, {} bits", e.name, e.w_bits),
                &layout,
                &e.weights,
                e.w_bits,
            ),
        )?;
        std::fs::write(
            mem.join(format!("{}_bias.mem", e.name)),
            render_mem(
                &format!("{} bias, {} bits", e.name, e.b_bits),
                "index = unit",
                &e.bias,
                e.b_bits,
            ),
        )?;
    }
    let mut files = Vec::new();
    for (name, source) in PRIMITIVES {
        let path = rtl.join(name);
        std::fs::write(&path, source)?;
        files.push(path);
    }
    let top = top_name(design);
    let last = design.engines.last().expect("a design has a readout");
    let text = Top {
        d: design,
        last,
        top: &top,
        mem_dir: mem.display().to_string(),
    }
    .render()
    .expect("the template only prints decided values");
    let path = rtl.join(format!("{top}.v"));
    std::fs::write(&path, text + "\n")?;
    files.push(path);
    Ok(files)
}

/// Write `tb/tb.v` with its input and expected-output images (run with
/// `+vcd` it also writes `tb/waves.vcd`): `inputs` are
/// raw input words per image, `expected` the readout's raw potentials per
/// image after the design's time steps.
pub fn write_testbench(
    design: &Design,
    out: &Path,
    inputs: &[Vec<i64>],
    expected: &[Vec<i64>],
) -> std::io::Result<PathBuf> {
    let tb = out.join("tb");
    std::fs::create_dir_all(&tb)?;
    let tb = std::fs::canonicalize(&tb)?;
    let last = design.engines.last().expect("a design has a readout");
    let flat = |rows: &[Vec<i64>]| rows.iter().flatten().copied().collect::<Vec<_>>();
    let inputs_mem = tb.join("inputs.mem");
    std::fs::write(
        &inputs_mem,
        render_mem(
            "inputs",
            &format!("image * {} + pixel", design.input_len),
            &flat(inputs),
            design.input_bits,
        ),
    )?;
    let expected_mem = tb.join("expected.mem");
    std::fs::write(
        &expected_mem,
        render_mem(
            "expected readout potentials (bit-accurate simulator)",
            &format!("image * {} + neuron", last.n_out),
            &flat(expected),
            last.membrane_bits,
        ),
    )?;
    let text = Testbench {
        top: &top_name(design),
        images: inputs.len(),
        input_len: design.input_len,
        input_bits: design.input_bits,
        input_addr_bits: design.input_addr_bits,
        out_len: last.n_out,
        out_bits: last.out_bits,
        membrane_bits: last.membrane_bits,
        inputs_mem: inputs_mem.display().to_string(),
        expected_mem: expected_mem.display().to_string(),
        vcd_path: tb.join("waves.vcd").display().to_string(),
    }
    .render()
    .expect("the template only prints decided values");
    let path = tb.join("tb.v");
    std::fs::write(&path, text + "\n")?;
    Ok(path)
}
