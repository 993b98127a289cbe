//! Human and machine-readable reports: text tables, SVG charts, and spike
//! traces as VCD or NumPy archives.

pub mod plot;
mod table;
pub mod trace_files;

pub use table::{thousands, Table};
