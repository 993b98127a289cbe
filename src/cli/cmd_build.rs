//! `snncc build MODEL --target verilog -o out/`: the quantised network as
//! RTL, memory images, a manifest and a FuseSoC core (docs/hardware.md).

use anyhow::{bail, Context};
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
    if args.max_blocks.is_some() && args.calib.is_none() {
        bail!("--max-blocks needs --calib: the engines are narrowed by the cycles they add on calibration images");
    }
    if args.output.exists() && !args.output.is_dir() {
        bail!("{} exists and is not a directory", args.output.display());
    }
    let network = super::network::load(&args.model, args.calib.as_deref(), &args.convert)?;
    let model = network.model();
    let bits = args.quant.is_none().then_some(args.bits);
    let quantized = super::formats::resolve(
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
        offchip: codegen::Offchip {
            layers: args.offchip_weights.clone(),
            latency: args.offchip_latency,
        },
        replay_input: args.replay_input,
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
            snncc::pipeline::golden(&quantized.model, sample, args.timesteps, options.cutoff);
        let traces =
            snncc::pipeline::golden_traces(&quantized.model, sample, args.timesteps, &golden);
        let steps: Vec<usize> = golden.iter().map(|g| g.steps).collect();
        let chosen = codegen::balance_lanes(
            &quantized.model,
            &options,
            (&inputs, &traces, &steps),
            args.slack / 100.0,
            args.max_blocks,
        )
        .with_context(|| format!("building {}", args.model.display()))?;
        eprintln!(
            "balance: narrower engines save about {} LUT4 (estimate) for {:+.1} % cycles on {n} calibration image(s) (--slack {} %{})",
            chosen.logic_saved,
            chosen.bound_growth * 100.0,
            args.slack,
            match args.max_blocks {
                Some(max) => format!(", --max-blocks {max}: about {} blocks", chosen.blocks),
                None => String::new(),
            }
        );
        options.layer_lanes = Some(chosen.lanes);
        options.layer_serial = Some(chosen.serial);
        options.layer_slots = Some(chosen.slots);
        options.replay_input = chosen.replay;
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
            let (inputs, runs) = snncc::pipeline::golden(
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
    let spec = snncc::pipeline::spec_of(&quantized.model);
    std::fs::write(
        out.join("quant.yaml"),
        config::quant::to_yaml(&spec, &model.name),
    )
    .with_context(|| format!("writing {}", out.join("quant.yaml").display()))?;
    let top = codegen::top_name(&design);
    let rtl: Vec<String> = rtl
        .iter()
        .map(|p| p.strip_prefix(out).unwrap_or(p).display().to_string())
        .collect();
    let manifest = codegen::Manifest::of(&design, &options, Some(args.slack), rtl, tb_inputs);
    manifest
        .write(out)
        .with_context(|| format!("writing {}", out.join(codegen::MANIFEST).display()))?;
    codegen::write_core(out, &top, &design.name, &manifest.rtl, tb_inputs > 0)
        .with_context(|| format!("writing {}", out.join(format!("{top}.core")).display()))?;
    println!(
        "design '{}' ({} layers, T = {}): {}",
        design.name,
        design.engines.len(),
        design.timesteps,
        out.display()
    );
    for (i, e) in design.engines.iter().enumerate() {
        let what = match &e.kind {
            codegen::EngineKind::MaxGate => "max gate".to_string(),
            codegen::EngineKind::Neurons(n) => format!(
                "weights {}b{}, membrane {}b{}{}{}{}{}",
                n.w_bits,
                match n.weights_offchip {
                    Some(lat) => format!(" off chip (w{}_*, latency {lat})", i),
                    None => String::new(),
                },
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
    let blocks = codegen::memories(&design);
    let total: usize = blocks.iter().map(|m| m.blocks).sum();
    let mut largest: Vec<&codegen::MemoryUse> = blocks.iter().filter(|m| m.blocks > 0).collect();
    largest.sort_by_key(|m| std::cmp::Reverse(m.blocks));
    if let Some(max) = args.max_blocks.filter(|&max| total > max) {
        eprintln!(
            "warning: the design needs about {total} block RAMs, more than --max-blocks {max} even with every engine narrowed; its largest memories: {}. Keep a large weight table off chip (--offchip-weights LAYER), or lower --timesteps or the formats' bits",
            named(&largest, 6)
        );
    }
    println!(
        "block RAM: about {total} 18-kbit blocks (estimate; `snncc synth` reports the mapped count), the most in {}",
        named(&largest, 4)
    );
    println!(
        "wrote rtl/ ({} files), mem/, {}net/, quant.yaml, manifest.yaml, {top}.core; next: snncc cosim {} --data X.npy",
        manifest.rtl.len(),
        if tb_inputs > 0 {
            format!("tb/ ({tb_inputs} calibration inputs), ")
        } else {
            String::new()
        },
        out.display()
    );
    Ok(())
}

/// The first `n` of `memories` as "layer what (blocks)", comma-separated.
fn named(memories: &[&codegen::MemoryUse], n: usize) -> String {
    memories
        .iter()
        .take(n)
        .map(|m| format!("{} {} ({})", m.layer, m.what, m.blocks))
        .collect::<Vec<_>>()
        .join(", ")
}
