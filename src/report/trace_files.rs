//! Writing a `SpikeTrace`: as a Value Change Dump (IEEE 1364 §18; opens in
//! GTKWave, and is what an RTL simulator writes too) or as a NumPy `.npz`
//! archive (`<layer>.spikes.npy`: steps x neurons uint8, step 1 first;
//! `<layer>.v.npy`: (steps + 1) x neurons int64 raw values or float32,
//! the initial state first).

use std::io::{self, Write};
use std::path::Path;

use crate::data::write_npy;
use crate::snn::{Potentials, SpikeTrace};

/// VCD identifier of the `i`-th variable: base-94 over printable ASCII.
fn vcd_id(mut i: usize) -> String {
    let mut id = String::new();
    loop {
        id.push((b'!' + (i % 94) as u8) as char);
        i /= 94;
        if i == 0 {
            return id;
        }
    }
}

/// A two's-complement binary string of `raw` in `bits` bits.
fn binary(raw: i64, bits: u32) -> String {
    (0..bits)
        .rev()
        .map(|b| {
            if (raw >> b.min(63)) & 1 == 1 {
                '1'
            } else {
                '0'
            }
        })
        .collect()
}

/// The trace as VCD text into `out`: one time unit per step; per layer a
/// `spikes` vector (bit i = neuron i) and one `v_<i>` per neuron. Written
/// as it goes (a long trace of a big layer is hundreds of MB of text), so
/// give it a buffered writer. Hand-written rather than the `vcd` crate:
/// the format needs only the declarations and value changes below, and
/// that crate is not among the dependencies measured here (STYLE.md).
pub fn write_vcd<W: Write>(out: &mut W, trace: &SpikeTrace, model: &str) -> io::Result<()> {
    writeln!(out, "$version snncc {} $end", env!("CARGO_PKG_VERSION"))?;
    writeln!(
        out,
        "$comment one time unit = one SNN timestep; network {model} $end"
    )?;
    writeln!(out, "$timescale 1ns $end\n$scope module snn $end")?;
    let mut next = 0usize;
    // (spikes id, per-neuron potential ids) per layer
    let mut ids = Vec::new();
    for l in &trace.layers {
        let name: String = l
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        writeln!(out, "$scope module {name} $end")?;
        let sid = vcd_id(next);
        next += 1;
        writeln!(
            out,
            "$var wire {} {sid} spikes [{}:0] $end",
            l.neurons,
            l.neurons - 1
        )?;
        let mut vids = Vec::new();
        for i in 0..l.neurons {
            let id = vcd_id(next);
            next += 1;
            match l.potentials {
                Potentials::Int { bits, .. } => {
                    writeln!(out, "$var reg {bits} {id} v_{i} [{}:0] $end", bits - 1)?;
                }
                Potentials::Float(_) => {
                    writeln!(out, "$var real 64 {id} v_{i} $end")?;
                }
                Potentials::None => break,
            }
            vids.push(id);
        }
        ids.push((sid, vids));
        writeln!(out, "$upscope $end")?;
    }
    writeln!(out, "$upscope $end\n$enddefinitions $end")?;
    for t in 0..=trace.timesteps {
        writeln!(out, "#{t}")?;
        if t == 0 {
            out.write_all(b"$dumpvars\n")?;
        }
        for (l, (sid, vids)) in trace.layers.iter().zip(&ids) {
            let now: Vec<bool> = spike_row(l.spikes.get(t.wrapping_sub(1)), l.neurons, t);
            let before = (t > 1).then(|| spike_row(l.spikes.get(t - 2), l.neurons, t - 1));
            if before.as_ref() != Some(&now) {
                let bits: String = now
                    .iter()
                    .rev()
                    .map(|&s| if s { '1' } else { '0' })
                    .collect();
                writeln!(out, "b{bits} {sid}")?;
            }
            for (i, id) in vids.iter().enumerate() {
                let k = t * l.neurons + i;
                let changed = t == 0 || {
                    let prev = k - l.neurons;
                    match &l.potentials {
                        Potentials::Int { values, .. } => values[k] != values[prev],
                        Potentials::Float(values) => values[k] != values[prev],
                        Potentials::None => false,
                    }
                };
                if changed {
                    match &l.potentials {
                        Potentials::Int { bits, values } => {
                            writeln!(out, "b{} {id}", binary(values[k], *bits))?
                        }
                        Potentials::Float(values) => writeln!(out, "r{} {id}", values[k])?,
                        Potentials::None => {}
                    }
                }
            }
        }
        if t == 0 {
            out.write_all(b"$end\n")?;
        }
    }
    Ok(())
}

/// `write_vcd` into a new file at `path`, buffered.
pub fn write_vcd_file(trace: &SpikeTrace, model: &str, path: &Path) -> io::Result<()> {
    let mut out = io::BufWriter::new(std::fs::File::create(path)?);
    write_vcd(&mut out, trace, model)?;
    out.flush()
}

/// Spikes of one step as booleans (step 0, the initial state, has none).
fn spike_row(step: Option<&Vec<u32>>, neurons: usize, t: usize) -> Vec<bool> {
    let mut row = vec![false; neurons];
    if t > 0 {
        for &i in step.into_iter().flatten() {
            row[i as usize] = true;
        }
    }
    row
}

/// Write the trace as an `.npz` archive (uncompressed, as `numpy.savez`).
pub fn write_npz(trace: &SpikeTrace, path: &Path) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let io = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
    for l in &trace.layers {
        let t = trace.timesteps;
        let mut spikes = vec![0u8; t * l.neurons];
        for (step, fired) in l.spikes.iter().enumerate() {
            for &i in fired {
                spikes[step * l.neurons + i as usize] = 1;
            }
        }
        zip.start_file(format!("{}.spikes.npy", l.name), options)
            .map_err(io)?;
        write_npy(&mut zip, &[t as u64, l.neurons as u64], spikes.into_iter())?;
        let shape = [t as u64 + 1, l.neurons as u64];
        match &l.potentials {
            Potentials::Int { values, .. } => {
                zip.start_file(format!("{}.v.npy", l.name), options)
                    .map_err(io)?;
                write_npy(&mut zip, &shape, values.iter().copied())?;
            }
            Potentials::Float(values) => {
                zip.start_file(format!("{}.v.npy", l.name), options)
                    .map_err(io)?;
                write_npy(&mut zip, &shape, values.iter().copied())?;
            }
            Potentials::None => {}
        }
    }
    zip.finish().map_err(io)?.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snn::LayerTrace;

    fn trace() -> SpikeTrace {
        SpikeTrace {
            timesteps: 2,
            layers: vec![LayerTrace {
                name: "conv1".into(),
                neurons: 3,
                spikes: vec![vec![0, 2], vec![]],
                potentials: Potentials::Int {
                    bits: 4,
                    values: vec![2, 2, 2, 1, 5, -1, 1, 7, -4],
                },
            }],
        }
    }

    #[test]
    fn vcd_has_header_values_and_changes_only() {
        let mut bytes = Vec::new();
        write_vcd(&mut bytes, &trace(), "net").unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("$var wire 3 ! spikes [2:0] $end"), "{text}");
        assert!(text.contains("$var reg 4 \" v_0 [3:0] $end"), "{text}");
        // Step 1: neurons 0 and 2 fire -> bits "101"; v_2 = -1 -> 1111.
        let step1 = text.split("#1\n").nth(1).unwrap();
        assert!(step1.starts_with("b101 !\n"), "{text}");
        assert!(step1.contains("b1111 $"), "{text}");
        // Step 2: v_0 stays 1: not repeated.
        let step2 = text.split("#2\n").nth(1).unwrap();
        assert!(!step2.contains("b0001 \""), "{text}");
        assert!(step2.contains("b1100 $"), "{text}");
    }

    #[test]
    fn npz_holds_standard_npy_members() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.npz");
        write_npz(&trace(), &path).unwrap();
        let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        let names: Vec<String> = (0..zip.len())
            .map(|i| zip.by_index(i).unwrap().name().unwrap().to_string())
            .collect();
        assert!(
            names.contains(&"conv1.spikes.npy".into()) && names.contains(&"conv1.v.npy".into())
        );
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut zip.by_name("conv1.v.npy").unwrap(), &mut bytes).unwrap();
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[3, 3]);
        assert_eq!(
            npy.into_vec::<i64>().unwrap(),
            vec![2, 2, 2, 1, 5, -1, 1, 7, -4]
        );
    }
}
