//! The graph IR: nodes in topological order with inferred shapes.

use super::infer::infer_shape;
use super::op::Op;
use super::shape::Shape;
use super::IrError;

/// Index of a node in its graph.
pub type NodeId = usize;

/// One layer of the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The Keras layer name: what users see in their model summary, and what
    /// every message about this node quotes.
    pub name: String,
    pub op: Op,
    /// Producers of this node's inputs, in argument order.
    pub inputs: Vec<NodeId>,
    /// Output shape of one sample.
    pub shape: Shape,
}

/// A single-input, single-output dataflow graph.
///
/// Invariant: every node's inputs have smaller ids (nodes are stored in
/// topological order), and every shape is consistent with its inputs and
/// weights. `add` enforces both, so a `Graph` that exists is a valid one.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    pub name: String,
    nodes: Vec<Node>,
    output: NodeId,
}

impl Graph {
    /// A graph holding only its input node.
    pub fn new(name: impl Into<String>, input_name: impl Into<String>, input: Shape) -> Graph {
        Graph {
            name: name.into(),
            nodes: vec![Node {
                name: input_name.into(),
                op: Op::Input,
                inputs: Vec::new(),
                shape: input,
            }],
            output: 0,
        }
    }

    /// Append a node, inferring its shape. The new node becomes the output
    /// until another node is added or `set_output` is called.
    pub fn add(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: Vec<NodeId>,
    ) -> Result<NodeId, IrError> {
        let name = name.into();
        if self.nodes.iter().any(|n| n.name == name) {
            return Err(IrError::DuplicateName { node: name });
        }
        let mut shapes = Vec::with_capacity(inputs.len());
        for &id in &inputs {
            let producer = self.nodes.get(id).ok_or_else(|| IrError::Shape {
                node: name.clone(),
                reason: format!("refers to a node #{id} that does not exist yet"),
            })?;
            shapes.push(producer.shape);
        }
        let shape = infer_shape(&op, &shapes).map_err(|reason| IrError::Shape {
            node: name.clone(),
            reason,
        })?;
        if shape.is_empty() {
            return Err(IrError::Shape {
                node: name,
                reason: "output would have no elements".into(),
            });
        }
        self.nodes.push(Node {
            name,
            op,
            inputs,
            shape,
        });
        self.output = self.nodes.len() - 1;
        Ok(self.output)
    }

    /// Choose which node is the model output.
    pub fn set_output(&mut self, id: NodeId) {
        assert!(id < self.nodes.len(), "output node id out of range");
        self.output = id;
    }

    /// All nodes in topological order; node 0 is the input.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Node id by Keras layer name.
    pub fn find(&self, name: &str) -> Option<NodeId> {
        self.nodes.iter().position(|n| n.name == name)
    }

    pub fn input_shape(&self) -> Shape {
        self.nodes[0].shape
    }

    pub fn output(&self) -> NodeId {
        self.output
    }

    pub fn output_shape(&self) -> Shape {
        self.nodes[self.output].shape
    }

    /// Ids of the nodes that read `id`'s output.
    pub fn consumers(&self, id: NodeId) -> Vec<NodeId> {
        (0..self.nodes.len())
            .filter(|&n| self.nodes[n].inputs.contains(&id))
            .collect()
    }

    /// Total parameters, as Keras's `count_params` reports them.
    pub fn param_count(&self) -> usize {
        self.nodes.iter().map(|n| n.op.param_count()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::op::{Activation, Dense};
    use ndarray::Array2;

    #[test]
    fn add_infers_shapes_and_rejects_mismatch() {
        let mut g = Graph::new("m", "in", Shape::Map { h: 4, w: 4, c: 2 });
        let flat = g.add("flat", Op::Flatten, vec![0]).unwrap();
        assert_eq!(g.node(flat).shape, Shape::Vector { n: 32 });
        let dense = |n| {
            Op::Dense(Dense {
                kernel: Array2::zeros((n, 3)),
                bias: None,
                activation: Activation::Linear,
            })
        };
        assert_eq!(g.add("d", dense(32), vec![flat]).unwrap(), 2);
        let err = g.add("bad", dense(31), vec![flat]).unwrap_err();
        assert!(err.to_string().contains("bad"), "{err}");
        assert!(err.to_string().contains("31 inputs"), "{err}");
        let err = g.add("d", Op::Flatten, vec![0]).unwrap_err();
        assert!(matches!(err, IrError::DuplicateName { .. }));
    }

    #[test]
    fn dense_on_feature_map_is_rejected() {
        let mut g = Graph::new("m", "in", Shape::Map { h: 4, w: 4, c: 2 });
        let op = Op::Dense(Dense {
            kernel: Array2::zeros((2, 3)),
            bias: None,
            activation: Activation::Linear,
        });
        let err = g.add("d", op, vec![0]).unwrap_err();
        assert!(err.to_string().contains("Flatten"), "{err}");
    }
}
