//! MNIST IDX files (LeCun, <http://yann.lecun.com/exdb/mnist/>): two zero
//! bytes, a type code, a dimension count, that many big-endian u32
//! dimensions, then the data in C order, big endian.

use super::prefix::Prefix;
use super::raw::{Elem, Endian, Header};
use super::{DataError, Format};

/// The type codes of the IDX definition; the readers then decide which
/// they take for images or labels (0x08 and 0x0D for images, integers for
/// labels).
fn elem_of(type_code: u8) -> Option<Elem> {
    Some(match type_code {
        0x08 => Elem::U8,
        0x09 => Elem::I8,
        0x0B => Elem::I16,
        0x0C => Elem::I32,
        0x0D => Elem::F32,
        0x0E => Elem::F64,
        _ => return None,
    })
}

/// Parse the header at the start of `prefix`, whose first two bytes are
/// zero. Returns the header and its length in bytes.
pub(crate) fn read_header(prefix: &mut Prefix) -> Result<(Header, u64), DataError> {
    let path = prefix.path;
    let bad = |reason: String| DataError::BadHeader {
        path: path.to_path_buf(),
        format: Format::Idx,
        reason,
    };
    if !prefix.fill(4)? {
        return Err(bad(format!(
            "the file ends after {} bytes, inside the 4-byte magic number (truncated)",
            prefix.bytes.len()
        )));
    }
    let (type_code, rank) = (prefix.bytes[2], usize::from(prefix.bytes[3]));
    let elem = elem_of(type_code).ok_or_else(|| {
        bad(format!(
            "type code 0x{type_code:02X} is unknown (known: 0x08 unsigned byte, 0x09 signed \
             byte, 0x0B short, 0x0C int, 0x0D float, 0x0E double)"
        ))
    })?;
    if rank == 0 {
        return Err(bad("it declares 0 dimensions".to_string()));
    }
    // At most 4 + 4 * 255 bytes: bounded by the format itself.
    let len = 4 + 4 * rank;
    if !prefix.fill(len)? {
        return Err(bad(format!(
            "{rank} dimensions need a {len}-byte header but the file ends after {} bytes \
             (truncated)",
            prefix.bytes.len()
        )));
    }
    let shape = prefix.bytes[4..len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    Ok((
        Header {
            format: Format::Idx,
            elem,
            endian: Endian::Big,
            shape,
            fortran: false,
        },
        len as u64,
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testfiles::{gzip, idx_bytes, Scratch};
    use super::super::{read_images, read_labels, ByteCount, DataError, Format};

    #[test]
    fn plain_and_gzipped_images_and_labels_round_trip() {
        let dir = Scratch::new();
        let pixels: Vec<u8> = (0..2 * 3 * 2).map(|i| (i * 20) as u8).collect();
        let images = idx_bytes(0x08, &[2, 3, 2], &pixels);
        let labels = idx_bytes(0x08, &[2], &[7, 1]);
        for (suffix, wrap) in [("", false), (".gz", true)] {
            let enc = |b: &[u8]| if wrap { gzip(b) } else { b.to_vec() };
            let ip = dir.write(&format!("t10k-images-idx3-ubyte{suffix}"), &enc(&images));
            let lp = dir.write(&format!("t10k-labels-idx1-ubyte{suffix}"), &enc(&labels));
            let x = read_images(&ip).unwrap();
            assert_eq!(x.dim(), (2, 3, 2, 1), "{suffix}");
            for (v, p) in x.iter().zip(&pixels) {
                assert_eq!(*v, f32::from(*p) / 255.0);
            }
            assert_eq!(read_labels(&lp).unwrap(), [7, 1], "{suffix}");
        }
    }

    #[test]
    fn gzip_is_detected_by_content_not_name() {
        let dir = Scratch::new();
        let p = dir.write("labels.bin", &gzip(&idx_bytes(0x08, &[3], &[0, 9, 4])));
        assert_eq!(read_labels(&p).unwrap(), [0, 9, 4]);
    }

    #[test]
    fn float32_images_are_big_endian_and_unscaled() {
        let dir = Scratch::new();
        let vals = [0.5f32, 2.0, -1.0, 100.0];
        let body: Vec<u8> = vals.iter().flat_map(|v| v.to_be_bytes()).collect();
        let p = dir.write("f-idx4", &idx_bytes(0x0D, &[1, 2, 1, 2], &body));
        let x = read_images(&p).unwrap();
        assert_eq!(x.dim(), (1, 2, 1, 2));
        assert_eq!(x.iter().copied().collect::<Vec<_>>(), vals);
    }

    #[test]
    fn truncated_and_trailing_data_state_both_byte_counts() {
        let dir = Scratch::new();
        let full = idx_bytes(0x08, &[2, 2, 2], &[1; 8]);
        for (name, bytes, actual) in [
            ("short", full[..full.len() - 3].to_vec(), 5),
            ("long", [full.as_slice(), &[0, 0]].concat(), 10),
        ] {
            for wrap in [false, true] {
                let b = if wrap { gzip(&bytes) } else { bytes.clone() };
                let p = dir.write(&format!("{name}{wrap}-idx3-ubyte"), &b);
                let err = read_images(&p).unwrap_err();
                match &err {
                    DataError::SizeMismatch {
                        format,
                        expected,
                        actual: got,
                        ..
                    } => {
                        assert_eq!(*format, Format::Idx);
                        assert_eq!(*expected, 8);
                        assert_eq!(*got, ByteCount::Exactly(actual), "{name} gz={wrap}");
                    }
                    other => panic!("{name} gz={wrap}: {other:?}"),
                }
                let msg = err.to_string();
                assert!(
                    msg.contains(&format!(
                        "declares 8 data bytes but the file holds {actual}"
                    )),
                    "{msg}"
                );
                let what = if actual < 8 {
                    "truncated"
                } else {
                    "trailing bytes"
                };
                assert!(msg.contains(what), "{msg}");
            }
        }
    }

    #[test]
    fn wrong_magic_is_unknown_format() {
        let dir = Scratch::new();
        let mut bytes = idx_bytes(0x08, &[2], &[1, 2]);
        bytes[1] = 1;
        let p = dir.write("bad-idx1-ubyte", &bytes);
        let err = read_labels(&p).unwrap_err();
        assert!(matches!(err, DataError::UnknownFormat { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("starts with bytes 00 01 08 01"), "{msg}");
        assert!(msg.contains("IDX with two zero bytes"), "{msg}");
        assert!(msg.contains("bad-idx1-ubyte"), "{msg}");
    }

    #[test]
    fn bad_type_code_rank_and_short_header_are_bad_header() {
        let dir = Scratch::new();
        for (name, bytes, needle) in [
            ("code", idx_bytes(0x07, &[1], &[0]), "type code 0x07"),
            ("rank0", vec![0, 0, 8, 0], "0 dimensions"),
            ("magic", vec![0, 0, 8], "inside the 4-byte magic"),
            ("dims", vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0], "16-byte header"),
        ] {
            let p = dir.write(name, &bytes);
            let err = read_images(&p).unwrap_err();
            assert!(
                matches!(
                    err,
                    DataError::BadHeader {
                        format: Format::Idx,
                        ..
                    }
                ),
                "{name}: {err:?}"
            );
            assert!(err.to_string().contains(needle), "{name}: {err}");
        }
    }

    #[test]
    fn lying_dimensions_never_allocate_their_claim() {
        let dir = Scratch::new();
        // 4 x 2^32-1 dims: the byte count overflows u64.
        let p = dir.write("overflow", &idx_bytes(0x08, &[u32::MAX; 4], &[]));
        let err = read_images(&p).unwrap_err();
        assert!(matches!(err, DataError::BadHeader { .. }), "{err:?}");
        // Declares ~16 GB in a tiny gzip: refused as too large up front.
        let p = dir.write(
            "bomb.gz",
            &gzip(&idx_bytes(0x08, &[1 << 14, 1 << 10, 1 << 10], &[0; 64])),
        );
        let err = read_images(&p).unwrap_err();
        assert!(
            matches!(err, DataError::TooLarge { declared, .. } if declared == 1 << 34),
            "{err:?}"
        );
        assert!(err.to_string().contains("gunzip"), "{err}");
        // Declares 1 GB within the gzip limit but holds 64 bytes: a
        // truncation error, having held only what was really there.
        let p = dir.write(
            "short.gz",
            &gzip(&idx_bytes(0x08, &[1 << 10, 1 << 10, 1 << 10], &[0; 64])),
        );
        let err = read_images(&p).unwrap_err();
        assert!(
            matches!(err, DataError::SizeMismatch { expected, actual: ByteCount::Exactly(64), .. } if expected == 1 << 30),
            "{err:?}"
        );
    }

    #[test]
    fn corrupt_gzip_is_a_gzip_error() {
        let dir = Scratch::new();
        let mut bytes = gzip(&idx_bytes(0x08, &[4], &[1, 2, 3, 4]));
        let n = bytes.len();
        bytes.truncate(n - 6);
        let p = dir.write("cut.gz", &bytes);
        let err = read_labels(&p).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
        // Gzip magic followed by something that is not a gzip header.
        let p = dir.write(
            "junk.gz",
            &[0x1f, 0x8b, b'n', b'o', b't', b' ', b'g', b'z', 0, 0, 0, 0],
        );
        let err = read_labels(&p).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{err:?}");
        assert!(err.to_string().contains("junk.gz"), "{err}");
    }
}
