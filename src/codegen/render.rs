//! Printing a decided `Design` into files: RTL from the askama templates
//! plus the embedded primitives, and one memory image per memory.

use std::path::{Path, PathBuf};

use askama::Template;

use super::design::{Design, Engine, EngineKind, Readout};
use super::mem::render_words;
use super::{render_mem, PRIMITIVES};

#[derive(Template)]
#[template(path = "top.v")]
struct Top<'a> {
    d: &'a Design,
    last: &'a Engine,
    top: &'a str,
    mem_dir: String,
}

#[derive(Template)]
#[template(path = "tb.v")]
struct Testbench<'a> {
    d: &'a Design,
    top: &'a str,
    images: usize,
    /// Read-out values are signed (potentials) or not (spike counts).
    signed: bool,
    inputs_mem: String,
    expected_mem: String,
    steps_mem: String,
    vcd_path: String,
    mem_dir: &'static str,
}

impl Top<'_> {
    /// A residual engine's two list counts side by side (group 0's in the
    /// low bits), each widened with zeros to the engine's index bits.
    fn src_counts(&self, i: usize) -> String {
        let bits = self.d.src_list_bits(i);
        let r = self.d.engines[i].residual.expect("a residual engine");
        let widened = |wire: String, own: u32| {
            if own < bits {
                format!("{}'d0, {wire}", bits - own)
            } else {
                wire
            }
        };
        format!(
            "{{{}, {}}}",
            widened(
                format!("short_count_{i}"),
                self.d.engines[r.layer].list_bits()
            ),
            widened(
                format!("list_count_{}", i - 1),
                self.d.engines[i - 1].list_bits()
            ),
        )
    }

    /// A residual engine's two list entries side by side, each as an entry
    /// of its virtual source (codegen::residual).
    fn src_entries(&self, i: usize) -> String {
        let e = &self.d.engines[i];
        let r = e.residual.expect("a residual engine");
        format!(
            "{{{}, {}}}",
            r.entry_wiring(1, &e.src, &format!("short_entry_{i}")),
            r.entry_wiring(0, &e.src, &format!("list_entry_{}", i - 1)),
        )
    }
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

/// The memory images' folder, relative to the build folder: every
/// `$readmemh` path is, so simulate and synthesise with the build folder as
/// the working directory.
pub const MEM_DIR: &str = "mem";

/// Write `rtl/` (top level and primitives) and `mem/` (weights and biases)
/// under `out`; returns the RTL files in compile order.
pub fn write_design(design: &Design, out: &Path) -> std::io::Result<Vec<PathBuf>> {
    let (rtl, mem) = (out.join("rtl"), out.join(MEM_DIR));
    std::fs::create_dir_all(&rtl)?;
    std::fs::create_dir_all(&mem)?;
    for e in &design.engines {
        write_memories(e, &mem)?;
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
        // `$readmemh` paths are relative to the build folder (simulators
        // and Yosys run there), so a folder moved or copied still works.
        mem_dir: MEM_DIR.to_string(),
    }
    .render()
    .expect("the template only prints decided values");
    let path = rtl.join(format!("{top}.v"));
    std::fs::write(&path, text + "\n")?;
    files.push(path);
    Ok(files)
}

/// The memory images of one engine: weights and bias words (neuron
/// layers), routing tables (all).
fn write_memories(e: &Engine, mem: &Path) -> std::io::Result<()> {
    let lanes = e.lanes();
    let write =
        |what: &str, text: String| std::fs::write(mem.join(format!("{}_{what}.mem", e.name)), text);
    let r = &e.routing;
    let (pxs, wb, lq) = (e.pxs_bits(), r.wbase_bits(), e.lq_bits());
    let slot_bits = e.slot_bits();
    let words: Vec<Vec<i64>> = if r.words.is_empty() {
        vec![vec![0; r.slots]]
    } else {
        r.words
            .iter()
            .map(|w| {
                w.iter()
                    .map(|s| match s {
                        None => 0,
                        Some(s) => {
                            let px = if e.is_gate() { s.px } else { 0 };
                            ((((1usize << pxs | px) << wb | s.wbase) << lq) | s.qbase) as i64
                        }
                    })
                    .collect()
            })
            .collect()
    };
    write(
        "taps",
        render_words(
            &format!("{} routing: tap words of {} slot(s)", e.name, r.slots),
            &format!(
                "slot b (bits b*{slot_bits}..) = {{valid, output pixel ({pxs} bits), weight base ({wb} bits), \
                 bank-local group ({lq} bits)}} of a tap into current bank b; words of each source pixel in turn"
            ),
            &words,
            slot_bits,
        ),
    )?;
    let (count_bits, base_bits) = (r.count_bits(), e.lq_bits());
    let offsets: Vec<i64> = r
        .offsets
        .iter()
        .map(|&(start, n, base)| ((((start << count_bits) | n) << base_bits) | base) as i64)
        .collect();
    write(
        "offsets",
        render_mem(
            &format!("{} routing offsets", e.name),
            &format!(
                "index = source pixel{}; word = {{first tap word ({} bits), tap words ({count_bits} bits), \
                 base group added to the words' ({base_bits} bits)}}",
                match &e.residual {
                    Some(res) => format!(
                        " (a residual add: the chained source's, then the shortcut's from {})",
                        res.virtual_px(1, 0)
                    ),
                    None => String::new(),
                },
                r.word_bits()
            ),
            &offsets,
            r.word_bits() + count_bits + base_bits,
        ),
    )?;
    let EngineKind::Neurons(n) = &e.kind else {
        return Ok(());
    };
    let layout = if n.depthwise {
        format!("index = kk * {} + g", e.out.g)
    } else if e.residual.is_some() {
        format!(
            "index = (kk * {} + g) * {} + input channel (a residual add: kk counts the chained group's \
             kernel positions, then the shortcut's; input channel = entry group * {} + lane)",
            e.out.g, e.src.c, e.src.lanes
        )
    } else {
        format!(
            "index = (kk * {} + g) * {} + input channel",
            e.out.g, e.src.c
        )
    };
    write(
        "weights",
        render_words(
            &format!("{} weights, {}-bit raw values", e.name, n.w_bits),
            &format!("{layout}; lane l = output channel g * {lanes} + l"),
            &n.weights,
            n.w_bits,
        ),
    )?;
    write(
        "bias",
        render_words(
            &format!("{} bias, {}-bit raw values", e.name, n.b_bits),
            &if n.bias.len() == e.out.g {
                format!("index = g; lane l = channel g * {lanes} + l")
            } else {
                format!("index = pixel * {} + g (a bias per pixel: a BN folded through zero padding); lane l = channel g * {lanes} + l", e.out.g)
            },
            &n.bias,
            n.b_bits,
        ),
    )?;
    if let Some(v0) = &n.v0_words {
        write(
            "v0",
            render_words(
                &format!(
                    "{} initial potentials, {}-bit raw values",
                    e.name, n.membrane_bits
                ),
                &format!("index = g; lane l = channel g * {lanes} + l"),
                v0,
                n.membrane_bits,
            ),
        )?;
    }
    Ok(())
}

/// Write `tb/tb.v` with its input and expected-output images (run with
/// `+vcd` it also writes `tb/waves.vcd`): `inputs` are raw input words per
/// image, `expected` the read-out's raw values per image after the steps
/// it runs, `steps` those steps (all of them, or where the cutoff stops).
pub fn write_testbench(
    design: &Design,
    out: &Path,
    inputs: &[Vec<i64>],
    expected: &[Vec<i64>],
    steps: &[usize],
) -> std::io::Result<PathBuf> {
    write_testbench_in(design, out, "tb", inputs, expected, steps)
}

/// `write_testbench` into `out/sub` (`sub` relative, `/`-separated): each
/// shard of a co-simulation has its own, so shards starting together on a
/// shared file system do not write one file at once.
pub fn write_testbench_in(
    design: &Design,
    out: &Path,
    sub: &str,
    inputs: &[Vec<i64>],
    expected: &[Vec<i64>],
    steps: &[usize],
) -> std::io::Result<PathBuf> {
    let tb = out.join(sub);
    std::fs::create_dir_all(&tb)?;
    // What the testbench reads, by paths relative to the build folder.
    let rel = |name: &str| format!("{sub}/{name}");
    let flat = |rows: &[Vec<i64>]| rows.iter().flatten().copied().collect::<Vec<_>>();
    let inputs_mem = tb.join("inputs.mem");
    std::fs::write(
        &inputs_mem,
        render_mem(
            "inputs",
            &format!("image * {} + element", design.input_len),
            &flat(inputs),
            design.input_bits,
        ),
    )?;
    let signed = design.readout == Readout::Potential;
    let steps_mem = tb.join("steps.mem");
    let steps: Vec<i64> = steps.iter().map(|&s| s as i64).collect();
    std::fs::write(
        &steps_mem,
        render_mem(
            "time steps each input runs (the early cutoff's, or all of them)",
            "image",
            &steps,
            design.step_bits() + 1,
        ),
    )?;
    let expected_mem = tb.join("expected.mem");
    std::fs::write(
        &expected_mem,
        render_mem(
            if signed {
                "expected readout potentials (bit-accurate simulator)"
            } else {
                "expected readout spike counts (bit-accurate simulator)"
            },
            &format!("image * {} + neuron", design.out_len()),
            &flat(expected),
            design.out_value_bits(),
        ),
    )?;
    let text = Testbench {
        d: design,
        top: &top_name(design),
        images: inputs.len(),
        signed,
        inputs_mem: rel("inputs.mem"),
        expected_mem: rel("expected.mem"),
        steps_mem: rel("steps.mem"),
        vcd_path: rel("waves.vcd"),
        mem_dir: MEM_DIR,
    }
    .render()
    .expect("the template only prints decided values");
    let path = tb.join("tb.v");
    std::fs::write(&path, text + "\n")?;
    Ok(path)
}
