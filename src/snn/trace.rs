//! A per-step record of one image's simulation: every layer's spikes and
//! membrane potentials at every step. The integer simulator's trace is the
//! reference the RTL co-simulation compares against.

/// Membrane potentials of a layer, `steps x neurons`, row per step.
#[derive(Debug, Clone, PartialEq)]
pub enum Potentials {
    /// Float simulator.
    Float(Vec<f32>),
    /// Integer simulator: raw values of a `bits`-wide membrane format.
    Int { bits: u32, values: Vec<i64> },
    /// A max gate (no membrane).
    None,
}

/// One layer's record.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerTrace {
    pub name: String,
    pub neurons: usize,
    /// Indices of the neurons that fired, per step (step 1 first).
    pub spikes: Vec<Vec<u32>>,
    /// Potentials after each step (step 0, the initial state, first).
    pub potentials: Potentials,
}

/// A whole simulation of one image for `timesteps` steps.
#[derive(Debug, Clone, PartialEq)]
pub struct SpikeTrace {
    pub timesteps: usize,
    pub layers: Vec<LayerTrace>,
}

impl SpikeTrace {
    /// An empty trace for layers `(name, neurons, potentials kind)`.
    pub fn new(layers: impl Iterator<Item = (String, usize, Potentials)>) -> SpikeTrace {
        SpikeTrace {
            timesteps: 0,
            layers: layers
                .map(|(name, neurons, potentials)| LayerTrace {
                    name,
                    neurons,
                    spikes: Vec::new(),
                    potentials,
                })
                .collect(),
        }
    }

    /// Record the potentials of layer `li` (one row of `neurons` values).
    pub fn push_float(&mut self, li: usize, v: &[f32]) {
        if let Potentials::Float(all) = &mut self.layers[li].potentials {
            all.extend_from_slice(v);
        }
    }

    /// Record the integer potentials of layer `li`.
    pub fn push_int(&mut self, li: usize, v: impl Iterator<Item = i64>) {
        if let Potentials::Int { values, .. } = &mut self.layers[li].potentials {
            values.extend(v);
        }
    }

    /// Record the spikes of layer `li` at the current step.
    pub fn push_spikes(&mut self, li: usize, spikes: &[u32]) {
        self.layers[li].spikes.push(spikes.to_vec());
    }
}
