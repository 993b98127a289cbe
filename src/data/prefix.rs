//! The first bytes of a data file's stream, read on demand while a format's
//! header is parsed (the IDX and `.npy` readers share it; `source` owns the
//! stream).

use std::io::{self, Read};
use std::path::Path;

use super::DataError;

/// The bytes read so far from the start of the (decompressed) stream, grown
/// on demand while parsing a header. Header readers never allocate more
/// than they asked for, and ask only for sizes they have bounded.
pub(crate) struct Prefix<'a> {
    pub bytes: Vec<u8>,
    stream: &'a mut dyn Read,
    pub path: &'a Path,
    compressed: bool,
}

impl<'a> Prefix<'a> {
    /// Nothing read yet from `stream` (of `path`, gzip-decompressed or not).
    pub fn new(stream: &'a mut dyn Read, path: &'a Path, compressed: bool) -> Prefix<'a> {
        Prefix {
            bytes: Vec::new(),
            stream,
            path,
            compressed,
        }
    }

    /// Read until `n` bytes are held or the stream ends; true if `n` reached.
    pub fn fill(&mut self, n: usize) -> Result<bool, DataError> {
        let have = self.bytes.len();
        if have < n {
            let want = (n - have) as u64;
            (&mut *self.stream)
                .take(want)
                .read_to_end(&mut self.bytes)
                .map_err(|e| stream_error(self.path, self.compressed, e))?;
        }
        Ok(self.bytes.len() >= n)
    }
}

/// Map an error while reading the stream: inside a gzip stream it is almost
/// always corruption or truncation, not the disk.
pub(crate) fn stream_error(path: &Path, compressed: bool, error: io::Error) -> DataError {
    if compressed {
        DataError::Gzip {
            path: path.to_path_buf(),
            reason: error.to_string(),
        }
    } else {
        DataError::Io {
            path: path.to_path_buf(),
            error,
        }
    }
}
