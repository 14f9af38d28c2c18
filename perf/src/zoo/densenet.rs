//! DenseNet-121/169/201 (Huang et al., "Densely Connected Convolutional Networks", CVPR 2017),
//! the DenseNet-BC ImageNet variants of Table 1 as torchvision defines them, at 224x224:
//! growth rate 32, bottleneck width 4 x 32, compression 0.5, a 64-channel stem.
//!
//! Each dense layer reads the concatenation of every earlier feature map of its block. As in
//! torchvision (without memory-efficient checkpointing), that concatenation is a real copy made
//! at every layer, so it appears as one `concat` node per layer from the second on, and once
//! more at the end of the block; the copies grow quadratically with the block depth, which is
//! part of what the activation-byte figures should show.

use super::builder::{GraphBuilder, Window};
use super::graph::{GraphError, ModelGraph, NodeId};
use super::op::{DType, Op};

/// Dense layers per block of DenseNet-121.
pub(crate) const DENSENET121_BLOCKS: [u32; 4] = [6, 12, 24, 16];
/// Dense layers per block of DenseNet-169.
pub(crate) const DENSENET169_BLOCKS: [u32; 4] = [6, 12, 32, 32];
/// Dense layers per block of DenseNet-201.
pub(crate) const DENSENET201_BLOCKS: [u32; 4] = [6, 12, 48, 32];

/// Channels each dense layer adds.
const GROWTH: u32 = 32;
/// The 1x1 bottleneck of a dense layer is this many times the growth rate wide.
const BOTTLENECK: u32 = 4;
/// Channels of the stem.
const STEM: u32 = 64;

fn bn_relu_conv(
    b: &mut GraphBuilder,
    prefix: &str,
    suffix: &str,
    x: NodeId,
    out: u32,
    window: Window,
) -> Result<NodeId, GraphError> {
    let x = b.batch_norm(&format!("{prefix}.norm{suffix}"), x)?;
    let x = b.unary(&format!("{prefix}.relu{suffix}"), Op::Relu, x)?;
    b.conv(&format!("{prefix}.conv{suffix}"), x, out, window, 1, false)
}

fn dense_block(
    b: &mut GraphBuilder,
    prefix: &str,
    input: NodeId,
    layers: u32,
) -> Result<NodeId, GraphError> {
    let mut features = vec![input];
    for layer in 1..=layers {
        let layer_prefix = format!("{prefix}.denselayer{layer}");
        let x = if features.len() == 1 {
            input
        } else {
            b.concat(&format!("{layer_prefix}.concat"), &features)?
        };
        let x = bn_relu_conv(
            b,
            &layer_prefix,
            "1",
            x,
            BOTTLENECK * GROWTH,
            Window::square(1, 1, 0),
        )?;
        let x = bn_relu_conv(b, &layer_prefix, "2", x, GROWTH, Window::square(3, 1, 1))?;
        features.push(x);
    }
    b.concat(&format!("{prefix}.concat"), &features)
}

/// A DenseNet-BC with `blocks[i]` dense layers in block `i`, for 1000 classes at 224x224.
pub(crate) fn densenet(name: &str, blocks: [u32; 4]) -> Result<ModelGraph, GraphError> {
    let mut b = GraphBuilder::new();
    let x = b.input("input", &[3, 224, 224], DType::F16)?;
    let x = b.conv("features.conv0", x, STEM, Window::square(7, 2, 3), 1, false)?;
    let x = b.batch_norm("features.norm0", x)?;
    let x = b.unary("features.relu0", Op::Relu, x)?;
    let mut x = b.max_pool("features.pool0", x, Window::square(3, 2, 1))?;
    for (index, &layers) in blocks.iter().enumerate() {
        let block = index + 1;
        x = dense_block(&mut b, &format!("features.denseblock{block}"), x, layers)?;
        if block < blocks.len() {
            let prefix = format!("features.transition{block}");
            let channels = b.channels(x);
            let t = b.batch_norm(&format!("{prefix}.norm"), x)?;
            let t = b.unary(&format!("{prefix}.relu"), Op::Relu, t)?;
            let t = b.conv(
                &format!("{prefix}.conv"),
                t,
                channels / 2,
                Window::square(1, 1, 0),
                1,
                false,
            )?;
            x = b.avg_pool(&format!("{prefix}.pool"), t, Window::square(2, 2, 0))?;
        }
    }
    let x = b.batch_norm("features.norm5", x)?;
    // torchvision applies this ReLU functionally after `features`.
    let x = b.unary("relu", Op::Relu, x)?;
    let x = b.global_avg_pool("avgpool", x)?;
    let logits = b.linear("classifier", x, 1000, true)?;
    b.finish(name, &[logits])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn densenet121_channel_counts_follow_table_1() {
        let g = densenet("densenet121", DENSENET121_BLOCKS).unwrap();
        let channels = |name: &str| g.find(name).unwrap().1.output_shape().dims().to_vec();
        // 64 + 6 x 32 = 256 -> 128; 128 + 12 x 32 = 512 -> 256; 256 + 24 x 32 = 1024 -> 512;
        // 512 + 16 x 32 = 1024.
        assert_eq!(channels("features.denseblock1.concat"), [256, 56, 56]);
        assert_eq!(channels("features.transition1.pool"), [128, 28, 28]);
        assert_eq!(channels("features.denseblock2.concat"), [512, 28, 28]);
        assert_eq!(channels("features.denseblock3.concat"), [1024, 14, 14]);
        assert_eq!(channels("features.transition3.pool"), [512, 7, 7]);
        assert_eq!(channels("features.denseblock4.concat"), [1024, 7, 7]);
        // A layer reads all earlier maps of its block: layer 6 of block 1 concatenates 6.
        let (_, cat) = g.find("features.denseblock1.denselayer6.concat").unwrap();
        assert_eq!(cat.inputs().len(), 6);
        assert_eq!(cat.output_shape().dims(), &[64 + 5 * 32, 56, 56]);
        assert!(g.find("features.denseblock1.denselayer1.concat").is_none());
    }
}
