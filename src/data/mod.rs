//! Reading inputs and labels (`.npy`, MNIST IDX) and writing `.npy` outputs.
//!
//! Formats are recognised by their magic bytes, not their extension: `.npy`
//! starts with `\x93NUMPY`, gzip with `1f 8b`, IDX with two zero bytes and a
//! type code. Images always come out as float32 `N x H x W x C`: uint8 data is
//! scaled by 1/255 (the scaling Keras models for MNIST are trained with);
//! float data is taken as it is.

mod idx;
mod npy;

use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::{Array4, ArrayD};

/// Errors of the data stage; every one names the file.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: unrecognised data format ({reason}); accepted: .npy (float32, float64, uint8) and MNIST IDX (*-ubyte, optionally gzipped)")]
    UnknownFormat { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Unsupported { path: PathBuf, reason: String },
}

impl DataError {
    fn malformed(path: &Path, reason: impl Into<String>) -> DataError {
        DataError::Malformed {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    fn unsupported(path: &Path, reason: impl Into<String>) -> DataError {
        DataError::Unsupported {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }
}

/// A decoded numeric array before interpretation as images or labels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawArray {
    U8(ArrayD<u8>),
    /// Any integer dtype, widened; kept apart from u8 because only u8 images
    /// are pixel intensities to scale.
    Int(ArrayD<i64>),
    Float(ArrayD<f32>),
}

impl RawArray {
    fn shape(&self) -> &[usize] {
        match self {
            RawArray::U8(a) => a.shape(),
            RawArray::Int(a) => a.shape(),
            RawArray::Float(a) => a.shape(),
        }
    }
}

/// Upper bound on decompressed size: a lying gzip stream cannot exhaust
/// memory. 4 GiB is far above any data set snncc evaluates at once.
const MAX_DECODED_BYTES: u64 = 4 << 30;

/// Read a file whole, transparently gunzipping it.
fn read_decoded(path: &Path) -> Result<Vec<u8>, DataError> {
    let io_err = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io_err)?;
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|e| DataError::malformed(path, format!("gzip data is corrupt: {e}")))?;
    if out.len() as u64 > MAX_DECODED_BYTES {
        return Err(DataError::malformed(
            path,
            "decompresses to more than 4 GiB",
        ));
    }
    Ok(out)
}

fn read_raw(path: &Path) -> Result<RawArray, DataError> {
    let bytes = read_decoded(path)?;
    if bytes.starts_with(npy::MAGIC) {
        npy::parse(&bytes, path)
    } else if idx::looks_like_idx(&bytes) {
        idx::parse(&bytes, path)
    } else {
        let reason = if bytes.is_empty() {
            "the file is empty".to_string()
        } else {
            "no .npy or IDX header".to_string()
        };
        Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            reason,
        })
    }
}

/// Images as float32 `N x H x W x C` (channels last), the layout the models
/// take. `N x H x W` data is one channel; uint8 is scaled by 1/255.
pub fn read_images(path: &Path) -> Result<Array4<f32>, DataError> {
    let raw = read_raw(path)?;
    let shape = raw.shape().to_vec();
    let dims = match shape.as_slice() {
        &[n, h, w] => (n, h, w, 1),
        &[n, h, w, c] => (n, h, w, c),
        other => {
            return Err(DataError::unsupported(
                path,
                format!("images must be N x H x W or N x H x W x C, got shape {other:?}"),
            ))
        }
    };
    let values: Vec<f32> = match raw {
        RawArray::U8(a) => a.iter().map(|&v| f32::from(v) / 255.0).collect(),
        RawArray::Float(a) => a.iter().copied().collect(),
        RawArray::Int(_) => {
            return Err(DataError::unsupported(
                path,
                "images of a wide integer type; save them as uint8 (0..255) or float32",
            ))
        }
    };
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(DataError::malformed(
            path,
            format!(
                "image data holds a non-finite value ({}) at flat index {i}",
                values[i]
            ),
        ));
    }
    Array4::from_shape_vec(dims, values)
        .map_err(|e| DataError::malformed(path, format!("shape does not match the data: {e}")))
}

/// Class ids, one per sample: integer ids (`N` or `N x 1`) or one-hot rows.
pub fn read_labels(path: &Path) -> Result<Vec<usize>, DataError> {
    let raw = read_raw(path)?;
    let shape = raw.shape().to_vec();
    let column = matches!(shape.as_slice(), [_] | [_, 1]);
    match raw {
        RawArray::U8(a) if column => Ok(a.iter().map(|&v| usize::from(v)).collect()),
        RawArray::Int(a) if column => a
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                usize::try_from(v).map_err(|_| {
                    DataError::malformed(path, format!("label {v} at index {i} is negative"))
                })
            })
            .collect(),
        RawArray::Float(a) if shape.len() == 2 => one_hot(a, path),
        _ => Err(DataError::unsupported(
            path,
            format!(
                "labels must be integer class ids (shape N) or one-hot float rows (N x K), got shape {shape:?}"
            ),
        )),
    }
}

fn one_hot(a: ArrayD<f32>, path: &Path) -> Result<Vec<usize>, DataError> {
    let mut labels = Vec::with_capacity(a.shape()[0]);
    for (i, row) in a.outer_iter().enumerate() {
        let ones: Vec<usize> = row
            .iter()
            .enumerate()
            .filter(|(_, &v)| v == 1.0)
            .map(|(k, _)| k)
            .collect();
        let zeros = row.iter().filter(|&&v| v == 0.0).count();
        match ones.as_slice() {
            [k] if zeros + 1 == row.len() => labels.push(*k),
            _ => {
                return Err(DataError::malformed(
                    path,
                    format!("row {i} of the one-hot labels is not one 1.0 and zeros elsewhere"),
                ))
            }
        }
    }
    Ok(labels)
}

/// Write a float32 array of any shape as a little-endian, C-order `.npy`
/// (NumPy format 1.0): model outputs, converted weights.
pub fn write_npy_f32<D: ndarray::Dimension>(
    path: &Path,
    array: ndarray::ArrayView<f32, D>,
) -> Result<(), DataError> {
    std::fs::write(path, npy::encode_f32(array.shape(), array.iter().copied())).map_err(|source| {
        DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Read a float32/float64 `.npy` of any shape as float32 (reference outputs).
pub fn read_npy_f32(path: &Path) -> Result<ArrayD<f32>, DataError> {
    match read_raw(path)? {
        RawArray::Float(a) => Ok(a),
        _ => Err(DataError::unsupported(
            path,
            "expected a float32 or float64 array",
        )),
    }
}

#[cfg(test)]
mod tests;
