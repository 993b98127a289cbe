//! The build folder's `manifest.yaml`: what `build` decided (so `cosim`
//! and `synth` rebuild the same design) and a description of every engine,
//! its memories and its cycle model (docs/hardware.md).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    top_name, Design, DesignOptions, Engine, EngineKind, Geometry, Offchip, Readout, StateWord,
};

/// The manifest's file name in a build folder.
pub const MANIFEST: &str = "manifest.yaml";
/// The format tag this version writes.
pub const FORMAT: &str = "snncc-design 1";

/// A build folder's manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{0} is not a snncc build output (no manifest.yaml)")]
    NotABuild(PathBuf),
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: serde_norway::Error,
    },
    #[error("{0} is missing; rebuild with snncc build")]
    MissingRtl(PathBuf),
}

/// `manifest.yaml`. Fields after `slots` are optional when read, so a
/// folder built before they existed still co-simulates as it was built.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub name: String,
    pub target: String,
    pub top: String,
    pub timesteps: usize,
    pub lanes: usize,
    pub slots: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_percent: Option<f64>,
    /// Per layer, what balancing chose (absent: the widest, fastest).
    #[serde(default)]
    pub layer_lanes: Option<Vec<usize>>,
    #[serde(default)]
    pub layer_update_cycles: Option<Vec<usize>>,
    #[serde(default)]
    pub layer_slots: Option<Vec<usize>>,
    /// Absent: built before the choice existed, every membrane apart.
    #[serde(default = "separate")]
    pub state_word: StateWord,
    #[serde(default)]
    pub cutoff_margin_raw: Option<i64>,
    /// Layers whose weights are read from an external memory, and its
    /// latency (docs/hardware.md, "Weights off chip").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offchip_weights: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offchip_latency: Option<u32>,
    /// The analog layer replays its input every step.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replay_input: bool,
    #[serde(default)]
    pub overflow: String,
    /// The RTL in compile order, relative to the folder.
    pub rtl: Vec<String>,
    /// The top level's ports and their widths.
    #[serde(default)]
    pub ports: BTreeMap<String, u32>,
    #[serde(default)]
    pub readout: String,
    #[serde(default)]
    pub input: Option<InputWords>,
    #[serde(default)]
    pub testbench: Option<Testbench>,
    #[serde(default)]
    pub layers: Vec<LayerEntry>,
    /// Every memory with the 18-kbit blocks it takes (`codegen::memories`'
    /// estimate, before synthesis).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_ram: Option<BlockRam>,
}

/// The block-RAM estimate: the total and every memory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BlockRam {
    pub blocks: usize,
    pub memories: Vec<super::MemoryUse>,
}

impl BlockRam {
    fn of(design: &Design) -> BlockRam {
        let memories = super::memories(design);
        BlockRam {
            blocks: memories.iter().map(|m| m.blocks).sum(),
            memories,
        }
    }
}

fn separate() -> StateWord {
    StateWord::Separate
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputWords {
    pub words: usize,
    pub bits: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Testbench {
    pub file: String,
    /// Calibration inputs it runs (0: none were given).
    pub inputs: usize,
    pub note: String,
}

/// A geometry as the manifest shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Extent {
    pub pixels: usize,
    pub channels: usize,
    pub lanes: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<usize>,
}

impl Extent {
    fn of(g: &Geometry, groups: bool) -> Extent {
        Extent {
            pixels: g.px,
            channels: g.c,
            lanes: g.lanes,
            groups: groups.then(|| g.groups()),
        }
    }
}

/// A residual add's second source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shortcut {
    pub layer: String,
    #[serde(flatten)]
    pub extent: Extent,
    /// Steps its list holds (docs/hardware.md, "Residual adds").
    pub steps_held: usize,
}

/// One memory image.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Memory {
    pub file: String,
    pub words: usize,
    pub bits: u32,
}

/// What an engine is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "engine", rename_all = "snake_case")]
pub enum EngineEntry {
    MaxGate,
    Layer(NeuronEntry),
}

/// A neuron engine's datapath.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NeuronEntry {
    /// `full` or `depthwise` (pooling).
    pub synapses: String,
    pub analog: bool,
    pub fires: bool,
    pub weight_bits: u32,
    pub weight_shift: u32,
    pub bias_bits: u32,
    pub accumulator_bits: u32,
    pub membrane_bits: u32,
    /// The banks' lanes hold V + sum (`state_bits` wide) instead of the sum.
    pub membrane_in_banks: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_bits: Option<u32>,
    pub threshold: i64,
    /// One V0 for the layer, or one per channel (`mem/<layer>_v0.mem`).
    pub v0: InitialPotentials,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InitialPotentials {
    Layer(i64),
    Channels(Vec<i64>),
}

/// One engine's entry: geometry, datapath, memories and cycle model.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LayerEntry {
    pub name: String,
    pub source: Extent,
    pub output: Extent,
    pub slots: usize,
    pub tap_words: usize,
    pub keeps_spike_counts: bool,
    /// The most spikes a neuron emits in a step (burst spikes,
    /// docs/hardware.md), where more than one.
    #[serde(
        default = "crate::snn::store::one",
        skip_serializing_if = "crate::snn::store::is_one"
    )]
    pub burst: u32,
    /// Steps at one spike a step before bursts begin, where `burst` > 1.
    #[serde(default, skip_serializing_if = "crate::snn::store::is_zero")]
    pub burst_after: u32,
    #[serde(flatten)]
    pub engine: EngineEntry,
    /// The cycle model of docs/hardware.md, in words.
    pub cycles_per_step: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortcut: Option<Shortcut>,
    pub memories: Vec<Memory>,
}

impl Manifest {
    /// The manifest of `design`, built with `options` (whose per-layer
    /// choices the design records) into a folder holding `rtl` (relative
    /// paths) and a testbench of `tb_inputs` inputs.
    pub fn of(
        design: &Design,
        options: &DesignOptions,
        slack_percent: Option<f64>,
        rtl: Vec<String>,
        tb_inputs: usize,
    ) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            name: design.name.clone(),
            target: "verilog".into(),
            top: top_name(design),
            timesteps: design.timesteps,
            lanes: design.lanes,
            slots: options.slots,
            slack_percent,
            layer_lanes: Some(design.engines.iter().map(|e| e.lanes()).collect()),
            layer_update_cycles: Some(design.engines.iter().map(|e| e.upd_ser).collect()),
            layer_slots: Some(design.engines.iter().map(|e| e.slots()).collect()),
            state_word: options.state,
            cutoff_margin_raw: design.cutoff,
            offchip_weights: options.offchip.layers.clone(),
            offchip_latency: (!options.offchip.layers.is_empty())
                .then_some(options.offchip.latency),
            replay_input: options.replay_input,
            overflow: if design.saturate { "saturate" } else { "wrap" }.into(),
            rtl,
            ports: [
                ("clk", 1),
                ("rst", 1),
                ("s_valid", 1),
                ("s_ready", 1),
                ("s_data", design.input_bits),
                ("o_valid", 1),
                ("o_ready", 1),
                ("o_value", design.out_value_bits()),
                ("o_last", 1),
                ("o_class", design.class_bits()),
                ("o_steps", design.step_bits()),
            ]
            .into_iter()
            .map(|(name, bits)| (name.to_string(), bits))
            .chain(design.offchip_ports())
            .collect(),
            readout: match design.readout {
                Readout::Potential => "potential",
                Readout::SpikeCount => "spike_count",
            }
            .into(),
            input: Some(InputWords {
                words: design.input_len,
                bits: design.input_bits,
            }),
            testbench: Some(Testbench {
                file: "tb/tb.v".into(),
                inputs: tb_inputs,
                note: "snncc cosim rewrites it for its data".into(),
            }),
            layers: design
                .engines
                .iter()
                .map(|e| layer_entry(design, e))
                .collect(),
            block_ram: Some(BlockRam::of(design)),
        }
    }

    /// The options that rebuild the design this manifest describes.
    pub fn design_options(&self) -> DesignOptions {
        DesignOptions {
            timesteps: self.timesteps,
            lanes: self.lanes,
            slots: self.slots,
            layer_lanes: self.layer_lanes.clone(),
            layer_serial: self.layer_update_cycles.clone(),
            layer_slots: self.layer_slots.clone(),
            cutoff: self.cutoff_margin_raw,
            state: self.state_word,
            offchip: Offchip {
                layers: self.offchip_weights.clone(),
                latency: self.offchip_latency.unwrap_or(Offchip::default().latency),
            },
            replay_input: self.replay_input,
        }
    }

    /// Read `dir/manifest.yaml` and check its RTL files are there.
    pub fn read(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                ManifestError::NotABuild(dir.to_path_buf())
            } else {
                ManifestError::Io {
                    path: path.clone(),
                    source,
                }
            }
        })?;
        let manifest: Manifest = serde_norway::from_str(&text)
            .map_err(|source| ManifestError::Parse { path, source })?;
        if let Some(missing) = manifest.rtl_paths(dir).into_iter().find(|f| !f.exists()) {
            return Err(ManifestError::MissingRtl(missing));
        }
        Ok(manifest)
    }

    /// Write `dir/manifest.yaml`.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        let yaml = serde_norway::to_string(self).map_err(std::io::Error::other)?;
        std::fs::write(
            dir.join(MANIFEST),
            format!("# snncc design manifest (docs/hardware.md)\n{yaml}"),
        )
    }

    /// The RTL files in compile order, under `dir`.
    pub fn rtl_paths(&self, dir: &Path) -> Vec<PathBuf> {
        self.rtl.iter().map(|f| dir.join(f)).collect()
    }
}

/// One engine's entry: geometry, formats, memories and the cycle model of
/// docs/hardware.md.
fn layer_entry(design: &Design, e: &Engine) -> LayerEntry {
    let mem = |what: &str, words: usize, bits: u32| Memory {
        file: format!("{}/{}_{what}.mem", super::MEM_DIR, e.name),
        words,
        bits,
    };
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
    let (engine, cycles_per_step) = match &e.kind {
        EngineKind::MaxGate => (
            EngineEntry::MaxGate,
            "1 per (source entry, tap word)".to_string(),
        ),
        EngineKind::Neurons(n) => {
            memories.push(mem("weights", n.weights.len(), lanes * n.w_bits));
            memories.push(mem("bias", n.bias.len(), lanes * n.b_bits));
            if let Some(v0) = &n.v0_words {
                memories.push(mem("v0", v0.len(), lanes * n.membrane_bits));
            }
            let cycles = if n.depthwise {
                format!("{} + 1 per (source entry, tap word)", e.out.groups())
            } else if n.analog && n.replay {
                format!(
                    "{} + {} per (non-zero input, tap word): the input kept at load is replayed every step",
                    e.out.groups(),
                    e.out.g
                )
            } else if n.analog {
                format!(
                    "{} (the current is computed once per image, 1 cycle per (non-zero input, tap word, output group))",
                    e.out.groups()
                )
            } else {
                format!("{} + {} per (spike, tap word)", e.out.groups(), e.out.g)
            };
            let entry = NeuronEntry {
                synapses: if n.depthwise { "depthwise" } else { "full" }.into(),
                analog: n.analog,
                fires: n.fires,
                weight_bits: n.w_bits,
                weight_shift: n.w_shift,
                bias_bits: n.b_bits,
                accumulator_bits: n.acc_bits,
                membrane_bits: n.membrane_bits,
                membrane_in_banks: n.merged,
                state_bits: n.merged.then(|| n.state_bits()),
                threshold: n.theta,
                v0: match &n.v0_words {
                    Some(words) => InitialPotentials::Channels(
                        words.iter().flatten().take(e.out.c).copied().collect(),
                    ),
                    None => InitialPotentials::Layer(n.v0),
                },
            };
            (EngineEntry::Layer(entry), cycles)
        }
    };
    LayerEntry {
        name: e.name.clone(),
        source: Extent::of(e.residual.as_ref().map_or(&e.src, |r| &r.chained), false),
        output: Extent::of(&e.out, true),
        slots: r.slots,
        tap_words: r.words.len(),
        keeps_spike_counts: e.counts,
        burst: e.burst,
        burst_after: if e.burst > 1 { e.burst_after } else { 0 },
        engine,
        cycles_per_step,
        shortcut: e.residual.as_ref().map(|r| Shortcut {
            layer: design.engines[r.layer].name.clone(),
            extent: Extent::of(&r.shortcut, false),
            steps_held: r.halves,
        }),
        memories,
    }
}
