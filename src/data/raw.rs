//! The format-independent middle of every reader: a parsed header (element
//! type, byte order, shape, axis order) and the data bytes it describes,
//! decoded into typed values in the array's logical (C) order.
//!
//! `.npy` and IDX both reduce to this, so images, labels and float arrays
//! are interpreted once, whatever the file format.

use std::fmt;
use std::path::Path;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

use super::{DataError, Format};

/// Element type as stored in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Elem {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    F32,
    F64,
    /// A type no reader accepts (bool, float16, strings, structured ...),
    /// kept by name so the error can say what was found.
    Other(String),
}

impl Elem {
    /// Bytes per element; `None` for types that are never decoded.
    pub fn size(&self) -> Option<usize> {
        Some(match self {
            Elem::U8 | Elem::I8 => 1,
            Elem::U16 | Elem::I16 => 2,
            Elem::U32 | Elem::I32 | Elem::F32 => 4,
            Elem::U64 | Elem::I64 | Elem::F64 => 8,
            Elem::Other(_) => return None,
        })
    }

    pub fn is_float(&self) -> bool {
        matches!(self, Elem::F32 | Elem::F64)
    }

    pub fn is_integer(&self) -> bool {
        matches!(
            self,
            Elem::U8
                | Elem::U16
                | Elem::U32
                | Elem::U64
                | Elem::I8
                | Elem::I16
                | Elem::I32
                | Elem::I64
        )
    }
}

/// NumPy's names, which is what users type in `astype(...)`.
impl fmt::Display for Elem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Elem::U8 => "uint8",
            Elem::U16 => "uint16",
            Elem::U32 => "uint32",
            Elem::U64 => "uint64",
            Elem::I8 => "int8",
            Elem::I16 => "int16",
            Elem::I32 => "int32",
            Elem::I64 => "int64",
            Elem::F32 => "float32",
            Elem::F64 => "float64",
            Elem::Other(name) => name,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

/// What a header promises about the data that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub format: Format,
    pub elem: Elem,
    pub endian: Endian,
    /// Logical shape, slowest axis first, whatever the storage order.
    pub shape: Vec<usize>,
    /// Storage is column-major (NumPy `fortran_order: True`).
    pub fortran: bool,
}

impl Header {
    /// Number of data bytes the header declares, with overflow checked: a
    /// lying header must produce an error, not a wrapped (small) size.
    pub fn data_len(&self, path: &Path) -> Result<u64, DataError> {
        let Some(size) = self.elem.size() else {
            return Err(DataError::Unsupported {
                path: path.to_path_buf(),
                what: "dtype",
                found: self.elem.to_string(),
                accepted: "uint8, uint16, uint32, uint64, int8, int16, int32, int64, float32, \
                           float64",
            });
        };
        self.shape
            .iter()
            .try_fold(size as u64, |acc, &d| acc.checked_mul(d as u64))
            .ok_or_else(|| DataError::BadHeader {
                path: path.to_path_buf(),
                format: self.format,
                reason: format!(
                    "shape {:?} of {} holds more bytes than can be addressed",
                    self.shape, self.elem
                ),
            })
    }
}

/// Values decoded from the data bytes, in storage order. u8 is kept apart
/// from the other integers because only u8 images are pixel intensities to
/// scale; i128 holds every other integer type (u64 and i64 alike) exactly.
pub(crate) enum Decoded {
    U8(Vec<u8>),
    Int(Vec<i128>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// A header plus exactly the data bytes it declares (checked on reading).
#[derive(Debug)]
pub(crate) struct RawArray {
    pub header: Header,
    pub data: Vec<u8>,
}

impl RawArray {
    /// Decode the data bytes, handing back the header for `arrange`.
    /// `Other` element types never get here (reading their data is
    /// refused), so they decode to nothing.
    pub fn decode(self) -> (Header, Decoded) {
        let big = self.header.endian == Endian::Big;
        let data = self.data;
        let decoded = match self.header.elem {
            Elem::U8 => Decoded::U8(data),
            Elem::I8 => Decoded::Int(data.iter().map(|&b| i128::from(b as i8)).collect()),
            Elem::U16 => Decoded::Int(words(&data, big, u16::from_le_bytes, u16::from_be_bytes)),
            Elem::U32 => Decoded::Int(words(&data, big, u32::from_le_bytes, u32::from_be_bytes)),
            Elem::U64 => Decoded::Int(words(&data, big, u64::from_le_bytes, u64::from_be_bytes)),
            Elem::I16 => Decoded::Int(words(&data, big, i16::from_le_bytes, i16::from_be_bytes)),
            Elem::I32 => Decoded::Int(words(&data, big, i32::from_le_bytes, i32::from_be_bytes)),
            Elem::I64 => Decoded::Int(words(&data, big, i64::from_le_bytes, i64::from_be_bytes)),
            Elem::F32 => Decoded::F32(words(&data, big, f32::from_le_bytes, f32::from_be_bytes)),
            Elem::F64 => Decoded::F64(words(&data, big, f64::from_le_bytes, f64::from_be_bytes)),
            Elem::Other(_) => Decoded::U8(Vec::new()),
        };
        (self.header, decoded)
    }
}

/// Split `data` into N-byte words and convert each with the byte order's
/// function, widening to the caller's type.
fn words<const N: usize, T, U: From<T>>(
    data: &[u8],
    big: bool,
    le: fn([u8; N]) -> T,
    be: fn([u8; N]) -> T,
) -> Vec<U> {
    let from = if big { be } else { le };
    data.chunks_exact(N)
        .map(|chunk| {
            let mut word = [0u8; N];
            word.copy_from_slice(chunk);
            U::from(from(word))
        })
        .collect()
}

/// Put values decoded in storage order into a C-order (standard layout)
/// array of the header's logical shape, transposing Fortran-order data.
pub(crate) fn arrange<T: Clone>(
    path: &Path,
    header: &Header,
    values: Vec<T>,
) -> Result<ArrayD<T>, DataError> {
    let shape = IxDyn(&header.shape);
    let built = if header.fortran {
        ArrayD::from_shape_vec(shape.f(), values).map(|a| a.as_standard_layout().into_owned())
    } else {
        ArrayD::from_shape_vec(shape, values)
    };
    // The data length was checked against the shape on reading, so this
    // only fails if that check is wrong; still an error, not a panic.
    built.map_err(|e| DataError::BadHeader {
        path: path.to_path_buf(),
        format: header.format,
        reason: format!("shape {:?} does not fit the data: {e}", header.shape),
    })
}
