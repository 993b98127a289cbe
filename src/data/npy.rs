//! NumPy `.npy`: header reading (format versions 1.0, 2.0, 3.0) and float32
//! writing.
//!
//! Layout (numpy/lib/format.py): the magic `\x93NUMPY`, a major and minor
//! version byte, the header length (u16 LE in 1.0, u32 LE in 2.0/3.0), then
//! the header text: a Python dict literal with `descr`, `fortran_order` and
//! `shape`, padded with spaces and a newline. The data follows, raw.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use ndarray::{ArrayView, Dimension};
use npyz::WriterBuilder;

use super::prefix::Prefix;
use super::pyliteral::{self, Literal};
use super::raw::{Elem, Endian, Header};
use super::{DataError, Format};

pub(crate) const MAGIC: &[u8] = b"\x93NUMPY";

/// Largest header accepted. NumPy writes a few hundred bytes and its own
/// loader refuses more than 10,000 by default; the limit bounds what is
/// buffered before the data size is known.
const MAX_HEADER_BYTES: usize = 1 << 20;

/// Parse the header at the start of `prefix` (whose first bytes are, or
/// begin, the magic). Returns the header and its total length in bytes.
pub(crate) fn read_header(prefix: &mut Prefix) -> Result<(Header, u64), DataError> {
    let path = prefix.path;
    let bad = |reason: String| DataError::BadHeader {
        path: path.to_path_buf(),
        format: Format::Npy,
        reason,
    };
    if !prefix.fill(MAGIC.len() + 2)? {
        return Err(bad(format!(
            "the file ends after {} bytes, inside the magic and version (truncated)",
            prefix.bytes.len()
        )));
    }
    let (major, minor) = (prefix.bytes[6], prefix.bytes[7]);
    let len_field = match major {
        1 => 2,
        2 | 3 => 4,
        _ => {
            return Err(bad(format!(
                "format version {major}.{minor} is unknown (known: 1.0, 2.0, 3.0)"
            )))
        }
    };
    let text_start = 8 + len_field;
    if !prefix.fill(text_start)? {
        return Err(bad(
            "the file ends inside the header length field (truncated)".to_string(),
        ));
    }
    let text_len = prefix.bytes[8..text_start]
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if text_len > MAX_HEADER_BYTES {
        return Err(bad(format!(
            "it declares a {text_len}-byte header; NumPy writes a few hundred (limit \
             {MAX_HEADER_BYTES})"
        )));
    }
    let end = text_start + text_len;
    if !prefix.fill(end)? {
        return Err(bad(format!(
            "the header should be {text_len} bytes but the file ends after {} (truncated)",
            prefix.bytes.len() - text_start
        )));
    }
    // 1.0/2.0 headers are latin-1, 3.0 UTF-8; the keys and values that
    // matter are ASCII in both.
    let text = std::str::from_utf8(&prefix.bytes[text_start..end])
        .map_err(|_| bad("the header is not text".to_string()))?;
    let entries = pyliteral::parse_dict(text).map_err(|e| bad(format!("{e} in {text:?}")))?;
    let header = interpret(&entries).map_err(bad)?;
    Ok((header, end as u64))
}

/// Turn the dict's entries into a `Header`, naming what is missing/wrong.
fn interpret(entries: &[(String, Literal)]) -> Result<Header, String> {
    // Later duplicates win, as in a Python dict.
    let get = |key: &str| {
        entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .ok_or_else(|| format!("the header has no '{key}' entry"))
    };
    let (elem, endian) = match get("descr")? {
        Literal::Str(descr) => parse_descr(descr),
        // A list of (name, dtype) fields: a record array, never image data.
        Literal::Seq(_) => (
            Elem::Other("a structured (record) dtype".to_string()),
            Endian::Little,
        ),
        other => return Err(format!("'descr' is {other:?}, not a dtype string")),
    };
    let fortran = match get("fortran_order")? {
        Literal::Bool(b) => *b,
        other => return Err(format!("'fortran_order' is {other:?}, not True/False")),
    };
    let shape = match get("shape")? {
        Literal::Seq(dims) => dims
            .iter()
            .map(|d| match d {
                Literal::Int(n) => usize::try_from(*n).ok(),
                _ => None,
            })
            .collect::<Option<Vec<usize>>>()
            .ok_or_else(|| format!("'shape' {dims:?} is not a tuple of non-negative integers"))?,
        other => return Err(format!("'shape' is {other:?}, not a tuple")),
    };
    Ok(Header {
        format: Format::Npy,
        elem,
        endian,
        shape,
        fortran,
    })
}

/// A dtype string like `<f4`, `|u1`, `>i8`: byte order, kind, size.
fn parse_descr(descr: &str) -> (Elem, Endian) {
    let (endian, rest) = match descr.as_bytes().first() {
        Some(b'>') => (Endian::Big, &descr[1..]),
        Some(b'<' | b'|') => (Endian::Little, &descr[1..]),
        Some(b'=') if cfg!(target_endian = "big") => (Endian::Big, &descr[1..]),
        Some(b'=') => (Endian::Little, &descr[1..]),
        _ => (Endian::Little, descr),
    };
    let elem = match rest {
        "u1" => Elem::U8,
        "u2" => Elem::U16,
        "u4" => Elem::U32,
        "u8" => Elem::U64,
        "i1" => Elem::I8,
        "i2" => Elem::I16,
        "i4" => Elem::I32,
        "i8" => Elem::I64,
        "f4" => Elem::F32,
        "f8" => Elem::F64,
        _ => {
            let name = match rest.as_bytes().first() {
                Some(b'b') => "bool",
                Some(b'f') => "a float of unsupported width",
                Some(b'c') => "complex",
                Some(b'U' | b'S' | b'a') => "string",
                Some(b'O') => "object",
                Some(b'M' | b'm') => "datetime",
                _ => "dtype",
            };
            Elem::Other(format!("{name} '{descr}'"))
        }
    };
    (elem, endian)
}

/// Write `array` as a format 1.0, little-endian float32, C-order `.npy`
/// (iterating the view yields C order whatever its memory layout).
pub(crate) fn write_f32<D: Dimension>(
    path: &Path,
    array: ArrayView<f32, D>,
) -> Result<(), DataError> {
    let write_error = |error| DataError::Write {
        path: path.to_path_buf(),
        error,
    };
    let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
    let mut out = BufWriter::new(File::create(path).map_err(write_error)?);
    write(&mut out, &shape, array.iter().copied()).map_err(write_error)?;
    out.flush().map_err(write_error)
}

/// Write `values` (C order) as a format 1.0 `.npy` of `shape` and `T`'s
/// little-endian dtype into `out`: the one `.npy` writer (npyz writes the
/// header), for files and for members of an `.npz`.
pub(crate) fn write<T: npyz::AutoSerialize, W: Write>(
    out: &mut W,
    shape: &[u64],
    values: impl Iterator<Item = T>,
) -> std::io::Result<()> {
    let mut writer = npyz::WriteOptions::<T>::new()
        .default_dtype()
        .shape(shape)
        .writer(out)
        .begin_nd()?;
    writer.extend(values)?;
    writer.finish()
}

#[cfg(test)]
mod tests {
    use ndarray::{arr2, Array2, Array4};

    use super::super::testfiles::{le_f32, npy_bytes, Scratch};
    use super::super::{read_npy_f32, write_npy_f32, DataError};

    #[test]
    fn write_then_read_round_trips_and_is_standard_npy() {
        let dir = Scratch::new();
        let path = dir.path("out.npy");
        let a = arr2(&[[1.0f32, -2.5, 3.0], [f32::MIN_POSITIVE, 0.0, 1e30]]);
        write_npy_f32(&path, a.view()).unwrap();

        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"), "magic and v1.0");
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % 64, 0, "data is 64-byte aligned");
        let text = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        assert!(text.contains("'descr': '<f4'"), "{text}");
        assert!(text.contains("'fortran_order': False"), "{text}");
        assert!(text.contains("'shape': (2, 3"), "{text}");
        assert!(text.ends_with('\n'));
        assert_eq!(bytes.len(), 10 + header_len + 6 * 4);

        // Readable by an independent reader (npyz), as NumPy would.
        let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
        assert_eq!(npy.shape(), &[2, 3]);
        assert_eq!(
            npy.into_vec::<f32>().unwrap(),
            a.iter().copied().collect::<Vec<_>>()
        );

        let back = read_npy_f32(&path).unwrap();
        assert_eq!(back.shape(), &[2, 3]);
        assert_eq!(back.into_dimensionality::<ndarray::Ix2>().unwrap(), a);
    }

    #[test]
    fn writing_a_transposed_view_stores_c_order() {
        let dir = Scratch::new();
        let path = dir.path("t.npy");
        let a = Array2::from_shape_vec((2, 3), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        write_npy_f32(&path, a.t()).unwrap();
        let back = read_npy_f32(&path).unwrap();
        assert_eq!(back.shape(), &[3, 2]);
        assert_eq!(
            back.iter().copied().collect::<Vec<_>>(),
            [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }

    #[test]
    fn four_d_weights_round_trip() {
        let dir = Scratch::new();
        let path = dir.path("w.npy");
        let w = Array4::from_shape_fn((3, 3, 2, 4), |(a, b, c, d)| {
            (a * 100 + b * 10 + c) as f32 - d as f32
        });
        write_npy_f32(&path, w.view()).unwrap();
        let back = read_npy_f32(&path).unwrap();
        assert_eq!(back.into_dimensionality::<ndarray::Ix4>().unwrap(), w);
    }

    #[test]
    fn unwritable_path_is_a_write_error() {
        let dir = Scratch::new();
        let path = dir.path("no/such/dir/out.npy");
        let err = write_npy_f32(&path, arr2(&[[1.0f32]]).view()).unwrap_err();
        assert!(matches!(err, DataError::Write { .. }), "{err:?}");
        assert!(err.to_string().contains("cannot write"), "{err}");
        assert!(err.to_string().contains("out.npy"), "{err}");
    }

    #[test]
    fn versions_2_and_3_big_endian_and_float64_read() {
        let dir = Scratch::new();
        for version in [1, 2, 3] {
            let p = dir.write(
                &format!("v{version}.npy"),
                &npy_bytes(version, "<f4", false, &[2], &le_f32(&[0.5, -1.0])),
            );
            let a = read_npy_f32(&p).unwrap();
            assert_eq!(
                a.iter().copied().collect::<Vec<_>>(),
                [0.5, -1.0],
                "v{version}"
            );
        }
        let be: Vec<u8> = [0.5f32, -1.0]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let p = dir.write("be.npy", &npy_bytes(1, ">f4", false, &[2], &be));
        assert_eq!(
            read_npy_f32(&p)
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [0.5, -1.0]
        );
        let f64s: Vec<u8> = [0.25f64, 3.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let p = dir.write("f8.npy", &npy_bytes(1, "<f8", false, &[2], &f64s));
        assert_eq!(
            read_npy_f32(&p)
                .unwrap()
                .iter()
                .copied()
                .collect::<Vec<_>>(),
            [0.25, 3.0]
        );
    }

    #[test]
    fn read_npy_f32_refuses_integers_naming_the_dtype() {
        let dir = Scratch::new();
        let p = dir.write(
            "i.npy",
            &npy_bytes(1, "<i4", false, &[1], &7i32.to_le_bytes()),
        );
        let err = read_npy_f32(&p).unwrap_err();
        assert!(
            matches!(&err, DataError::Unsupported { found, .. } if found == "int32"),
            "{err:?}"
        );
        assert!(err.to_string().contains("float32 or float64"), "{err}");
    }

    #[test]
    fn unsupported_dtypes_are_named() {
        let dir = Scratch::new();
        let p = dir.write("h.npy", &npy_bytes(1, "<f2", false, &[1], &[0, 0]));
        let err = read_npy_f32(&p).unwrap_err();
        assert!(err.to_string().contains("'<f2'"), "{err}");
        let p = dir.write("b.npy", &npy_bytes(1, "|b1", false, &[1], &[1]));
        let err = super::super::read_labels(&p).unwrap_err();
        assert!(err.to_string().contains("bool '|b1'"), "{err}");
    }

    #[test]
    fn malformed_headers_are_bad_header_errors() {
        let dir = Scratch::new();
        let good = npy_bytes(1, "<f4", false, &[2], &le_f32(&[1.0, 2.0]));
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("magic-only", b"\x93NUM".to_vec(), "truncated"),
            (
                "no-length",
                b"\x93NUMPY\x01\x00\x10".to_vec(),
                "length field",
            ),
            ("short-header", good[..40].to_vec(), "truncated"),
            (
                "version",
                [b"\x93NUMPY\x04\x00".as_slice(), &good[8..]].concat(),
                "version 4.0",
            ),
            (
                // A v2 header claiming 4 GiB of header text: refused before
                // anything that size is allocated.
                "huge-header",
                [
                    b"\x93NUMPY\x02\x00".as_slice(),
                    &u32::MAX.to_le_bytes(),
                    b"{}",
                ]
                .concat(),
                "header; NumPy writes",
            ),
            (
                "no-shape",
                npy_with_text("{'descr': '<f4', 'fortran_order': False, }"),
                "no 'shape'",
            ),
            (
                "neg-shape",
                npy_with_text("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"),
                "non-negative",
            ),
            ("garbage", npy_with_text("{'descr': <f4}"), "unexpected '<'"),
        ];
        for (name, bytes, needle) in cases {
            let p = dir.write(&format!("{name}.npy"), &bytes);
            let err = read_npy_f32(&p).unwrap_err();
            assert!(
                matches!(err, DataError::BadHeader { .. }),
                "{name}: {err:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains(needle), "{name}: {msg}");
            assert!(msg.contains(&format!("{name}.npy")), "{name}: {msg}");
            assert!(msg.contains("accepted: NumPy .npy"), "{name}: {msg}");
        }
    }

    #[test]
    fn shape_whose_size_overflows_is_an_error_not_a_panic() {
        let dir = Scratch::new();
        let text = format!(
            "{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {}), }}",
            u64::MAX,
            u64::MAX
        );
        let p = dir.write("overflow.npy", &npy_with_text(&text));
        let err = read_npy_f32(&p).unwrap_err();
        assert!(matches!(err, DataError::BadHeader { .. }), "{err:?}");
        assert!(
            err.to_string().contains("more bytes than can be addressed"),
            "{err}"
        );
    }

    #[test]
    fn lying_shape_in_plain_file_is_refused_before_reading() {
        let dir = Scratch::new();
        let text = "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }";
        let p = dir.write("lie.npy", &npy_with_text(text));
        let err = read_npy_f32(&p).unwrap_err();
        match err {
            DataError::SizeMismatch {
                expected, actual, ..
            } => {
                assert_eq!(expected, 4_000_000_000_000);
                assert_eq!(actual, super::super::ByteCount::Exactly(0));
            }
            other => panic!("{other:?}"),
        }
    }

    /// A v1.0 file with this exact header text and no data.
    fn npy_with_text(text: &str) -> Vec<u8> {
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        out.extend_from_slice(text.as_bytes());
        out
    }
}
