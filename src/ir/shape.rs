//! Tensor shapes of one sample (the batch dimension is never stored).

use std::fmt;

/// The shape of one sample flowing along a graph edge.
///
/// Keras models here are channels-last, so a feature map is `H x W x C`; a
/// flattened or dense activation is a vector. Making the two cases distinct
/// types means a Dense node can never be handed a feature map by accident:
/// the importer must put a Flatten (or a global pool) in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(untagged)]
pub enum Shape {
    /// A channels-last feature map.
    Map { h: usize, w: usize, c: usize },
    /// A flat vector of `n` features.
    Vector { n: usize },
}

impl Shape {
    /// Number of scalar values in one sample.
    pub fn len(&self) -> usize {
        match *self {
            Shape::Map { h, w, c } => h * w * c,
            Shape::Vector { n } => n,
        }
    }

    /// True when the shape holds no values (a degenerate layer output).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Dimensions in Keras order, without the batch axis.
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Map { h, w, c } => vec![h, w, c],
            Shape::Vector { n } => vec![n],
        }
    }

    /// Whether images of `h x w x c` can be fed to an input of this shape:
    /// a map must match exactly; a flat input (an MLP) takes images
    /// flattened channels-last, so only the element count must match.
    pub fn accepts(&self, h: usize, w: usize, c: usize) -> bool {
        match *self {
            Shape::Map { .. } => self.dims() == [h, w, c],
            Shape::Vector { n } => h * w * c == n,
        }
    }

    /// Number of channels (the last axis).
    pub fn channels(&self) -> usize {
        match *self {
            Shape::Map { c, .. } => c,
            Shape::Vector { n } => n,
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Map { h, w, c } => write!(f, "{h}x{w}x{c}"),
            Shape::Vector { n } => write!(f, "{n}"),
        }
    }
}
