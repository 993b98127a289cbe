//! Interpreting an array as images: float32 `N x H x W x C`.

use std::path::Path;

use ndarray::{Array4, ArrayD};

use super::raw::{arrange, Decoded, Elem, Header};
use super::{source, DataError};

const ACCEPTED_DTYPES: &str = "uint8 (scaled by 1/255), float32 (taken as is) or float64 \
(narrowed to float32)";
const ACCEPTED_SHAPES: &str = "N x H x W (one channel) or N x H x W x C (channels last), every \
dimension at least 1";

/// See [`super::read_images`].
pub(super) fn read(path: &Path) -> Result<Array4<f32>, DataError> {
    let opened = source::open(path)?;
    check_header(path, &opened.header)?;
    let (header, decoded) = opened.read_data()?.decode();
    match decoded {
        // Keras MNIST/CIFAR models are trained on x / 255 in float32; the
        // same float32 division reproduces their inputs bit for bit.
        Decoded::U8(v) => {
            let scaled = v.into_iter().map(|b| f32::from(b) / 255.0).collect();
            to_nhwc(path, &header, scaled)
        }
        Decoded::F32(v) => {
            let images = to_nhwc(path, &header, v)?;
            check_finite(path, &images, |v| v.is_finite(), f64::from)?;
            Ok(images)
        }
        Decoded::F64(v) => {
            let images = to_nhwc(path, &header, v)?;
            // A finite float64 beyond float32's range would become inf.
            check_finite(path, &images, |v| (v as f32).is_finite(), |v| v)?;
            Ok(images.mapv(|v| v as f32))
        }
        // check_header refused every other type before the data was read.
        Decoded::Int(_) => Err(unsupported_dtype(path, &header.elem)),
    }
}

/// Refuse from the header alone, before reading data that would be
/// thrown away.
fn check_header(path: &Path, header: &Header) -> Result<(), DataError> {
    if !matches!(header.elem, Elem::U8 | Elem::F32 | Elem::F64) {
        return Err(unsupported_dtype(path, &header.elem));
    }
    let rank_ok = matches!(header.shape.len(), 3 | 4);
    if !rank_ok || header.shape.contains(&0) {
        return Err(unsupported_shape(path, header));
    }
    Ok(())
}

fn unsupported_shape(path: &Path, header: &Header) -> DataError {
    DataError::Unsupported {
        path: path.to_path_buf(),
        what: "image shape",
        found: format!("{:?}", header.shape),
        accepted: ACCEPTED_SHAPES,
    }
}

fn unsupported_dtype(path: &Path, elem: &Elem) -> DataError {
    DataError::Unsupported {
        path: path.to_path_buf(),
        what: "image dtype",
        found: elem.to_string(),
        accepted: ACCEPTED_DTYPES,
    }
}

/// Arrange the values in the file's shape, then view `N x H x W` as
/// `N x H x W x 1`.
fn to_nhwc<T: Clone>(path: &Path, header: &Header, values: Vec<T>) -> Result<Array4<T>, DataError> {
    let array: ArrayD<T> = arrange(path, header, values)?;
    let shape = match *header.shape.as_slice() {
        [n, h, w] => [n, h, w, 1],
        [n, h, w, c] => [n, h, w, c],
        // check_header allows only ranks 3 and 4.
        _ => return Err(unsupported_shape(path, header)),
    };
    // `arrange` returns standard layout, so adding a unit axis is free.
    array
        .into_shape_with_order(shape)
        .map_err(|e| DataError::BadHeader {
            path: path.to_path_buf(),
            format: header.format,
            reason: format!("shape {:?} does not fit the data: {e}", header.shape),
        })
}

/// Fail on the first value (in N, H, W, C order) that `ok` rejects,
/// reporting its index and original value.
fn check_finite<T: Copy>(
    path: &Path,
    images: &Array4<T>,
    ok: impl Fn(T) -> bool,
    as_f64: impl Fn(T) -> f64,
) -> Result<(), DataError> {
    match images.indexed_iter().find(|(_, &v)| !ok(v)) {
        Some(((n, h, w, c), &v)) => Err(DataError::NonFinite {
            path: path.to_path_buf(),
            index: [n, h, w, c],
            value: as_f64(v),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testfiles::{le_f32, npy_bytes, Scratch};
    use super::super::{read_images, DataError};

    #[test]
    fn uint8_npy_is_scaled_by_1_over_255() {
        let dir = Scratch::new();
        let p = dir.write(
            "u8.npy",
            &npy_bytes(1, "|u1", false, &[1, 2, 2, 1], &[0, 51, 128, 255]),
        );
        let x = read_images(&p).unwrap();
        assert_eq!(x.dim(), (1, 2, 2, 1));
        assert_eq!(
            x.iter().copied().collect::<Vec<_>>(),
            [0.0, 0.2, 128.0 / 255.0, 1.0]
        );
    }

    #[test]
    fn float32_npy_is_taken_unchanged() {
        let dir = Scratch::new();
        let vals = [-3.5f32, 0.0, 1e-20, 7.25, 255.0, 0.1];
        let p = dir.write(
            "f4.npy",
            &npy_bytes(1, "<f4", false, &[1, 1, 2, 3], &le_f32(&vals)),
        );
        let x = read_images(&p).unwrap();
        assert_eq!(x.dim(), (1, 1, 2, 3));
        assert_eq!(
            x.iter().copied().collect::<Vec<_>>(),
            vals,
            "bit-identical, not scaled"
        );
    }

    #[test]
    fn nhw_becomes_nhw1() {
        let dir = Scratch::new();
        let vals: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let p = dir.write(
            "nhw.npy",
            &npy_bytes(1, "<f4", false, &[2, 3, 2], &le_f32(&vals)),
        );
        let x = read_images(&p).unwrap();
        assert_eq!(x.dim(), (2, 3, 2, 1));
        assert_eq!(x[[1, 2, 0, 0]], 10.0);
    }

    #[test]
    fn float64_is_converted_to_float32() {
        let dir = Scratch::new();
        let vals = [0.1f64, -2.0, 1.0 / 3.0, 1e10];
        let body: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let p = dir.write("f8.npy", &npy_bytes(1, "<f8", false, &[1, 2, 2], &body));
        let x = read_images(&p).unwrap();
        let want: Vec<f32> = vals.iter().map(|&v| v as f32).collect();
        assert_eq!(x.iter().copied().collect::<Vec<_>>(), want);
    }

    #[test]
    fn fortran_order_is_transposed() {
        let dir = Scratch::new();
        // Logical 1 x 2 x 3 array with value 10*h + w; column-major storage
        // runs the first axis fastest.
        let mut stored = Vec::new();
        for w in 0..3 {
            for h in 0..2 {
                stored.push((10 * h + w) as f32);
            }
        }
        let p = dir.write(
            "f.npy",
            &npy_bytes(1, "<f4", true, &[1, 2, 3], &le_f32(&stored)),
        );
        let x = read_images(&p).unwrap();
        assert_eq!(x.dim(), (1, 2, 3, 1));
        for h in 0..2 {
            for w in 0..3 {
                assert_eq!(x[[0, h, w, 0]], (10 * h + w) as f32);
            }
        }
    }

    #[test]
    fn nan_and_inf_are_rejected_with_the_first_index() {
        let dir = Scratch::new();
        let mut vals = vec![0.0f32; 2 * 2 * 2 * 2];
        vals[13] = f32::INFINITY; // [1, 1, 0, 1]
        vals[11] = f32::NAN; // [1, 0, 1, 1], first in C order
        let p = dir.write(
            "nan.npy",
            &npy_bytes(1, "<f4", false, &[2, 2, 2, 2], &le_f32(&vals)),
        );
        let err = read_images(&p).unwrap_err();
        match &err {
            DataError::NonFinite { index, value, .. } => {
                assert_eq!(*index, [1, 0, 1, 1]);
                assert!(value.is_nan());
            }
            other => panic!("{other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("NaN at index [1, 0, 1, 1]"), "{msg}");
        assert!(msg.contains("nan.npy"), "{msg}");
    }

    #[test]
    fn float64_beyond_float32_range_is_rejected() {
        let dir = Scratch::new();
        let body: Vec<u8> = [1.0f64, 1e300]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let p = dir.write("big.npy", &npy_bytes(1, "<f8", false, &[1, 1, 2], &body));
        let err = read_images(&p).unwrap_err();
        assert!(
            matches!(err, DataError::NonFinite { index: [0, 0, 1, 0], value, .. } if value == 1e300),
            "{err:?}"
        );
    }

    #[test]
    fn other_ranks_dtypes_and_empty_arrays_are_refused_naming_them() {
        let dir = Scratch::new();
        let cases = [
            (
                "rank2",
                npy_bytes(1, "<f4", false, &[2, 1], &le_f32(&[0.0, 1.0])),
                "image shape: [2, 1]",
            ),
            (
                "rank5",
                npy_bytes(1, "|u1", false, &[1, 1, 1, 1, 1], &[0]),
                "image shape: [1, 1, 1, 1, 1]",
            ),
            (
                "empty",
                npy_bytes(1, "|u1", false, &[0, 28, 28], &[]),
                "image shape: [0, 28, 28]",
            ),
            (
                "int64",
                npy_bytes(1, "<i8", false, &[1, 1, 1], &[0; 8]),
                "image dtype: int64",
            ),
        ];
        for (name, bytes, needle) in cases {
            let p = dir.write(&format!("{name}.npy"), &bytes);
            let err = read_images(&p).unwrap_err();
            assert!(
                matches!(err, DataError::Unsupported { .. }),
                "{name}: {err:?}"
            );
            let msg = err.to_string();
            assert!(msg.contains(needle), "{name}: {msg}");
            assert!(msg.contains("accepted:"), "{name}: {msg}");
        }
    }
}
