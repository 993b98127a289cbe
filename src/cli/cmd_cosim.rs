//! `snncc cosim OUT --data X [--limit N] [--simulator iverilog|verilator]
//! [--trace] [--jobs J]`: the built design against the bit-accurate
//! simulator, value for value (and with `--trace` spike for spike).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ndarray::s;
use serde::{Deserialize, Serialize};
use serde_json::json;
use snncc::cosim::{self, CompileOptions, Icarus, RtlSimulator, Verilator};
use snncc::sweep::shard::{self, write_atomic, Shard};
use snncc::{codegen, config, data, pipeline, quant, snn};

use super::{CosimArgs, SimulatorArg};

/// What a co-simulation compares: the design as built and the golden
/// values of the bit-accurate simulator for the first `n` inputs.
struct Prepared {
    design: codegen::Design,
    manifest: codegen::Manifest,
    inputs: Vec<Vec<i64>>,
    expected: Vec<Vec<i64>>,
    steps: Vec<usize>,
    golden: Vec<pipeline::GoldenRun>,
    traces: Vec<snn::SpikeTrace>,
}

fn prepare(dir: &Path, data_path: &Path, limit: usize) -> anyhow::Result<Prepared> {
    let manifest = codegen::Manifest::read(dir)?;
    let options = manifest.design_options();
    // The golden model, rebuilt from what build saved.
    let model = snn::load_net(&dir.join("net"))?;
    let spec = config::quant::read(&dir.join("quant.yaml"))?;
    let q = quant::quantize_model(&model, &spec)?.model;
    let design = codegen::design(&q, &options)?;
    let mut images = data::read_images(data_path)?;
    let n = limit.min(images.dim().0);
    if n == 0 {
        bail!(
            "no inputs to co-simulate ({} is empty or --limit is 0)",
            data_path.display()
        );
    }
    images = images.slice_move(s![..n, .., .., ..]);
    let (_, h, w, c) = images.dim();
    if !model.input_shape.accepts(h, w, c) {
        bail!(
            "data file {}: inputs are {h}x{w}x{c}, the design takes {}",
            data_path.display(),
            model.input_shape
        );
    }
    let (inputs, golden) = pipeline::golden(&q, images.view(), options.timesteps, design.cutoff);
    let expected = golden.iter().map(|g| g.readout.clone()).collect();
    let steps = golden.iter().map(|g| g.steps).collect();
    // Every input's spikes: the trace comparison and the work bound.
    let traces = pipeline::golden_traces(&q, images.view(), options.timesteps, &golden);
    Ok(Prepared {
        design,
        manifest,
        inputs,
        expected,
        steps,
        golden,
        traces,
    })
}

/// A shard's record beside its simulator output; shards merge only when
/// their settings are equal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ShardRecord {
    settings: Settings,
    shard: usize,
    of: usize,
    first: usize,
    count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Settings {
    data: PathBuf,
    limit: usize,
    simulator: SimulatorArg,
    trace: bool,
}

fn shards_dir(dir: &Path) -> PathBuf {
    dir.join("sim").join("shards")
}

pub fn run(args: &CosimArgs) -> anyhow::Result<()> {
    let dir = &args.design;
    if args.merge {
        return merge(dir, args.json);
    }
    let data_path = args
        .data
        .as_deref()
        .context("--data X is needed (or --merge)")?;
    if let Some(n) = args.slurm.slurm {
        codegen::Manifest::read(dir)?;
        return super::slurm::emit(&args.slurm, n.get(), "cosim", dir, &["cosim", "--merge"]);
    }
    let prep = prepare(dir, data_path, args.limit)?;
    let n = prep.inputs.len();
    let shard = args.shard;
    let sub = shard.map_or("tb".to_string(), |s| format!("tb/shard-{}", s.label()));
    let tb = codegen::write_testbench_in(
        &prep.design,
        dir,
        &sub,
        &prep.inputs,
        &prep.expected,
        &prep.steps,
    )?;
    // The design as built (not regenerated): that is what is being checked.
    let rtl = prep.manifest.rtl_paths(dir);
    let mut work = dir.join("sim").join(simulator_dir(args.simulator));
    if let Some(s) = shard {
        work = work.join(format!("shard-{}", s.label()));
    }
    std::fs::create_dir_all(&work)?;
    // The simulation runs in the build folder (relative memory paths), so
    // its own files are named absolutely.
    let work = std::fs::canonicalize(&work)?;
    let simulator = rtl_simulator(args.simulator);
    let options = CompileOptions {
        waves: args.vcd,
        trace: args.trace,
    };
    let compiled = simulator.compile(dir, &work, &tb, &rtl, options)?;
    if let Some(shard) = shard {
        return run_shard(args, shard, &compiled, n, simulator.name());
    }
    // Waveforms of the whole run go to one file: one part.
    let jobs = if args.vcd {
        1
    } else {
        args.jobs.map_or_else(default_jobs, |j| j as usize)
    };
    let extra: Vec<String> = args.vcd.then(|| "vcd".to_string()).into_iter().collect();
    eprintln!(
        "cosim: {n} input(s) x {} steps under {} in {} part(s)",
        prep.manifest.design_options().timesteps,
        simulator.name(),
        jobs.min(n)
    );
    let output = compiled.run_parts(n, jobs, &extra)?;
    report(dir, &prep, &output, simulator.name(), args.trace, args.json)
}

fn simulator_dir(s: SimulatorArg) -> &'static str {
    match s {
        SimulatorArg::Iverilog => "iverilog",
        SimulatorArg::Verilator => "verilator",
    }
}

fn rtl_simulator(s: SimulatorArg) -> Box<dyn RtlSimulator> {
    match s {
        SimulatorArg::Iverilog => Box::new(Icarus),
        SimulatorArg::Verilator => Box::new(Verilator),
    }
}

/// Part K of N: the simulator's output kept for the merge.
fn run_shard(
    args: &CosimArgs,
    shard: Shard,
    compiled: &cosim::Compiled,
    n: usize,
    name: &str,
) -> anyhow::Result<()> {
    let (first, count) = cosim::split(n, shard.count())[shard.index() - 1];
    eprintln!(
        "cosim shard {shard}: inputs {first}..{} of {n} under {name}",
        first + count
    );
    let output = if count == 0 {
        String::new()
    } else {
        compiled.run_inputs(first, count, &[])?
    };
    let record = ShardRecord {
        settings: Settings {
            data: args.data.clone().unwrap_or_default(),
            limit: n,
            simulator: args.simulator,
            trace: args.trace,
        },
        shard: shard.index(),
        of: shard.count(),
        first,
        count,
    };
    let base = shards_dir(&args.design).join(shard.label());
    // The output first: a record names only a finished shard.
    write_atomic(&base.with_extension("out"), output.as_bytes())?;
    write_atomic(
        &base.with_extension("json"),
        serde_json::to_string_pretty(&record)?.as_bytes(),
    )?;
    println!(
        "shard {shard}: {count} input(s) simulated; once all {} are done: snncc cosim {} --merge",
        shard.count(),
        args.design.display()
    );
    Ok(())
}

/// `snncc cosim DESIGN --merge`: every shard's output compared as one run.
fn merge(dir: &Path, json: bool) -> anyhow::Result<()> {
    let sdir = shards_dir(dir);
    let mut records = Vec::new();
    let entries = std::fs::read_dir(&sdir).with_context(|| {
        format!(
            "{}: no co-simulation shards; run `snncc cosim {} --data X --shard K/N` first",
            sdir.display(),
            dir.display()
        )
    })?;
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let record: ShardRecord = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a cosim shard record", path.display()))?;
            records.push(record);
        }
    }
    records.sort_by_key(|r| (r.of, r.shard));
    let Some(first) = records.first().cloned() else {
        bail!("{}: no co-simulation shards to merge", sdir.display());
    };
    let label = |r: &ShardRecord| shard::label(r.shard, r.of);
    let odd: Vec<String> = records
        .iter()
        .filter(|r| r.of != first.of || r.settings != first.settings)
        .map(label)
        .collect();
    if !odd.is_empty() {
        bail!(
            "{}: shards of different co-simulations: {} differ from {} (number of shards, data, \
             limit, simulator or --trace); delete the stale ones",
            sdir.display(),
            odd.join(", "),
            label(&first)
        );
    }
    let present: Vec<usize> = records.iter().map(|r| r.shard).collect();
    let missing = shard::missing_shards(first.of, &present);
    if !missing.is_empty() {
        bail!(
            "{}: shard(s) {} missing; run them (`--shard K/{}`), then merge",
            sdir.display(),
            missing.join(", "),
            first.of
        );
    }
    let mut output = String::new();
    for r in &records {
        let path = sdir.join(format!("{}.out", label(r)));
        output.push_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        );
    }
    let s = &first.settings;
    eprintln!("merging {} cosim shards of {}", first.of, dir.display());
    let prep = prepare(dir, &s.data, s.limit)?;
    report(
        dir,
        &prep,
        &output,
        rtl_simulator(s.simulator).name(),
        s.trace,
        json,
    )
}

/// Compare the simulator's `output` with the golden values; write
/// cosim.json and print (or fail on) the result.
fn report(
    dir: &Path,
    prep: &Prepared,
    output: &str,
    simulator: &str,
    trace: bool,
    json_out: bool,
) -> anyhow::Result<()> {
    let options = prep.manifest.design_options();
    let (timesteps, lanes, slots) = (options.timesteps, options.lanes, options.slots);
    let (design, golden, inputs, expected, steps, run_traces) = (
        &prep.design,
        &prep.golden,
        &prep.inputs,
        &prep.expected,
        &prep.steps,
        &prep.traces,
    );
    let n = inputs.len();
    let report = cosim::compare(output, expected);
    let (spikes_compared, trace_mismatch) = if trace {
        let decode =
            |layer: usize, entry: u128| design.engines.get(layer).map(|e| e.out.neurons_of(entry));
        cosim::compare_trace(output, run_traces, &decode)
    } else {
        (0, None)
    };
    let bound = codegen::mean_work_bound(design, inputs, run_traces, steps);
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
        "simulator": simulator,
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
    if trace {
        record["spikes_compared"] = json!(spikes_compared);
        record["trace_mismatch"] = json!(trace_mismatch);
    }
    std::fs::write(
        dir.join("cosim.json"),
        serde_json::to_string_pretty(&record)?,
    )?;
    if json_out {
        record["first_mismatch"] = json!(report.first_mismatch);
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        println!(
            "{} inputs under {}: {} mismatches; {:.0} cycles per input ({timesteps} steps, {lanes} lanes)",
            report.images,
            simulator,
            report.mismatches,
            report.cycles_per_image
        );
        println!(
            "work bound: load {:.0} + beats {:.0} (each its slowest engine's ops and sweep) + read-out {:.0} = {:.0} cycles per input ({synops:.0} SynOps, {macs:.0} MACs); measured / bound = {ratio:.2}",
            bound.load, bound.beats, bound.readout, bound.total
        );
        if trace {
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
