//! The zoo's registry: model names, descriptions, published reference figures, and `build`.

use serde::{Deserialize, Serialize};

use super::graph::{GraphError, ModelGraph};
use super::{bert, densenet, inception, mobilenet, resnet, vgg};

/// Sequence length BERT is built for unless told otherwise.
pub const DEFAULT_SEQ_LEN: u32 = 128;
/// Longest sequence BERT-base takes: the rows of its learned position table.
pub const MAX_SEQ_LEN: u32 = bert::MAX_POSITIONS;

/// Options of [`build`]. The image models have fixed ImageNet input sizes (224x224,
/// Inception-v3 299x299) and ignore them; they are checked whatever the model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZooOptions {
    /// Tokens per BERT sequence, 1 to [`MAX_SEQ_LEN`]; default [`DEFAULT_SEQ_LEN`].
    pub seq_len: u32,
}

impl Default for ZooOptions {
    fn default() -> Self {
        ZooOptions {
            seq_len: DEFAULT_SEQ_LEN,
        }
    }
}

/// Why a model could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ZooError {
    /// No model has this name or alias.
    #[error(
        "unknown model `{name}`; known models: {} (case-insensitive; `bert` is an alias of `bert-base`)",
        MODEL_NAMES.join(", ")
    )]
    UnknownModel {
        /// The name asked for.
        name: String,
    },
    /// `seq_len` is 0 or longer than BERT-base's position table.
    #[error(
        "seq_len {seq_len} is out of range: BERT-base takes 1 to {MAX_SEQ_LEN} tokens (its position table has {MAX_SEQ_LEN} rows)"
    )]
    SeqLen {
        /// The length asked for.
        seq_len: u32,
    },
    /// The architecture code produced an inconsistent graph: a bug in the zoo, not bad input.
    #[error("model `{model}` built an inconsistent graph (a bug in the zoo): {source}")]
    Graph {
        /// Canonical model name.
        model: &'static str,
        /// What the graph check found.
        source: GraphError,
    },
}

/// Published figures for a model, and where they come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// Learnable parameters.
    pub params: u64,
    /// Multiply-accumulates per sample at the zoo's input size (BERT: at [`DEFAULT_SEQ_LEN`]).
    pub macs: u64,
    /// Where the figures come from.
    pub source: &'static str,
}

/// What the zoo knows about a model before building it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ModelInfo {
    /// Canonical name (`resnet50`, `bert-base`).
    pub name: &'static str,
    /// Other accepted names (the ParvaGPU dataset calls BERT `bert`).
    pub aliases: &'static [&'static str],
    /// One line: the architecture and the definition it follows.
    pub description: &'static str,
    /// The per-sample input.
    pub input: &'static str,
    /// Published parameter and MAC counts.
    pub reference: Reference,
}

// torchvision's figures are its model metadata (`num_params`, `_ops`); `_ops` is labelled GFLOPS
// in the docs but counts multiply-accumulates of convolutions and linear layers (ResNet-50's
// 4.089 is exactly its conv + fc MACs), which is what `macs` means here.
const MODEL_NAMES: [&str; 11] = [
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
];

const IMAGE_224: &str = "image [3,224,224] fp16";

static MODELS: [ModelInfo; 11] = [
    ModelInfo {
        name: "resnet50",
        aliases: &[],
        description: "ResNet-50 (He et al. 2016), bottleneck blocks [3,4,6,3], torchvision v1.5 (stride on the 3x3)",
        input: IMAGE_224,
        reference: Reference {
            params: 25_557_032,
            macs: 4_089_000_000,
            source: "torchvision ResNet50_Weights.IMAGENET1K_V1 metadata (num_params 25557032, 4.089 GMACs)",
        },
    },
    ModelInfo {
        name: "resnet101",
        aliases: &[],
        description: "ResNet-101 (He et al. 2016), bottleneck blocks [3,4,23,3], torchvision v1.5",
        input: IMAGE_224,
        reference: Reference {
            params: 44_549_160,
            macs: 7_801_000_000,
            source: "torchvision ResNet101_Weights.IMAGENET1K_V1 metadata (num_params 44549160, 7.801 GMACs)",
        },
    },
    ModelInfo {
        name: "resnet152",
        aliases: &[],
        description: "ResNet-152 (He et al. 2016), bottleneck blocks [3,8,36,3], torchvision v1.5",
        input: IMAGE_224,
        reference: Reference {
            params: 60_192_808,
            macs: 11_514_000_000,
            source: "torchvision ResNet152_Weights.IMAGENET1K_V1 metadata (num_params 60192808, 11.514 GMACs)",
        },
    },
    ModelInfo {
        name: "vgg16",
        aliases: &[],
        description: "VGG-16 (Simonyan and Zisserman 2015, configuration D), no batch norm",
        input: IMAGE_224,
        reference: Reference {
            params: 138_357_544,
            macs: 15_470_000_000,
            source: "torchvision VGG16_Weights.IMAGENET1K_V1 metadata (num_params 138357544, 15.47 GMACs)",
        },
    },
    ModelInfo {
        name: "vgg19",
        aliases: &[],
        description: "VGG-19 (Simonyan and Zisserman 2015, configuration E), no batch norm",
        input: IMAGE_224,
        reference: Reference {
            params: 143_667_240,
            macs: 19_632_000_000,
            source: "torchvision VGG19_Weights.IMAGENET1K_V1 metadata (num_params 143667240, 19.632 GMACs)",
        },
    },
    ModelInfo {
        name: "densenet121",
        aliases: &[],
        description: "DenseNet-121 (Huang et al. 2017, DenseNet-BC k=32), dense blocks [6,12,24,16]",
        input: IMAGE_224,
        reference: Reference {
            params: 7_978_856,
            macs: 2_834_000_000,
            source: "torchvision DenseNet121_Weights.IMAGENET1K_V1 metadata (num_params 7978856, 2.834 GMACs)",
        },
    },
    ModelInfo {
        name: "densenet169",
        aliases: &[],
        description: "DenseNet-169 (Huang et al. 2017, DenseNet-BC k=32), dense blocks [6,12,32,32]",
        input: IMAGE_224,
        reference: Reference {
            params: 14_149_480,
            macs: 3_360_000_000,
            source: "torchvision DenseNet169_Weights.IMAGENET1K_V1 metadata (num_params 14149480, 3.36 GMACs)",
        },
    },
    ModelInfo {
        name: "densenet201",
        aliases: &[],
        description: "DenseNet-201 (Huang et al. 2017, DenseNet-BC k=32), dense blocks [6,12,48,32]",
        input: IMAGE_224,
        reference: Reference {
            params: 20_013_928,
            macs: 4_291_000_000,
            source: "torchvision DenseNet201_Weights.IMAGENET1K_V1 metadata (num_params 20013928, 4.291 GMACs)",
        },
    },
    ModelInfo {
        name: "inceptionv3",
        aliases: &[],
        description: "Inception-v3 (Szegedy et al. 2016), torchvision definition without the auxiliary classifier",
        input: "image [3,299,299] fp16",
        reference: Reference {
            params: 23_834_568,
            macs: 5_713_000_000,
            source: "torchvision Inception_V3_Weights.IMAGENET1K_V1 metadata (num_params 27161264 with AuxLogits, \
                     less AuxLogits' 3326696; 5.713 GMACs)",
        },
    },
    ModelInfo {
        name: "mobilenetv2",
        aliases: &[],
        description: "MobileNetV2 (Sandler et al. 2018), width 1.0, inverted residuals with linear bottlenecks",
        input: IMAGE_224,
        reference: Reference {
            params: 3_504_872,
            macs: 301_000_000,
            source: "torchvision MobileNet_V2_Weights.IMAGENET1K_V1 metadata (num_params 3504872, 0.301 GMACs; \
                     the paper rounds to 3.4M and 300M)",
        },
    },
    ModelInfo {
        name: "bert-base",
        aliases: &["bert"],
        description: "BERT-base uncased (Devlin et al. 2019): embeddings, 12-layer encoder (h 768, 12 heads, ffn 3072) and pooler",
        input: "token ids [seq_len] and segment ids [seq_len], int32",
        reference: Reference {
            params: 109_482_240,
            macs: 11_174_215_680,
            source: "params: Hugging Face bert-base-uncased BertModel (embeddings 23837184 + 12 x 7087872 + \
                     pooler 590592; the paper rounds to 110M); MACs at seq 128: analytical, \
                     12 x (4sh^2 + 2shi + 2s^2h) + h^2",
        },
    },
];

/// Canonical names of every model, in the zoo's order.
pub fn model_names() -> &'static [&'static str] {
    &MODEL_NAMES
}

/// What the zoo knows about every model, in the order of [`model_names`].
pub fn models() -> &'static [ModelInfo] {
    &MODELS
}

/// The model with this name or alias, matched case-insensitively.
pub fn model_info(name: &str) -> Result<&'static ModelInfo, ZooError> {
    let wanted = name.trim();
    MODELS
        .iter()
        .find(|info| {
            info.name.eq_ignore_ascii_case(wanted)
                || info
                    .aliases
                    .iter()
                    .any(|alias| alias.eq_ignore_ascii_case(wanted))
        })
        .ok_or_else(|| ZooError::UnknownModel {
            name: name.to_string(),
        })
}

/// Builds the layer graph of the model with this name or alias (case-insensitive). The graph
/// takes the canonical name.
pub fn build(name: &str, options: &ZooOptions) -> Result<ModelGraph, ZooError> {
    if options.seq_len == 0 || options.seq_len > MAX_SEQ_LEN {
        return Err(ZooError::SeqLen {
            seq_len: options.seq_len,
        });
    }
    let model = model_info(name)?.name;
    let graph = match model {
        "resnet50" => resnet::resnet(model, resnet::RESNET50_BLOCKS),
        "resnet101" => resnet::resnet(model, resnet::RESNET101_BLOCKS),
        "resnet152" => resnet::resnet(model, resnet::RESNET152_BLOCKS),
        "vgg16" => vgg::vgg(model, vgg::VGG16),
        "vgg19" => vgg::vgg(model, vgg::VGG19),
        "densenet121" => densenet::densenet(model, densenet::DENSENET121_BLOCKS),
        "densenet169" => densenet::densenet(model, densenet::DENSENET169_BLOCKS),
        "densenet201" => densenet::densenet(model, densenet::DENSENET201_BLOCKS),
        "inceptionv3" => inception::inception_v3(model),
        "mobilenetv2" => mobilenet::mobilenet_v2(model),
        "bert-base" => bert::bert_base(model, options.seq_len),
        _ => {
            return Err(ZooError::UnknownModel {
                name: name.to_string(),
            });
        }
    };
    graph.map_err(|source| ZooError::Graph { model, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_infos_agree() {
        let names: Vec<&str> = models().iter().map(|m| m.name).collect();
        assert_eq!(names, model_names());
        for name in model_names() {
            assert_eq!(build(name, &ZooOptions::default()).unwrap().name(), *name);
        }
    }

    #[test]
    fn names_match_case_insensitively_and_bert_is_an_alias() {
        let options = ZooOptions::default();
        assert_eq!(build("ResNet50", &options).unwrap().name(), "resnet50");
        assert_eq!(build("BERT", &options).unwrap().name(), "bert-base");
        assert_eq!(model_info("bert").unwrap().name, "bert-base");
        assert_eq!(model_info("Bert-Base").unwrap().name, "bert-base");
    }

    #[test]
    fn unknown_model_lists_the_known_names() {
        let err = build("resnet18", &ZooOptions::default()).unwrap_err();
        assert_eq!(
            err,
            ZooError::UnknownModel {
                name: "resnet18".to_string()
            }
        );
        let text = err.to_string();
        assert!(
            text.starts_with("unknown model `resnet18`; known models: resnet50, resnet101"),
            "{text}"
        );
        for name in model_names() {
            assert!(text.contains(name), "{text} lacks {name}");
        }
    }

    #[test]
    fn bad_seq_len_is_a_clear_error() {
        for seq_len in [0, MAX_SEQ_LEN + 1, u32::MAX] {
            let err = build("bert-base", &ZooOptions { seq_len }).unwrap_err();
            assert_eq!(err, ZooError::SeqLen { seq_len });
            assert!(
                err.to_string()
                    .contains(&format!("seq_len {seq_len} is out of range"))
            );
        }
        assert!(
            build(
                "bert",
                &ZooOptions {
                    seq_len: MAX_SEQ_LEN
                }
            )
            .is_ok()
        );
        assert!(build("bert", &ZooOptions { seq_len: 1 }).is_ok());
    }

    #[test]
    fn bert_macs_grow_with_seq_len() {
        let macs = |seq_len| {
            build("bert-base", &ZooOptions { seq_len })
                .unwrap()
                .totals()
                .macs_per_sample
        };
        let lengths = [1, 16, 64, 128, 256, 512];
        let all: Vec<u64> = lengths.iter().map(|&s| macs(s)).collect();
        assert!(all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
        // Parameters do not depend on the length.
        let params = |seq_len| {
            build("bert", &ZooOptions { seq_len })
                .unwrap()
                .totals()
                .params
        };
        assert_eq!(params(16), params(512));
    }
}
