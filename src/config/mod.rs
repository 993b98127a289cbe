//! User-editable configuration files, parsed into the stages' own types
//! (stage code never sees YAML): the quantisation description.

pub mod quant;
