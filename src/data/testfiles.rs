//! Writers of small test files (`.npy` of any version/dtype/order, IDX,
//! gzip), byte-exact per the formats' definitions, so the readers are
//! tested against files built independently of the code under test.

use std::io::Write;
use std::path::PathBuf;

/// A temporary directory that lives as long as the test holds it.
pub(crate) struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn new() -> Scratch {
        Scratch(tempfile::tempdir().expect("create a temp dir"))
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }

    /// Write `bytes` to `name` in the directory and return its path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).expect("write a test file");
        path
    }
}

/// A `.npy` of format `version`.0 as NumPy writes it: header padded with
/// spaces and a newline so the data starts at a multiple of 64.
pub(crate) fn npy_bytes(
    version: u8,
    descr: &str,
    fortran: bool,
    shape: &[usize],
    body: &[u8],
) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = match dims.as_slice() {
        [one] => format!("({one},)"),
        _ => format!("({})", dims.join(", ")),
    };
    let fortran = if fortran { "True" } else { "False" };
    let mut text =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}");
    let len_field = if version == 1 { 2 } else { 4 };
    let unpadded = 8 + len_field + text.len() + 1;
    text.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    text.push('\n');
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(body);
    out
}

/// An IDX file: 0, 0, type code, rank, big-endian dims, then `body`.
pub(crate) fn idx_bytes(type_code: u8, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, type_code, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}

pub(crate) fn le_f32(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A tiny deterministic generator (xorshift64*) for randomised tests, so
/// they need no extra dependency and every failure reproduces.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // Marsaglia's xorshift with Vigna's multiplier; a zero state would
        // stick at zero, so it is nudged.
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-enough in `0..n` for tests; `n` must be non-zero.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
