//! Human and machine-readable reports: text tables and JSON helpers.

mod table;

pub use table::Table;
