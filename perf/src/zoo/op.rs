//! Operators of a model graph: their full parameters, per-sample shape rules and cost figures.
//!
//! Every figure here is per sample: shapes leave the batch dimension out, and a batch of `b`
//! samples multiplies MACs, FLOPs and activation bytes by `b` while weights stay read once.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Bytes per parameter: weights are stored in half precision.
pub const WEIGHT_BYTES_PER_PARAM: u64 = 2;

/// Element type of a tensor. Activations are half precision; token ids are 32-bit integers, as
/// inference engines (TensorRT, ONNX Runtime with int32 inputs) feed them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DType {
    /// IEEE half precision, 2 bytes.
    F16,
    /// 32-bit signed integer, 4 bytes (token and segment ids).
    I32,
}

impl DType {
    /// Size of one element in bytes.
    pub const fn bytes(self) -> u64 {
        match self {
            DType::F16 => 2,
            DType::I32 => 4,
        }
    }
}

/// Per-sample tensor shape, batch dimension left out: `[C, H, W]` for images, `[seq, hidden]` for
/// token sequences, `[heads, seq, seq]` for attention scores, `[features]` for vectors.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Shape(Vec<u32>);

impl Shape {
    /// A shape with these dimensions, outermost first.
    pub fn new(dims: impl Into<Vec<u32>>) -> Self {
        Shape(dims.into())
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> &[u32] {
        &self.0
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements. Saturates at `u64::MAX`; every shape inside a
    /// [`ModelGraph`](super::ModelGraph) is checked to fit.
    pub fn elements(&self) -> u64 {
        self.checked_elements().unwrap_or(u64::MAX)
    }

    pub(crate) fn checked_elements(&self) -> Option<u64> {
        product(self.0.iter().map(|&d| u64::from(d)))
    }

    /// `[C, H, W]` when the shape is an image feature map.
    fn chw(&self) -> Option<[u32; 3]> {
        match self.0.as_slice() {
            &[c, h, w] => Some([c, h, w]),
            _ => None,
        }
    }

    fn last(&self) -> Option<u32> {
        self.0.last().copied()
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self.0.iter().map(u32::to_string).collect();
        write!(f, "[{}]", dims.join(","))
    }
}

/// Implicit-GEMM view of a GEMM-like node, per sample: `groups` independent products of an
/// `m_per_sample x k` matrix by a `k x n` matrix. A batch of `b` samples multiplies M by `b`
/// (convolution and linear layers) or the group count by `b` (attention, whose per-sample
/// products are independent), so `macs = b * groups * m_per_sample * n * k` either way.
///
/// - convolution: M = H_out * W_out, N = C_out / groups, K = C_in / groups * kh * kw;
/// - linear on `[rows, in]`: M = rows (sequence length, or 1 for a classifier), N = out, K = in;
/// - attention scores Q·Kᵀ: groups = heads, M = seq_q, N = seq_k, K = head_dim;
/// - attention context P·V: groups = heads, M = seq_q, N = head_dim, K = seq_k.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GemmDims {
    /// Rows of the output per sample.
    pub m_per_sample: u64,
    /// Columns of the output.
    pub n: u64,
    /// Reduction length.
    pub k: u64,
    /// Independent products per sample: convolution groups, or attention heads.
    pub groups: u64,
}

impl GemmDims {
    /// Multiply-accumulates per sample, `groups * m * n * k`; `None` on overflow.
    pub fn checked_macs_per_sample(&self) -> Option<u64> {
        product([self.groups, self.m_per_sample, self.n, self.k])
    }
}

/// A 2-D convolution, NCHW, with every parameter an inference engine needs to run it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Conv2d {
    /// Input channels.
    pub in_channels: u32,
    /// Output channels.
    pub out_channels: u32,
    /// Kernel `[h, w]`.
    pub kernel: [u32; 2],
    /// Stride `[h, w]`.
    pub stride: [u32; 2],
    /// Zero padding on each side `[h, w]`.
    pub padding: [u32; 2],
    /// Channel groups: 1 for a dense convolution, `in_channels` for a depthwise one.
    pub groups: u32,
    /// Input spatial size `[h, w]`.
    pub input_hw: [u32; 2],
    /// Output spatial size `[h, w]`.
    pub output_hw: [u32; 2],
    /// Whether the convolution adds a bias per output channel.
    pub bias: bool,
}

/// A 2-D max or average pooling window over an NCHW feature map.
///
/// Average pooling follows PyTorch's default `count_include_pad = true`, as Inception-v3's
/// 3x3 stride-1 pooling branches use it; the count does not change any figure here.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pool2d {
    /// Channels (pooling keeps them).
    pub channels: u32,
    /// Window `[h, w]`.
    pub kernel: [u32; 2],
    /// Stride `[h, w]`.
    pub stride: [u32; 2],
    /// Implicit padding on each side `[h, w]`; PyTorch requires it to be at most half the window.
    pub padding: [u32; 2],
    /// Input spatial size `[h, w]`.
    pub input_hw: [u32; 2],
    /// Output spatial size `[h, w]` (floor rounding; none of the zoo's models uses ceil mode).
    pub output_hw: [u32; 2],
}

/// Where an embedding lookup takes its row indices from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmbeddingIndices {
    /// The values of the input tensor (token ids, segment ids).
    Input,
    /// The positions `0..seq` of the input tensor; its values are not read, only its length.
    Positions,
}

/// One operator with its full parameters. Inference graphs only: no dropout, and flattening is
/// folded into [`Op::GlobalAvgPool`] (which yields `[C]`) and [`Op::Linear`] (which accepts a
/// `[C, H, W]` input of exactly `in_features` elements), since both are free views.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Op {
    /// A graph input; the only operator without inputs.
    Input {
        /// Per-sample shape.
        shape: Shape,
        /// Element type.
        dtype: DType,
    },
    /// 2-D convolution `[C_in, H, W] -> [C_out, H_out, W_out]`.
    Conv2d(Conv2d),
    /// Fully connected layer over the last dimension: `[in] -> [out]`, `[rows, in] -> [rows, out]`,
    /// or a flattened `[C, H, W]` with `C*H*W = in` to `[out]`.
    Linear {
        /// Input features.
        in_features: u32,
        /// Output features.
        out_features: u32,
        /// Whether a bias is added.
        bias: bool,
    },
    /// Scaled attention scores `Q·Kᵀ / sqrt(head_dim)` per head: inputs Q `[seq_q, heads*head_dim]`
    /// and K `[seq_k, heads*head_dim]`, output `[heads, seq_q, seq_k]`. The scale is folded into
    /// the product (engines fold it into Q's weights), so it costs no extra FLOPs here.
    AttentionScores {
        /// Attention heads.
        heads: u32,
        /// Query positions.
        seq_q: u32,
        /// Key positions.
        seq_k: u32,
        /// Width of one head.
        head_dim: u32,
    },
    /// Attention context `P·V` per head: inputs P `[heads, seq_q, seq_k]` and V
    /// `[seq_k, heads*head_dim]`, output `[seq_q, heads*head_dim]` (heads merged back).
    AttentionContext {
        /// Attention heads.
        heads: u32,
        /// Query positions.
        seq_q: u32,
        /// Key positions.
        seq_k: u32,
        /// Width of one head.
        head_dim: u32,
    },
    /// Batch normalization over the channels of `[C, H, W]`, with running statistics.
    /// A separate node, as in the published definitions; engines fold it into the preceding
    /// convolution at inference time.
    BatchNorm {
        /// Channels.
        channels: u32,
    },
    /// Layer normalization over the last dimension.
    LayerNorm {
        /// Size of the normalized (last) dimension.
        features: u32,
    },
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// Exact (erf) GELU, as BERT uses it.
    Gelu,
    /// Hyperbolic tangent.
    Tanh,
    /// Max pooling.
    MaxPool(Pool2d),
    /// Average pooling.
    AvgPool(Pool2d),
    /// Average over the whole spatial extent: `[C, H, W] -> [C]`.
    GlobalAvgPool {
        /// Channels.
        channels: u32,
        /// Input spatial size `[h, w]`.
        input_hw: [u32; 2],
    },
    /// Elementwise sum of two or more tensors of one shape (residual connections).
    Add,
    /// Concatenation of two or more tensors along `axis` of the per-sample shape
    /// (0 is the channel axis of `[C, H, W]`).
    Concat {
        /// Axis of the per-sample shape.
        axis: u32,
    },
    /// Softmax over the last dimension.
    Softmax,
    /// Row gather from a table: `[seq]` of ids -> `[seq, embedding_dim]`.
    Embedding {
        /// Rows of the table.
        num_embeddings: u32,
        /// Width of a row.
        embedding_dim: u32,
        /// Where the row indices come from.
        indices: EmbeddingIndices,
    },
    /// One position of a sequence: `[seq, hidden] -> [hidden]` (BERT's pooler reads `[CLS]`).
    SelectToken {
        /// Position taken.
        index: u32,
    },
}

/// FLOPs per output element of the elementwise and normalization operators. Conventions:
/// a transcendental (exp, erf, tanh) counts as one FLOP, per-row statistics are amortized away.
mod flops_per_element {
    /// One compare-select.
    pub const RELU: u64 = 1;
    /// Two compare-selects.
    pub const RELU6: u64 = 2;
    /// `0.5 * x * (1 + erf(x / sqrt 2))`: scale, erf, add, two multiplies.
    pub const GELU: u64 = 5;
    /// One transcendental.
    pub const TANH: u64 = 1;
    /// Scale and shift after folding mean, variance, gamma and beta into two constants.
    pub const BATCH_NORM: u64 = 2;
    /// Mean (add), centre (sub), variance (mul, add), normalize (mul), gamma (mul), beta (add).
    pub const LAYER_NORM: u64 = 7;
    /// Running max, subtract, exp, running sum, divide.
    pub const SOFTMAX: u64 = 5;
}

/// What an operator costs per sample, before it is attached to a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpCost {
    pub macs: u64,
    pub flops: u64,
    pub weight_params: u64,
    pub gemm: Option<GemmDims>,
}

/// The output extent of a sliding window, floor rounding; `None` when the window does not fit
/// or the stride is zero.
pub(crate) fn window_out(input: u32, kernel: u32, stride: u32, padding: u32) -> Option<u32> {
    let padded = u64::from(input) + 2 * u64::from(padding);
    let kernel = u64::from(kernel);
    if stride == 0 || kernel == 0 || kernel > padded {
        return None;
    }
    u32::try_from((padded - kernel) / u64::from(stride) + 1).ok()
}

/// Product of the factors, `None` on overflow.
pub(crate) fn product(factors: impl IntoIterator<Item = u64>) -> Option<u64> {
    factors.into_iter().try_fold(1u64, u64::checked_mul)
}

fn window_hw(
    input_hw: [u32; 2],
    kernel: [u32; 2],
    stride: [u32; 2],
    padding: [u32; 2],
) -> Option<[u32; 2]> {
    Some([
        window_out(input_hw[0], kernel[0], stride[0], padding[0])?,
        window_out(input_hw[1], kernel[1], stride[1], padding[1])?,
    ])
}

fn expect_arity(inputs: &[(&Shape, DType)], want: usize) -> Result<(), String> {
    if inputs.len() == want {
        Ok(())
    } else {
        Err(format!("takes {want} input(s), got {}", inputs.len()))
    }
}

fn expect_chw(shape: &Shape, channels: u32, input_hw: [u32; 2]) -> Result<(), String> {
    match shape.chw() {
        Some([c, h, w]) if c == channels && [h, w] == input_hw => Ok(()),
        _ => Err(format!(
            "expects input [{channels},{},{}], got {shape}",
            input_hw[0], input_hw[1]
        )),
    }
}

fn check_window(p: &Pool2d) -> Result<(), String> {
    if p.padding[0] > p.kernel[0] / 2 || p.padding[1] > p.kernel[1] / 2 {
        return Err(format!(
            "padding {:?} exceeds half of kernel {:?}",
            p.padding, p.kernel
        ));
    }
    match window_hw(p.input_hw, p.kernel, p.stride, p.padding) {
        Some(hw) if hw == p.output_hw => Ok(()),
        Some(hw) => Err(format!(
            "output_hw {:?} disagrees with the window arithmetic, which gives {hw:?}",
            p.output_hw
        )),
        None => Err(format!(
            "kernel {:?} stride {:?} padding {:?} does not fit input {:?}",
            p.kernel, p.stride, p.padding, p.input_hw
        )),
    }
}

fn positive(what: &str, value: u32) -> Result<(), String> {
    if value == 0 {
        Err(format!("{what} must be at least 1"))
    } else {
        Ok(())
    }
}

impl Op {
    /// Element type of this operator's output.
    pub fn output_dtype(&self) -> DType {
        match self {
            Op::Input { dtype, .. } => *dtype,
            _ => DType::F16,
        }
    }

    /// Whether this operator is a GEMM (convolution, linear layer, attention product).
    pub fn is_gemm(&self) -> bool {
        matches!(
            self,
            Op::Conv2d(_)
                | Op::Linear { .. }
                | Op::AttentionScores { .. }
                | Op::AttentionContext { .. }
        )
    }

    /// Checks the inputs against the operator's parameters and returns the output shape.
    /// The error says what disagrees, without the node's name (the caller adds it).
    pub(crate) fn output_shape(&self, inputs: &[(&Shape, DType)]) -> Result<Shape, String> {
        let wanted_dtype = match self {
            Op::Embedding { .. } => DType::I32,
            _ => DType::F16,
        };
        if let Some((_, dtype)) = inputs.iter().find(|(_, d)| *d != wanted_dtype) {
            return Err(format!("expects {wanted_dtype:?} inputs, got {dtype:?}"));
        }
        match self {
            Op::Input { shape, .. } => {
                expect_arity(inputs, 0)?;
                if shape.rank() == 0 || shape.dims().contains(&0) {
                    return Err(format!("input shape {shape} must be non-empty"));
                }
                Ok(shape.clone())
            }
            Op::Conv2d(c) => {
                expect_arity(inputs, 1)?;
                positive("groups", c.groups)?;
                positive("out_channels", c.out_channels)?;
                if c.in_channels % c.groups != 0 || c.out_channels % c.groups != 0 {
                    return Err(format!(
                        "groups {} must divide in_channels {} and out_channels {}",
                        c.groups, c.in_channels, c.out_channels
                    ));
                }
                expect_chw(inputs[0].0, c.in_channels, c.input_hw)?;
                match window_hw(c.input_hw, c.kernel, c.stride, c.padding) {
                    Some(hw) if hw == c.output_hw => Ok(Shape::new([c.out_channels, hw[0], hw[1]])),
                    Some(hw) => Err(format!(
                        "output_hw {:?} disagrees with the convolution arithmetic, which gives {hw:?}",
                        c.output_hw
                    )),
                    None => Err(format!(
                        "kernel {:?} stride {:?} padding {:?} does not fit input {:?}",
                        c.kernel, c.stride, c.padding, c.input_hw
                    )),
                }
            }
            Op::Linear {
                in_features,
                out_features,
                ..
            } => {
                expect_arity(inputs, 1)?;
                positive("out_features", *out_features)?;
                let x = inputs[0].0;
                match x.dims() {
                    [n] if n == in_features => Ok(Shape::new([*out_features])),
                    [rows, n] if n == in_features => Ok(Shape::new([*rows, *out_features])),
                    [_, _, _] if x.checked_elements() == Some(u64::from(*in_features)) => {
                        Ok(Shape::new([*out_features]))
                    }
                    _ => Err(format!(
                        "expects [{in_features}], [rows,{in_features}] or a [C,H,W] of {in_features} elements, got {x}"
                    )),
                }
            }
            Op::AttentionScores {
                heads,
                seq_q,
                seq_k,
                head_dim,
            } => {
                expect_arity(inputs, 2)?;
                positive("heads", *heads)?;
                let width = heads
                    .checked_mul(*head_dim)
                    .ok_or("heads * head_dim overflows u32")?;
                let (q, k) = (inputs[0].0, inputs[1].0);
                if q.dims() != [*seq_q, width] || k.dims() != [*seq_k, width] {
                    return Err(format!(
                        "expects Q [{seq_q},{width}] and K [{seq_k},{width}], got {q} and {k}"
                    ));
                }
                Ok(Shape::new([*heads, *seq_q, *seq_k]))
            }
            Op::AttentionContext {
                heads,
                seq_q,
                seq_k,
                head_dim,
            } => {
                expect_arity(inputs, 2)?;
                positive("heads", *heads)?;
                let width = heads
                    .checked_mul(*head_dim)
                    .ok_or("heads * head_dim overflows u32")?;
                let (p, v) = (inputs[0].0, inputs[1].0);
                if p.dims() != [*heads, *seq_q, *seq_k] || v.dims() != [*seq_k, width] {
                    return Err(format!(
                        "expects P [{heads},{seq_q},{seq_k}] and V [{seq_k},{width}], got {p} and {v}"
                    ));
                }
                Ok(Shape::new([*seq_q, width]))
            }
            Op::BatchNorm { channels } => {
                expect_arity(inputs, 1)?;
                let x = inputs[0].0;
                match x.chw() {
                    Some([c, _, _]) if c == *channels => Ok(x.clone()),
                    _ => Err(format!("expects [{channels},H,W], got {x}")),
                }
            }
            Op::LayerNorm { features } => {
                expect_arity(inputs, 1)?;
                let x = inputs[0].0;
                if x.last() == Some(*features) {
                    Ok(x.clone())
                } else {
                    Err(format!("expects last dimension {features}, got {x}"))
                }
            }
            Op::Relu | Op::Relu6 | Op::Gelu | Op::Tanh | Op::Softmax => {
                expect_arity(inputs, 1)?;
                Ok(inputs[0].0.clone())
            }
            Op::MaxPool(p) | Op::AvgPool(p) => {
                expect_arity(inputs, 1)?;
                expect_chw(inputs[0].0, p.channels, p.input_hw)?;
                check_window(p)?;
                Ok(Shape::new([p.channels, p.output_hw[0], p.output_hw[1]]))
            }
            Op::GlobalAvgPool { channels, input_hw } => {
                expect_arity(inputs, 1)?;
                expect_chw(inputs[0].0, *channels, *input_hw)?;
                Ok(Shape::new([*channels]))
            }
            Op::Add => {
                if inputs.len() < 2 {
                    return Err(format!("takes 2 or more inputs, got {}", inputs.len()));
                }
                let first = inputs[0].0;
                match inputs.iter().find(|(s, _)| *s != first) {
                    Some((other, _)) => Err(format!("adds {first} to {other}")),
                    None => Ok(first.clone()),
                }
            }
            Op::Concat { axis } => {
                if inputs.len() < 2 {
                    return Err(format!("takes 2 or more inputs, got {}", inputs.len()));
                }
                let first = inputs[0].0;
                let axis = *axis as usize;
                if axis >= first.rank() {
                    return Err(format!("axis {axis} is out of range for {first}"));
                }
                let mut dims = first.dims().to_vec();
                dims[axis] = 0;
                for (s, _) in inputs {
                    let agrees = s.rank() == first.rank()
                        && s.dims()
                            .iter()
                            .zip(first.dims())
                            .enumerate()
                            .all(|(i, (a, b))| i == axis || a == b);
                    if !agrees {
                        return Err(format!(
                            "cannot concatenate {first} and {s} along axis {axis}"
                        ));
                    }
                    dims[axis] = dims[axis]
                        .checked_add(s.dims()[axis])
                        .ok_or("concatenated axis overflows u32")?;
                }
                Ok(Shape::new(dims))
            }
            Op::Embedding {
                num_embeddings,
                embedding_dim,
                indices,
            } => {
                expect_arity(inputs, 1)?;
                positive("embedding_dim", *embedding_dim)?;
                let ids = inputs[0].0;
                let &[seq] = ids.dims() else {
                    return Err(format!("expects ids [seq], got {ids}"));
                };
                if *indices == EmbeddingIndices::Positions && seq > *num_embeddings {
                    return Err(format!(
                        "sequence of {seq} exceeds the {num_embeddings} positions of the table"
                    ));
                }
                Ok(Shape::new([seq, *embedding_dim]))
            }
            Op::SelectToken { index } => {
                expect_arity(inputs, 1)?;
                let x = inputs[0].0;
                match x.dims() {
                    &[seq, hidden] if *index < seq => Ok(Shape::new([hidden])),
                    _ => Err(format!("expects [seq,hidden] with seq > {index}, got {x}")),
                }
            }
        }
    }

    /// Per-sample cost, given shapes already checked by [`Op::output_shape`]; `None` on overflow.
    ///
    /// MACs count only GEMM work (convolution, linear, attention products), as the published
    /// figures do; FLOPs are `2 x MACs` for those, and for the rest a small documented count per
    /// element (see `flops_per_element`; pooling costs one FLOP per window element, concat,
    /// gathers and token selection none: they only move data).
    pub(crate) fn cost(&self, inputs: &[(&Shape, DType)], output: &Shape) -> Option<OpCost> {
        let out = output.checked_elements()?;
        let gemm = match self {
            Op::Conv2d(c) => Some(GemmDims {
                m_per_sample: u64::from(c.output_hw[0]) * u64::from(c.output_hw[1]),
                n: u64::from(c.out_channels / c.groups),
                k: product([
                    u64::from(c.in_channels / c.groups),
                    u64::from(c.kernel[0]),
                    u64::from(c.kernel[1]),
                ])?,
                groups: u64::from(c.groups),
            }),
            Op::Linear {
                in_features,
                out_features,
                ..
            } => Some(GemmDims {
                m_per_sample: out / u64::from(*out_features),
                n: u64::from(*out_features),
                k: u64::from(*in_features),
                groups: 1,
            }),
            Op::AttentionScores {
                heads,
                seq_q,
                seq_k,
                head_dim,
            } => Some(GemmDims {
                m_per_sample: u64::from(*seq_q),
                n: u64::from(*seq_k),
                k: u64::from(*head_dim),
                groups: u64::from(*heads),
            }),
            Op::AttentionContext {
                heads,
                seq_q,
                seq_k,
                head_dim,
            } => Some(GemmDims {
                m_per_sample: u64::from(*seq_q),
                n: u64::from(*head_dim),
                k: u64::from(*seq_k),
                groups: u64::from(*heads),
            }),
            _ => None,
        };
        let macs = match &gemm {
            Some(g) => g.checked_macs_per_sample()?,
            None => 0,
        };
        let per_element = |count: u64| out.checked_mul(count);
        let flops = match self {
            Op::Conv2d(_)
            | Op::Linear { .. }
            | Op::AttentionScores { .. }
            | Op::AttentionContext { .. } => macs.checked_mul(2)?,
            Op::Relu => per_element(flops_per_element::RELU)?,
            Op::Relu6 => per_element(flops_per_element::RELU6)?,
            Op::Gelu => per_element(flops_per_element::GELU)?,
            Op::Tanh => per_element(flops_per_element::TANH)?,
            Op::BatchNorm { .. } => per_element(flops_per_element::BATCH_NORM)?,
            Op::LayerNorm { .. } => per_element(flops_per_element::LAYER_NORM)?,
            Op::Softmax => per_element(flops_per_element::SOFTMAX)?,
            Op::MaxPool(p) | Op::AvgPool(p) => {
                per_element(u64::from(p.kernel[0]) * u64::from(p.kernel[1]))?
            }
            Op::GlobalAvgPool { .. } => inputs.first()?.0.checked_elements()?,
            Op::Add => per_element((inputs.len() as u64).saturating_sub(1))?,
            Op::Input { .. }
            | Op::Concat { .. }
            | Op::Embedding { .. }
            | Op::SelectToken { .. } => 0,
        };
        let weight_params =
            match self {
                Op::Conv2d(c) => {
                    let weights = product([
                        u64::from(c.out_channels),
                        u64::from(c.in_channels / c.groups),
                        u64::from(c.kernel[0]),
                        u64::from(c.kernel[1]),
                    ])?;
                    weights.checked_add(if c.bias { u64::from(c.out_channels) } else { 0 })?
                }
                Op::Linear {
                    in_features,
                    out_features,
                    bias,
                } => (u64::from(*in_features) * u64::from(*out_features))
                    .checked_add(if *bias { u64::from(*out_features) } else { 0 })?,
                // Learnable gamma and beta; the running mean and variance are buffers, not
                // parameters, in the published counts.
                Op::BatchNorm { channels } => 2 * u64::from(*channels),
                Op::LayerNorm { features } => 2 * u64::from(*features),
                Op::Embedding {
                    num_embeddings,
                    embedding_dim,
                    ..
                } => u64::from(*num_embeddings) * u64::from(*embedding_dim),
                _ => 0,
            };
        Some(OpCost {
            macs,
            flops,
            weight_params,
            gemm,
        })
    }
}

fn hw(v: [u32; 2]) -> String {
    if v[0] == v[1] {
        v[0].to_string()
    } else {
        format!("{}x{}", v[0], v[1])
    }
}

impl fmt::Display for Op {
    /// A short label for tables: `conv 3x3/2 p1 64->128`, `linear 2048->1000`, `maxpool 3x3/2 p1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Input { shape, dtype } => write!(f, "input {shape} {dtype:?}"),
            Op::Conv2d(c) => {
                write!(
                    f,
                    "conv {}x{}/{} p{} {}->{}",
                    c.kernel[0],
                    c.kernel[1],
                    hw(c.stride),
                    hw(c.padding),
                    c.in_channels,
                    c.out_channels
                )?;
                if c.groups == c.in_channels && c.groups > 1 {
                    write!(f, " depthwise")
                } else if c.groups > 1 {
                    write!(f, " g{}", c.groups)
                } else {
                    Ok(())
                }
            }
            Op::Linear {
                in_features,
                out_features,
                ..
            } => write!(f, "linear {in_features}->{out_features}"),
            Op::AttentionScores {
                heads,
                seq_q,
                seq_k,
                head_dim,
            } => write!(
                f,
                "attn QK^T {heads}x[{seq_q}x{head_dim}]x[{head_dim}x{seq_k}]"
            ),
            Op::AttentionContext {
                heads,
                seq_q,
                seq_k,
                head_dim,
            } => write!(f, "attn PV {heads}x[{seq_q}x{seq_k}]x[{seq_k}x{head_dim}]"),
            Op::BatchNorm { channels } => write!(f, "batchnorm {channels}"),
            Op::LayerNorm { features } => write!(f, "layernorm {features}"),
            Op::Relu => write!(f, "relu"),
            Op::Relu6 => write!(f, "relu6"),
            Op::Gelu => write!(f, "gelu"),
            Op::Tanh => write!(f, "tanh"),
            Op::MaxPool(p) | Op::AvgPool(p) => {
                let kind = if matches!(self, Op::MaxPool(_)) {
                    "maxpool"
                } else {
                    "avgpool"
                };
                write!(
                    f,
                    "{kind} {}x{}/{} p{}",
                    p.kernel[0],
                    p.kernel[1],
                    hw(p.stride),
                    hw(p.padding)
                )
            }
            Op::GlobalAvgPool { .. } => write!(f, "global avgpool"),
            Op::Add => write!(f, "add"),
            Op::Concat { axis } => write!(f, "concat axis {axis}"),
            Op::Softmax => write!(f, "softmax"),
            Op::Embedding {
                num_embeddings,
                embedding_dim,
                indices,
            } => match indices {
                EmbeddingIndices::Input => write!(f, "embedding {num_embeddings}x{embedding_dim}"),
                EmbeddingIndices::Positions => {
                    write!(f, "position embedding {num_embeddings}x{embedding_dim}")
                }
            },
            Op::SelectToken { index } => write!(f, "select token {index}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f16(shape: &Shape) -> (&Shape, DType) {
        (shape, DType::F16)
    }

    fn conv(k: u32, s: u32, p: u32, groups: u32, hw_in: u32, hw_out: u32) -> Op {
        Op::Conv2d(Conv2d {
            in_channels: 64,
            out_channels: 128,
            kernel: [k, k],
            stride: [s, s],
            padding: [p, p],
            groups,
            input_hw: [hw_in, hw_in],
            output_hw: [hw_out, hw_out],
            bias: false,
        })
    }

    #[test]
    fn window_arithmetic_matches_pytorch_floor_rule() {
        // ResNet stem: 224 -> 112 -> 56.
        assert_eq!(window_out(224, 7, 2, 3), Some(112));
        assert_eq!(window_out(112, 3, 2, 1), Some(56));
        // Inception stem: 299 -> 149 (valid 3x3 stride 2).
        assert_eq!(window_out(299, 3, 2, 0), Some(149));
        assert_eq!(window_out(2, 3, 1, 0), None);
        assert_eq!(window_out(8, 3, 0, 0), None);
    }

    #[test]
    fn conv_figures_follow_implicit_gemm() {
        let x = Shape::new([64, 56, 56]);
        let op = conv(3, 2, 1, 1, 56, 28);
        let out = op.output_shape(&[f16(&x)]).unwrap();
        assert_eq!(out.dims(), &[128, 28, 28]);
        let cost = op.cost(&[f16(&x)], &out).unwrap();
        let gemm = cost.gemm.unwrap();
        assert_eq!(
            (gemm.m_per_sample, gemm.n, gemm.k, gemm.groups),
            (28 * 28, 128, 64 * 9, 1)
        );
        assert_eq!(cost.macs, 28 * 28 * 128 * 64 * 9);
        assert_eq!(cost.flops, 2 * cost.macs);
        assert_eq!(cost.weight_params, 128 * 64 * 9);

        let grouped = conv(3, 1, 1, 64, 56, 56);
        let out = Shape::new([128, 56, 56]);
        let cost = grouped.cost(&[f16(&x)], &out).unwrap();
        let gemm = cost.gemm.unwrap();
        assert_eq!((gemm.n, gemm.k, gemm.groups), (2, 9, 64));
        assert_eq!(cost.weight_params, 128 * 9);
    }

    #[test]
    fn conv_rejects_inconsistent_parameters() {
        let x = Shape::new([64, 56, 56]);
        let wrong_out = conv(3, 2, 1, 1, 56, 27);
        assert!(
            wrong_out
                .output_shape(&[f16(&x)])
                .unwrap_err()
                .contains("output_hw")
        );
        let wrong_in = conv(3, 1, 1, 1, 55, 55);
        assert!(
            wrong_in
                .output_shape(&[f16(&x)])
                .unwrap_err()
                .contains("expects input")
        );
        let zero_groups = conv(3, 1, 1, 0, 56, 56);
        assert!(zero_groups.output_shape(&[f16(&x)]).is_err());
        let bad_groups = conv(3, 1, 1, 3, 56, 56);
        assert!(
            bad_groups
                .output_shape(&[f16(&x)])
                .unwrap_err()
                .contains("divide")
        );
        let zero_stride = conv(3, 0, 1, 1, 56, 56);
        assert!(zero_stride.output_shape(&[f16(&x)]).is_err());
    }

    #[test]
    fn linear_accepts_vectors_rows_and_flattened_maps() {
        let op = Op::Linear {
            in_features: 512 * 7 * 7,
            out_features: 4096,
            bias: true,
        };
        let map = Shape::new([512, 7, 7]);
        assert_eq!(op.output_shape(&[f16(&map)]).unwrap().dims(), &[4096]);
        let rows = Shape::new([128, 768]);
        let op = Op::Linear {
            in_features: 768,
            out_features: 3072,
            bias: true,
        };
        let out = op.output_shape(&[f16(&rows)]).unwrap();
        assert_eq!(out.dims(), &[128, 3072]);
        let cost = op.cost(&[f16(&rows)], &out).unwrap();
        assert_eq!(cost.gemm.unwrap().m_per_sample, 128);
        assert_eq!(cost.weight_params, 768 * 3072 + 3072);
        assert!(op.output_shape(&[f16(&Shape::new([128, 767]))]).is_err());
    }

    #[test]
    fn dtypes_are_checked() {
        let ids = Shape::new([128]);
        let relu = Op::Relu;
        assert!(relu.output_shape(&[(&ids, DType::I32)]).is_err());
        let emb = Op::Embedding {
            num_embeddings: 512,
            embedding_dim: 768,
            indices: EmbeddingIndices::Positions,
        };
        assert!(emb.output_shape(&[f16(&ids)]).is_err());
        assert_eq!(
            emb.output_shape(&[(&ids, DType::I32)]).unwrap().dims(),
            &[128, 768]
        );
        let long = Shape::new([513]);
        assert!(
            emb.output_shape(&[(&long, DType::I32)])
                .unwrap_err()
                .contains("positions")
        );
    }

    #[test]
    fn concat_and_add_check_shapes() {
        let a = Shape::new([64, 56, 56]);
        let b = Shape::new([32, 56, 56]);
        let c = Shape::new([32, 28, 28]);
        let cat = Op::Concat { axis: 0 };
        assert_eq!(
            cat.output_shape(&[f16(&a), f16(&b)]).unwrap().dims(),
            &[96, 56, 56]
        );
        assert!(cat.output_shape(&[f16(&a), f16(&c)]).is_err());
        assert!(
            Op::Concat { axis: 3 }
                .output_shape(&[f16(&a), f16(&b)])
                .is_err()
        );
        assert!(Op::Add.output_shape(&[f16(&a), f16(&b)]).is_err());
        assert!(Op::Add.output_shape(&[f16(&a)]).is_err());
        let sum = Op::Add.output_shape(&[f16(&a), f16(&a), f16(&a)]).unwrap();
        assert_eq!(
            Op::Add
                .cost(&[f16(&a), f16(&a), f16(&a)], &sum)
                .unwrap()
                .flops,
            2 * a.elements()
        );
    }

    #[test]
    fn huge_parameters_are_errors_not_panics() {
        let x = Shape::new([u32::MAX, u32::MAX, u32::MAX]);
        assert_eq!(x.checked_elements(), None);
        assert_eq!(x.elements(), u64::MAX);
        // A window that would produce more than u32::MAX positions is rejected, not wrapped.
        assert_eq!(window_out(u32::MAX, 1, 1, u32::MAX), None);
        // Shapes that fit but whose product does not: the cost reports overflow.
        let rows = Shape::new([u32::MAX, u32::MAX]);
        let op = Op::Linear {
            in_features: u32::MAX,
            out_features: u32::MAX,
            bias: true,
        };
        let out = op.output_shape(&[f16(&rows)]).unwrap();
        assert_eq!(op.cost(&[f16(&rows)], &out), None);
    }

    #[test]
    fn labels_are_short_and_specific() {
        assert_eq!(
            conv(3, 2, 1, 1, 56, 28).to_string(),
            "conv 3x3/2 p1 64->128"
        );
        assert_eq!(
            Op::MaxPool(Pool2d {
                channels: 64,
                kernel: [3, 3],
                stride: [2, 2],
                padding: [1, 1],
                input_hw: [112, 112],
                output_hw: [56, 56],
            })
            .to_string(),
            "maxpool 3x3/2 p1"
        );
    }
}
