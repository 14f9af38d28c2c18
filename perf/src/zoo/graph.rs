//! The layer graph of a model: nodes in execution order, their per-sample figures and totals.
//!
//! A [`ModelGraph`] that exists is consistent: every node's inputs come before it, its op's
//! parameters agree with its input shapes, and its stored shape and figures are the ones its
//! op derives. The JSON form is checked the same way when read back.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::op::{DType, GemmDims, Op, Shape, WEIGHT_BYTES_PER_PARAM};

/// Index of a node in its graph's execution order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index as a `usize`, for slicing [`ModelGraph::nodes`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What is wrong with a graph, naming the node by index and name.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// A node reads a node that does not come before it.
    #[error(
        "node {index} `{name}`: input {input} does not come before it (nodes must be listed in topological order)"
    )]
    NotTopological {
        /// Position of the node.
        index: usize,
        /// Name of the node.
        name: String,
        /// The offending input.
        input: u32,
    },
    /// A node's op disagrees with its inputs, or its figures overflow.
    #[error("node {index} `{name}` ({op}): {reason}")]
    InvalidNode {
        /// Position of the node.
        index: usize,
        /// Name of the node.
        name: String,
        /// The node's op, as a short label.
        op: String,
        /// What disagrees.
        reason: String,
    },
    /// Two nodes share a name.
    #[error("node {index}: name `{name}` is already used by an earlier node")]
    DuplicateName {
        /// Position of the second node.
        index: usize,
        /// The shared name.
        name: String,
    },
    /// The graph has no nodes or no outputs.
    #[error("graph `{graph}` has no {what}")]
    Empty {
        /// Name of the graph.
        graph: String,
        /// `nodes` or `outputs`.
        what: &'static str,
    },
    /// An output names a node that does not exist.
    #[error("graph `{graph}`: output {output} is not a node (the graph has {nodes} nodes)")]
    UnknownOutput {
        /// Name of the graph.
        graph: String,
        /// The offending output.
        output: u32,
        /// Node count.
        nodes: usize,
    },
    /// A stored (deserialized) node's shape or figures differ from those derived from its op.
    #[error(
        "node {index} `{name}`: stored output shape or figures differ from those derived from its op and inputs"
    )]
    StoredFiguresDiffer {
        /// Position of the node.
        index: usize,
        /// Name of the node.
        name: String,
    },
    /// More nodes than a `u32` index can address.
    #[error("graph has {nodes} nodes; at most u32::MAX are supported")]
    TooManyNodes {
        /// Node count.
        nodes: usize,
    },
}

/// The parts of a node that its author chooses; everything else is derived.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSpec {
    /// Unique name, following the framework's module path (`layer3.2.conv2`).
    pub name: String,
    /// Operator and its parameters.
    pub op: Op,
    /// Producing nodes, in the operator's argument order.
    pub inputs: Vec<NodeId>,
}

/// One operator applied in the graph, with its derived per-sample figures.
///
/// Conventions: activations are half precision (2 bytes per element, token ids 4); weights are
/// fp16 and read once per batch, so they are kept apart from the per-sample byte counts.
/// MACs count GEMM work only; FLOPs are `2 x MACs` for GEMMs plus small per-element counts for
/// the other operators (see [`Op`]).
///
/// A node is checked against its graph: one deserialized on its own is not, while a
/// [`ModelGraph`] read from JSON re-derives every node and rejects any that differ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    name: String,
    op: Op,
    inputs: Vec<NodeId>,
    output_shape: Shape,
    macs_per_sample: u64,
    flops_per_sample: u64,
    input_bytes_per_sample: u64,
    output_bytes_per_sample: u64,
    weight_params: u64,
    weight_bytes: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    gemm: Option<GemmDims>,
}

impl Node {
    /// Derives the node at `index` from its spec and the nodes before it.
    pub(crate) fn derive(
        index: usize,
        spec: NodeSpec,
        earlier: &[Node],
    ) -> Result<Node, GraphError> {
        let NodeSpec { name, op, inputs } = spec;
        let invalid = |name: String, op: &Op, reason: String| GraphError::InvalidNode {
            index,
            name,
            op: op.to_string(),
            reason,
        };
        let mut arguments = Vec::with_capacity(inputs.len());
        for &input in &inputs {
            match earlier.get(input.index()) {
                Some(producer) if input.index() < index => {
                    arguments.push((&producer.output_shape, producer.op.output_dtype()));
                }
                _ => {
                    return Err(GraphError::NotTopological {
                        index,
                        name,
                        input: input.0,
                    });
                }
            }
        }
        let output_shape = match op.output_shape(&arguments) {
            Ok(shape) => shape,
            Err(reason) => return Err(invalid(name, &op, reason)),
        };
        let figures = op.cost(&arguments, &output_shape).and_then(|cost| {
            let bytes =
                |shape: &Shape, dtype: DType| shape.checked_elements()?.checked_mul(dtype.bytes());
            let input_bytes = arguments.iter().try_fold(0u64, |sum, &(shape, dtype)| {
                sum.checked_add(bytes(shape, dtype)?)
            })?;
            let output_bytes = bytes(&output_shape, op.output_dtype())?;
            let weight_bytes = cost.weight_params.checked_mul(WEIGHT_BYTES_PER_PARAM)?;
            Some((cost, input_bytes, output_bytes, weight_bytes))
        });
        let Some((cost, input_bytes, output_bytes, weight_bytes)) = figures else {
            return Err(invalid(name, &op, "figures overflow u64".to_string()));
        };
        Ok(Node {
            name,
            op,
            inputs,
            output_shape,
            macs_per_sample: cost.macs,
            flops_per_sample: cost.flops,
            input_bytes_per_sample: input_bytes,
            output_bytes_per_sample: output_bytes,
            weight_params: cost.weight_params,
            weight_bytes,
            gemm: cost.gemm,
        })
    }

    /// Unique name, following the framework's module path (`layer3.2.conv2`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Operator and its parameters.
    pub fn op(&self) -> &Op {
        &self.op
    }

    /// Producing nodes, in the operator's argument order; empty for graph inputs.
    pub fn inputs(&self) -> &[NodeId] {
        &self.inputs
    }

    /// Per-sample output shape.
    pub fn output_shape(&self) -> &Shape {
        &self.output_shape
    }

    /// Element type of the output.
    pub fn output_dtype(&self) -> DType {
        self.op.output_dtype()
    }

    /// Multiply-accumulates per sample (GEMM work only; 0 for other operators).
    pub fn macs_per_sample(&self) -> u64 {
        self.macs_per_sample
    }

    /// Floating-point operations per sample: `2 x MACs` for GEMMs, documented per-element
    /// counts for the rest.
    pub fn flops_per_sample(&self) -> u64 {
        self.flops_per_sample
    }

    /// Bytes of all input activations per sample.
    pub fn input_bytes_per_sample(&self) -> u64 {
        self.input_bytes_per_sample
    }

    /// Bytes of the output activation per sample.
    pub fn output_bytes_per_sample(&self) -> u64 {
        self.output_bytes_per_sample
    }

    /// Learnable parameters, as the published counts include them.
    pub fn weight_params(&self) -> u64 {
        self.weight_params
    }

    /// Bytes of the parameters in fp16, read once per batch. For an embedding this is the
    /// whole table, though a lookup reads only the gathered rows; batch-norm running statistics
    /// are not included (engines fold them into the convolution).
    pub fn weight_bytes(&self) -> u64 {
        self.weight_bytes
    }

    /// Implicit-GEMM dimensions, for GEMM-like operators.
    pub fn gemm(&self) -> Option<GemmDims> {
        self.gemm
    }
}

/// Sums over a graph. Sums saturate at `u64::MAX` rather than wrap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphTotals {
    /// Number of nodes, graph inputs included.
    pub nodes: u64,
    /// Learnable parameters.
    pub params: u64,
    /// Parameter bytes in fp16.
    pub weight_bytes: u64,
    /// Multiply-accumulates per sample.
    pub macs_per_sample: u64,
    /// Floating-point operations per sample.
    pub flops_per_sample: u64,
    /// Bytes written by all nodes per sample (every node's output, graph inputs included).
    pub activation_bytes_per_sample: u64,
    /// Most activation bytes alive at once per sample when the nodes run in order and each
    /// tensor is freed after its last reader (graph outputs are kept to the end).
    pub peak_activation_bytes_per_sample: u64,
}

/// A model as a graph of operators in execution order (a topological order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "GraphFile")]
pub struct ModelGraph {
    name: String,
    nodes: Vec<Node>,
    outputs: Vec<NodeId>,
}

/// The JSON form, checked on the way in.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GraphFile {
    name: String,
    nodes: Vec<Node>,
    outputs: Vec<NodeId>,
}

impl TryFrom<GraphFile> for ModelGraph {
    type Error = GraphError;

    fn try_from(file: GraphFile) -> Result<Self, GraphError> {
        let mut nodes: Vec<Node> = Vec::with_capacity(file.nodes.len());
        for (index, stored) in file.nodes.into_iter().enumerate() {
            let spec = NodeSpec {
                name: stored.name.clone(),
                op: stored.op.clone(),
                inputs: stored.inputs.clone(),
            };
            let derived = Node::derive(index, spec, &nodes)?;
            if derived != stored {
                return Err(GraphError::StoredFiguresDiffer {
                    index,
                    name: stored.name,
                });
            }
            nodes.push(derived);
        }
        ModelGraph::from_nodes(file.name, nodes, file.outputs)
    }
}

impl ModelGraph {
    /// Builds and checks a graph from node specs in execution order; `outputs` are the nodes
    /// whose results leave the model.
    pub fn new(
        name: impl Into<String>,
        specs: Vec<NodeSpec>,
        outputs: Vec<NodeId>,
    ) -> Result<Self, GraphError> {
        let mut nodes = Vec::with_capacity(specs.len());
        for (index, spec) in specs.into_iter().enumerate() {
            let node = Node::derive(index, spec, &nodes)?;
            nodes.push(node);
        }
        ModelGraph::from_nodes(name.into(), nodes, outputs)
    }

    /// Finishes a graph whose nodes were each derived in order by [`Node::derive`].
    pub(crate) fn from_nodes(
        name: String,
        nodes: Vec<Node>,
        outputs: Vec<NodeId>,
    ) -> Result<Self, GraphError> {
        if nodes.is_empty() {
            return Err(GraphError::Empty {
                graph: name,
                what: "nodes",
            });
        }
        if u32::try_from(nodes.len()).is_err() {
            return Err(GraphError::TooManyNodes { nodes: nodes.len() });
        }
        if outputs.is_empty() {
            return Err(GraphError::Empty {
                graph: name,
                what: "outputs",
            });
        }
        if let Some(output) = outputs.iter().find(|o| o.index() >= nodes.len()) {
            return Err(GraphError::UnknownOutput {
                graph: name,
                output: output.0,
                nodes: nodes.len(),
            });
        }
        let mut names = BTreeSet::new();
        for (index, node) in nodes.iter().enumerate() {
            if !names.insert(node.name.as_str()) {
                return Err(GraphError::DuplicateName {
                    index,
                    name: node.name.clone(),
                });
            }
        }
        Ok(ModelGraph {
            name,
            nodes,
            outputs,
        })
    }

    /// Name of the model (`resnet50`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Nodes in execution order; every node's inputs come before it.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The node with this id, if it exists.
    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.index())
    }

    /// Nodes whose results leave the model (logits; for BERT the last hidden state and the
    /// pooled output).
    pub fn outputs(&self) -> &[NodeId] {
        &self.outputs
    }

    /// The graph inputs (nodes with an [`Op::Input`]), in order.
    pub fn inputs(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| matches!(node.op, Op::Input { .. }))
            .map(|(index, node)| (NodeId(index as u32), node))
    }

    /// The node with this name, if any.
    pub fn find(&self, name: &str) -> Option<(NodeId, &Node)> {
        self.nodes
            .iter()
            .position(|node| node.name == name)
            .map(|index| (NodeId(index as u32), &self.nodes[index]))
    }

    /// Sums over all nodes, and the peak of live activations in execution order.
    pub fn totals(&self) -> GraphTotals {
        let mut totals = GraphTotals {
            nodes: self.nodes.len() as u64,
            peak_activation_bytes_per_sample: self.peak_activation_bytes_per_sample(),
            ..GraphTotals::default()
        };
        for node in &self.nodes {
            totals.params = totals.params.saturating_add(node.weight_params);
            totals.weight_bytes = totals.weight_bytes.saturating_add(node.weight_bytes);
            totals.macs_per_sample = totals.macs_per_sample.saturating_add(node.macs_per_sample);
            totals.flops_per_sample = totals
                .flops_per_sample
                .saturating_add(node.flops_per_sample);
            totals.activation_bytes_per_sample = totals
                .activation_bytes_per_sample
                .saturating_add(node.output_bytes_per_sample);
        }
        totals
    }

    fn peak_activation_bytes_per_sample(&self) -> u64 {
        let count = self.nodes.len();
        // The step after which each node's output can be freed: its last reader, or never for
        // graph outputs.
        let mut last_use: Vec<usize> = (0..count).collect();
        for (index, node) in self.nodes.iter().enumerate() {
            for input in &node.inputs {
                last_use[input.index()] = index;
            }
        }
        for output in &self.outputs {
            last_use[output.index()] = count;
        }
        let mut frees: Vec<Vec<usize>> = vec![Vec::new(); count];
        for (index, &step) in last_use.iter().enumerate() {
            if step < count {
                frees[step].push(index);
            }
        }
        let (mut live, mut peak) = (0u64, 0u64);
        for (index, node) in self.nodes.iter().enumerate() {
            live = live.saturating_add(node.output_bytes_per_sample);
            peak = peak.max(live);
            for &freed in &frees[index] {
                live = live.saturating_sub(self.nodes[freed].output_bytes_per_sample);
            }
        }
        peak
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zoo::op::Conv2d;

    fn spec(name: &str, op: Op, inputs: &[u32]) -> NodeSpec {
        NodeSpec {
            name: name.to_string(),
            op,
            inputs: inputs.iter().map(|&i| NodeId(i)).collect(),
        }
    }

    fn image(c: u32, hw: u32) -> Op {
        Op::Input {
            shape: Shape::new([c, hw, hw]),
            dtype: DType::F16,
        }
    }

    fn conv1x1(c_in: u32, c_out: u32, hw: u32) -> Op {
        Op::Conv2d(Conv2d {
            in_channels: c_in,
            out_channels: c_out,
            kernel: [1, 1],
            stride: [1, 1],
            padding: [0, 0],
            groups: 1,
            input_hw: [hw, hw],
            output_hw: [hw, hw],
            bias: false,
        })
    }

    /// input -> conv -> relu, with a residual add of input and relu.
    fn residual() -> Vec<NodeSpec> {
        vec![
            spec("x", image(8, 4), &[]),
            spec("conv", conv1x1(8, 8, 4), &[0]),
            spec("relu", Op::Relu, &[1]),
            spec("add", Op::Add, &[0, 2]),
        ]
    }

    #[test]
    fn derives_figures_and_totals() {
        let graph = ModelGraph::new("tiny", residual(), vec![NodeId(3)]).unwrap();
        let conv = &graph.nodes()[1];
        assert_eq!(conv.macs_per_sample(), 8 * 8 * 16);
        assert_eq!(conv.weight_params(), 64);
        assert_eq!(conv.weight_bytes(), 128);
        assert_eq!(conv.input_bytes_per_sample(), 8 * 16 * 2);
        let add = &graph.nodes()[3];
        assert_eq!(add.input_bytes_per_sample(), 2 * 8 * 16 * 2);
        assert_eq!(add.flops_per_sample(), 8 * 16);
        let totals = graph.totals();
        assert_eq!(totals.nodes, 4);
        assert_eq!(totals.params, 64);
        assert_eq!(totals.activation_bytes_per_sample, 4 * 256);
        // x stays alive for the add: x, conv out, then conv freed after relu; add runs with x,
        // relu and its own output alive.
        assert_eq!(totals.peak_activation_bytes_per_sample, 3 * 256);
        assert_eq!(graph.inputs().count(), 1);
        assert_eq!(graph.find("relu").map(|(id, _)| id), Some(NodeId(2)));
    }

    #[test]
    fn rejects_forward_references() {
        let mut specs = residual();
        specs[2].inputs = vec![NodeId(3)];
        let err = ModelGraph::new("tiny", specs, vec![NodeId(3)]).unwrap_err();
        assert!(
            matches!(
                err,
                GraphError::NotTopological {
                    index: 2,
                    input: 3,
                    ..
                }
            ),
            "{err}"
        );
        let mut specs = residual();
        specs[1].inputs = vec![NodeId(1)];
        assert!(ModelGraph::new("tiny", specs, vec![NodeId(3)]).is_err());
    }

    #[test]
    fn rejects_shape_mismatches_naming_the_node() {
        let mut specs = residual();
        specs[1].op = conv1x1(16, 8, 4);
        let err = ModelGraph::new("tiny", specs, vec![NodeId(3)]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("node 1 `conv`") && text.contains("[16,4,4]"),
            "{text}"
        );
        let mut specs = residual();
        specs[1].op = conv1x1(8, 4, 4);
        let err = ModelGraph::new("tiny", specs, vec![NodeId(3)]).unwrap_err();
        assert!(err.to_string().contains("node 3 `add`"), "{err}");
    }

    #[test]
    fn rejects_bad_names_and_outputs() {
        let mut specs = residual();
        specs[2].name = "conv".to_string();
        assert!(matches!(
            ModelGraph::new("tiny", specs, vec![NodeId(3)]),
            Err(GraphError::DuplicateName { index: 2, .. })
        ));
        assert!(matches!(
            ModelGraph::new("tiny", residual(), vec![NodeId(4)]),
            Err(GraphError::UnknownOutput { output: 4, .. })
        ));
        assert!(matches!(
            ModelGraph::new("tiny", residual(), vec![]),
            Err(GraphError::Empty {
                what: "outputs",
                ..
            })
        ));
        assert!(matches!(
            ModelGraph::new("tiny", vec![], vec![NodeId(0)]),
            Err(GraphError::Empty { what: "nodes", .. })
        ));
    }

    #[test]
    fn json_round_trips_and_edited_figures_are_rejected() {
        let graph = ModelGraph::new("tiny", residual(), vec![NodeId(3)]).unwrap();
        let json = serde_json::to_string(&graph).unwrap();
        let back: ModelGraph = serde_json::from_str(&json).unwrap();
        assert_eq!(back, graph);

        let edited = json.replacen("\"macs_per_sample\":1024", "\"macs_per_sample\":1", 1);
        assert_ne!(edited, json);
        let err = serde_json::from_str::<ModelGraph>(&edited).unwrap_err();
        assert!(err.to_string().contains("node 1 `conv`"), "{err}");

        let forward = json.replacen("\"inputs\":[1]", "\"inputs\":[3]", 1);
        assert_ne!(forward, json);
        let err = serde_json::from_str::<ModelGraph>(&forward).unwrap_err();
        assert!(err.to_string().contains("topological"), "{err}");
    }
}
