//! Where a design's block RAM goes: every memory of every engine and
//! spike list, with the 18-kbit blocks it tiles (the ECP5's DP16KD and
//! Xilinx' RAMB18 shapes). An estimate made before synthesis, so `build`
//! can say what a design needs and the slot choice can keep within a
//! device; `snncc synth` reports what Yosys actually mapped.

use super::design::{block_tiles, Design, Engine, LUTRAM_MAX_BITS};

/// One memory of the design.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemoryUse {
    /// The engine (layer) it belongs to, or the spike list's producer.
    pub layer: String,
    /// What it holds: "weights", "currents", "membranes", "counts", ...
    pub what: String,
    /// Copies (one per slot for weights and current banks).
    pub copies: usize,
    pub depth: usize,
    pub width: usize,
    /// Blocks of all copies; 0 where the memory is small enough for
    /// distributed RAM.
    pub blocks: usize,
}

/// Every memory of `design`, in engine order.
pub fn memories(design: &Design) -> Vec<MemoryUse> {
    let mut out = Vec::new();
    for (i, e) in design.engines.iter().enumerate() {
        engine_memories(e, design, &mut out);
        let last = i + 1 == design.engines.len();
        if !last {
            // Two step buffers of a power-of-two depth (hw/snn_spike_list.v).
            out.push(memory(
                &e.name,
                "spike list",
                1,
                2 * e.list_depth.next_power_of_two(),
                e.entry_bits() as usize,
            ));
        }
        if let Some(r) = &e.residual {
            let src = &design.engines[r.layer];
            out.push(memory(
                &e.name,
                "shortcut list",
                1,
                r.halves * src.list_depth.next_power_of_two(),
                r.shortcut.entry_bits() as usize,
            ));
        }
    }
    out
}

/// The blocks of all of `design`'s memories.
pub fn total_blocks(design: &Design) -> usize {
    memories(design).iter().map(|m| m.blocks).sum()
}

fn memory(layer: &str, what: &str, copies: usize, depth: usize, width: usize) -> MemoryUse {
    let blocks = if depth * width <= LUTRAM_MAX_BITS {
        0
    } else {
        copies * block_tiles(depth, width)
    };
    MemoryUse {
        layer: layer.to_string(),
        what: what.to_string(),
        copies,
        depth,
        width,
        blocks,
    }
}

fn engine_memories(e: &Engine, design: &Design, out: &mut Vec<MemoryUse>) {
    let lanes = e.lanes();
    let slots = e.slots();
    let mut add =
        |what, copies, depth, width| out.push(memory(&e.name, what, copies, depth, width));
    add(
        "tap words",
        1,
        e.routing.n_words(),
        slots * e.slot_bits() as usize,
    );
    add(
        "routing offsets",
        1,
        e.routing.offsets.len(),
        (e.routing.word_bits() + e.routing.count_bits() + e.lq_bits()) as usize,
    );
    add(
        "currents",
        slots,
        e.lq_depth(),
        lanes * e.acc_bits() as usize,
    );
    if e.counts {
        add(
            "spike counts",
            1,
            e.out.groups(),
            lanes * e.count_bits as usize,
        );
    }
    if e.is_gate() {
        add(
            "source spike counts",
            1,
            e.source_count_depth(),
            e.src.lanes * e.count_bits as usize,
        );
    }
    if let Some(n) = e.neurons() {
        if n.replay {
            // The kept input {px, c, x}, one word per input element.
            add(
                "input buffer",
                1,
                design.input_len,
                (e.src.px_bits + e.src_field_bits() + design.input_bits) as usize,
            );
        }
        if n.weights_offchip.is_none() {
            add("weights", slots, e.w_depth(), lanes * n.w_bits as usize);
        }
        add("biases", 1, n.bias.len(), lanes * n.b_bits as usize);
        if !n.merged {
            add(
                "membranes",
                1,
                e.out.groups(),
                lanes * n.membrane_bits as usize,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_memories_take_no_block_and_large_ones_tile() {
        let m = memory("x", "weights", 3, 64, 32);
        assert_eq!(m.blocks, 0, "2 kbit goes to distributed RAM");
        // 1,568 x 72 bits: 2 x 4 tiles of 512 x 36 (or 1,024 x 18 ...).
        let m = memory("x", "currents", 1, 1568, 72);
        assert_eq!(m.blocks, 8);
        assert_eq!(memory("x", "currents", 3, 1568, 72).blocks, 24);
    }
}
