//! MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
//! CVPR 2018), width multiplier 1.0, as torchvision defines it, at 224x224.
//!
//! Each inverted residual block expands with a 1x1 convolution (skipped when the expansion is 1),
//! filters with a depthwise 3x3, and projects back with a linear (no activation) 1x1; it adds
//! its input when the stride is 1 and the width is kept. Node names follow torchvision's
//! `features.N.conv.M` paths.

use super::builder::{GraphBuilder, Window};
use super::graph::{GraphError, ModelGraph, NodeId};
use super::op::{DType, Op};

/// Table 2 of the paper: expansion t, output channels c, repeats n, first stride s.
const BOTTLENECKS: [(u32, u32, u32, u32); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// Channels of the stem convolution.
const STEM: u32 = 32;
/// Channels of the last 1x1 convolution, before pooling.
const LAST: u32 = 1280;

/// torchvision's `Conv2dNormActivation`: convolution (no bias), batch norm, ReLU6, named
/// `{prefix}.0`, `.1`, `.2`.
fn conv_bn_relu6(
    b: &mut GraphBuilder,
    prefix: &str,
    x: NodeId,
    out: u32,
    window: Window,
    groups: u32,
) -> Result<NodeId, GraphError> {
    let x = b.conv(&format!("{prefix}.0"), x, out, window, groups, false)?;
    let x = b.batch_norm(&format!("{prefix}.1"), x)?;
    b.unary(&format!("{prefix}.2"), Op::Relu6, x)
}

fn inverted_residual(
    b: &mut GraphBuilder,
    prefix: &str,
    x: NodeId,
    expansion: u32,
    out: u32,
    stride: u32,
) -> Result<NodeId, GraphError> {
    let in_channels = b.channels(x);
    let hidden = in_channels * expansion;
    let mut y = x;
    let mut step = 0;
    if expansion != 1 {
        y = conv_bn_relu6(
            b,
            &format!("{prefix}.conv.{step}"),
            y,
            hidden,
            Window::square(1, 1, 0),
            1,
        )?;
        step += 1;
    }
    let depthwise = Window::square(3, stride, 1);
    y = conv_bn_relu6(
        b,
        &format!("{prefix}.conv.{step}"),
        y,
        hidden,
        depthwise,
        hidden,
    )?;
    y = b.conv(
        &format!("{prefix}.conv.{}", step + 1),
        y,
        out,
        Window::square(1, 1, 0),
        1,
        false,
    )?;
    y = b.batch_norm(&format!("{prefix}.conv.{}", step + 2), y)?;
    if stride == 1 && in_channels == out {
        y = b.add(&format!("{prefix}.add"), &[x, y])?;
    }
    Ok(y)
}

/// MobileNetV2 (width 1.0) for 1000 classes at 224x224.
pub(crate) fn mobilenet_v2(name: &str) -> Result<ModelGraph, GraphError> {
    let mut b = GraphBuilder::new();
    let x = b.input("input", &[3, 224, 224], DType::F16)?;
    let mut x = conv_bn_relu6(&mut b, "features.0", x, STEM, Window::square(3, 2, 1), 1)?;
    let mut index = 1;
    for (expansion, out, repeats, first_stride) in BOTTLENECKS {
        for repeat in 0..repeats {
            let stride = if repeat == 0 { first_stride } else { 1 };
            x = inverted_residual(
                &mut b,
                &format!("features.{index}"),
                x,
                expansion,
                out,
                stride,
            )?;
            index += 1;
        }
    }
    let x = conv_bn_relu6(
        &mut b,
        &format!("features.{index}"),
        x,
        LAST,
        Window::square(1, 1, 0),
        1,
    )?;
    let x = b.global_avg_pool("avgpool", x)?;
    // torchvision's classifier is Dropout then Linear; the dropout is an inference no-op.
    let logits = b.linear("classifier.1", x, 1000, true)?;
    b.finish(name, &[logits])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn has_17_blocks_10_residuals_and_depthwise_filters() {
        let g = mobilenet_v2("mobilenetv2").unwrap();
        let adds = g
            .nodes()
            .iter()
            .filter(|n| matches!(n.op(), Op::Add))
            .count();
        // Repeats beyond the first of each row: 0 + 1 + 2 + 3 + 2 + 2 + 0.
        assert_eq!(adds, 10);
        let (_, last) = g.find("features.18.2").unwrap();
        assert_eq!(last.output_shape().dims(), &[1280, 7, 7]);
        let (_, dw) = g.find("features.2.conv.1.0").unwrap();
        match dw.op() {
            Op::Conv2d(c) => {
                assert_eq!((c.in_channels, c.groups, c.stride), (96, 96, [2, 2]));
                let gemm = dw.gemm().unwrap();
                assert_eq!((gemm.n, gemm.k, gemm.groups), (1, 9, 96));
            }
            other => panic!("expected a depthwise conv, got {other}"),
        }
    }
}
