//! `migsched models`.

use super::{expect, tmp};

#[test]
fn lists_every_zoo_model_with_its_published_figures() {
    let r = expect(&["models"], 0);
    for m in [
        "resnet50",
        "resnet101",
        "resnet152",
        "vgg16",
        "vgg19",
        "densenet121",
        "densenet169",
        "densenet201",
        "inceptionv3",
        "mobilenetv2",
        "bert-base",
    ] {
        assert!(r.stdout.contains(m), "{m}");
    }
    assert!(r.stdout.contains("25.56M/4.089G"), "{}", r.stdout);
    let v: serde_json::Value =
        serde_json::from_str(&expect(&["models", "--json"], 0).stdout).unwrap();
    assert_eq!(v[0]["params"], 25_557_032);
}

#[test]
fn show_groups_and_nodes() {
    let r = expect(&["models", "show", "ResNet50"], 0);
    assert!(r.stdout.contains("4.089 GMACs"), "{}", r.stdout);
    assert!(r.stdout.contains("layer3"));
    let r = expect(&["models", "show", "bert", "--depth", "3"], 0);
    assert!(r.stdout.contains("encoder.layer.11"));
    let short = expect(&["models", "show", "bert", "--seq-len", "64"], 0);
    assert!(short.stdout.contains("bert-base"));
    let v: serde_json::Value =
        serde_json::from_str(&expect(&["models", "show", "mobilenetv2", "--json"], 0).stdout)
            .unwrap();
    assert!(v["nodes"].as_array().unwrap().len() > 100);
}

#[test]
fn bad_model_names_and_lengths_exit_2() {
    let r = expect(&["models", "show", "alexnet"], 2);
    assert!(
        r.stderr
            .contains("unknown model `alexnet`; known models: resnet50"),
        "{}",
        r.stderr
    );
    let r = expect(&["models", "show", "bert", "--seq-len", "513"], 2);
    assert!(
        r.stderr.contains("seq_len 513 is out of range"),
        "{}",
        r.stderr
    );
}

#[test]
fn export_writes_graphs_that_match_the_bundled_ones() {
    let d = tmp("models-export");
    expect(&["models", "export", "--out", d.to_str().unwrap()], 0);
    for entry in std::fs::read_dir(super::repo().join("datasets/models")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap();
        let bundled = std::fs::read_to_string(&path).unwrap();
        let fresh = std::fs::read_to_string(d.join(name)).unwrap();
        assert!(
            bundled == fresh,
            "datasets/models/{} is stale: run `migsched models export`",
            name.to_string_lossy()
        );
    }
}
