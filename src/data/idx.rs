//! MNIST IDX files (LeCun's format): two zero bytes, a type code, a dimension
//! count, big-endian u32 dimensions, then the data in C order, big endian.

use std::path::Path;

use ndarray::{ArrayD, IxDyn};

use super::{DataError, RawArray};

const TYPE_U8: u8 = 0x08;
const TYPE_F32: u8 = 0x0D;

/// IDX has no real magic number; two zero bytes, a known type code and a
/// plausible rank are as close as it gets.
pub fn looks_like_idx(bytes: &[u8]) -> bool {
    bytes.len() >= 4
        && bytes[0] == 0
        && bytes[1] == 0
        && matches!(bytes[2], 0x08 | 0x09 | 0x0B | 0x0C | 0x0D | 0x0E)
        && (1..=4).contains(&bytes[3])
}

pub fn parse(bytes: &[u8], path: &Path) -> Result<RawArray, DataError> {
    let (type_code, rank) = (bytes[2], bytes[3] as usize);
    let header_len = 4 + 4 * rank;
    if bytes.len() < header_len {
        return Err(DataError::malformed(path, "IDX header is truncated"));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let elem = match type_code {
        TYPE_U8 => 1,
        TYPE_F32 => 4,
        other => {
            return Err(DataError::unsupported(
                path,
                format!(
                    "IDX type code 0x{other:02X} is not supported (0x08 unsigned byte, 0x0D float)"
                ),
            ))
        }
    };
    let expected = dims
        .iter()
        .try_fold(elem, |acc: usize, &d| acc.checked_mul(d))
        .ok_or_else(|| DataError::malformed(path, format!("IDX dimensions {dims:?} overflow")))?;
    let body = &bytes[header_len..];
    if body.len() != expected {
        return Err(DataError::malformed(
            path,
            format!(
                "IDX header {dims:?} needs {expected} data bytes, the file has {}{}",
                body.len(),
                if body.len() < expected {
                    " (truncated)"
                } else {
                    " (trailing bytes)"
                }
            ),
        ));
    }
    let shape = IxDyn(&dims);
    let shape_err = |e: ndarray::ShapeError| DataError::malformed(path, e.to_string());
    Ok(match type_code {
        TYPE_U8 => RawArray::U8(ArrayD::from_shape_vec(shape, body.to_vec()).map_err(shape_err)?),
        _ => {
            let values = body
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            RawArray::Float(ArrayD::from_shape_vec(shape, values).map_err(shape_err)?)
        }
    })
}
