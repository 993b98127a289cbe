//! Reading inputs and labels (`.npy`, MNIST IDX, either optionally gzipped)
//! and writing `.npy` outputs.
//!
//! Formats are recognised by their content, not their extension, so a
//! renamed or re-compressed file still reads: gzip starts with `1f 8b`,
//! `.npy` with `\x93NUMPY`, IDX with two zero bytes. Images always come out
//! as float32 `N x H x W x C`, the layout the models take: uint8 data is
//! scaled by 1/255 (the scaling Keras MNIST/CIFAR models are trained with),
//! float data is taken as it is.
//!
//! Every file is untrusted: headers are checked against the data actually
//! present before anything is allocated for it, so a malformed or hostile
//! file yields a [`DataError`], never a panic or a huge allocation.

mod idx;
mod images;
mod labels;
mod npy;
mod prefix;
mod pyliteral;
mod raw;
mod source;
#[cfg(test)]
mod testfiles;

use std::fmt;
use std::path::{Path, PathBuf};

use ndarray::{Array4, ArrayD, ArrayView, Dimension};

use raw::Decoded;

/// What the readers accept, repeated in every "what is this file?" error so
/// the user learns the alternatives without reading the docs.
const ACCEPTED_FORMATS: &str = "accepted: NumPy .npy (v1/v2/v3) and MNIST IDX (*-ubyte), \
either optionally gzipped";

/// The two container formats the readers understand, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// NumPy `.npy`.
    Npy,
    /// MNIST IDX (`*-idx3-ubyte` and friends).
    Idx,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Npy => ".npy",
            Format::Idx => "IDX",
        })
    }
}

/// How many data bytes a file turned out to hold. A gzipped file with
/// trailing data is only counted up to a limit (counting a decompression
/// bomb to its end would take hours), hence `AtLeast`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteCount {
    /// The exact count.
    Exactly(u64),
    /// Counting stopped here; there is more.
    AtLeast(u64),
}

impl fmt::Display for ByteCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ByteCount::Exactly(n) => write!(f, "{n}"),
            ByteCount::AtLeast(n) => write!(f, "at least {n}"),
        }
    }
}

/// Errors of the data stage. Every variant names the file, and its message
/// says what is wrong in terms the user can fix (re-export, convert dtype,
/// decompress), because these files come from the user's own scripts.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read (missing, permissions, I/O).
    /// The I/O error is part of the message rather than a `source`, so
    /// printing the cause chain (`{:#}`) does not say it twice.
    #[error("{path}: cannot read: {error}", path = path.display())]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },

    /// The output file could not be created or written.
    #[error("{path}: cannot write: {error}", path = path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },

    /// Neither `.npy` nor IDX (text, empty, some other binary), or too short
    /// to tell.
    #[error("{path}: unrecognised data format: {reason}; {ACCEPTED_FORMATS}", path = path.display())]
    UnknownFormat { path: PathBuf, reason: String },

    /// The gzip layer is corrupt or ends early.
    #[error("{path}: corrupt or truncated gzip stream ({reason}); re-download or re-compress the file", path = path.display())]
    Gzip { path: PathBuf, reason: String },

    /// The file starts like `.npy` or IDX but its header is cut short or
    /// does not parse.
    #[error("{path}: malformed {format} header: {reason}; {ACCEPTED_FORMATS}", path = path.display())]
    BadHeader {
        path: PathBuf,
        format: Format,
        reason: String,
    },

    /// The data after the header is shorter (truncated) or longer (trailing
    /// bytes) than the header's shape and dtype require.
    #[error(
        "{path}: the {format} header declares {expected} data bytes but the file holds {actual} \
         ({what}); re-export or re-download it",
        path = path.display(),
        what = if matches!(actual, ByteCount::Exactly(n) if n < expected) { "truncated" } else { "trailing bytes" }
    )]
    SizeMismatch {
        path: PathBuf,
        format: Format,
        expected: u64,
        actual: ByteCount,
    },

    /// A gzipped file whose header declares more data than the gzip limit.
    /// A compressed stream's true size is unknown until it is decompressed,
    /// so a lying header or a decompression bomb is refused up front.
    #[error(
        "{path}: the {format} header declares {declared} data bytes, more than the {limit} \
         accepted from a gzipped file; decompress it (gunzip) and read the plain file",
        path = path.display()
    )]
    TooLarge {
        path: PathBuf,
        format: Format,
        declared: u64,
        limit: u64,
    },

    /// A well-formed file whose dtype or shape is not one this reader takes
    /// for its purpose (images, labels, float arrays).
    #[error("{path}: unsupported {what}: {found}; accepted: {accepted}", path = path.display())]
    Unsupported {
        path: PathBuf,
        /// What was checked: "image dtype", "image shape", "labels",
        /// "label value" or "dtype".
        what: &'static str,
        found: String,
        accepted: &'static str,
    },

    /// An image value that is NaN, infinite, or (float64) beyond float32's
    /// range; a network would silently propagate it.
    #[error(
        "{path}: image value {value} at index {index:?} (image, row, column, channel) is not a \
         finite float32; clean the data (e.g. numpy.nan_to_num) before use",
        path = path.display()
    )]
    NonFinite {
        path: PathBuf,
        index: [usize; 4],
        value: f64,
    },

    /// A negative class id.
    #[error("{path}: label {value} at index {index} is negative; class ids are 0, 1, 2, ...", path = path.display())]
    NegativeLabel {
        path: PathBuf,
        index: usize,
        value: i128,
    },

    /// A one-hot label row that is not exactly one 1.0 and zeros elsewhere.
    #[error(
        "{path}: row {row} of the one-hot labels {reason}; each row must hold exactly one 1.0 \
         and zeros elsewhere (save plain class ids as an integer array instead)",
        path = path.display()
    )]
    BadOneHot {
        path: PathBuf,
        row: usize,
        reason: String,
    },
}

/// Images as float32 `N x H x W x C` (channels last), the layout the models
/// take. Accepts `.npy` or IDX holding uint8 (scaled by 1/255), float32 (as
/// is) or float64 (narrowed); `N x H x W` data is one channel. NaN/Inf are
/// rejected here so they cannot surface later as a mysterious accuracy.
pub fn read_images(path: &Path) -> Result<Array4<f32>, DataError> {
    images::read(path)
}

/// Class ids, one per image: a 1-D integer array or `N x 1` integer column
/// (`.npy` or IDX), or one-hot float rows `N x K` (Keras `to_categorical`).
pub fn read_labels(path: &Path) -> Result<Vec<usize>, DataError> {
    labels::read(path)
}

/// Write a float32 array as `.npy` (format 1.0, C order, little endian),
/// readable by `numpy.load`: model outputs (`N x K`) for comparison with
/// Keras, and converted weights of any rank.
pub fn write_npy_f32<D: Dimension>(path: &Path, array: ArrayView<f32, D>) -> Result<(), DataError> {
    npy::write_f32(path, array)
}

/// Write `values` (C order) as a `.npy` of `shape` into `out`: members of
/// an `.npz` archive (spike traces), in `T`'s little-endian dtype.
pub fn write_npy<T: npyz::AutoSerialize, W: std::io::Write>(
    out: &mut W,
    shape: &[u64],
    values: impl Iterator<Item = T>,
) -> std::io::Result<()> {
    npy::write(out, shape, values)
}

/// Read a float32 or float64 array of any shape as float32 (reference
/// outputs, stored weights). Values are not checked for NaN/Inf: a reference
/// comparison wants to see them.
pub fn read_npy_f32(path: &Path) -> Result<ArrayD<f32>, DataError> {
    let unsupported = |elem: &raw::Elem| DataError::Unsupported {
        path: path.to_path_buf(),
        what: "dtype",
        found: elem.to_string(),
        accepted: "float32 or float64",
    };
    let opened = source::open(path)?;
    if !opened.header.elem.is_float() {
        return Err(unsupported(&opened.header.elem));
    }
    let (header, decoded) = opened.read_data()?.decode();
    let values = match decoded {
        Decoded::F32(v) => v,
        Decoded::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        Decoded::U8(_) | Decoded::Int(_) => return Err(unsupported(&header.elem)),
    };
    raw::arrange(path, &header, values)
}
