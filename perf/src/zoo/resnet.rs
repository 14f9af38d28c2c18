//! ResNet-50/101/152 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2016),
//! bottleneck variant as torchvision defines it ("v1.5": the stride-2 of a downsampling block sits
//! on the 3x3 convolution, not the first 1x1), at 224x224.
//!
//! Node names follow torchvision's module paths (`layer3.2.conv2`); the three ReLUs of a block,
//! one shared module in torchvision, are `relu1`..`relu3` here so names stay unique.

use super::builder::{GraphBuilder, Window};
use super::graph::{GraphError, ModelGraph, NodeId};
use super::op::{DType, Op};

/// Bottleneck blocks per stage (conv2_x .. conv5_x), Table 1 of the paper.
pub(crate) const RESNET50_BLOCKS: [u32; 4] = [3, 4, 6, 3];
/// Bottleneck blocks per stage of ResNet-101.
pub(crate) const RESNET101_BLOCKS: [u32; 4] = [3, 4, 23, 3];
/// Bottleneck blocks per stage of ResNet-152.
pub(crate) const RESNET152_BLOCKS: [u32; 4] = [3, 8, 36, 3];

/// A bottleneck widens its 3x3 width by this factor at the output.
const EXPANSION: u32 = 4;

fn conv_bn(
    b: &mut GraphBuilder,
    prefix: &str,
    index: u32,
    x: NodeId,
    out: u32,
    window: Window,
) -> Result<NodeId, GraphError> {
    let conv = b.conv(&format!("{prefix}.conv{index}"), x, out, window, 1, false)?;
    b.batch_norm(&format!("{prefix}.bn{index}"), conv)
}

fn bottleneck(
    b: &mut GraphBuilder,
    prefix: &str,
    x: NodeId,
    width: u32,
    stride: u32,
) -> Result<NodeId, GraphError> {
    let out = width * EXPANSION;
    let y = conv_bn(b, prefix, 1, x, width, Window::square(1, 1, 0))?;
    let y = b.unary(&format!("{prefix}.relu1"), Op::Relu, y)?;
    let y = conv_bn(b, prefix, 2, y, width, Window::square(3, stride, 1))?;
    let y = b.unary(&format!("{prefix}.relu2"), Op::Relu, y)?;
    let y = conv_bn(b, prefix, 3, y, out, Window::square(1, 1, 0))?;
    let in_channels = b.channels(x);
    let shortcut = if stride != 1 || in_channels != out {
        let conv = b.conv(
            &format!("{prefix}.downsample.0"),
            x,
            out,
            Window::square(1, stride, 0),
            1,
            false,
        )?;
        b.batch_norm(&format!("{prefix}.downsample.1"), conv)?
    } else {
        x
    };
    let sum = b.add(&format!("{prefix}.add"), &[y, shortcut])?;
    b.unary(&format!("{prefix}.relu3"), Op::Relu, sum)
}

/// A bottleneck ResNet with `blocks[i]` blocks in stage `i`, for 1000 classes at 224x224.
pub(crate) fn resnet(name: &str, blocks: [u32; 4]) -> Result<ModelGraph, GraphError> {
    let mut b = GraphBuilder::new();
    let x = b.input("input", &[3, 224, 224], DType::F16)?;
    let x = b.conv("conv1", x, 64, Window::square(7, 2, 3), 1, false)?;
    let x = b.batch_norm("bn1", x)?;
    let x = b.unary("relu", Op::Relu, x)?;
    let mut x = b.max_pool("maxpool", x, Window::square(3, 2, 1))?;
    for (stage, &count) in blocks.iter().enumerate() {
        let width = 64 << stage;
        for block in 0..count {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            let prefix = format!("layer{}.{block}", stage + 1);
            x = bottleneck(&mut b, &prefix, x, width, stride)?;
        }
    }
    let x = b.global_avg_pool("avgpool", x)?;
    let logits = b.linear("fc", x, 1000, true)?;
    b.finish(name, &[logits])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resnet50_has_torchvision_structure() {
        let g = resnet("resnet50", RESNET50_BLOCKS).unwrap();
        let shape = |name: &str| g.find(name).unwrap().1.output_shape().dims().to_vec();
        assert_eq!(shape("maxpool"), [64, 56, 56]);
        assert_eq!(shape("layer1.0.relu3"), [256, 56, 56]);
        // v1.5: the stride is on conv2, so conv1 of layer2.0 keeps 56x56.
        assert_eq!(shape("layer2.0.conv1"), [128, 56, 56]);
        assert_eq!(shape("layer2.0.conv2"), [128, 28, 28]);
        assert_eq!(shape("layer4.2.relu3"), [2048, 7, 7]);
        assert_eq!(shape("fc"), [1000]);
        // Only the first block of each stage has a projection shortcut.
        let projections = g
            .nodes()
            .iter()
            .filter(|n| n.name().ends_with("downsample.0"))
            .count();
        assert_eq!(projections, 4);
        // Input, stem of 4, 16 blocks of 10, 4 projections of 2, avgpool and fc.
        assert_eq!(g.nodes().len(), 1 + 4 + 16 * 10 + 4 * 2 + 2);
    }
}
