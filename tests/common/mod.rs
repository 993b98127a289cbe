//! Shared helpers of the integration tests: run the real binary, locate
//! committed fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/models").join(name)
}

pub fn example(rel: &str) -> PathBuf {
    root().join("examples").join(rel)
}

/// Run `snncc` with `args`; returns the raw output whatever the status.
pub fn snncc<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    snncc_command().args(args).output().expect("snncc runs")
}

/// The `snncc` binary as a command to add arguments and environment to.
pub fn snncc_command() -> std::process::Command {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("snncc"))
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The RTL files of a build folder.
pub fn rtl_files(out: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(out.join("rtl"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Assert a clean failure: exit status 1, no panic, and `needles` in stderr.
pub fn assert_fails_with(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected exit 1, stderr:\n{err}"
    );
    assert!(!err.contains("panicked"), "panicked:\n{err}");
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
}

/// Largest absolute difference of two equally shaped float arrays.
pub fn max_abs_diff(a: &Path, b: &Path) -> f32 {
    let x = snncc::data::read_npy_f32(a).expect("read our outputs");
    let y = snncc::data::read_npy_f32(b).expect("read Keras outputs");
    assert_eq!(x.shape(), y.shape(), "{} vs {}", a.display(), b.display());
    x.iter()
        .zip(y.iter())
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max)
}

/// Arguments of `snncc simulate` on a bundled example model with the
/// committed calibration and test data, `--json`, then `extra`.
pub fn simulate_args(model: &str, timesteps: &str, extra: &[&str]) -> Vec<std::ffi::OsString> {
    let mut args = example_args("simulate", &format!("models/{model}"));
    args.extend(["--timesteps".into(), timesteps.into(), "--json".into()]);
    args.extend(extra.iter().map(|a| a.into()));
    args
}

/// `snncc COMMAND examples/MODEL` with the example's calibration images,
/// test images and labels.
pub fn example_args(command: &str, model: &str) -> Vec<std::ffi::OsString> {
    vec![
        command.into(),
        example(model).into(),
        "--calib".into(),
        example("data/calib-images.npy").into(),
        "--data".into(),
        example("data/test-images.npy").into(),
        "--labels".into(),
        example("data/test-labels.npy").into(),
    ]
}

/// Build the `mlp_flat` fixture at T = 16 into `design` (a small design
/// for co-simulation tests); panics if the build fails.
pub fn build_mlp(design: &Path) {
    let data = fixture("mlp_flat.inputs.npy");
    let out = snncc([
        "build".into(),
        fixture("mlp_flat.keras").into_os_string(),
        "--calib".into(),
        data.into_os_string(),
        "--timesteps".into(),
        "16".into(),
        "-o".into(),
        design.as_os_str().to_owned(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `snncc simulate` (see `simulate_args`) must succeed; its JSON report.
pub fn simulate_json(model: &str, timesteps: &str, extra: &[&str]) -> serde_json::Value {
    let out = snncc(simulate_args(model, timesteps, extra));
    assert!(out.status.success(), "{model}: {}", stderr(&out));
    serde_json::from_str(&stdout(&out)).expect("one JSON object")
}

/// Run an external tool (a Verilog simulator); panics with its output if it
/// cannot start or fails. Returns stdout and stderr together.
pub fn run_tool(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?}: {e}; scripts/install-deps.sh installs iverilog, verilator and yosys")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{cmd:?} failed:\n{text}");
    text
}

/// Run a self-checking testbench `tb.v` (top module `tb`) with the given
/// sources under Icarus Verilog and under Verilator, in `dir` (a generated
/// design's memory paths are relative to its folder); both must print
/// `expect`, and neither may report a problem (a missing `$readmemh` file
/// is only a message in both, not a failure).
pub fn simulate_both(dir: &Path, tb: &Path, sources: &[PathBuf], expect: &str) {
    let sim = dir.join("tb.vvp");
    run_tool(
        std::process::Command::new("iverilog")
            .args(["-g2005", "-Wall", "-s", "tb", "-o"])
            .arg(&sim)
            .arg(tb)
            .args(sources),
    );
    // +stall: pseudo-random gaps in the design's input and output
    // handshakes (generated testbenches; others ignore it).
    let out = run_tool(
        std::process::Command::new("vvp")
            .arg("-n")
            .arg(&sim)
            .arg("+stall")
            .current_dir(dir),
    );
    let clean =
        |out: &str| !out.contains("WARNING") && !out.contains("ERROR") && !out.contains("%Warning");
    assert!(out.contains(expect) && clean(&out), "icarus:\n{out}");
    let obj = dir.join("obj");
    run_tool(
        std::process::Command::new("verilator")
            .args([
                "--binary",
                "--timing",
                "-Wno-fatal",
                "--top-module",
                "tb",
                "-Mdir",
            ])
            .arg(&obj)
            .arg(tb)
            .args(sources),
    );
    // Verilator's run also resets the design in the middle of the first
    // input (generated testbenches; others ignore it): the results must
    // not change.
    let out = run_tool(
        std::process::Command::new(obj.join("Vtb"))
            .args(["+stall", "+abort=97"])
            .current_dir(dir),
    );
    assert!(out.contains(expect) && clean(&out), "verilator:\n{out}");
}

/// Make layer `li`'s bias differ at every pixel, as a BatchNormalization
/// folded forward through zero padding makes it at the border: each
/// neuron's bias is its channel's plus a small position-dependent offset.
pub fn border_bias(model: &mut snncc::snn::SnnModel, li: usize) {
    use snncc::snn::Bias;
    let layer = &mut model.layers[li];
    let c = layer.shape.channels();
    let n = layer.size();
    let base = layer.bias.take();
    layer.bias = Some(Bias::Neuron(
        (0..n)
            .map(|i| {
                let b = base.as_ref().map_or(0.0, |b| b.at(i, c));
                b + ((i * 7 + i / c) % 5) as f32 * 0.03 - 0.06
            })
            .collect(),
    ));
}

/// A small deterministic generator for test data.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn unit(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A random MLP spiking network: 2x3x2 analog input -> 9 IF -> 6 IF ->
/// 4 readout, weights in [-0.6, 1.0), small biases.
pub fn mlp(rng: &mut Lcg) -> snncc::snn::SnnModel {
    use ndarray::Array2;
    use snncc::ir::Shape;
    use snncc::snn::{Bias, Connection, Neurons, SnnLayer, SnnModel, Source, Synapses};
    let dense = |rng: &mut Lcg, n_in: usize, n_out: usize| Synapses::Dense {
        kernel: Array2::from_shape_fn((n_in, n_out), |_| rng.unit() * 1.6 - 0.6),
    };
    let layer = |name: &str, n: usize, neurons, source, synapses, bias: Vec<f32>| SnnLayer {
        name: name.into(),
        shape: Shape::Vector { n },
        neurons,
        inputs: vec![Connection { source, synapses }],
        gate_source: None,
        bias: Some(Bias::Channel(bias)),
        lambda: vec![1.0; n],
        burst: 1,
    };
    let if_neurons = Neurons::IntegrateAndFire { threshold: 1.0 };
    let b = |rng: &mut Lcg, n: usize| (0..n).map(|_| rng.unit() * 0.2 - 0.1).collect();
    let l0 = layer(
        "fc1",
        9,
        if_neurons.clone(),
        Source::Input,
        dense(rng, 12, 9),
        b(rng, 9),
    );
    let l1 = layer(
        "fc2",
        6,
        if_neurons,
        Source::Layer(0),
        dense(rng, 9, 6),
        b(rng, 6),
    );
    let l2 = layer(
        "fc3",
        4,
        Neurons::Readout,
        Source::Layer(1),
        dense(rng, 6, 4),
        b(rng, 4),
    );
    SnnModel {
        name: "mlp".into(),
        input_shape: Shape::Map { h: 2, w: 3, c: 2 },
        layers: vec![l0, l1, l2],
        h: 0.5,
        h_layers: None,
        cnn_macs: 0,
        burst_after: 0,
        input_range: Some([0.0, 1.0]),
    }
}

impl Lcg {
    /// A value in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + ((self.unit() * (hi - lo + 1) as f32) as usize).min(hi - lo)
    }
}

/// A random small CNN as a spiking network: an analog-input convolution
/// (random kernel, stride and padding), an average pool or a max gate, a
/// spiking convolution, a dense layer over the flattened map and a readout
/// (potential or spike count). Channel counts are not multiples of common
/// lane counts, so padding lanes are exercised.
pub fn cnn(rng: &mut Lcg) -> snncc::snn::SnnModel {
    use ndarray::{Array2, Array4};
    use snncc::ir::{Pad, Shape};
    use snncc::snn::{Bias, Connection, Neurons, SnnLayer, SnnModel, Source, Synapses};
    let out_len = |n: usize, k: usize, s: usize, p: (usize, usize)| (n + p.0 + p.1 - k) / s + 1;
    let (h, w, cin) = (rng.range(5, 8), rng.range(5, 8), rng.range(1, 2));
    let weight = |rng: &mut Lcg| rng.unit() * 1.6 - 0.55;
    let bias = |rng: &mut Lcg, n: usize| {
        Some(Bias::Channel(
            (0..n).map(|_| rng.unit() * 0.2 - 0.08).collect(),
        ))
    };
    let if_neurons = Neurons::IntegrateAndFire { threshold: 1.0 };
    let layer = |name: &str, shape, neurons, inputs, bias| SnnLayer {
        name: name.into(),
        shape,
        neurons,
        inputs,
        gate_source: None,
        bias,
        lambda: vec![1.0; Shape::channels(&shape)],
        burst: 1,
    };
    let mut layers = Vec::new();
    // conv1: analog input.
    let k1 = rng.range(2, 3);
    let s1 = rng.range(1, 2);
    let p1 = (rng.range(0, k1 - 1), rng.range(0, k1 - 1));
    let c1 = rng.range(2, 5);
    let (h1, w1) = (out_len(h, k1, s1, p1), out_len(w, k1, s1, (p1.1, p1.0)));
    let kernel = Array4::from_shape_fn((k1, k1, cin, c1), |_| weight(rng) * 0.8);
    layers.push(layer(
        "conv1",
        Shape::Map {
            h: h1,
            w: w1,
            c: c1,
        },
        if_neurons.clone(),
        vec![Connection {
            source: Source::Input,
            synapses: Synapses::Conv {
                kernel,
                strides: (s1, s1),
                pad: Pad {
                    top: p1.0,
                    bottom: p1.1,
                    left: p1.1,
                    right: p1.0,
                },
            },
        }],
        bias(rng, c1),
    ));
    // pool1: average pool (padded windows of varying size) or max gate.
    let pad = if rng.unit() < 0.5 { 0 } else { 1 };
    let pool = Pad {
        top: pad,
        bottom: 0,
        left: pad,
        right: 0,
    };
    let (h2, w2) = (out_len(h1, 2, 2, (pad, 0)), out_len(w1, 2, 2, (pad, 0)));
    let shape2 = Shape::Map {
        h: h2,
        w: w2,
        c: c1,
    };
    if rng.unit() < 0.5 {
        layers.push(layer(
            "pool1",
            shape2,
            if_neurons.clone(),
            vec![Connection {
                source: Source::Layer(0),
                synapses: Synapses::AvgPool {
                    size: (2, 2),
                    strides: (2, 2),
                    pad: pool,
                    scale: (0..c1).map(|_| 0.8 + rng.unit() * 0.6).collect(),
                },
            }],
            None,
        ));
    } else {
        let mut gate = layer(
            "pool1",
            shape2,
            Neurons::MaxGate {
                size: (2, 2),
                strides: (2, 2),
                pad: pool,
            },
            vec![],
            None,
        );
        gate.gate_source = Some(Source::Layer(0));
        layers.push(gate);
    }
    // conv2: spiking, stride 1, 'same'-style padding.
    let k3 = rng.range(1, 3);
    let c3 = rng.range(3, 6);
    let p3 = (k3 - 1) / 2;
    let pad3 = Pad {
        top: p3,
        bottom: k3 - 1 - p3,
        left: p3,
        right: k3 - 1 - p3,
    };
    layers.push(layer(
        "conv2",
        Shape::Map {
            h: h2,
            w: w2,
            c: c3,
        },
        if_neurons.clone(),
        vec![Connection {
            source: Source::Layer(1),
            synapses: Synapses::Conv {
                kernel: Array4::from_shape_fn((k3, k3, c1, c3), |_| weight(rng)),
                strides: (1, 1),
                pad: pad3,
            },
        }],
        bias(rng, c3),
    ));
    // fc1 over the flattened map, then the readout.
    let n3 = h2 * w2 * c3;
    let u = rng.range(5, 9);
    layers.push(layer(
        "fc1",
        Shape::Vector { n: u },
        if_neurons,
        vec![Connection {
            source: Source::Layer(2),
            synapses: Synapses::Dense {
                kernel: Array2::from_shape_fn((n3, u), |_| weight(rng) * 0.7),
            },
        }],
        bias(rng, u),
    ));
    let classes = rng.range(3, 4);
    let readout = if rng.unit() < 0.5 {
        Neurons::Readout
    } else {
        Neurons::SpikeCountReadout { threshold: 1.0 }
    };
    layers.push(layer(
        "out",
        Shape::Vector { n: classes },
        readout,
        vec![Connection {
            source: Source::Layer(3),
            synapses: Synapses::Dense {
                kernel: Array2::from_shape_fn((u, classes), |_| weight(rng)),
            },
        }],
        bias(rng, classes),
    ));
    SnnModel {
        name: "cnn".into(),
        input_shape: Shape::Map { h, w, c: cin },
        layers,
        h: 0.5,
        h_layers: None,
        cnn_macs: 0,
        burst_after: 0,
        input_range: Some([0.0, 1.0]),
    }
}

/// A random small CNN with a residual block (`cnn`'s network, then the
/// block drawn from the same generator, so `cnn`'s seeds are unchanged):
/// after conv2, a layer `res` adds a convolution of conv2 and a shortcut
/// of an earlier layer, in random order: an identity or a 1x1 projection
/// of pool1 (two layers back), or a 2x2 stride-2 convolution or average
/// pool of conv1 (three back; conv1's list also feeds a max gate when
/// pool1 is one). fc1 then reads `res`.
pub fn cnn_residual(rng: &mut Lcg) -> snncc::snn::SnnModel {
    use ndarray::{Array2, Array4};
    use snncc::ir::{Pad, Shape};
    use snncc::snn::{Bias, Connection, Neurons, SnnLayer, Source, Synapses};
    let mut model = cnn(rng);
    let map = |s: &Shape| match *s {
        Shape::Map { h, w, c } => (h, w, c),
        Shape::Vector { .. } => unreachable!("cnn's first layers are maps"),
    };
    let (_, _, c1) = map(&model.layers[0].shape);
    let (h2, w2, c3) = map(&model.layers[2].shape);
    // pool1's window, stride and padding (shared by its gate or its pool).
    let pool_pad = match (&model.layers[1].neurons, &model.layers[1].inputs[..]) {
        (Neurons::MaxGate { pad, .. }, _) => *pad,
        (
            _,
            [Connection {
                synapses: Synapses::AvgPool { pad, .. },
                ..
            }],
        ) => *pad,
        _ => unreachable!("pool1 is a gate or a pool"),
    };
    let weight = |rng: &mut Lcg| rng.unit() * 1.2 - 0.4;
    // The block's channels: pool1's (so an identity or a pool fits) or not.
    let same = rng.unit() < 0.6;
    let cr = if same { c1 } else { rng.range(2, 6) };
    let k = rng.range(1, 3);
    let p = (k - 1) / 2;
    let main = Connection {
        source: Source::Layer(2),
        synapses: Synapses::Conv {
            kernel: Array4::from_shape_fn((k, k, c3, cr), |_| weight(rng) * 0.8),
            strides: (1, 1),
            pad: Pad {
                top: p,
                bottom: k - 1 - p,
                left: p,
                right: k - 1 - p,
            },
        },
    };
    let kind = rng.range(0, 3);
    let scale = |rng: &mut Lcg| (0..cr).map(|_| 0.5 + rng.unit() * 0.5).collect();
    let shortcut = match kind {
        0 if same => Connection {
            source: Source::Layer(1),
            synapses: Synapses::Identity { scale: scale(rng) },
        },
        3 if same => Connection {
            source: Source::Layer(0),
            synapses: Synapses::AvgPool {
                size: (2, 2),
                strides: (2, 2),
                pad: pool_pad,
                scale: scale(rng),
            },
        },
        2 | 3 => Connection {
            source: Source::Layer(0),
            synapses: Synapses::Conv {
                kernel: Array4::from_shape_fn((2, 2, c1, cr), |_| weight(rng) * 0.5),
                strides: (2, 2),
                pad: pool_pad,
            },
        },
        _ => Connection {
            source: Source::Layer(1),
            synapses: Synapses::Conv {
                kernel: Array4::from_shape_fn((1, 1, c1, cr), |_| weight(rng)),
                strides: (1, 1),
                pad: Pad::default(),
            },
        },
    };
    let inputs = if rng.unit() < 0.5 {
        vec![main, shortcut]
    } else {
        vec![shortcut, main]
    };
    let res = SnnLayer {
        name: "res".into(),
        shape: Shape::Map {
            h: h2,
            w: w2,
            c: cr,
        },
        neurons: Neurons::IntegrateAndFire { threshold: 1.0 },
        inputs,
        gate_source: None,
        bias: Some(Bias::Channel(
            (0..cr).map(|_| rng.unit() * 0.2 - 0.1).collect(),
        )),
        lambda: vec![1.0; cr],
        burst: 1,
    };
    model.layers.insert(3, res);
    // fc1 reads the block; the readout follows it.
    let fc1 = &mut model.layers[4];
    let u = fc1.shape.len();
    fc1.inputs = vec![Connection {
        source: Source::Layer(3),
        synapses: Synapses::Dense {
            kernel: Array2::from_shape_fn((h2 * w2 * cr, u), |_| weight(rng) * 0.7),
        },
    }];
    model.layers[5].inputs[0].source = Source::Layer(4);
    model.name = "cnn_residual".into();
    model
}

/// `snncc cosim OUT --data DATA --limit N --simulator SIM --trace --json`:
/// the process and its JSON report (null when there is none).
pub fn cosim_traced(
    out: &Path,
    data: &Path,
    simulator: &str,
    limit: usize,
) -> (Output, serde_json::Value) {
    let res = snncc([
        "cosim".as_ref(),
        out.as_os_str(),
        "--data".as_ref(),
        data.as_os_str(),
        "--limit".as_ref(),
        limit.to_string().as_ref(),
        "--simulator".as_ref(),
        simulator.as_ref(),
        "--trace".as_ref(),
        "--json".as_ref(),
    ]);
    let report = serde_json::from_str(&stdout(&res)).unwrap_or(serde_json::Value::Null);
    (res, report)
}

/// Co-simulate `limit` inputs with `--trace` and require them bit-exact:
/// every read-out value and every layer's spikes equal, and the cycles
/// within 1.5x of the work bound (never below it). Returns the report.
pub fn assert_cosim_exact(
    out: &Path,
    data: &Path,
    simulator: &str,
    limit: usize,
) -> serde_json::Value {
    let (res, r) = cosim_traced(out, data, simulator, limit);
    assert!(res.status.success(), "{simulator}: {}", stderr(&res));
    assert_eq!(r["images"], limit, "{r}");
    assert_eq!(r["mismatches"], 0, "{r}");
    assert!(r["trace_mismatch"].is_null(), "{r}");
    assert!(
        r["spikes_compared"].as_u64().unwrap() > 1000 * limit as u64,
        "{r}"
    );
    let ratio = r["latency_ratio"].as_f64().unwrap();
    assert!((1.0..1.5).contains(&ratio), "cycles vs work bound: {r}");
    r
}
