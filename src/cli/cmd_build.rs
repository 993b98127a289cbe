//! `snncc build MODEL --target verilog -o out/`: the quantised network as
//! RTL, memory images, a manifest and a FuseSoC core (docs/hardware.md).

use anyhow::{bail, Context};
use serde_json::json;
use snncc::{codegen, config, data, snn};

/// Calibration inputs the build's own testbench runs.
const TB_INPUTS: usize = 4;
/// Calibration inputs whose spikes decide the engines' lanes.
const BALANCE_INPUTS: usize = 16;

use super::BuildArgs;

pub fn run(args: &BuildArgs) -> anyhow::Result<()> {
    if args.timesteps == 0 {
        bail!("--timesteps must be positive");
    }
    if codegen::check_lanes(args.lanes).is_err() {
        bail!(
            "--lanes {}: the lane count must be a power of two from 1 to 64",
            args.lanes
        );
    }
    if !(1..=16).contains(&args.slots) {
        bail!(
            "--slots {}: the taps per cycle must be from 1 to 16",
            args.slots
        );
    }
    if args.output.exists() && !args.output.is_dir() {
        bail!("{} exists and is not a directory", args.output.display());
    }
    let network =
        super::cmd_convert::load_network(&args.model, args.calib.as_deref(), &args.convert)?;
    let model = network.model();
    let bits = args.quant.is_none().then_some(args.bits);
    let quantized = super::cmd_quantize::resolve(
        model,
        bits,
        args.quant.as_deref(),
        &args.formats,
        args.timesteps,
    )?
    .expect("--bits has a default");
    let mut options = codegen::DesignOptions {
        timesteps: args.timesteps,
        lanes: args.lanes,
        slots: args.slots,
        layer_lanes: None,
        layer_serial: None,
        layer_slots: None,
        cutoff: None,
        state: args.state.into(),
    };
    // The early cutoff's raw margin, compared by the read-out as by the
    // bit-accurate simulator.
    if let Some(arg) = args.cutoff.cutoff {
        let resolved = super::cutoff::resolve(
            arg,
            args.cutoff.cutoff_agreement,
            &super::cutoff::Sim::Fixed(&quantized.model),
            model,
            args.calib.as_deref(),
            args.timesteps,
        )?;
        options.cutoff = resolved.margin_raw;
        if let Some(m) = resolved.margin_raw {
            eprintln!(
                "cutoff: an image stops once its read-out leads by {m} (raw units; margin {})",
                resolved.margin
            );
        }
    }
    // Narrow the engines that would idle, judged on the spikes of the first
    // calibration images.
    let calib_images = args.calib.as_deref().map(data::read_images).transpose()?;
    if let Some(images) = &calib_images {
        let n = images.dim().0.min(BALANCE_INPUTS);
        let sample = images.slice(ndarray::s![..n, .., .., ..]);
        let (inputs, golden) =
            super::cmd_cosim::golden(&quantized.model, sample, args.timesteps, options.cutoff);
        let traces =
            super::cmd_cosim::golden_traces(&quantized.model, sample, args.timesteps, &golden);
        let steps: Vec<usize> = golden.iter().map(|g| g.steps).collect();
        let chosen = codegen::balance_lanes(
            &quantized.model,
            &options,
            &inputs,
            &traces,
            &steps,
            args.slack / 100.0,
        )
        .with_context(|| format!("building {}", args.model.display()))?;
        eprintln!(
            "balance: narrower engines save about {} LUT4 (estimate) for {:+.1} % cycles on {n} calibration image(s) (--slack {} %)",
            chosen.logic_saved,
            chosen.bound_growth * 100.0,
            args.slack
        );
        options.layer_lanes = Some(chosen.lanes);
        options.layer_serial = Some(chosen.serial);
        options.layer_slots = Some(chosen.slots);
    }
    let design = codegen::design(&quantized.model, &options)
        .with_context(|| format!("building {}", args.model.display()))?;
    let out = &args.output;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let rtl = codegen::write_design(&design, out)
        .with_context(|| format!("writing the design into {}", out.display()))?;
    snn::save_net(model, &out.join("net"), &["saved by snncc build".into()])?;
    // A testbench on the first calibration inputs, so the folder is
    // complete (the FuseSoC core's sim target); `snncc cosim` rewrites it
    // for the data it runs.
    let tb_inputs = match &calib_images {
        Some(images) => {
            let n = images.dim().0.min(TB_INPUTS);
            let (inputs, runs) = super::cmd_cosim::golden(
                &quantized.model,
                images.slice(ndarray::s![..n, .., .., ..]),
                args.timesteps,
                options.cutoff,
            );
            let expected: Vec<Vec<i64>> = runs.iter().map(|r| r.readout.clone()).collect();
            let steps: Vec<usize> = runs.iter().map(|r| r.steps).collect();
            codegen::write_testbench(&design, out, &inputs, &expected, &steps)
                .with_context(|| format!("writing the testbench into {}", out.display()))?;
            n
        }
        None => 0,
    };
    let spec = super::cmd_quantize::spec_of(&quantized.model);
    std::fs::write(
        out.join("quant.yaml"),
        config::quant::to_yaml(&spec, &model.name),
    )
    .with_context(|| format!("writing {}", out.join("quant.yaml").display()))?;
    let top = codegen::top_name(&design);
    let rel = |p: &std::path::Path| p.strip_prefix(out).unwrap_or(p).display().to_string();
    let layers: Vec<_> = design
        .engines
        .iter()
        .map(|e| layer_manifest(&design, e))
        .collect();
    let manifest = json!({
        "format": "snncc-design 1",
        "name": design.name,
        "target": "verilog",
        "top": top,
        "timesteps": design.timesteps,
        "lanes": design.lanes,
        "slots": args.slots,
        "slack_percent": args.slack,
        "layer_lanes": design.engines.iter().map(|e| e.lanes()).collect::<Vec<_>>(),
        "layer_update_cycles": design.engines.iter().map(|e| e.upd_ser).collect::<Vec<_>>(),
        "layer_slots": design.engines.iter().map(|e| e.slots()).collect::<Vec<_>>(),
        "state_word": options.state.name(),
        "cutoff_margin_raw": design.cutoff,
        "overflow": if design.saturate { "saturate" } else { "wrap" },
        "rtl": rtl.iter().map(|p| rel(p)).collect::<Vec<_>>(),
        "ports": {
            "clk": 1, "rst": 1, "s_valid": 1, "s_ready": 1, "s_data": design.input_bits,
            "o_valid": 1, "o_ready": 1, "o_value": design.out_value_bits(), "o_last": 1,
            "o_class": design.class_bits(), "o_steps": design.step_bits(),
        },
        "readout": match design.readout {
            codegen::Readout::Potential => "potential",
            codegen::Readout::SpikeCount => "spike_count",
        },
        "input": {"words": design.input_len, "bits": design.input_bits},
        "testbench": {"file": "tb/tb.v", "inputs": tb_inputs, "note": "snncc cosim rewrites it for its data"},
        "layers": layers,
    });
    let text = format!(
        "# snncc design manifest (docs/hardware.md)\n{}",
        serde_norway::to_string(&manifest)?
    );
    std::fs::write(out.join("manifest.yaml"), text)?;
    // Memory images are read by paths relative to the build folder, so the
    // core copies them to the same places in the tool's work directory.
    let copied = |dir: &str| -> std::io::Result<String> {
        let mut names: Vec<String> = std::fs::read_dir(out.join(dir))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".mem"))
            .collect();
        names.sort();
        if names.is_empty() {
            return Ok("      []\n".to_string());
        }
        Ok(names
            .iter()
            .map(|n| format!("      - {dir}/{n}: {{copyto: {dir}/{n}}}\n"))
            .collect())
    };
    let mems = copied(codegen::MEM_DIR)?;
    let tb_mems = if tb_inputs > 0 {
        copied("tb")?
    } else {
        String::new()
    };
    let core = format!(
        "CAPI=2:\nname: snncc:generated:{top}:0.1.0\ndescription: spiking network {name} generated by snncc\n\
         filesets:\n  rtl:\n    files:\n{files}    file_type: verilogSource\n  mem:\n    files:\n{mems}    file_type: user\n  tb:\n    files:\n      - tb/tb.v\n    file_type: verilogSource\n  tb_mem:\n    files:\n{tb_mems}    file_type: user\n\
         parameters:\n  SNNCC_ECP5_DSP:\n    datatype: bool\n    paramtype: vlogdefine\n    description: the analog layer's multipliers as ECP5 MULT18X18D with their output register\n\
         targets:\n  default:\n    filesets: [rtl, mem]\n    toplevel: {top}\n  ecp5:\n    default_tool: trellis\n    filesets: [rtl, mem]\n    parameters: [SNNCC_ECP5_DSP=true]\n    toplevel: {top}\n  sim:\n    default_tool: icarus\n    filesets: [rtl, mem, tb, tb_mem]\n    toplevel: tb\n",
        name = design.name,
        files = rtl.iter().map(|p| format!("      - {}\n", rel(p))).collect::<String>(),
    );
    std::fs::write(out.join(format!("{top}.core")), core)?;
    println!(
        "design '{}' ({} layers, T = {}): {}",
        design.name,
        design.engines.len(),
        design.timesteps,
        out.display()
    );
    for e in &design.engines {
        let what = match &e.kind {
            codegen::EngineKind::MaxGate => "max gate".to_string(),
            codegen::EngineKind::Neurons(n) => format!(
                "weights {}b, membrane {}b{}{}{}{}{}",
                n.w_bits,
                n.membrane_bits,
                if n.merged {
                    format!(" in the banks ({}b state)", n.state_bits())
                } else {
                    String::new()
                },
                if n.analog { ", analog input" } else { "" },
                if n.depthwise { ", pooling" } else { "" },
                if n.fires { "" } else { ", readout" },
                match &e.residual {
                    Some(r) => format!(", residual add of {}", design.engines[r.layer].name),
                    None => String::new(),
                }
            ),
        };
        println!(
            "  {:<8} {:>6} -> {:<6} {:>2} lanes ({:>2} IF units) {:>2} slots {:>6} tap words  {what}",
            e.name,
            e.src_neurons(),
            e.out.px * e.out.c,
            e.lanes(),
            e.lanes() / e.upd_ser,
            e.slots(),
            e.routing.words.len(),
        );
    }
    println!(
        "wrote rtl/ ({} files), mem/, {}net/, quant.yaml, manifest.yaml, {top}.core; next: snncc cosim {} --data X.npy",
        rtl.len(),
        if tb_inputs > 0 {
            format!("tb/ ({tb_inputs} calibration inputs), ")
        } else {
            String::new()
        },
        out.display()
    );
    Ok(())
}

/// One engine's entry in the manifest: geometry, formats, memories and the
/// cycle model of docs/hardware.md.
fn layer_manifest(design: &codegen::Design, e: &codegen::Engine) -> serde_json::Value {
    let mem = |what: &str, words: usize, bits: u32| json!({"file": format!("mem/{}_{what}.mem", e.name), "words": words, "bits": bits});
    let r = &e.routing;
    let lanes = e.lanes() as u32;
    let mut memories = vec![
        mem("taps", r.n_words(), r.slots as u32 * e.slot_bits()),
        mem(
            "offsets",
            r.offsets.len(),
            r.word_bits() + r.count_bits() + e.lq_bits(),
        ),
    ];
    let source = |g: &codegen::Geometry| json!({"pixels": g.px, "channels": g.c, "lanes": g.lanes});
    let mut entry = json!({
        "name": e.name,
        "source": source(e.residual.as_ref().map_or(&e.src, |r| &r.chained)),
        "output": {"pixels": e.out.px, "channels": e.out.c, "lanes": e.out.lanes, "groups": e.out.groups()},
        "slots": r.slots,
        "tap_words": r.words.len(),
        "keeps_spike_counts": e.counts,
    });
    match &e.kind {
        codegen::EngineKind::MaxGate => {
            entry["engine"] = json!("max_gate");
            entry["cycles_per_step"] = json!("1 per (source entry, tap word)");
        }
        codegen::EngineKind::Neurons(n) => {
            memories.push(mem("weights", n.weights.len(), lanes * n.w_bits));
            memories.push(mem("bias", n.bias.len(), lanes * n.b_bits));
            if let Some(v0) = &n.v0_words {
                memories.push(mem("v0", v0.len(), lanes * n.membrane_bits));
            }
            entry["engine"] = json!("layer");
            entry["synapses"] = json!(if n.depthwise { "depthwise" } else { "full" });
            entry["analog"] = json!(n.analog);
            entry["fires"] = json!(n.fires);
            entry["weight_bits"] = json!(n.w_bits);
            entry["weight_shift"] = json!(n.w_shift);
            entry["bias_bits"] = json!(n.b_bits);
            entry["accumulator_bits"] = json!(n.acc_bits);
            entry["membrane_bits"] = json!(n.membrane_bits);
            // The banks' lanes hold V + sum (state_bits) instead of the sum.
            entry["membrane_in_banks"] = json!(n.merged);
            if n.merged {
                entry["state_bits"] = json!(n.state_bits());
            }
            entry["threshold"] = json!(n.theta);
            // One V0 for the layer, or one per channel (mem/<layer>_v0.mem).
            entry["v0"] = match &n.v0_words {
                Some(words) => json!(words.iter().flatten().take(e.out.c).collect::<Vec<_>>()),
                None => json!(n.v0),
            };
            entry["cycles_per_step"] = json!(if n.analog {
                format!(
                    "{} (the current is computed once per image, 1 cycle per (non-zero input, tap word, output group))",
                    e.out.groups()
                )
            } else if n.depthwise {
                format!("{} + 1 per (source entry, tap word)", e.out.groups())
            } else {
                format!("{} + {} per (spike, tap word)", e.out.groups(), e.out.g)
            });
        }
    }
    // A residual add's second group, read from its own list of `steps_held`
    // steps (docs/hardware.md, "Residual adds").
    if let Some(r) = &e.residual {
        let mut shortcut = source(&r.shortcut);
        shortcut["layer"] = json!(design.engines[r.layer].name);
        shortcut["steps_held"] = json!(r.halves);
        entry["shortcut"] = shortcut;
    }
    entry["memories"] = json!(memories);
    entry
}
