use std::io::Write;

use super::*;

fn idx_bytes(type_code: u8, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, type_code, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// A NumPy 1.0 file with the given descr, shape text and raw little-endian data.
fn npy_bytes(descr: &str, shape: &str, fortran: bool, body: &[u8]) -> Vec<u8> {
    let mut header = format!(
        "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
        if fortran { "True" } else { "False" }
    );
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn uint8_npy_is_scaled_and_gets_a_channel() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "x.npy",
        &npy_bytes("|u1", "(2, 1, 2)", false, &[0, 255, 51, 102]),
    );
    let x = read_images(&p).unwrap();
    assert_eq!(x.dim(), (2, 1, 2, 1));
    assert_eq!(x[[0, 0, 1, 0]], 1.0);
    assert!((x[[1, 0, 0, 0]] - 0.2).abs() < 1e-7);
}

#[test]
fn float_npy_is_taken_as_is_and_f64_is_narrowed() {
    let dir = tempfile::tempdir().unwrap();
    let body: Vec<u8> = [0.5f32, -2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let p = write(
        &dir,
        "a.npy",
        &npy_bytes("<f4", "(1, 1, 1, 2)", false, &body),
    );
    assert_eq!(read_images(&p).unwrap().as_slice().unwrap(), &[0.5, -2.0]);
    let body: Vec<u8> = [0.25f64, 3.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let p = write(&dir, "b.npy", &npy_bytes("<f8", "(1, 1, 2)", false, &body));
    assert_eq!(read_images(&p).unwrap().as_slice().unwrap(), &[0.25, 3.0]);
}

#[test]
fn fortran_order_is_transposed() {
    let dir = tempfile::tempdir().unwrap();
    // C-order [[[0,1,2],[3,4,5]]] of shape (1,2,3) stored column-major.
    let p = write(
        &dir,
        "f.npy",
        &npy_bytes("|u1", "(1, 2, 3)", true, &[0, 3, 1, 4, 2, 5]),
    );
    let x = read_images(&p).unwrap();
    let v: Vec<u8> = x.iter().map(|v| (v * 255.0).round() as u8).collect();
    assert_eq!(v, vec![0, 1, 2, 3, 4, 5]);
}

#[test]
fn non_finite_images_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let body: Vec<u8> = [0.5f32, f32::NAN]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let p = write(&dir, "n.npy", &npy_bytes("<f4", "(1, 1, 2)", false, &body));
    let err = read_images(&p).unwrap_err().to_string();
    assert!(
        err.contains("non-finite") && err.contains("index 1"),
        "{err}"
    );
}

#[test]
fn wrong_rank_images_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        &dir,
        "r.npy",
        &npy_bytes("|u1", "(4,)", false, &[1, 2, 3, 4]),
    );
    let err = read_images(&p).unwrap_err().to_string();
    assert!(err.contains("N x H x W"), "{err}");
}

#[test]
fn labels_of_several_integer_dtypes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "a.npy", &npy_bytes("|u1", "(3,)", false, &[3, 0, 9]));
    assert_eq!(read_labels(&p).unwrap(), vec![3, 0, 9]);
    let body: Vec<u8> = [7i64, 2].iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = write(&dir, "b.npy", &npy_bytes("<i8", "(2,)", false, &body));
    assert_eq!(read_labels(&p).unwrap(), vec![7, 2]);
    let body: Vec<u8> = [1i32, 4].iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = write(&dir, "c.npy", &npy_bytes("<i4", "(2, 1)", false, &body));
    assert_eq!(read_labels(&p).unwrap(), vec![1, 4]);
}

#[test]
fn negative_label_is_rejected_with_its_index() {
    let dir = tempfile::tempdir().unwrap();
    let body: Vec<u8> = [1i32, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = write(&dir, "neg.npy", &npy_bytes("<i4", "(2,)", false, &body));
    let err = read_labels(&p).unwrap_err().to_string();
    assert!(err.contains("-1") && err.contains("index 1"), "{err}");
}

#[test]
fn one_hot_labels_and_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [0f32, 1.0, 0.0, 1.0, 0.0, 0.0];
    let body: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = write(&dir, "oh.npy", &npy_bytes("<f4", "(2, 3)", false, &body));
    assert_eq!(read_labels(&p).unwrap(), vec![1, 0]);
    let rows = [0f32, 1.0, 0.0, 0.5, 0.5, 0.0];
    let body: Vec<u8> = rows.iter().flat_map(|v| v.to_le_bytes()).collect();
    let p = write(&dir, "bad.npy", &npy_bytes("<f4", "(2, 3)", false, &body));
    let err = read_labels(&p).unwrap_err().to_string();
    assert!(err.contains("row 1"), "{err}");
}

#[test]
fn idx_plain_and_gzipped() {
    let dir = tempfile::tempdir().unwrap();
    let raw = idx_bytes(0x08, &[2, 2, 2], &[0, 255, 0, 255, 255, 0, 255, 0]);
    let p = write(&dir, "t-images-idx3-ubyte", &raw);
    let x = read_images(&p).unwrap();
    assert_eq!(x.dim(), (2, 2, 2, 1));
    assert_eq!(x[[1, 0, 0, 0]], 1.0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).unwrap();
    let p = write(&dir, "t-images-idx3-ubyte.gz", &gz.finish().unwrap());
    assert_eq!(read_images(&p).unwrap(), x);
    let p = write(
        &dir,
        "t-labels-idx1-ubyte",
        &idx_bytes(0x08, &[3], &[5, 6, 7]),
    );
    assert_eq!(read_labels(&p).unwrap(), vec![5, 6, 7]);
}

#[test]
fn idx_truncated_and_trailing_bytes_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "short", &idx_bytes(0x08, &[2, 2, 2], &[0; 7]));
    let err = read_images(&p).unwrap_err().to_string();
    assert!(
        err.contains("needs 8 data bytes") && err.contains("truncated"),
        "{err}"
    );
    let p = write(&dir, "long", &idx_bytes(0x08, &[2, 2, 2], &[0; 9]));
    let err = read_images(&p).unwrap_err().to_string();
    assert!(err.contains("trailing"), "{err}");
    // A header that promises 4 G elements is refused without allocating.
    let p = write(&dir, "huge", &idx_bytes(0x08, &[65536, 65536, 1], &[0; 4]));
    assert!(read_images(&p).is_err());
}

#[test]
fn unknown_empty_and_truncated_files_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(&dir, "notes.txt", b"hello world, not data");
    let err = read_images(&p).unwrap_err();
    assert!(matches!(err, DataError::UnknownFormat { .. }));
    assert!(err.to_string().contains("notes.txt"));
    let p = write(&dir, "empty.npy", b"");
    assert!(read_images(&p).unwrap_err().to_string().contains("empty"));
    let full = npy_bytes("|u1", "(2, 2, 2)", false, &[1; 8]);
    let p = write(&dir, "trunc.npy", &full[..full.len() - 3]);
    let err = read_images(&p).unwrap_err().to_string();
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn write_then_read_npy_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.npy");
    let a = ndarray::arr2(&[[1.0f32, 2.5], [-3.0, 0.125], [9.0, 1e-7]]);
    write_npy_f32(&p, a.view()).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    assert!(bytes.starts_with(b"\x93NUMPY\x01\x00"));
    assert_eq!(
        (bytes.len() - 3 * 2 * 4) % 64,
        0,
        "header padded to 64 bytes"
    );
    let back = read_npy_f32(&p).unwrap();
    assert_eq!(back.shape(), &[3, 2]);
    assert_eq!(
        back.iter().copied().collect::<Vec<_>>(),
        a.iter().copied().collect::<Vec<_>>()
    );
}
