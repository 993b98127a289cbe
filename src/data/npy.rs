//! NumPy `.npy` decoding (through npyz) into `RawArray`, and float32 encoding.

use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use npyz::{DType, NpyFile, Order, TypeChar};

use super::{DataError, RawArray};

pub const MAGIC: &[u8] = b"\x93NUMPY";

pub fn parse(bytes: &[u8], path: &Path) -> Result<RawArray, DataError> {
    let file = NpyFile::new(bytes)
        .map_err(|e| DataError::malformed(path, format!("bad .npy header: {e}")))?;
    let shape: Vec<usize> = file.shape().iter().map(|&d| d as usize).collect();
    let fortran = file.order() == Order::Fortran;
    let DType::Plain(ty) = file.dtype() else {
        return Err(DataError::unsupported(
            path,
            "structured .npy arrays are not supported",
        ));
    };
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| DataError::malformed(path, format!("shape {shape:?} overflows")))?;
    let elem = ty.num_bytes().unwrap_or(0);
    // The header must not promise more data than the file holds; checking
    // first keeps a lying header from driving a huge allocation.
    if count
        .checked_mul(elem)
        .is_none_or(|need| need > bytes.len())
    {
        return Err(DataError::malformed(
            path,
            format!(
                "header declares {count} elements of {elem} bytes but the file has only {} bytes (truncated?)",
                bytes.len()
            ),
        ));
    }
    let truncated =
        |e: std::io::Error| DataError::malformed(path, format!("data is truncated: {e}"));
    let raw = match (ty.type_char(), elem) {
        (TypeChar::Uint, 1) => RawArray::U8(shaped(
            file.into_vec::<u8>().map_err(truncated)?,
            &shape,
            fortran,
        )),
        (TypeChar::Float, 4) => RawArray::Float(shaped(
            file.into_vec::<f32>().map_err(truncated)?,
            &shape,
            fortran,
        )),
        (TypeChar::Float, 8) => {
            let v: Vec<f32> = file
                .into_vec::<f64>()
                .map_err(truncated)?
                .into_iter()
                .map(|x| x as f32)
                .collect();
            RawArray::Float(shaped(v, &shape, fortran))
        }
        (TypeChar::Int, _) | (TypeChar::Uint, _) => {
            let v = read_ints(file, ty.type_char(), elem).map_err(truncated)?;
            RawArray::Int(shaped(v, &shape, fortran))
        }
        _ => {
            return Err(DataError::unsupported(
                path,
                format!(
                "dtype '{ty}' is not supported (use float32, float64, uint8 or an integer type)"
            ),
            ))
        }
    };
    Ok(raw)
}

fn read_ints(file: NpyFile<&[u8]>, kind: TypeChar, size: usize) -> std::io::Result<Vec<i64>> {
    Ok(match (kind, size) {
        (TypeChar::Int, 1) => file.into_vec::<i8>()?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 2) => file.into_vec::<i16>()?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 4) => file.into_vec::<i32>()?.into_iter().map(i64::from).collect(),
        (TypeChar::Int, 8) => file.into_vec::<i64>()?,
        (TypeChar::Uint, 2) => file.into_vec::<u16>()?.into_iter().map(i64::from).collect(),
        (TypeChar::Uint, 4) => file.into_vec::<u32>()?.into_iter().map(i64::from).collect(),
        // u64 labels above i64::MAX become negative and are rejected as such.
        (TypeChar::Uint, 8) => file
            .into_vec::<u64>()?
            .into_iter()
            .map(|v| v as i64)
            .collect(),
        _ => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("integer of {size} bytes"),
            ))
        }
    })
}

/// Arrange flat data in C order; Fortran-order files are transposed.
fn shaped<T: Clone>(values: Vec<T>, shape: &[usize], fortran: bool) -> ArrayD<T> {
    if fortran {
        let reversed: Vec<usize> = shape.iter().rev().copied().collect();
        let a = ArrayD::from_shape_vec(IxDyn(&reversed), values)
            .expect("length checked against header");
        a.reversed_axes().as_standard_layout().into_owned()
    } else {
        ArrayD::from_shape_vec(IxDyn(shape), values).expect("length checked against header")
    }
}

/// A complete `.npy` (format 1.0, `<f4`, C order) for the given shape/values.
pub fn encode_f32(shape: &[usize], values: impl Iterator<Item = f32>) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}
