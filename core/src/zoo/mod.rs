//! The model zoo: ImageNet CNNs and BERT-base as layer graphs, built in code from their
//! published definitions, with per-node cost figures for latency models and GPU benchmarks.
//!
//! A [`ModelGraph`] holds nodes in execution order, each with its [`Op`] (every
//! parameter needed to run it), its input nodes, its per-sample output shape, and derived
//! per-sample figures. Conventions:
//!
//! - **Per sample.** Shapes leave the batch out; MACs, FLOPs and activation bytes scale with the
//!   batch, weights do not (read once per batch), so they are kept apart.
//! - **Precision.** Activations and weights are fp16 (2 bytes); token ids int32.
//! - **MACs** count GEMM work only (convolutions, linear layers, attention products), as the
//!   published figures do. **FLOPs** are `2 x MACs` for those plus a small documented count per
//!   element for the rest (ReLU 1, ReLU6 2, GELU 5, tanh 1, batch norm 2, layer norm 7,
//!   softmax 5, add `inputs - 1`, pooling one per window element; concat, gathers and token
//!   selection 0). The attention scale `1/sqrt(d)` is folded into the Q·Kᵀ product.
//! - **Batch norm is a separate node**, as in the published definitions, so parameter counts
//!   match them (gamma and beta count; running statistics are buffers and do not). Inference
//!   engines fold it into the preceding convolution; a latency model may treat BN nodes as free.
//! - **Inference only**: no dropout nodes; flattening is a free view folded into global pooling
//!   and the first linear layer; Inception-v3's auxiliary classifier is left out.
//! - **GEMM view**: GEMM-like nodes carry [`GemmDims`] (conv: M = H_out·W_out per sample,
//!   N = C_out/groups, K = C_in/groups·kh·kw; linear on `[rows, in]`: M = rows; attention:
//!   heads as groups).
//!
//! The JSON form (serde) is deterministic: struct fields in declaration order, no maps.

mod graph;
mod op;

pub use graph::{GraphError, GraphTotals, ModelGraph, Node, NodeId, NodeSpec};
pub use op::{
    Conv2d, DType, EmbeddingIndices, GemmDims, Op, Pool2d, Shape, WEIGHT_BYTES_PER_PARAM,
};
