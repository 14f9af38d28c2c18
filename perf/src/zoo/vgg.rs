//! VGG-16 and VGG-19 (Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale
//! Image Recognition", ICLR 2015, configurations D and E), without batch normalization, at 224x224.
//!
//! Node names follow torchvision's `features.N` / `classifier.N` indices. torchvision's
//! `AdaptiveAvgPool2d((7, 7))` is left out: at 224x224 its input is already 7x7, so it is an
//! identity; the dropout layers of the classifier are inference no-ops and left out too.

use super::builder::{GraphBuilder, Window};
use super::graph::{GraphError, ModelGraph};
use super::op::{DType, Op};

/// One entry of a VGG configuration: a 3x3 convolution (then ReLU) or a 2x2 max pool.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Layer {
    Conv(u32),
    Pool,
}

use Layer::{Conv, Pool};

/// Configuration D of Table 1.
#[rustfmt::skip]
pub(crate) const VGG16: &[Layer] = &[
    Conv(64), Conv(64), Pool,
    Conv(128), Conv(128), Pool,
    Conv(256), Conv(256), Conv(256), Pool,
    Conv(512), Conv(512), Conv(512), Pool,
    Conv(512), Conv(512), Conv(512), Pool,
];

/// Configuration E of Table 1.
#[rustfmt::skip]
pub(crate) const VGG19: &[Layer] = &[
    Conv(64), Conv(64), Pool,
    Conv(128), Conv(128), Pool,
    Conv(256), Conv(256), Conv(256), Conv(256), Pool,
    Conv(512), Conv(512), Conv(512), Conv(512), Pool,
    Conv(512), Conv(512), Conv(512), Conv(512), Pool,
];

/// A VGG network of this configuration, for 1000 classes at 224x224.
pub(crate) fn vgg(name: &str, config: &[Layer]) -> Result<ModelGraph, GraphError> {
    let mut b = GraphBuilder::new();
    let mut x = b.input("input", &[3, 224, 224], DType::F16)?;
    // `features.N` counts modules as torchvision's Sequential does: conv and ReLU take one
    // index each, a pool one.
    let mut index = 0;
    for layer in config {
        match *layer {
            Conv(channels) => {
                let conv = format!("features.{index}");
                x = b.conv(&conv, x, channels, Window::square(3, 1, 1), 1, true)?;
                x = b.unary(&format!("features.{}", index + 1), Op::Relu, x)?;
                index += 2;
            }
            Pool => {
                x = b.max_pool(&format!("features.{index}"), x, Window::square(2, 2, 0))?;
                index += 1;
            }
        }
    }
    let x = b.linear("classifier.0", x, 4096, true)?;
    let x = b.unary("classifier.1", Op::Relu, x)?;
    let x = b.linear("classifier.3", x, 4096, true)?;
    let x = b.unary("classifier.4", Op::Relu, x)?;
    let logits = b.linear("classifier.6", x, 1000, true)?;
    b.finish(name, &[logits])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vgg16_ends_in_a_7x7_map_and_a_25088_wide_classifier() {
        let g = vgg("vgg16", VGG16).unwrap();
        let (_, pool5) = g.find("features.30").unwrap();
        assert!(matches!(pool5.op(), Op::MaxPool(_)));
        assert_eq!(pool5.output_shape().dims(), &[512, 7, 7]);
        let (_, fc6) = g.find("classifier.0").unwrap();
        assert!(matches!(
            fc6.op(),
            Op::Linear {
                in_features: 25088,
                out_features: 4096,
                ..
            }
        ));
        let convs = g
            .nodes()
            .iter()
            .filter(|n| matches!(n.op(), Op::Conv2d(_)))
            .count();
        assert_eq!(convs, 13);
        let convs = vgg("vgg19", VGG19).unwrap();
        let convs = convs
            .nodes()
            .iter()
            .filter(|n| matches!(n.op(), Op::Conv2d(_)))
            .count();
        assert_eq!(convs, 16);
    }
}
