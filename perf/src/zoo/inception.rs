//! Inception-v3 (Szegedy et al., "Rethinking the Inception Architecture for Computer Vision",
//! CVPR 2016) as torchvision defines it, at 299x299, for inference: the auxiliary classifier
//! (`AuxLogits`, used only in training) and the input re-normalization of `transform_input`
//! are left out, so the parameter count is torchvision's 27,161,264 less the auxiliary
//! classifier's 3,326,696.
//!
//! Every convolution is torchvision's `BasicConv2d`: convolution without bias, batch norm, ReLU.
//! Node names follow torchvision's module paths (`Mixed_6b.branch7x7dbl_3.conv`).

use super::builder::{GraphBuilder, Window};
use super::graph::{GraphError, ModelGraph, NodeId};
use super::op::{DType, Op};

/// `BasicConv2d`: convolution (no bias), batch norm, ReLU.
fn basic(
    b: &mut GraphBuilder,
    name: &str,
    x: NodeId,
    out: u32,
    window: Window,
) -> Result<NodeId, GraphError> {
    let x = b.conv(&format!("{name}.conv"), x, out, window, 1, false)?;
    let x = b.batch_norm(&format!("{name}.bn"), x)?;
    b.unary(&format!("{name}.relu"), Op::Relu, x)
}

fn one(b: &mut GraphBuilder, name: &str, x: NodeId, out: u32) -> Result<NodeId, GraphError> {
    basic(b, name, x, out, Window::square(1, 1, 0))
}

/// A stride-2 3x3 without padding, the grid reduction of Mixed_6a and Mixed_7a.
fn reduce(b: &mut GraphBuilder, name: &str, x: NodeId, out: u32) -> Result<NodeId, GraphError> {
    basic(b, name, x, out, Window::square(3, 2, 0))
}

/// Figure 5 module (35x35): 1x1, 5x5, double 3x3 and pooled branches.
fn inception_a(
    b: &mut GraphBuilder,
    m: &str,
    x: NodeId,
    pool_features: u32,
) -> Result<NodeId, GraphError> {
    let b1 = one(b, &format!("{m}.branch1x1"), x, 64)?;
    let b5 = one(b, &format!("{m}.branch5x5_1"), x, 48)?;
    let b5 = basic(b, &format!("{m}.branch5x5_2"), b5, 64, Window::same(5, 5))?;
    let b3 = one(b, &format!("{m}.branch3x3dbl_1"), x, 64)?;
    let b3 = basic(
        b,
        &format!("{m}.branch3x3dbl_2"),
        b3,
        96,
        Window::same(3, 3),
    )?;
    let b3 = basic(
        b,
        &format!("{m}.branch3x3dbl_3"),
        b3,
        96,
        Window::same(3, 3),
    )?;
    let bp = b.avg_pool(&format!("{m}.branch_pool.avgpool"), x, Window::same(3, 3))?;
    let bp = one(b, &format!("{m}.branch_pool"), bp, pool_features)?;
    b.concat(&format!("{m}.concat"), &[b1, b5, b3, bp])
}

/// Grid reduction 35x35 -> 17x17 (Figure 10 style).
fn inception_b(b: &mut GraphBuilder, m: &str, x: NodeId) -> Result<NodeId, GraphError> {
    let b3 = reduce(b, &format!("{m}.branch3x3"), x, 384)?;
    let bd = one(b, &format!("{m}.branch3x3dbl_1"), x, 64)?;
    let bd = basic(
        b,
        &format!("{m}.branch3x3dbl_2"),
        bd,
        96,
        Window::same(3, 3),
    )?;
    let bd = reduce(b, &format!("{m}.branch3x3dbl_3"), bd, 96)?;
    let bp = b.max_pool(&format!("{m}.branch_pool"), x, Window::square(3, 2, 0))?;
    b.concat(&format!("{m}.concat"), &[b3, bd, bp])
}

/// Figure 6 module (17x17): factorized 7x7 as 1x7 and 7x1, `c7` channels inside.
fn inception_c(b: &mut GraphBuilder, m: &str, x: NodeId, c7: u32) -> Result<NodeId, GraphError> {
    let (row, col) = (Window::same(1, 7), Window::same(7, 1));
    let b1 = one(b, &format!("{m}.branch1x1"), x, 192)?;
    let b7 = one(b, &format!("{m}.branch7x7_1"), x, c7)?;
    let b7 = basic(b, &format!("{m}.branch7x7_2"), b7, c7, row)?;
    let b7 = basic(b, &format!("{m}.branch7x7_3"), b7, 192, col)?;
    let bd = one(b, &format!("{m}.branch7x7dbl_1"), x, c7)?;
    let bd = basic(b, &format!("{m}.branch7x7dbl_2"), bd, c7, col)?;
    let bd = basic(b, &format!("{m}.branch7x7dbl_3"), bd, c7, row)?;
    let bd = basic(b, &format!("{m}.branch7x7dbl_4"), bd, c7, col)?;
    let bd = basic(b, &format!("{m}.branch7x7dbl_5"), bd, 192, row)?;
    let bp = b.avg_pool(&format!("{m}.branch_pool.avgpool"), x, Window::same(3, 3))?;
    let bp = one(b, &format!("{m}.branch_pool"), bp, 192)?;
    b.concat(&format!("{m}.concat"), &[b1, b7, bd, bp])
}

/// Grid reduction 17x17 -> 8x8.
fn inception_d(b: &mut GraphBuilder, m: &str, x: NodeId) -> Result<NodeId, GraphError> {
    let b3 = one(b, &format!("{m}.branch3x3_1"), x, 192)?;
    let b3 = reduce(b, &format!("{m}.branch3x3_2"), b3, 320)?;
    let b7 = one(b, &format!("{m}.branch7x7x3_1"), x, 192)?;
    let b7 = basic(
        b,
        &format!("{m}.branch7x7x3_2"),
        b7,
        192,
        Window::same(1, 7),
    )?;
    let b7 = basic(
        b,
        &format!("{m}.branch7x7x3_3"),
        b7,
        192,
        Window::same(7, 1),
    )?;
    let b7 = reduce(b, &format!("{m}.branch7x7x3_4"), b7, 192)?;
    let bp = b.max_pool(&format!("{m}.branch_pool"), x, Window::square(3, 2, 0))?;
    b.concat(&format!("{m}.concat"), &[b3, b7, bp])
}

/// Figure 7 module (8x8): expanded filter banks, 3x3 split into parallel 1x3 and 3x1.
fn inception_e(b: &mut GraphBuilder, m: &str, x: NodeId) -> Result<NodeId, GraphError> {
    let (row, col) = (Window::same(1, 3), Window::same(3, 1));
    let b1 = one(b, &format!("{m}.branch1x1"), x, 320)?;
    let b3 = one(b, &format!("{m}.branch3x3_1"), x, 384)?;
    let b3a = basic(b, &format!("{m}.branch3x3_2a"), b3, 384, row)?;
    let b3b = basic(b, &format!("{m}.branch3x3_2b"), b3, 384, col)?;
    let b3 = b.concat(&format!("{m}.branch3x3.concat"), &[b3a, b3b])?;
    let bd = one(b, &format!("{m}.branch3x3dbl_1"), x, 448)?;
    let bd = basic(
        b,
        &format!("{m}.branch3x3dbl_2"),
        bd,
        384,
        Window::same(3, 3),
    )?;
    let bda = basic(b, &format!("{m}.branch3x3dbl_3a"), bd, 384, row)?;
    let bdb = basic(b, &format!("{m}.branch3x3dbl_3b"), bd, 384, col)?;
    let bd = b.concat(&format!("{m}.branch3x3dbl.concat"), &[bda, bdb])?;
    let bp = b.avg_pool(&format!("{m}.branch_pool.avgpool"), x, Window::same(3, 3))?;
    let bp = one(b, &format!("{m}.branch_pool"), bp, 192)?;
    b.concat(&format!("{m}.concat"), &[b1, b3, bd, bp])
}

/// Inception-v3 for 1000 classes at 299x299, without the auxiliary classifier.
pub(crate) fn inception_v3(name: &str) -> Result<ModelGraph, GraphError> {
    let mut b = GraphBuilder::new();
    let x = b.input("input", &[3, 299, 299], DType::F16)?;
    let x = reduce(&mut b, "Conv2d_1a_3x3", x, 32)?;
    let x = basic(&mut b, "Conv2d_2a_3x3", x, 32, Window::square(3, 1, 0))?;
    let x = basic(&mut b, "Conv2d_2b_3x3", x, 64, Window::same(3, 3))?;
    let x = b.max_pool("maxpool1", x, Window::square(3, 2, 0))?;
    let x = one(&mut b, "Conv2d_3b_1x1", x, 80)?;
    let x = basic(&mut b, "Conv2d_4a_3x3", x, 192, Window::square(3, 1, 0))?;
    let x = b.max_pool("maxpool2", x, Window::square(3, 2, 0))?;
    let x = inception_a(&mut b, "Mixed_5b", x, 32)?;
    let x = inception_a(&mut b, "Mixed_5c", x, 64)?;
    let x = inception_a(&mut b, "Mixed_5d", x, 64)?;
    let x = inception_b(&mut b, "Mixed_6a", x)?;
    let x = inception_c(&mut b, "Mixed_6b", x, 128)?;
    let x = inception_c(&mut b, "Mixed_6c", x, 160)?;
    let x = inception_c(&mut b, "Mixed_6d", x, 160)?;
    let x = inception_c(&mut b, "Mixed_6e", x, 192)?;
    let x = inception_d(&mut b, "Mixed_7a", x)?;
    let x = inception_e(&mut b, "Mixed_7b", x)?;
    let x = inception_e(&mut b, "Mixed_7c", x)?;
    let x = b.global_avg_pool("avgpool", x)?;
    let logits = b.linear("fc", x, 1000, true)?;
    b.finish(name, &[logits])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_sizes_follow_table_1() {
        let g = inception_v3("inceptionv3").unwrap();
        let shape = |name: &str| g.find(name).unwrap().1.output_shape().dims().to_vec();
        assert_eq!(shape("Conv2d_1a_3x3.relu"), [32, 149, 149]);
        assert_eq!(shape("Conv2d_2b_3x3.relu"), [64, 147, 147]);
        assert_eq!(shape("maxpool1"), [64, 73, 73]);
        assert_eq!(shape("Conv2d_4a_3x3.relu"), [192, 71, 71]);
        assert_eq!(shape("maxpool2"), [192, 35, 35]);
        assert_eq!(shape("Mixed_5b.concat"), [256, 35, 35]);
        assert_eq!(shape("Mixed_5d.concat"), [288, 35, 35]);
        assert_eq!(shape("Mixed_6a.concat"), [768, 17, 17]);
        assert_eq!(shape("Mixed_6e.concat"), [768, 17, 17]);
        assert_eq!(shape("Mixed_7a.concat"), [1280, 8, 8]);
        assert_eq!(shape("Mixed_7c.concat"), [2048, 8, 8]);
        assert!(g.nodes().iter().all(|n| !n.name().contains("Aux")));
    }
}
