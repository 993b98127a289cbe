//! Human and machine-readable reports: text tables and SVG charts.

pub mod plot;
mod table;

pub use table::Table;
