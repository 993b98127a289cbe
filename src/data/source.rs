//! Opening a data file: gzip detection, format detection by magic bytes,
//! header parsing, and reading exactly the data the header declares.
//!
//! Reading is split in two (`open`, then `Opened::read_data`) so a reader
//! can refuse a dtype or shape from the header alone, before it reads
//! gigabytes it would throw away.

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::prefix::{stream_error, Prefix};
use super::raw::{Header, RawArray};
use super::{idx, npy, ByteCount, DataError};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Most data a gzipped file may declare. A plain file's header is checked
/// against the file's size; a compressed stream's true size is unknown until
/// it is decompressed, so a lying header (or a decompression bomb) is
/// bounded by this instead. Four times MNIST and CIFAR-10 together.
pub(crate) const MAX_GZIP_DATA_BYTES: u64 = 4 << 30;

/// How far to count trailing bytes of a gzipped file for the error message
/// before settling for "at least": counting a bomb to its end takes hours.
const TRAILING_COUNT_LIMIT: u64 = 64 << 20;

/// A file whose header has been read; the data follows in `stream`.
pub(crate) struct Opened {
    pub header: Header,
    path: PathBuf,
    stream: Box<dyn Read>,
    /// Data bytes present in a plain file (file size less header size);
    /// `None` for gzip, where that is known only after decompressing.
    plain_data_len: Option<u64>,
}

/// Open `path`, undo gzip if present, recognise the format and parse its
/// header.
pub(crate) fn open(path: &Path) -> Result<Opened, DataError> {
    let io_error = |error| DataError::Io {
        path: path.to_path_buf(),
        error,
    };
    let mut file = File::open(path).map_err(io_error)?;
    let file_len = file.metadata().map_err(io_error)?.len();
    let mut magic = Vec::with_capacity(2);
    (&mut file)
        .take(2)
        .read_to_end(&mut magic)
        .map_err(io_error)?;
    let compressed = magic == GZIP_MAGIC;
    // Put the peeked bytes back in front of the rest of the file.
    let plain = BufReader::new(Cursor::new(magic).chain(file));
    let mut stream: Box<dyn Read> = if compressed {
        Box::new(MultiGzDecoder::new(plain))
    } else {
        Box::new(plain)
    };

    let (header, header_len) = {
        let mut prefix = Prefix::new(&mut *stream, path, compressed);
        read_header(&mut prefix, path, compressed)?
    };
    Ok(Opened {
        header,
        path: path.to_path_buf(),
        stream,
        plain_data_len: (!compressed).then(|| file_len.saturating_sub(header_len)),
    })
}

/// Recognise the format from the first bytes and hand over to its parser.
/// Returns the header and its length in bytes.
fn read_header(
    prefix: &mut Prefix,
    path: &Path,
    compressed: bool,
) -> Result<(Header, u64), DataError> {
    prefix.fill(npy::MAGIC.len())?;
    let head = prefix.bytes.as_slice();
    let is_npy = if head.len() >= npy::MAGIC.len() {
        head.starts_with(npy::MAGIC)
    } else {
        // A file cut inside the magic is a truncated .npy, not "unknown".
        !head.is_empty() && npy::MAGIC.starts_with(head)
    };
    if is_npy {
        npy::read_header(prefix)
    } else if head.len() >= 2 && head[0] == 0 && head[1] == 0 {
        idx::read_header(prefix)
    } else {
        Err(DataError::UnknownFormat {
            path: path.to_path_buf(),
            reason: describe_unknown(head, compressed),
        })
    }
}

/// Say what the file looks like instead, so a user who passed the wrong
/// file (a CSV, a model, an empty output) sees it at once.
fn describe_unknown(head: &[u8], compressed: bool) -> String {
    let what = if compressed {
        "it decompresses to"
    } else {
        "the file"
    };
    if head.is_empty() {
        return format!("{what} nothing: it is empty");
    }
    let text = head
        .iter()
        .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace());
    if text {
        format!(
            "{what} looks like text (starts with {:?}), not a binary array",
            String::from_utf8_lossy(head)
        )
    } else {
        let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{what} starts with bytes {}; .npy starts with 93 4e 55 4d 50 59 (\\x93NUMPY), \
             IDX with two zero bytes",
            hex.join(" ")
        )
    }
}

impl Opened {
    /// Read exactly the data the header declares, checking first that it
    /// is there (plain file) or within bounds (gzip), and that nothing
    /// follows it.
    pub fn read_data(mut self) -> Result<RawArray, DataError> {
        let path = self.path.as_path();
        let format = self.header.format;
        let expected = self.header.data_len(path)?;
        let mismatch = |actual| DataError::SizeMismatch {
            path: path.to_path_buf(),
            format,
            expected,
            actual,
        };
        match self.plain_data_len {
            // Checked before reading a byte: a lying header costs nothing.
            Some(on_disk) if on_disk != expected => {
                return Err(mismatch(ByteCount::Exactly(on_disk)))
            }
            None if expected > MAX_GZIP_DATA_BYTES => {
                return Err(DataError::TooLarge {
                    path: path.to_path_buf(),
                    format,
                    declared: expected,
                    limit: MAX_GZIP_DATA_BYTES,
                })
            }
            _ => {}
        }
        // Also guards 32-bit targets, where the declared size may not fit.
        let Ok(len) = usize::try_from(expected) else {
            return Err(DataError::TooLarge {
                path: path.to_path_buf(),
                format,
                declared: expected,
                limit: usize::MAX as u64,
            });
        };
        let compressed = self.plain_data_len.is_none();
        let data = read_at_most(&mut self.stream, len, !compressed)
            .map_err(|e| stream_error(path, compressed, e))?;
        if data.len() < len {
            return Err(mismatch(ByteCount::Exactly(data.len() as u64)));
        }
        let trailing = io::copy(
            &mut (&mut self.stream).take(TRAILING_COUNT_LIMIT),
            &mut io::sink(),
        )
        .map_err(|e| stream_error(path, compressed, e))?;
        if trailing > 0 {
            let total = expected.saturating_add(trailing);
            return Err(mismatch(if trailing == TRAILING_COUNT_LIMIT {
                ByteCount::AtLeast(total)
            } else {
                ByteCount::Exactly(total)
            }));
        }
        Ok(RawArray {
            header: self.header,
            data,
        })
    }
}

/// Read up to `len` bytes. Capacity never exceeds `len` (unlike
/// `read_to_end`, which may double past it); it grows geometrically as
/// data actually arrives unless `len` is already known to be present.
fn read_at_most(stream: &mut dyn Read, len: usize, known_present: bool) -> io::Result<Vec<u8>> {
    const CHUNK: usize = 64 << 10;
    let mut data = Vec::new();
    if known_present {
        data.reserve_exact(len);
    }
    let mut chunk = vec![0u8; CHUNK.min(len)];
    while data.len() < len {
        let want = (len - data.len()).min(CHUNK);
        let n = match stream.read(&mut chunk[..want]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if data.capacity() - data.len() < n {
            let grow = (len - data.len()).min(data.len().max(CHUNK));
            data.reserve_exact(grow);
        }
        data.extend_from_slice(&chunk[..n]);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::super::testfiles::{gzip, idx_bytes, le_f32, npy_bytes, Rng, Scratch};
    use super::super::{read_images, read_labels, read_npy_f32, ByteCount, DataError, Format};

    #[test]
    fn empty_file_is_unknown_format_naming_the_accepted_ones() {
        let dir = Scratch::new();
        let p = dir.write("empty.npy", &[]);
        let err = read_images(&p).unwrap_err();
        assert!(matches!(err, DataError::UnknownFormat { .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("empty.npy: unrecognised data format"), "{msg}");
        assert!(msg.contains("it is empty"), "{msg}");
        assert!(msg.contains("accepted: NumPy .npy"), "{msg}");
        assert!(msg.contains("MNIST IDX"), "{msg}");
        let p = dir.write("empty.gz", &gzip(&[]));
        let err = read_labels(&p).unwrap_err();
        assert!(err.to_string().contains("decompresses to nothing"), "{err}");
    }

    #[test]
    fn text_file_is_unknown_format_and_says_it_is_text() {
        let dir = Scratch::new();
        let p = dir.write("x.npy", b"not numpy\n1,2,3\n");
        let err = read_images(&p).unwrap_err();
        assert!(matches!(err, DataError::UnknownFormat { .. }), "{err:?}");
        let msg = err.to_string();
        // The wording the CLI's integration test pins.
        assert!(msg.contains("x.npy: unrecognised data format"), "{msg}");
        assert!(msg.contains("looks like text"), "{msg}");
    }

    #[test]
    fn missing_file_is_io_error() {
        let dir = Scratch::new();
        let err = read_images(&dir.path("missing.npy")).unwrap_err();
        assert!(matches!(err, DataError::Io { .. }), "{err:?}");
        assert!(
            err.to_string().contains("missing.npy: cannot read"),
            "{err}"
        );
    }

    #[test]
    fn truncated_npy_data_states_expected_and_actual_bytes() {
        let dir = Scratch::new();
        let full = npy_bytes(1, "<f4", false, &[1, 2, 2], &le_f32(&[1.0, 2.0, 3.0, 4.0]));
        let p = dir.write("cut.npy", &full[..full.len() - 5]);
        let err = read_images(&p).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::SizeMismatch {
                    format: Format::Npy,
                    expected: 16,
                    actual: ByteCount::Exactly(11),
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("cut.npy"), "{msg}");
        assert!(
            msg.contains("declares 16 data bytes but the file holds 11 (truncated)"),
            "{msg}"
        );
    }

    #[test]
    fn gzip_trailing_data_is_counted_up_to_a_limit() {
        let dir = Scratch::new();
        let mut bytes = idx_bytes(0x08, &[2], &[1, 2]);
        bytes.resize(bytes.len() + (super::TRAILING_COUNT_LIMIT as usize) + 10, 0);
        let p = dir.write("long.gz", &gzip(&bytes));
        let err = read_labels(&p).unwrap_err();
        let at_least = 2 + super::TRAILING_COUNT_LIMIT;
        assert!(
            matches!(err, DataError::SizeMismatch { expected: 2, actual: ByteCount::AtLeast(n), .. } if n == at_least),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains(&format!("holds at least {at_least}")),
            "{err}"
        );
    }

    #[test]
    fn read_at_most_never_grows_past_the_limit() {
        for len in [0usize, 1, 1000, 70_000, 300_000] {
            let src = vec![7u8; len + 50];
            let got = super::read_at_most(&mut src.as_slice(), len, false).unwrap();
            assert_eq!(got.len(), len);
            assert!(got.capacity() <= len, "len {len} cap {}", got.capacity());
        }
    }

    /// Many files of random bytes, with or without a valid-looking start,
    /// gzipped or not: every reader returns a value or an error, never a
    /// panic. (Seeded, so a failure reproduces.)
    #[test]
    fn arbitrary_files_never_panic() {
        let dir = Scratch::new();
        let starts: [&[u8]; 5] = [
            b"",
            b"\x93NUMPY\x01\x00",
            b"\x93NUMPY\x02\x00",
            &[0, 0, 8],
            &[0, 0, 13, 4],
        ];
        let mut rng = Rng(0x5eed);
        for case in 0..400 {
            let mut bytes = starts[case % starts.len()].to_vec();
            let len = rng.below(200);
            bytes.extend((0..len).map(|_| rng.next() as u8));
            let bytes = if case % 2 == 1 { gzip(&bytes) } else { bytes };
            let p = dir.write("fuzz", &bytes);
            let _ = read_images(&p);
            let _ = read_labels(&p);
            let _ = read_npy_f32(&p);
        }
    }

    /// Valid headers with random, mostly lying, shapes (up to usize::MAX
    /// per axis) and short bodies: errors, never panics or big allocations.
    #[test]
    fn lying_headers_never_panic() {
        let dir = Scratch::new();
        let descrs = ["<f4", "<f8", "|u1", "<i8", ">u2", "|b1"];
        let mut rng = Rng(42);
        for case in 0..400 {
            let rank = rng.below(5);
            let shape: Vec<usize> = (0..rank)
                .map(|_| match rng.below(3) {
                    0 => rng.below(4),
                    1 => rng.next() as usize,
                    _ => usize::MAX,
                })
                .collect();
            let body = vec![1u8; rng.below(64)];
            let descr = descrs[case % descrs.len()];
            let p = dir.write(
                "lie.npy",
                &npy_bytes(1, descr, case % 2 == 0, &shape, &body),
            );
            let _ = read_images(&p);
            let _ = read_labels(&p);
            let _ = read_npy_f32(&p);
        }
    }

    /// write_npy_f32 then read_npy_f32 gives back the shape and the exact
    /// bits, including NaN payloads and infinities.
    #[test]
    fn npy_round_trip_of_random_arrays() {
        let dir = Scratch::new();
        let p = dir.path("rt.npy");
        let mut rng = Rng(7);
        for _ in 0..50 {
            let dims: Vec<usize> = (0..1 + rng.below(4)).map(|_| 1 + rng.below(3)).collect();
            let n: usize = dims.iter().product();
            let values: Vec<f32> = (0..n).map(|_| f32::from_bits(rng.next() as u32)).collect();
            let a = ndarray::ArrayD::from_shape_vec(dims.clone(), values).unwrap();
            super::super::write_npy_f32(&p, a.view()).unwrap();
            let back = read_npy_f32(&p).unwrap();
            assert_eq!(back.shape(), a.shape());
            let bits = |x: &ndarray::ArrayD<f32>| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&back), bits(&a), "{dims:?}");
        }
    }
}
