//! The decided hardware design of a quantised network: every width, shift,
//! constant, routing table and memory image of every layer engine
//! (docs/hardware.md). The templates only print it.
//!
//! Neurons are stored in groups of `lanes` channels of one pixel (group
//! `q = px * G + g`, lane `l` = channel `g * lanes + l`); memory words hold a
//! whole group. Spikes travel as entries `{px, g, mask}`.

use crate::quant::arith::align;
use crate::quant::format::bits_for_range;
use crate::quant::{Overflow, QConnection, QLayerKind, QNeurons, QSynapses, QuantModel};
use crate::snn::dense::Dims;
use crate::snn::fanout::FanOut;
use crate::snn::{Bias, Source};

pub use super::layout::{addr_bits, Geometry};
use super::layout::{full_words, taps_of};
use super::residual::{route_residual, FullSynapses, Residual};
use super::routing::{Slot, TapWords, Taps};

/// Why a network cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum DesignError {
    /// Every layer the hardware cannot build, each with the reason.
    #[error("{}", list(.0))]
    Unsupported(Vec<Problem>),
    #[error("{0} lanes: the lane count must be a power of two from 1 to 64")]
    Lanes(usize),
    #[error("{0} slots: the taps per cycle must be from 1 to 16")]
    Slots(usize),
    #[error("an off-chip weight latency of {0} cycles: it must be from 1 to 16")]
    OffchipLatency(u32),
    #[error("no layer named {names} to keep weights off chip (the layers: {layers})")]
    UnknownLayers { names: String, layers: String },
}

/// What the hardware is built for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesignOptions {
    pub timesteps: usize,
    /// The most neuron lanes of an engine (a power of two); an engine has
    /// as many as its layer's channels need, up to this.
    pub lanes: usize,
    /// The most taps an engine adds per cycle (its current banks); each
    /// convolution or pooling engine takes the fewest that pack its taps
    /// into (almost) the fewest tap words.
    pub slots: usize,
    /// Per layer, fewer lanes than the above where that costs no speed
    /// (`codegen::balance_lanes`); pooling engines and max gates keep their
    /// source's lanes whatever this says.
    pub layer_lanes: Option<Vec<usize>>,
    /// Per layer, cycles an engine spends updating one group (a power of
    /// two up to its lanes): it then has lanes / this IF units. 1 where
    /// absent.
    pub layer_serial: Option<Vec<usize>>,
    /// Per layer, the slots to use (fewer than the fastest packing where
    /// that costs no speed); where absent, each engine chooses up to
    /// `slots`.
    pub layer_slots: Option<Vec<usize>>,
    /// Early cutoff: the raw read-out margin (docs/fixed-point.md §4.6) at
    /// which an image stops; `None` runs every image `timesteps` steps.
    pub cutoff: Option<i64>,
    /// Where the spiking layers keep their membranes.
    pub state: StateWord,
    /// Layers whose weights are read from an external memory.
    pub offchip: Offchip,
    /// The analog layer keeps the input and scatters it at every step
    /// instead of keeping its current for the image (docs/hardware.md,
    /// "Replaying the input"): one state word per neuron, for the
    /// scatter's cycles at every step.
    pub replay_input: bool,
}

/// Weights kept off chip (docs/hardware.md, "Weights off chip"): the named
/// layers read their weight words through a port of the top level from a
/// memory that answers `latency` cycles after the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offchip {
    pub layers: Vec<String>,
    pub latency: u32,
}

impl Default for Offchip {
    /// No layer off chip; a pipelined synchronous SRAM's latency (its
    /// address and data registers) for those that will be.
    fn default() -> Offchip {
        Offchip {
            layers: Vec::new(),
            latency: 2,
        }
    }
}

/// Where a spiking layer keeps its membrane potentials (docs/hardware.md,
/// "One state word per neuron").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateWord {
    /// Merged where that takes fewer block RAMs than separate memories.
    #[default]
    Auto,
    /// In the current banks: the scatter adds into `V + sum`, the update
    /// writes the new `V` back (one word per neuron, a write-back
    /// multiplexer per lane and slot). Not a potential read-out, whose
    /// membranes the read-out scans, nor the analog layer unless it
    /// replays its input (its banks keep the image's current).
    Merged,
    /// A membrane memory beside the current banks.
    Separate,
}

impl StateWord {
    /// The manifest's name of the policy.
    pub fn name(self) -> &'static str {
        match self {
            StateWord::Auto => "auto",
            StateWord::Merged => "merged",
            StateWord::Separate => "separate",
        }
    }
    /// The policy a manifest names (`None`: not a policy).
    pub fn from_name(name: &str) -> Option<StateWord> {
        [StateWord::Auto, StateWord::Merged, StateWord::Separate]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

impl DesignOptions {
    /// The defaults: 16 lanes, up to 8 taps per cycle.
    pub fn new(timesteps: usize) -> DesignOptions {
        DesignOptions {
            timesteps,
            lanes: 16,
            slots: 8,
            layer_lanes: None,
            layer_serial: None,
            layer_slots: None,
            cutoff: None,
            state: StateWord::Auto,
            offchip: Offchip::default(),
            replay_input: false,
        }
    }
}

/// One layer the hardware cannot build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub layer: String,
    pub reason: String,
}

fn list(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| format!("layer {}: {}", p.layer, p.reason))
        .collect();
    lines.join("; ")
}

/// Cycles an engine spends on a time step besides its scatter ops and its
/// group sweep: the walker's fill (list read, offsets, expander), the
/// scatter pipeline's drain, the update pipeline's drain and the
/// sequencer's handshake (hw/snn_layer.v, templates/top.v).
pub const STEP_OVERHEAD: usize = 20;

/// Bits of a merged state lane holding `V + sum`: exact in one bit more
/// than the wider of the membrane and the accumulator (`V` is in the
/// membrane's range and every partial sum in the accumulator's,
/// docs/fixed-point.md §4.2).
fn state_bits(membrane_bits: u32, acc_bits: u32) -> u32 {
    membrane_bits.max(acc_bits) + 1
}

/// The datapath of a layer of neurons (`hw/snn_layer.v`).
#[derive(Debug, Clone)]
pub struct NeuronEngine {
    /// Pooling-style synapses: output channel = source channel.
    pub depthwise: bool,
    pub analog: bool,
    pub fires: bool,
    pub w_bits: u32,
    pub w_shift: u32,
    pub b_bits: u32,
    pub b_shift: u32,
    pub acc_bits: u32,
    pub membrane_bits: u32,
    /// The fit saturates. False where the overflow policy wraps, and where
    /// the membrane holds every value `timesteps` steps can reach (the
    /// quantiser's proof): no sum is out of range, so the saturating
    /// multiplexer of every IF unit would never select.
    pub saturate: bool,
    pub theta_bits: u32,
    /// The membrane lives in the current banks (StateWord::Merged): a
    /// bank's lane is `state_bits()` wide and holds `V + sum`.
    pub merged: bool,
    /// Aligned threshold (membrane units); 1 for the readout (unused).
    pub theta: i64,
    pub v0: i64,
    /// Per-channel initial potentials, where they differ: words per group,
    /// `lanes` raw V0s each (`mem/<layer>_v0.mem`); `None`: `v0` for all.
    pub v0_words: Option<Vec<Vec<i64>>>,
    /// Shift of a product `w * x` (analog layer only).
    pub p_shift: u32,
    /// Weight words, `lanes` raw weights each (docs/hardware.md, Memories).
    pub weights: Vec<Vec<i64>>,
    /// The weights are read from an external memory with this latency in
    /// cycles (`Offchip`), not from block RAM.
    pub weights_offchip: Option<u32>,
    /// The analog layer scatters its kept input at every step
    /// (`DesignOptions::replay_input`).
    pub replay: bool,
    /// Bias words per group, `lanes` raw biases each.
    pub bias: Vec<Vec<i64>>,
}

impl NeuronEngine {
    /// Bits of a merged state lane (`state_bits`).
    pub fn state_bits(&self) -> u32 {
        state_bits(self.membrane_bits, self.acc_bits)
    }
    /// The initial potential as the bits of its membrane format (two's
    /// complement), for a Verilog `'d` literal.
    pub fn v0_bits(&self) -> u64 {
        let mask = if self.membrane_bits >= 64 {
            u64::MAX
        } else {
            (1u64 << self.membrane_bits) - 1
        };
        self.v0 as u64 & mask
    }
}

/// What an engine computes.
#[derive(Debug, Clone)]
pub enum EngineKind {
    Neurons(NeuronEngine),
    /// A spiking max-pooling gate (`hw/snn_max_gate.v`).
    MaxGate,
}

/// One layer engine.
#[derive(Debug, Clone)]
pub struct Engine {
    pub name: String,
    /// This engine's neurons, in groups of its own lane count.
    pub out: Geometry,
    /// The source's layout (the input's, one lane, for an analog layer).
    pub src: Geometry,
    pub routing: TapWords,
    /// This engine keeps spike counts (the spike-count readout; a max gate
    /// keeps its source's counts itself, `source_count_depth`).
    pub counts: bool,
    /// Bits of a spike count (the design's).
    pub count_bits: u32,
    /// Entries this engine's spike list can hold in one step.
    pub list_depth: usize,
    /// The most spikes a neuron emits in a step (burst spikes; a gate's
    /// is its source's): a group pushes up to this many entries a step,
    /// one per lane mask (hw/snn_layer.v). 1 where the run ends before
    /// bursts begin (`QuantModel::burst_at` the last step): no burst logic.
    pub burst: u32,
    /// Steps at one spike a step before bursts begin (where `burst` > 1).
    pub burst_after: u32,
    /// A residual add's second synapse group (then `src` is the virtual
    /// source of both, codegen::residual).
    pub residual: Option<Residual>,
    /// Cycles the update spends on a group (`lanes / upd_ser` IF units).
    pub upd_ser: usize,
    pub kind: EngineKind,
}

impl Engine {
    pub fn neurons(&self) -> Option<&NeuronEngine> {
        match &self.kind {
            EngineKind::Neurons(n) => Some(n),
            EngineKind::MaxGate => None,
        }
    }
    /// Bits of a weight word (`LANES * W_BITS`; a gate has none and keeps
    /// the engine's default `W_BITS`, 8, for its unused port).
    pub fn w_word_bits(&self) -> u32 {
        self.lanes() as u32 * self.neurons().map_or(8, |n| n.w_bits)
    }
    /// The analog layer replays its kept input at every step.
    pub fn replays(&self) -> bool {
        self.neurons().is_some_and(|n| n.replay)
    }
    /// The latency of the external memory this engine's weights are read
    /// from, if they are off chip.
    pub fn weights_offchip(&self) -> Option<u32> {
        self.neurons().and_then(|n| n.weights_offchip)
    }
    pub fn is_gate(&self) -> bool {
        matches!(self.kind, EngineKind::MaxGate)
    }
    /// The sequencer issues `init` while the input loads: the banks hold
    /// the last image's membranes (merged), or a max gate's counts.
    pub fn clears_at_load(&self) -> bool {
        self.merged() || self.is_gate()
    }
    /// Cycles of the clear sweep `init` starts: the banks' groups, and a
    /// gate's source counts at the same time.
    pub fn clear_cycles(&self) -> usize {
        self.lq_depth().max(self.source_count_depth())
    }
    /// Pooling synapses (output channel = source channel).
    pub fn is_depthwise(&self) -> bool {
        self.neurons().is_some_and(|n| n.depthwise)
    }
    pub fn is_analog(&self) -> bool {
        self.neurons().is_some_and(|n| n.analog)
    }
    pub fn membrane_bits(&self) -> u32 {
        self.neurons().map_or(1, |n| n.membrane_bits)
    }
    /// The IF units' fit saturates (a gate has none).
    pub fn saturates(&self) -> bool {
        self.neurons().is_some_and(|n| n.saturate)
    }
    /// The current banks are small enough for distributed RAM, whose read
    /// register is a flip-flop: the scatter adds and writes in one stage
    /// and forwards one write instead of three (hw/snn_layer.v, FAST_BANK;
    /// block RAM's clock-to-out leaves no time for that). Not in a gate.
    pub fn fast_bank(&self) -> bool {
        !self.is_gate() && bank_in_lutram(self.out, self.slots(), self.acc_bits())
    }
    /// Bits of the source field the engine walks: the entry's group, or
    /// the input element's channel for an analog layer.
    pub fn src_field_bits(&self) -> u32 {
        if self.is_analog() {
            addr_bits(self.src.c)
        } else {
            self.src.g_bits
        }
    }
    /// Bits of this engine's spike list count (0..=list_depth).
    pub fn list_bits(&self) -> u32 {
        addr_bits(self.list_depth + 1)
    }
    /// Synapse groups (source lists walked in turn): 2 for a residual add.
    pub fn groups(&self) -> usize {
        if self.residual.is_some() {
            2
        } else {
            1
        }
    }
    /// Neurons of its sources (both groups' for a residual add).
    pub fn src_neurons(&self) -> usize {
        match &self.residual {
            Some(r) => r.chained.px * r.chained.c + r.shortcut.px * r.shortcut.c,
            None => self.src.px * self.src.c,
        }
    }
    pub fn lanes(&self) -> usize {
        self.out.lanes
    }
    /// Taps added per cycle (= current banks).
    pub fn slots(&self) -> usize {
        self.routing.slots
    }
    /// Groups per current bank: pixel `px` is in bank `px % slots`.
    pub fn lq_depth(&self) -> usize {
        self.out.px.div_ceil(self.slots()) * self.out.g
    }
    pub fn lq_bits(&self) -> u32 {
        addr_bits(self.lq_depth())
    }
    /// Bits of this engine's spike entries `{px, g, mask}`.
    pub fn entry_bits(&self) -> u32 {
        self.out.entry_bits()
    }
    /// Bits of the entries the engine reads (`{px, field, mask}`).
    pub fn src_entry_bits(&self) -> u32 {
        self.src.px_bits + self.src_field_bits() + self.src.lanes as u32
    }
    /// Words of a max gate's memory of its source's spike counts, one per
    /// source group at address `{px, g}` (`hw/snn_layer.v`): the source's
    /// pixels times `G` rounded up to a power of two. 0 for other engines.
    pub fn source_count_depth(&self) -> usize {
        if self.is_gate() {
            self.src.px * self.src.g.next_power_of_two()
        } else {
            0
        }
    }
    /// Bits of a lane of the current memory (a gate's: its count; a
    /// merged state's: `V + sum`).
    pub fn acc_bits(&self) -> u32 {
        self.neurons().map_or(self.count_bits, |n| {
            if n.merged {
                n.state_bits()
            } else {
                n.acc_bits
            }
        })
    }
    /// The membrane lives in the current banks.
    pub fn merged(&self) -> bool {
        self.neurons().is_some_and(|n| n.merged)
    }
    /// Bits of a tap slot's output pixel (only a gate pushes it).
    pub fn pxs_bits(&self) -> u32 {
        if self.is_gate() {
            self.out.px_bits
        } else {
            1
        }
    }
    /// Bits of a tap slot `{valid, px, wbase, qbase}`.
    pub fn slot_bits(&self) -> u32 {
        1 + self.pxs_bits() + self.routing.wbase_bits() + self.lq_bits()
    }
    /// Weight address bits.
    pub fn wa_bits(&self) -> u32 {
        addr_bits(self.w_depth())
    }
    /// Weight words (1 for a gate, which has none).
    pub fn w_depth(&self) -> usize {
        self.neurons().map_or(1, |n| n.weights.len().max(1))
    }
}

/// What the design reads out after the last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readout {
    /// The last layer's membrane potentials.
    Potential,
    /// The last layer's spike counts.
    SpikeCount,
}

/// A whole design: engines in order, the last one the readout.
#[derive(Debug, Clone)]
pub struct Design {
    pub name: String,
    pub timesteps: usize,
    pub lanes: usize,
    pub saturate: bool,
    pub input_len: usize,
    pub input_bits: u32,
    pub input_addr_bits: u32,
    /// Bits of the analog layer's input index, which counts to `input_len`.
    pub input_index_bits: u32,
    /// Bits of a spike count (0..=timesteps x the largest burst).
    pub count_bits: u32,
    pub readout: Readout,
    /// The raw margin of the early cutoff, if any.
    pub cutoff: Option<i64>,
    pub engines: Vec<Engine>,
}

impl Design {
    pub fn last(&self) -> &Engine {
        self.engines.last().expect("a design has a readout")
    }
    /// Bits of a memory word of `bits`-wide lanes.
    pub fn word(&self, bits: impl std::borrow::Borrow<u32>) -> u32 {
        self.lanes as u32 * bits.borrow()
    }
    /// Bits of one read-out value (a potential or a spike count).
    pub fn out_value_bits(&self) -> u32 {
        match (self.readout, self.last().neurons()) {
            (Readout::Potential, Some(n)) => n.membrane_bits,
            _ => self.count_bits,
        }
    }
    /// Neurons read out.
    pub fn out_len(&self) -> usize {
        self.last().out.px * self.last().out.c
    }
    /// Bits of a class index (0..out_len).
    pub fn class_bits(&self) -> u32 {
        addr_bits(self.out_len())
    }
    /// Bits of a neuron counter of the read-out (0..=out_len).
    pub fn out_n_bits(&self) -> u32 {
        addr_bits(self.out_len() + 1)
    }
    /// Bits of a step count (0..=timesteps).
    pub fn step_bits(&self) -> u32 {
        addr_bits(self.timesteps + 1)
    }
    /// The cutoff margin as the read-out compares it: a non-negative
    /// `out_value_bits + 2`-bit number (a larger margin is never reached,
    /// so it saturates there).
    pub fn cutoff_margin(&self) -> u64 {
        let max = (1u64 << (self.out_value_bits() + 1)) - 1;
        self.cutoff.map_or(0, |m| (m.max(0) as u64).min(max))
    }
    /// Whether an engine clears state while each input loads
    /// (`Engine::clears_at_load`).
    pub fn clears_at_load(&self) -> bool {
        self.engines.iter().any(Engine::clears_at_load)
    }
    /// Whether an engine adds two synapse groups (a residual add).
    /// The top level's ports to the off-chip weight memories: per engine
    /// `i` that has one, `w<i>_addr`, `w<i>_en` and `w<i>_data`.
    pub fn offchip_ports(&self) -> Vec<(String, u32)> {
        self.engines
            .iter()
            .enumerate()
            .filter(|(_, e)| e.weights_offchip().is_some())
            .flat_map(|(i, e)| {
                [
                    (format!("w{i}_addr"), e.wa_bits()),
                    (format!("w{i}_en"), 1),
                    (format!("w{i}_data"), e.w_word_bits()),
                ]
            })
            .collect()
    }
    pub fn has_residual(&self) -> bool {
        self.engines.iter().any(|e| e.residual.is_some())
    }
    /// Bits of engine `i`'s source list index: the input's for the analog
    /// layer, else its source's list's (the wider of both for a residual
    /// add, whose lists share the index).
    pub fn src_list_bits(&self, i: usize) -> u32 {
        let e = &self.engines[i];
        if e.is_analog() {
            return self.input_index_bits;
        }
        let chained = self.engines[i - 1].list_bits();
        e.residual
            .map_or(chained, |r| chained.max(self.engines[r.layer].list_bits()))
    }
    /// Bits of the beat counter: an image takes at most `timesteps +
    /// engines - 1` beats (docs/hardware.md, "Layers overlapped in time").
    pub fn beat_bits(&self) -> u32 {
        addr_bits(self.timesteps + self.engines.len() + 1)
    }
}

/// Per-channel values as group words (`kk_count` tables of `c` values).
fn depthwise_words(
    kk_count: usize,
    out: Geometry,
    value: impl Fn(usize, usize) -> i64,
) -> Vec<Vec<i64>> {
    let lanes = out.lanes;
    (0..kk_count)
        .flat_map(|kk| (0..out.g).map(move |g| (kk, g)))
        .map(|(kk, g)| {
            (0..lanes)
                .map(|l| g * lanes + l)
                .map(|c| if c < out.c { value(kk, c) } else { 0 })
                .collect()
        })
        .collect()
}

/// Refuse a lane count the engines cannot use (a power of two, so a
/// channel's lane and group are bit fields; at most 64).
pub fn check_lanes(lanes: usize) -> Result<(), DesignError> {
    if lanes.is_power_of_two() && lanes <= 64 {
        Ok(())
    } else {
        Err(DesignError::Lanes(lanes))
    }
}

/// The lanes of an engine whose layer has `c` channels: enough for all of
/// them, up to `max`.
fn lanes_for(c: usize, max: usize) -> usize {
    c.next_power_of_two().clamp(1, max)
}

/// Current banks this small are assumed to go to distributed RAM (Yosys
/// maps small memories there on the ECP5 and Xilinx parts): block RAM
/// would waste most of its depth.
pub(super) const LUTRAM_MAX_BITS: usize = 8192;

/// Decide the design of `model` (docs/hardware.md).
pub fn design(model: &QuantModel, options: &DesignOptions) -> Result<Design, DesignError> {
    check_lanes(options.lanes)?;
    if !(1..=16).contains(&options.slots) {
        return Err(DesignError::Slots(options.slots));
    }
    let offchip = &options.offchip;
    if !(1..=16).contains(&offchip.latency) {
        return Err(DesignError::OffchipLatency(offchip.latency));
    }
    let unknown: Vec<&str> = offchip
        .layers
        .iter()
        .filter(|name| !model.layers.iter().any(|l| &l.name == *name))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(DesignError::UnknownLayers {
            names: unknown.join(", "),
            layers: model
                .layers
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let timesteps = options.timesteps;
    // A spike count reaches the most spikes of a run: one a step before
    // bursts begin, the burst after (a gate counts its source's spikes;
    // the read-out's burst is 1).
    let most_spikes = (0..model.layers.len())
        .map(|li| crate::snn::burst::most_spikes(model.burst(li), model.burst_after, timesteps))
        .max()
        .unwrap_or(timesteps);
    let count_bits = addr_bits(most_spikes + 1);
    let input_dims = Dims::of(model.input_shape);
    let dims: Vec<Dims> = model.layers.iter().map(|l| Dims::of(l.shape)).collect();
    let n_layers = model.layers.len();
    // Layers whose spike counts are kept: the spike-count readout (a max
    // gate keeps its source's counts itself).
    let counted: Vec<bool> = model
        .layers
        .iter()
        .map(|layer| {
            matches!(&layer.kind, QLayerKind::Neurons(n)
                if matches!(n.neurons, QNeurons::SpikeCountReadout { .. }))
        })
        .collect();
    // Every problem at once, not the first.
    let mut problems = Vec::new();
    let mut engines: Vec<Engine> = Vec::with_capacity(n_layers);
    for (li, layer) in model.layers.iter().enumerate() {
        let last = li + 1 == n_layers;
        let mut refuse = |reason: String| {
            problems.push(Problem {
                layer: layer.name.clone(),
                reason,
            })
        };
        // The most a neuron fires in any step of the run: 1 where the run
        // ends before bursts begin.
        let burst = model.burst_at(li, timesteps);
        let chained = |source: usize| source + 1 == li;
        // The source engine's layout (its lanes), when it was built.
        let source_geometry = |s: usize| {
            engines
                .get(s)
                .filter(|_| engines.len() == li)
                .map(|e| e.out)
        };
        match &layer.kind {
            QLayerKind::MaxGate {
                source,
                size,
                strides,
                pad,
            } => {
                if !chained(*source) {
                    refuse(
                        "the hardware chains layers: a max gate must read the layer just before it"
                            .into(),
                    );
                    continue;
                }
                if matches!(model.layers[*source].kind, QLayerKind::MaxGate { .. }) {
                    refuse("a max gate fed by another max gate is not supported".into());
                    continue;
                }
                if last {
                    refuse("the last layer must be a readout, not a max gate".into());
                    continue;
                }
                let Some(src) = source_geometry(*source) else {
                    continue;
                };
                let out = Geometry::new(dims[li], src.lanes);
                let fanout =
                    FanOut::windows(*size, *strides, *pad, 0, dims[*source], dims[li], false);
                let taps = taps_of(&fanout, src.px, |_, _| 0);
                // One slot: a gate pushes its spikes as it finds them.
                // Absolute addresses: a gate pushes the slot's pixel.
                let routing = TapWords::pack(&taps, 1, false, |_, px| Slot {
                    px,
                    wbase: 0,
                    qbase: px * out.g,
                });
                engines.push(Engine {
                    name: layer.name.clone(),
                    out,
                    src,
                    routing,
                    counts: counted[li],
                    count_bits,
                    // A push carries the lanes of one output group that
                    // fired on one source entry: each lane fires at most
                    // `burst` times a step (a window's largest count grows
                    // by the source's burst at most), and a group hears
                    // from each source pixel of its window at most `burst`
                    // times (the source pushes a group once a step per
                    // lane mask), so a group pushes at most min(lanes,
                    // window) x burst times a step.
                    list_depth: out.groups() * out.lanes.min(size.0 * size.1) * burst as usize,
                    burst,
                    burst_after: model.burst_after,
                    residual: None,
                    upd_ser: 1,
                    kind: EngineKind::MaxGate,
                });
            }
            QLayerKind::Neurons(n) => {
                // A residual add: the chained group first, then the shortcut.
                let (conn, shortcut) = match n.inputs.as_slice() {
                    [conn] => (conn, None),
                    [a, b] => {
                        let reads = |c: &QConnection| match c.source {
                            Source::Layer(s) => Some(s),
                            Source::Input => None,
                        };
                        match (reads(a), reads(b)) {
                            (Some(sa), Some(sb)) if chained(sa) => (a, Some((b, sb))),
                            (Some(sa), Some(sb)) if chained(sb) => (b, Some((a, sa))),
                            (Some(_), Some(_)) => {
                                refuse("the hardware chains layers: one of the two synapse groups (a residual add) must read the layer just before it".into());
                                continue;
                            }
                            _ => {
                                refuse("a residual add of the analog input is not supported in hardware (an engine takes the input's current once per image or spikes every step, not both)".into());
                                continue;
                            }
                        }
                    }
                    more => {
                        refuse(format!(
                            "{} synapse groups: the hardware engines add at most two (a residual add)",
                            more.len()
                        ));
                        continue;
                    }
                };
                let analog = conn.source == Source::Input;
                let (src, src_dims) = match conn.source {
                    Source::Input => (Geometry::new(input_dims, 1), input_dims),
                    Source::Layer(s) if chained(s) => match source_geometry(s) {
                        Some(g) => (g, dims[s]),
                        None => continue,
                    },
                    Source::Layer(_) => {
                        refuse("the hardware chains layers: this one reads a layer other than the one before it".into());
                        continue;
                    }
                };
                // The two groups' sources as one virtual source
                // (codegen::residual).
                let residual = match shortcut {
                    None => None,
                    Some((other, s)) => match source_geometry(s) {
                        Some(g) => {
                            let (r, virtual_source) = Residual::new(li, src, s, g);
                            Some((r, virtual_source, other))
                        }
                        None => continue,
                    },
                };
                let (fires, theta_raw) = match n.neurons {
                    QNeurons::IntegrateAndFire { threshold } => (true, threshold),
                    QNeurons::SpikeCountReadout { threshold } => (true, threshold),
                    QNeurons::Readout => (false, 1),
                };
                let is_readout = !matches!(n.neurons, QNeurons::IntegrateAndFire { .. });
                if is_readout != last {
                    refuse("the last layer must be the readout, and only it".into());
                    continue;
                }
                // A residual engine's groups are both full synapses.
                let depthwise = residual.is_none()
                    && matches!(
                        conn.synapses,
                        QSynapses::AvgPool { .. }
                            | QSynapses::GlobalAvgPool { .. }
                            | QSynapses::Identity { .. }
                    );
                if analog && depthwise {
                    refuse("pooling the analog input directly is not supported in hardware (start with a convolution or dense layer)".into());
                    continue;
                }
                // Pooling keeps its source's channel groups.
                let out_lanes = if depthwise {
                    src.lanes
                } else {
                    let max = options
                        .layer_lanes
                        .as_ref()
                        .and_then(|l| l.get(li).copied())
                        .filter(|&l| check_lanes(l).is_ok())
                        .map_or(options.lanes, |l| l.min(options.lanes));
                    lanes_for(dims[li].c, max)
                };
                let out = Geometry::new(dims[li], out_lanes);
                let f = n.formats;
                let m = f.membrane.frac();
                let w_shift = if analog { 0 } else { m - f.weights.frac() };
                let b_shift = m - f.bias.frac();
                // A wider accumulator changes nothing (sums are exact); the
                // engine needs room for the aligned weight and bias words.
                let acc_bits = n
                    .accumulator_bits
                    .max(f.weights.bits() + w_shift)
                    .max(f.bias.bits() + b_shift);
                let offchip_here = offchip.layers.contains(&layer.name);
                if offchip_here && (analog || depthwise || residual.is_some()) {
                    refuse("weights off chip: only a dense or convolution layer that reads spikes from the layer before it (not the analog layer, a pooling or a residual add)".into());
                    continue;
                }
                // One port, so one slot.
                let fixed = if offchip_here {
                    Some(1)
                } else {
                    options
                        .layer_slots
                        .as_ref()
                        .and_then(|s| s.get(li).copied())
                };
                // The membrane in the banks or beside them (StateWord), and
                // more banks only where they cost at most one block RAM more
                // than one bank (a bank's depth shrinks, its width does not:
                // the rounding of the banks' depths may add one; LeNet's
                // first layer takes 2 slots for one block more).
                let state_bits = state_bits(f.membrane.bits(), acc_bits);
                // The analog layer's banks keep its current for the
                // image unless it replays the input.
                let replay = analog && options.replay_input;
                let mergeable =
                    fires && (!analog || replay) && options.state != StateWord::Separate;
                let membrane_blocks =
                    memory_blocks(out.groups(), out.lanes * f.membrane.bits() as usize);
                let blocks = |p: usize, merged: bool| {
                    if merged {
                        bank_blocks(out, p, state_bits)
                    } else {
                        bank_blocks(out, p, acc_bits) + membrane_blocks
                    }
                };
                // Auto merges block-RAM banks only: merged banks in
                // distributed RAM would move the membrane into LUTs (LeNet's
                // conv2: 8 block RAMs saved for about 3,000 LUT4).
                let merge_at = |p: usize| {
                    mergeable
                        && (options.state == StateWord::Merged
                            || (!bank_in_lutram(out, p, state_bits)
                                && blocks(p, true) < blocks(p, false)))
                };
                let blocks_at = |p: usize| blocks(p, merge_at(p));
                let allowed = |p: usize| match fixed {
                    Some(f) => p == f,
                    None => blocks_at(p) <= blocks_at(1) + 1,
                };
                let max_slots = fixed.unwrap_or(options.slots).clamp(1, 16);
                let (routing, weights, src) = match residual {
                    Some((r, virtual_source, other)) => {
                        let groups = [
                            FullSynapses::of(&conn.synapses, src, (src_dims, dims[li])),
                            FullSynapses::of(
                                &other.synapses,
                                r.shortcut,
                                (dims[r.layer], dims[li]),
                            ),
                        ];
                        let (routing, weights) =
                            route_residual(&r, groups, virtual_source, out, max_slots, &allowed);
                        (routing, weights, virtual_source)
                    }
                    None => {
                        let (routing, weights) = route(
                            &conn.synapses,
                            src,
                            (src_dims, dims[li]),
                            out,
                            max_slots,
                            &allowed,
                        );
                        (routing, weights, src)
                    }
                };
                let theta = align(theta_raw, f.threshold.frac(), m);
                let p_shift = if analog {
                    m - f.weights.frac() - model.input.format.frac()
                } else {
                    0
                };
                // One word per group, or per pixel and group where the
                // bias varies over the map (a BN folded through padding).
                let bias = n.bias.clone().unwrap_or(Bias::Channel(vec![0; out.c]));
                let bias_pixels = if bias.per_neuron() { out.px } else { 1 };
                let merged = merge_at(routing.slots);
                engines.push(Engine {
                    name: layer.name.clone(),
                    out,
                    src,
                    routing,
                    counts: counted[li],
                    count_bits,
                    // One entry per group and lane mask.
                    list_depth: out.groups() * burst as usize,
                    burst,
                    burst_after: model.burst_after,
                    residual: residual.map(|(r, _, _)| r),
                    upd_ser: options
                        .layer_serial
                        .as_ref()
                        .and_then(|k| k.get(li).copied())
                        .filter(|k| k.is_power_of_two())
                        .map_or(1, |k| k.min(out.lanes)),
                    kind: EngineKind::Neurons(NeuronEngine {
                        depthwise,
                        analog,
                        fires,
                        w_bits: f.weights.bits(),
                        w_shift,
                        b_bits: f.bias.bits(),
                        b_shift,
                        acc_bits,
                        membrane_bits: f.membrane.bits(),
                        saturate: model.overflow == Overflow::Saturate
                            && !(n.membrane_proven && timesteps <= model.timesteps),
                        theta_bits: bits_for_range(0, theta).unwrap_or(64),
                        merged,
                        theta: theta as i64,
                        v0: n.v0[0],
                        v0_words: n
                            .v0
                            .iter()
                            .any(|&v| v != n.v0[0])
                            .then(|| depthwise_words(1, out, |_, c| n.v0_at(c))),
                        p_shift,
                        weights,
                        weights_offchip: offchip_here.then_some(offchip.latency),
                        replay,
                        bias: depthwise_words(bias_pixels, out, |px, c| {
                            bias.at(px * out.c + c, out.c)
                        }),
                    }),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(DesignError::Unsupported(problems));
    }
    let readout = match &model.layers.last().map(|l| &l.kind) {
        Some(QLayerKind::Neurons(n)) if matches!(n.neurons, QNeurons::Readout) => {
            Readout::Potential
        }
        _ => Readout::SpikeCount,
    };
    Ok(Design {
        name: model.name.clone(),
        timesteps,
        lanes: options.lanes,
        saturate: model.overflow == Overflow::Saturate,
        input_len: model.input_shape.len(),
        input_bits: model.input.format.bits(),
        input_addr_bits: addr_bits(model.input_shape.len()),
        input_index_bits: addr_bits(model.input_shape.len() + 1),
        count_bits,
        readout,
        cutoff: options.cutoff,
        engines,
    })
}

fn bank_in_lutram(out: Geometry, slots: usize, lane_bits: u32) -> bool {
    let depth = out.px.div_ceil(slots) * out.g;
    depth * out.lanes * lane_bits as usize <= LUTRAM_MAX_BITS
}

/// Block RAMs the current banks of `slots` banks take (none where they fit
/// in distributed RAM).
fn bank_blocks(out: Geometry, slots: usize, lane_bits: u32) -> usize {
    if bank_in_lutram(out, slots, lane_bits) {
        return 0;
    }
    let depth = out.px.div_ceil(slots) * out.g;
    slots * block_tiles(depth, out.lanes * lane_bits as usize)
}

/// Block RAMs a `depth x width` memory takes, none where it is small
/// enough for distributed RAM.
fn memory_blocks(depth: usize, width: usize) -> usize {
    if depth * width <= LUTRAM_MAX_BITS {
        0
    } else {
        block_tiles(depth, width)
    }
}

/// The fewest 18-kbit block RAMs (the ECP5's DP16KD, as deep x wide as
/// 512 x 36 ... 16384 x 1; Yosys picks the shape) that tile a `depth x
/// width` memory. Xilinx' RAMB18 has the same shapes.
pub(super) fn block_tiles(depth: usize, width: usize) -> usize {
    const SHAPES: [(usize, usize); 6] = [
        (512, 36),
        (1024, 18),
        (2048, 9),
        (4096, 4),
        (8192, 2),
        (16384, 1),
    ];
    SHAPES
        .iter()
        .map(|&(d, w)| depth.div_ceil(d) * width.div_ceil(w))
        .min()
        .unwrap_or(0)
}

/// The packed routing tables and weight words of one synapse group.
fn route(
    synapses: &QSynapses,
    src: Geometry,
    (src_dims, out_dims): (Dims, Dims),
    out: Geometry,
    max_slots: usize,
    allowed: &dyn Fn(usize) -> bool,
) -> (TapWords, Vec<Vec<i64>>) {
    let src_px = src.px;
    let g = out.g;
    // A full tap: weights of kernel position kk, the pixel's first group.
    let full = |slots: usize| {
        move |kk: usize, px: usize| Slot {
            px,
            wbase: kk * g * src.c,
            qbase: px / slots * g,
        }
    };
    let pooled = |slots: usize| {
        move |kk: usize, px: usize| Slot {
            px,
            wbase: kk * g,
            qbase: px / slots * g,
        }
    };
    match synapses {
        // Convolutions and dense layers (a kernel over the whole source,
        // one output pixel, so one slot).
        QSynapses::Conv { .. } | QSynapses::Dense { .. } => {
            let FullSynapses {
                taps,
                kk_count,
                weight,
            } = FullSynapses::of(synapses, src, (src_dims, out_dims));
            let slots = TapWords::choose_slots(&taps, max_slots, out.px, allowed);
            let words = full_words(kk_count, src.c, out, weight);
            (TapWords::pack(&taps, slots, true, full(slots)), words)
        }
        QSynapses::AvgPool { weights, .. } => {
            let fanout = synapses.fanout(src_dims, out_dims);
            let sizes = &fanout.window_sizes;
            let taps = taps_of(&fanout, src_px, |_, o_px| {
                (sizes[o_px as usize] as usize).saturating_sub(1)
            });
            let slots = TapWords::choose_slots(&taps, max_slots, out.px, allowed);
            let words = depthwise_words(weights.dim().0, out, |kk, c| weights[[kk, c]]);
            (TapWords::pack(&taps, slots, true, pooled(slots)), words)
        }
        QSynapses::GlobalAvgPool { weights } => {
            let taps: Taps = (0..src_px).map(|_| vec![(0, 0)]).collect();
            let words = depthwise_words(1, out, |_, c| weights[c]);
            (TapWords::pack(&taps, 1, true, pooled(1)), words)
        }
        QSynapses::Identity { weights } => {
            let taps: Taps = (0..src_px).map(|p| vec![(0, p)]).collect();
            let words = depthwise_words(1, out, |_, c| weights[c]);
            (TapWords::pack(&taps, 1, true, pooled(1)), words)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{addr_bits, block_tiles, memory_blocks, StateWord};

    #[test]
    fn block_rams_tile_the_best_shape() {
        // 524 deep just misses 512 x 36: 1024 x 18 halves of width.
        assert_eq!(block_tiles(524, 104), 6);
        assert_eq!(block_tiles(512, 104), 3);
        // 2048 x 9 for 1568 words of 104 bits.
        assert_eq!(block_tiles(1568, 104), 12);
        // VGG's dense-like relu5: 25,088 words of 2 x 8 bits.
        assert_eq!(block_tiles(25088, 16), 25);
        assert_eq!(block_tiles(1, 1), 1);
        // Small memories go to distributed RAM.
        assert_eq!(memory_blocks(64, 128), 0);
        assert_eq!(memory_blocks(64, 272), 8);
    }

    #[test]
    fn state_word_names_round_trip() {
        for s in [StateWord::Auto, StateWord::Merged, StateWord::Separate] {
            assert_eq!(StateWord::from_name(s.name()), Some(s));
        }
        assert_eq!(StateWord::from_name("both"), None);
    }

    #[test]
    fn address_bits() {
        assert_eq!(
            [
                addr_bits(1),
                addr_bits(2),
                addr_bits(3),
                addr_bits(4),
                addr_bits(5)
            ],
            [1, 1, 2, 2, 3]
        );
        assert_eq!(addr_bits(784), 10);
        assert_eq!(addr_bits(1024), 10);
    }
}
