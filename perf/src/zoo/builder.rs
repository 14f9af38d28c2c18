//! A small helper the architectures use to append nodes, reading input shapes as they go.

use super::graph::{GraphError, ModelGraph, Node, NodeId, NodeSpec};
use super::op::{Conv2d, DType, Op, Pool2d, Shape, window_out};

/// Appends nodes in execution order; every append is checked as [`ModelGraph::new`] checks it.
pub(crate) struct GraphBuilder {
    nodes: Vec<Node>,
}

/// Kernel, stride and padding of a sliding window, `[h, w]` each.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Window {
    pub kernel: [u32; 2],
    pub stride: [u32; 2],
    pub padding: [u32; 2],
}

impl Window {
    /// A square window.
    pub fn square(kernel: u32, stride: u32, padding: u32) -> Self {
        Window {
            kernel: [kernel, kernel],
            stride: [stride, stride],
            padding: [padding, padding],
        }
    }

    /// A stride-1 window of `kh x kw` padded to keep the spatial size (odd kernels).
    pub fn same(kh: u32, kw: u32) -> Self {
        Window {
            kernel: [kh, kw],
            stride: [1, 1],
            padding: [kh / 2, kw / 2],
        }
    }

    fn output_hw(&self, input_hw: [u32; 2]) -> [u32; 2] {
        // A window that does not fit yields 0, which the op's own check then reports with
        // the node's name.
        let out = |i: usize| {
            window_out(input_hw[i], self.kernel[i], self.stride[i], self.padding[i]).unwrap_or(0)
        };
        [out(0), out(1)]
    }
}

impl GraphBuilder {
    pub fn new() -> Self {
        GraphBuilder { nodes: Vec::new() }
    }

    /// Appends a node and returns its id.
    pub fn push(
        &mut self,
        name: impl Into<String>,
        op: Op,
        inputs: &[NodeId],
    ) -> Result<NodeId, GraphError> {
        let index = self.nodes.len();
        let id = u32::try_from(index).map_err(|_| GraphError::TooManyNodes { nodes: index })?;
        let spec = NodeSpec {
            name: name.into(),
            op,
            inputs: inputs.to_vec(),
        };
        let node = Node::derive(index, spec, &self.nodes)?;
        self.nodes.push(node);
        Ok(NodeId(id))
    }

    /// Output shape of an appended node (empty for an unknown id, which `push` then rejects).
    pub fn shape(&self, id: NodeId) -> Shape {
        self.nodes
            .get(id.index())
            .map(|node| node.output_shape().clone())
            .unwrap_or_else(|| Shape::new([]))
    }

    /// `[C, H, W]` of an appended node, zeros when it is not a feature map (the op check then
    /// names the node).
    fn chw(&self, id: NodeId) -> (u32, [u32; 2]) {
        match self.shape(id).dims() {
            &[c, h, w] => (c, [h, w]),
            _ => (0, [0, 0]),
        }
    }

    /// Channels of an appended feature map (0 when it is not one).
    pub fn channels(&self, id: NodeId) -> u32 {
        self.chw(id).0
    }

    pub fn input(&mut self, name: &str, dims: &[u32], dtype: DType) -> Result<NodeId, GraphError> {
        let op = Op::Input {
            shape: Shape::new(dims),
            dtype,
        };
        self.push(name, op, &[])
    }

    /// A convolution whose input channels and spatial sizes are read from `x`.
    pub fn conv(
        &mut self,
        name: &str,
        x: NodeId,
        out_channels: u32,
        window: Window,
        groups: u32,
        bias: bool,
    ) -> Result<NodeId, GraphError> {
        let (in_channels, input_hw) = self.chw(x);
        let op = Op::Conv2d(Conv2d {
            in_channels,
            out_channels,
            kernel: window.kernel,
            stride: window.stride,
            padding: window.padding,
            groups,
            input_hw,
            output_hw: window.output_hw(input_hw),
            bias,
        });
        self.push(name, op, &[x])
    }

    pub fn batch_norm(&mut self, name: &str, x: NodeId) -> Result<NodeId, GraphError> {
        let (channels, _) = self.chw(x);
        self.push(name, Op::BatchNorm { channels }, &[x])
    }

    pub fn unary(&mut self, name: &str, op: Op, x: NodeId) -> Result<NodeId, GraphError> {
        self.push(name, op, &[x])
    }

    fn pool(
        &mut self,
        name: &str,
        x: NodeId,
        window: Window,
        max: bool,
    ) -> Result<NodeId, GraphError> {
        let (channels, input_hw) = self.chw(x);
        let pool = Pool2d {
            channels,
            kernel: window.kernel,
            stride: window.stride,
            padding: window.padding,
            input_hw,
            output_hw: window.output_hw(input_hw),
        };
        let op = if max {
            Op::MaxPool(pool)
        } else {
            Op::AvgPool(pool)
        };
        self.push(name, op, &[x])
    }

    pub fn max_pool(
        &mut self,
        name: &str,
        x: NodeId,
        window: Window,
    ) -> Result<NodeId, GraphError> {
        self.pool(name, x, window, true)
    }

    pub fn avg_pool(
        &mut self,
        name: &str,
        x: NodeId,
        window: Window,
    ) -> Result<NodeId, GraphError> {
        self.pool(name, x, window, false)
    }

    pub fn global_avg_pool(&mut self, name: &str, x: NodeId) -> Result<NodeId, GraphError> {
        let (channels, input_hw) = self.chw(x);
        self.push(name, Op::GlobalAvgPool { channels, input_hw }, &[x])
    }

    /// A linear layer over the last dimension of `x` (or over all of a `[C, H, W]` map).
    pub fn linear(
        &mut self,
        name: &str,
        x: NodeId,
        out_features: u32,
        bias: bool,
    ) -> Result<NodeId, GraphError> {
        let shape = self.shape(x);
        let in_features = match shape.dims() {
            [_, _, _] => u32::try_from(shape.elements()).unwrap_or(0),
            dims => dims.last().copied().unwrap_or(0),
        };
        let op = Op::Linear {
            in_features,
            out_features,
            bias,
        };
        self.push(name, op, &[x])
    }

    pub fn add(&mut self, name: &str, inputs: &[NodeId]) -> Result<NodeId, GraphError> {
        self.push(name, Op::Add, inputs)
    }

    /// Concatenation along the channel axis (axis 0 of the per-sample shape).
    pub fn concat(&mut self, name: &str, inputs: &[NodeId]) -> Result<NodeId, GraphError> {
        self.push(name, Op::Concat { axis: 0 }, inputs)
    }

    pub fn finish(self, name: &str, outputs: &[NodeId]) -> Result<ModelGraph, GraphError> {
        ModelGraph::from_nodes(name.to_string(), self.nodes, outputs.to_vec())
    }
}
