//! Interpreting an array as class labels: integer ids or one-hot rows.

use std::fmt::Display;
use std::path::Path;

use ndarray::{ArrayD, Axis};

use super::raw::{arrange, Decoded, Header};
use super::{source, DataError};

const ACCEPTED: &str = "class ids as a 1-D integer array or an N x 1 integer column \
(uint8/16/32/64, int8/16/32/64), or one-hot rows N x K of float32/float64";

/// How the header says the labels are stored.
enum Layout {
    Ids,
    OneHot,
}

/// See [`super::read_labels`].
pub(super) fn read(path: &Path) -> Result<Vec<usize>, DataError> {
    let opened = source::open(path)?;
    let layout = layout_of(path, &opened.header)?;
    let (header, decoded) = opened.read_data()?.decode();
    match (layout, decoded) {
        (Layout::Ids, Decoded::U8(v)) => Ok(v.into_iter().map(usize::from).collect()),
        (Layout::Ids, Decoded::Int(v)) => ids(path, &v),
        (Layout::OneHot, Decoded::F32(v)) => one_hot(path, arrange(path, &header, v)?, 0.0, 1.0),
        (Layout::OneHot, Decoded::F64(v)) => one_hot(path, arrange(path, &header, v)?, 0.0, 1.0),
        // layout_of matched the element type to the layout.
        _ => Err(unsupported(path, &header)),
    }
}

/// Decide from the header alone, before reading the data.
fn layout_of(path: &Path, header: &Header) -> Result<Layout, DataError> {
    let elem = &header.elem;
    match *header.shape.as_slice() {
        [n] | [n, 1] if n > 0 && elem.is_integer() => Ok(Layout::Ids),
        [n, k] if n > 0 && k > 0 && elem.is_float() => Ok(Layout::OneHot),
        _ => Err(unsupported(path, header)),
    }
}

fn unsupported(path: &Path, header: &Header) -> DataError {
    DataError::Unsupported {
        path: path.to_path_buf(),
        what: "labels",
        found: format!("{} with shape {:?}", header.elem, header.shape),
        accepted: ACCEPTED,
    }
}

/// Integer ids; an `N x 1` column is the same values in the same order.
fn ids(path: &Path, values: &[i128]) -> Result<Vec<usize>, DataError> {
    values
        .iter()
        .enumerate()
        .map(|(index, &value)| {
            usize::try_from(value).map_err(|_| {
                if value < 0 {
                    DataError::NegativeLabel {
                        path: path.to_path_buf(),
                        index,
                        value,
                    }
                } else {
                    // Only reachable where usize is narrower than 64 bits.
                    DataError::Unsupported {
                        path: path.to_path_buf(),
                        what: "label value",
                        found: format!("{value} at index {index}"),
                        accepted: "class ids that fit this machine's usize",
                    }
                }
            })
        })
        .collect()
}

/// The column of the single 1.0 in each row. Compared in the file's own
/// type: narrowing float64 first would round 1.0000000001 into a 1.0, and
/// widening float32 would print 0.1 as 0.10000000149011612.
fn one_hot<T: Copy + PartialEq + Display>(
    path: &Path,
    rows: ArrayD<T>,
    zero: T,
    one: T,
) -> Result<Vec<usize>, DataError> {
    let mut labels = Vec::with_capacity(rows.len_of(Axis(0)));
    for (row, values) in rows.axis_iter(Axis(0)).enumerate() {
        let bad = |reason: String| DataError::BadOneHot {
            path: path.to_path_buf(),
            row,
            reason,
        };
        if let Some((column, v)) = values
            .iter()
            .enumerate()
            .find(|&(_, &v)| v != zero && v != one)
        {
            return Err(bad(format!("holds {v} at column {column}")));
        }
        let ones: Vec<usize> = values
            .iter()
            .enumerate()
            .filter(|&(_, &v)| v == one)
            .map(|(column, _)| column)
            .collect();
        match ones.as_slice() {
            [column] => labels.push(*column),
            [] => return Err(bad("has no 1.0".to_string())),
            many => return Err(bad(format!("has 1.0 in columns {many:?}"))),
        }
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::super::testfiles::{le_f32, npy_bytes, Scratch};
    use super::super::{read_labels, DataError};

    /// Little-endian bytes of `values` as an integer of `size` bytes.
    fn le_ints(values: &[i64], size: usize) -> Vec<u8> {
        values
            .iter()
            .flat_map(|v| v.to_le_bytes()[..size].to_vec())
            .collect()
    }

    #[test]
    fn integer_ids_of_every_width_and_sign() {
        let dir = Scratch::new();
        let ids = [3i64, 0, 9, 1];
        for descr in ["|u1", "<u2", "<u4", "<u8", "|i1", "<i2", "<i4", "<i8"] {
            let size = usize::from(descr.as_bytes()[2] - b'0');
            let p = dir.write(
                "l.npy",
                &npy_bytes(1, descr, false, &[4], &le_ints(&ids, size)),
            );
            assert_eq!(read_labels(&p).unwrap(), [3, 0, 9, 1], "{descr}");
        }
        let be: Vec<u8> = ids.iter().flat_map(|&v| (v as i32).to_be_bytes()).collect();
        let p = dir.write("be.npy", &npy_bytes(1, ">i4", false, &[4], &be));
        assert_eq!(read_labels(&p).unwrap(), [3, 0, 9, 1], ">i4");
    }

    #[test]
    fn integer_column_n_by_1_is_ids() {
        let dir = Scratch::new();
        let p = dir.write(
            "col.npy",
            &npy_bytes(1, "<i8", false, &[3, 1], &le_ints(&[2, 5, 0], 8)),
        );
        assert_eq!(read_labels(&p).unwrap(), [2, 5, 0]);
    }

    #[test]
    fn negative_label_is_rejected_naming_its_index() {
        let dir = Scratch::new();
        let p = dir.write(
            "neg.npy",
            &npy_bytes(1, "<i2", false, &[4], &le_ints(&[1, 2, -3, 4], 2)),
        );
        let err = read_labels(&p).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::NegativeLabel {
                    index: 2,
                    value: -3,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("label -3 at index 2 is negative"),
            "{err}"
        );
    }

    #[test]
    fn one_hot_rows_float32_and_float64() {
        let dir = Scratch::new();
        let rows = [0.0f32, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        let p = dir.write(
            "oh4.npy",
            &npy_bytes(1, "<f4", false, &[3, 3], &le_f32(&rows)),
        );
        assert_eq!(read_labels(&p).unwrap(), [1, 0, 2]);
        let body: Vec<u8> = rows
            .iter()
            .flat_map(|&v| f64::from(v).to_le_bytes())
            .collect();
        let p = dir.write("oh8.npy", &npy_bytes(1, "<f8", false, &[3, 3], &body));
        assert_eq!(read_labels(&p).unwrap(), [1, 0, 2]);
    }

    #[test]
    fn bad_one_hot_rows_are_named() {
        let dir = Scratch::new();
        let cases: [(&str, [f32; 3], &str); 4] = [
            ("none", [0.0, 0.0, 0.0], "has no 1.0"),
            ("two", [1.0, 0.0, 1.0], "has 1.0 in columns [0, 2]"),
            ("soft", [0.1, 0.9, 0.0], "holds 0.1 at column 0"),
            ("nan", [0.0, f32::NAN, 1.0], "holds NaN at column 1"),
        ];
        for (name, bad_row, needle) in cases {
            let mut rows = vec![1.0f32, 0.0, 0.0];
            rows.extend_from_slice(&bad_row);
            let p = dir.write(
                &format!("{name}.npy"),
                &npy_bytes(1, "<f4", false, &[2, 3], &le_f32(&rows)),
            );
            let err = read_labels(&p).unwrap_err();
            assert!(
                matches!(err, DataError::BadOneHot { row: 1, .. }),
                "{name}: {err:?}"
            );
            let msg = err.to_string();
            assert!(
                msg.contains(&format!("row 1 of the one-hot labels {needle}")),
                "{name}: {msg}"
            );
        }
        // A float64 near-1 must not round to 1.0.
        let body: Vec<u8> = [1.0 + 1e-12, 0.0]
            .iter()
            .flat_map(|v: &f64| v.to_le_bytes())
            .collect();
        let p = dir.write("near.npy", &npy_bytes(1, "<f8", false, &[1, 2], &body));
        assert!(matches!(
            read_labels(&p).unwrap_err(),
            DataError::BadOneHot { row: 0, .. }
        ));
    }

    #[test]
    fn other_layouts_are_refused_naming_dtype_and_shape() {
        let dir = Scratch::new();
        let cases = [
            (
                "float-ids",
                npy_bytes(1, "<f4", false, &[2], &le_f32(&[1.0, 2.0])),
                "float32 with shape [2]",
            ),
            (
                "int-matrix",
                npy_bytes(1, "|u1", false, &[2, 2], &[1, 0, 0, 1]),
                "uint8 with shape [2, 2]",
            ),
            (
                "empty",
                npy_bytes(1, "|u1", false, &[0], &[]),
                "uint8 with shape [0]",
            ),
            (
                "rank3",
                npy_bytes(1, "<f4", false, &[1, 1, 1], &le_f32(&[1.0])),
                "float32 with shape [1, 1, 1]",
            ),
        ];
        for (name, bytes, needle) in cases {
            let p = dir.write(&format!("{name}.npy"), &bytes);
            let err = read_labels(&p).unwrap_err();
            assert!(
                matches!(err, DataError::Unsupported { what: "labels", .. }),
                "{name}: {err:?}"
            );
            assert!(err.to_string().contains(needle), "{name}: {err}");
        }
    }
}
