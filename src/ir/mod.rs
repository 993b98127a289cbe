//! The typed graph IR every stage after import works on.
//!
//! `import` translates Keras into this form and nothing after it knows Keras;
//! rewrites (BN folding, dropout removal) are IR passes.

mod graph;
mod infer;
pub mod op;
mod shape;

pub use graph::{Graph, Node, NodeId};
pub use op::{
    window_range, Activation, BatchNorm, Conv2d, Dense, Op, Pad, Padding, Pool2d, PoolKind, Window,
};
pub use shape::Shape;

/// Errors of the IR stage: a graph that cannot be built as asked.
#[derive(Debug, thiserror::Error)]
pub enum IrError {
    #[error("layer '{node}': {reason}")]
    Shape { node: String, reason: String },
    #[error("two layers are named '{node}'; layer names must be unique")]
    DuplicateName { node: String },
}
