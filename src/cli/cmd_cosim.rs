//! `snncc cosim OUT --data X [--limit N] [--simulator iverilog|verilator]
//! [--trace] [--jobs J]`: the built design against the bit-accurate
//! simulator, value for value (and with `--trace` spike for spike).

use anyhow::bail;
use ndarray::s;
use serde_json::json;
use snncc::cosim::{self, CompileOptions, Icarus, RtlSimulator, Verilator};
use snncc::{codegen, config, data, pipeline, quant, snn};

use super::{CosimArgs, SimulatorArg};

pub fn run(args: &CosimArgs) -> anyhow::Result<()> {
    let dir = &args.design;
    let manifest = codegen::Manifest::read(dir)?;
    let options = manifest.design_options();
    let (timesteps, lanes, slots) = (options.timesteps, options.lanes, options.slots);
    // The golden model, rebuilt from what build saved.
    let model = snn::load_net(&dir.join("net"))?;
    let spec = config::quant::read(&dir.join("quant.yaml"))?;
    let q = quant::quantize_model(&model, &spec)?.model;
    let design = codegen::design(&q, &options)?;
    let mut images = data::read_images(&args.data)?;
    let n = args.limit.min(images.dim().0);
    if n == 0 {
        bail!(
            "no inputs to co-simulate ({} is empty or --limit is 0)",
            args.data.display()
        );
    }
    images = images.slice_move(s![..n, .., .., ..]);
    let (_, h, w, c) = images.dim();
    if !model.input_shape.accepts(h, w, c) {
        bail!(
            "data file {}: inputs are {h}x{w}x{c}, the design takes {}",
            args.data.display(),
            model.input_shape
        );
    }
    let (inputs, golden) = pipeline::golden(&q, images.view(), timesteps, design.cutoff);
    let expected: Vec<Vec<i64>> = golden.iter().map(|g| g.readout.clone()).collect();
    let steps: Vec<usize> = golden.iter().map(|g| g.steps).collect();
    // Every input's spikes: the trace comparison and the work bound.
    let run_traces = pipeline::golden_traces(&q, images.view(), timesteps, &golden);
    let tb = codegen::write_testbench(&design, dir, &inputs, &expected, &steps)?;
    // The design as built (not regenerated): that is what is being checked.
    let rtl = manifest.rtl_paths(dir);
    let work = dir.join("sim").join(match args.simulator {
        SimulatorArg::Iverilog => "iverilog",
        SimulatorArg::Verilator => "verilator",
    });
    std::fs::create_dir_all(&work)?;
    // The simulation runs in the build folder (relative memory paths), so
    // its own files are named absolutely.
    let work = std::fs::canonicalize(&work)?;
    let simulator: Box<dyn RtlSimulator> = match args.simulator {
        SimulatorArg::Iverilog => Box::new(Icarus),
        SimulatorArg::Verilator => Box::new(Verilator),
    };
    let options = CompileOptions {
        waves: args.vcd,
        trace: args.trace,
    };
    let compiled = simulator.compile(dir, &work, &tb, &rtl, options)?;
    // Waveforms of the whole run go to one file: one part.
    let jobs = if args.vcd {
        1
    } else {
        args.jobs.unwrap_or_else(default_jobs)
    };
    let extra: Vec<String> = args.vcd.then(|| "vcd".to_string()).into_iter().collect();
    eprintln!(
        "cosim: {n} input(s) x {timesteps} steps under {} in {} part(s)",
        simulator.name(),
        jobs.min(n)
    );
    let output = compiled.run_parts(n, jobs, &extra)?;
    let report = cosim::compare(&output, &expected);
    let (spikes_compared, trace_mismatch) = if args.trace {
        let decode =
            |layer: usize, entry: u128| design.engines.get(layer).map(|e| e.out.neurons_of(entry));
        cosim::compare_trace(&output, &run_traces, &decode)
    } else {
        (0, None)
    };
    let bound = codegen::mean_work_bound(&design, &inputs, &run_traces, &steps);
    let synops = golden
        .iter()
        .map(|g| g.run.synops.last().copied().unwrap_or(0) as f64)
        .sum::<f64>()
        / n as f64;
    let macs = golden.iter().map(|g| g.run.input_macs as f64).sum::<f64>() / n as f64;
    let mean_steps = steps.iter().sum::<usize>() as f64 / n as f64;
    let ratio = report.cycles_per_image / bound.total.max(1.0);
    // Kept for `snncc synth`'s latency figures.
    let mut record = json!({
        "images": report.images,
        "mismatches": report.mismatches,
        "cycles_per_image": report.cycles_per_image,
        "simulator": simulator.name(),
        "timesteps": timesteps,
        "lanes": lanes,
        "slots": slots,
        "synops_per_image": synops,
        "macs_per_image": macs,
        "work_bound_cycles": bound.total,
        "work_bound": {"load": bound.load, "beats": bound.beats, "readout": bound.readout},
        "latency_ratio": ratio,
        "cutoff_margin_raw": design.cutoff,
        "mean_timesteps": mean_steps,
    });
    if args.trace {
        record["spikes_compared"] = json!(spikes_compared);
        record["trace_mismatch"] = json!(trace_mismatch);
    }
    std::fs::write(
        dir.join("cosim.json"),
        serde_json::to_string_pretty(&record)?,
    )?;
    if args.json {
        record["first_mismatch"] = json!(report.first_mismatch);
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        println!(
            "{} inputs under {}: {} mismatches; {:.0} cycles per input ({timesteps} steps, {lanes} lanes)",
            report.images,
            simulator.name(),
            report.mismatches,
            report.cycles_per_image
        );
        println!(
            "work bound: load {:.0} + beats {:.0} (each its slowest engine's ops and sweep) + read-out {:.0} = {:.0} cycles per input ({synops:.0} SynOps, {macs:.0} MACs); measured / bound = {ratio:.2}",
            bound.load, bound.beats, bound.readout, bound.total
        );
        if args.trace {
            println!(
                "trace: {spikes_compared} spikes compared{}",
                if trace_mismatch.is_none() {
                    ", all equal"
                } else {
                    ""
                }
            );
        }
    }
    // The first differing spike is the cause; the read-out follows from it.
    if let Some(m) = &trace_mismatch {
        bail!(
            "first spike mismatch: input {}, layer {}, step {}, neuron {}: {} ({} read-out values differ)",
            m.image,
            m.layer,
            m.step,
            m.neuron,
            if m.rtl_fired {
                "the RTL fired, the bit-accurate simulator did not"
            } else {
                "the bit-accurate simulator fired, the RTL did not"
            },
            report.mismatches
        );
    }
    if let Some(m) = &report.first_mismatch {
        bail!(
            "first mismatch: input {}, readout neuron {}: RTL {}, bit-accurate simulator {}",
            m.image,
            m.neuron,
            m.rtl.map_or("nothing".to_string(), |v| v.to_string()),
            m.expected
        );
    }
    Ok(())
}

fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
