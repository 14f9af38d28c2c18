//! BERT-base (Devlin et al., "BERT: Pre-training of Deep Bidirectional Transformers for Language
//! Understanding", NAACL 2019), with Hugging Face's `bert-base-uncased` configuration: 12 layers,
//! hidden 768, 12 heads, intermediate 3072, vocabulary 30522, 512 positions, 2 token types.
//!
//! The graph is `BertModel`: embeddings (word, position and token type, summed, layer norm), the
//! 12-layer encoder, and the pooler (dense + tanh on the first token). No task head. Inputs are
//! one unpadded sequence of `seq_len` token ids and its segment ids, so there is no attention
//! mask to add; post-norm residuals and exact (erf) GELU as in the original. Node names follow
//! Hugging Face's module paths (`encoder.layer.3.attention.self.query`).
//!
//! MACs per sample at sequence length s, hidden h, intermediate i, L layers:
//! `L * (4*s*h^2 + 2*s*h*i + 2*s^2*h) + h^2` (Q, K, V and output projections, the two
//! feed-forward layers, the two attention products, and the pooler on one token);
//! 11,174,215,680 at s = 128.

use super::builder::GraphBuilder;
use super::graph::{GraphError, ModelGraph, NodeId};
use super::op::{DType, EmbeddingIndices, Op};

/// Transformer layers.
pub(crate) const LAYERS: u32 = 12;
/// Hidden width.
pub(crate) const HIDDEN: u32 = 768;
/// Attention heads.
pub(crate) const HEADS: u32 = 12;
/// Feed-forward width.
pub(crate) const INTERMEDIATE: u32 = 3072;
/// WordPiece vocabulary of the uncased model.
pub(crate) const VOCAB: u32 = 30522;
/// Rows of the learned position table, hence the longest sequence.
pub(crate) const MAX_POSITIONS: u32 = 512;
/// Segment (token type) vocabulary.
pub(crate) const TYPE_VOCAB: u32 = 2;

fn embedding(
    b: &mut GraphBuilder,
    name: &str,
    ids: NodeId,
    rows: u32,
    indices: EmbeddingIndices,
) -> Result<NodeId, GraphError> {
    let op = Op::Embedding {
        num_embeddings: rows,
        embedding_dim: HIDDEN,
        indices,
    };
    b.unary(name, op, ids)
}

fn layer_norm(b: &mut GraphBuilder, name: &str, x: NodeId) -> Result<NodeId, GraphError> {
    b.unary(name, Op::LayerNorm { features: HIDDEN }, x)
}

fn encoder_layer(b: &mut GraphBuilder, p: &str, x: NodeId, seq: u32) -> Result<NodeId, GraphError> {
    let head_dim = HIDDEN / HEADS;
    let q = b.linear(&format!("{p}.attention.self.query"), x, HIDDEN, true)?;
    let k = b.linear(&format!("{p}.attention.self.key"), x, HIDDEN, true)?;
    let v = b.linear(&format!("{p}.attention.self.value"), x, HIDDEN, true)?;
    let scores = Op::AttentionScores {
        heads: HEADS,
        seq_q: seq,
        seq_k: seq,
        head_dim,
    };
    let s = b.push(format!("{p}.attention.self.scores"), scores, &[q, k])?;
    let s = b.unary(&format!("{p}.attention.self.softmax"), Op::Softmax, s)?;
    let context = Op::AttentionContext {
        heads: HEADS,
        seq_q: seq,
        seq_k: seq,
        head_dim,
    };
    let c = b.push(format!("{p}.attention.self.context"), context, &[s, v])?;
    let a = b.linear(&format!("{p}.attention.output.dense"), c, HIDDEN, true)?;
    let a = b.add(&format!("{p}.attention.output.add"), &[a, x])?;
    let a = layer_norm(b, &format!("{p}.attention.output.LayerNorm"), a)?;
    let f = b.linear(&format!("{p}.intermediate.dense"), a, INTERMEDIATE, true)?;
    let f = b.unary(&format!("{p}.intermediate.gelu"), Op::Gelu, f)?;
    let f = b.linear(&format!("{p}.output.dense"), f, HIDDEN, true)?;
    let f = b.add(&format!("{p}.output.add"), &[f, a])?;
    layer_norm(b, &format!("{p}.output.LayerNorm"), f)
}

/// BERT-base for one sequence of `seq` tokens; `seq` must be 1 to [`MAX_POSITIONS`] (the
/// position embedding rejects longer sequences).
pub(crate) fn bert_base(name: &str, seq: u32) -> Result<ModelGraph, GraphError> {
    let mut b = GraphBuilder::new();
    let ids = b.input("input_ids", &[seq], DType::I32)?;
    let types = b.input("token_type_ids", &[seq], DType::I32)?;
    let words = embedding(
        &mut b,
        "embeddings.word_embeddings",
        ids,
        VOCAB,
        EmbeddingIndices::Input,
    )?;
    let positions = embedding(
        &mut b,
        "embeddings.position_embeddings",
        ids,
        MAX_POSITIONS,
        EmbeddingIndices::Positions,
    )?;
    let segments = embedding(
        &mut b,
        "embeddings.token_type_embeddings",
        types,
        TYPE_VOCAB,
        EmbeddingIndices::Input,
    )?;
    let x = b.add("embeddings.add", &[words, segments, positions])?;
    let mut x = layer_norm(&mut b, "embeddings.LayerNorm", x)?;
    for layer in 0..LAYERS {
        x = encoder_layer(&mut b, &format!("encoder.layer.{layer}"), x, seq)?;
    }
    let cls = b.unary("pooler.first_token", Op::SelectToken { index: 0 }, x)?;
    let pooled = b.linear("pooler.dense", cls, HIDDEN, true)?;
    let pooled = b.unary("pooler.activation", Op::Tanh, pooled)?;
    b.finish(name, &[x, pooled])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The closed form of the module doc, derived independently of the graph.
    fn analytic_macs(seq: u64) -> u64 {
        let (h, i, l) = (
            u64::from(HIDDEN),
            u64::from(INTERMEDIATE),
            u64::from(LAYERS),
        );
        l * (4 * seq * h * h + 2 * seq * h * i + 2 * seq * seq * h) + h * h
    }

    #[test]
    fn macs_match_the_closed_form_at_several_lengths() {
        for seq in [1, 7, 64, 128, 384, 512] {
            let g = bert_base("bert-base", seq).unwrap();
            assert_eq!(
                g.totals().macs_per_sample,
                analytic_macs(u64::from(seq)),
                "seq {seq}"
            );
        }
        assert_eq!(analytic_macs(128), 11_174_215_680);
    }

    #[test]
    fn attention_products_carry_heads_as_groups() {
        let g = bert_base("bert-base", 128).unwrap();
        let (_, scores) = g.find("encoder.layer.0.attention.self.scores").unwrap();
        assert_eq!(scores.output_shape().dims(), &[12, 128, 128]);
        let gemm = scores.gemm().unwrap();
        assert_eq!(
            (gemm.groups, gemm.m_per_sample, gemm.n, gemm.k),
            (12, 128, 128, 64)
        );
        let (_, context) = g.find("encoder.layer.11.attention.self.context").unwrap();
        let gemm = context.gemm().unwrap();
        assert_eq!(
            (gemm.groups, gemm.m_per_sample, gemm.n, gemm.k),
            (12, 128, 64, 128)
        );
        let (_, ffn) = g.find("encoder.layer.5.intermediate.dense").unwrap();
        let gemm = ffn.gemm().unwrap();
        assert_eq!((gemm.m_per_sample, gemm.n, gemm.k), (128, 3072, 768));
        assert_eq!(g.outputs().len(), 2);
        assert_eq!(g.inputs().count(), 2);
    }

    #[test]
    fn sequences_longer_than_the_position_table_are_rejected() {
        let err = bert_base("bert-base", MAX_POSITIONS + 1).unwrap_err();
        assert!(err.to_string().contains("position_embeddings"), "{err}");
    }
}
