//! Where a mig-parted config sits in the file people have: a config file, a Kubernetes
//! ConfigMap holding one as a string (the NVIDIA GPU Operator's `default-mig-parted-config`),
//! or one document of a multi-document YAML stream (`---`). Every error names a line and
//! column of that file, also inside an embedded config.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;

use super::position::{Frame, KeyAt, Located, content_column, is_blank, keys_at, top_key};
use super::{MigPartedConfig, OrderedMap};

/// The key of a ConfigMap's data that mig-parted reads (`nvidia-mig-parted -f config.yaml`).
pub const CONFIG_MAP_KEY: &str = "config.yaml";

/// Where in the file the config was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigSource {
    /// 1-based index of the YAML document holding the config.
    pub document: usize,
    /// How many YAML documents the file has.
    pub documents: usize,
    /// The line the document starts at.
    pub line: usize,
    /// How the document holds the config.
    #[serde(flatten)]
    pub form: ConfigForm,
}

/// How a YAML document holds a mig-parted config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "form", rename_all = "kebab-case")]
pub enum ConfigForm {
    /// The document is the config (`version: v1`, `mig-configs:`).
    Config,
    /// A Kubernetes ConfigMap holds the config as a string under `data.<key>`.
    ConfigMap {
        /// `metadata.name`, when given.
        name: Option<String>,
        /// The data key (`config.yaml`, or the one other key that holds a config).
        key: String,
        /// The line of the key.
        key_line: usize,
    },
}

impl fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.form {
            ConfigForm::Config => f.write_str("mig-parted config")?,
            ConfigForm::ConfigMap {
                name,
                key,
                key_line,
            } => {
                match name {
                    Some(n) => write!(f, "ConfigMap '{n}'")?,
                    None => f.write_str("ConfigMap")?,
                }
                write!(f, ", data.\"{key}\" at line {key_line}")?;
            }
        }
        if self.documents > 1 {
            write!(
                f,
                " (YAML document {} of {}, line {})",
                self.document, self.documents, self.line
            )?;
        }
        Ok(())
    }
}

/// One YAML document of a file: its text and the file line it starts at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Doc<'t> {
    text: &'t str,
    first_line: usize,
}

impl Doc<'_> {
    fn frame(&self) -> Frame {
        Frame::lines(self.first_line - 1)
    }
}

/// What a document is, from its top-level keys.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DocKind {
    /// Has `version` or `mig-configs`, or is no mapping (the config parser says what is wrong).
    Config,
    /// `kind: ConfigMap`.
    ConfigMap,
    /// Another Kubernetes resource: what it is.
    Other(String),
    /// A mapping without `kind`, `version` or `mig-configs`.
    Unknown,
}

/// Reads the config out of a file: see the module documentation.
pub(crate) fn read(text: &str) -> Result<(MigPartedConfig, ConfigSource), Located> {
    super::expansion::check(text, &Frame::lines(0))?;
    let docs = documents(text)?;
    if docs.is_empty() {
        return Err(Frame::lines(0).problem(
            "the file is empty; a mig-parted config starts with `version: v1` \
             (or is a Kubernetes ConfigMap holding one under data.\"config.yaml\")",
            1,
            1,
        ));
    }
    let kinds = docs
        .iter()
        .map(|d| classify(d))
        .collect::<Result<Vec<_>, _>>()?;
    let index = if docs.len() == 1 {
        0
    } else {
        pick_document(&docs, &kinds)?
    };
    let doc = docs[index];
    let (config, form) = match &kinds[index] {
        DocKind::ConfigMap => from_config_map(doc)?,
        DocKind::Config | DocKind::Unknown => {
            (parse_config(doc.text, &doc.frame())?, ConfigForm::Config)
        }
        DocKind::Other(what) => {
            let (line, column) = top_key(doc.text, "kind").map_or((1, 1), |k| (k.line, k.column));
            return Err(doc.frame().problem(
                format!(
                    "this is {what}, not a mig-parted config or a ConfigMap holding one \
                     under data.\"{CONFIG_MAP_KEY}\""
                ),
                line,
                column,
            ));
        }
    };
    let source = ConfigSource {
        document: index + 1,
        documents: docs.len(),
        line: doc.first_line,
        form,
    };
    Ok((config, source))
}

/// Splits a YAML stream at its `---` / `...` lines; documents with no content are left out.
fn documents(text: &str) -> Result<Vec<Doc<'_>>, Located> {
    fn push<'t>(text: &'t str, first_line: usize, docs: &mut Vec<Doc<'t>>) {
        // `%YAML` directives alone make no document.
        if text.lines().any(|l| !is_blank(l) && !l.starts_with('%')) {
            docs.push(Doc { text, first_line });
        }
    }
    let mut docs = Vec::new();
    let (mut start, mut start_line, mut offset) = (0, 1, 0);
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let marker = (line.starts_with("---") || line.starts_with("..."))
            && line[3..]
                .chars()
                .next()
                .is_none_or(|c| c == ' ' || c == '\t');
        if marker {
            push(&text[start..offset], start_line, &mut docs);
            if line.starts_with("---") && !is_blank(&line[3..]) {
                return Err(Frame::lines(0).problem(
                    "content on the `---` line is not supported; start the document on the \
                     next line",
                    i + 1,
                    5,
                ));
            }
            start = offset + raw.len();
            start_line = i + 2;
        }
        offset += raw.len();
    }
    push(&text[start..], start_line, &mut docs);
    Ok(docs)
}

/// A document's top-level keys, as far as telling its kind needs them.
#[derive(Deserialize)]
struct Probe {
    kind: Option<Value>,
    metadata: Option<Metadata>,
    #[serde(default)]
    version: Seen,
    #[serde(rename = "mig-configs", default)]
    mig_configs: Seen,
}

/// `metadata` of a Kubernetes resource; other fields are ignored.
#[derive(Deserialize)]
struct Metadata {
    name: Option<Value>,
}

/// Whether a key is present, whatever its value (null included).
#[derive(Default)]
struct Seen(bool);

impl<'de> Deserialize<'de> for Seen {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d).map(|_| Seen(true))
    }
}

fn name_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_yaml_ng::to_string(other)
            .map(|s| s.trim().to_string())
            .unwrap_or_default(),
    }
}

/// A document's kind. YAML syntax errors stop here, with their position; a document that
/// is not a mapping counts as a config (the config parser says what is wrong with it).
fn classify(doc: &Doc<'_>) -> Result<DocKind, Located> {
    serde_yaml_ng::from_str::<IgnoredAny>(doc.text)
        .map_err(|e| doc.frame().yaml_error(&e, doc.text))?;
    let Ok(probe) = serde_yaml_ng::from_str::<Probe>(doc.text) else {
        return Ok(DocKind::Config);
    };
    Ok(match probe.kind.as_ref().map(name_of) {
        Some(kind) if kind == "ConfigMap" => DocKind::ConfigMap,
        Some(kind) => {
            let name = probe
                .metadata
                .and_then(|m| m.name)
                .map(|n| format!(" '{}'", name_of(&n)))
                .unwrap_or_default();
            DocKind::Other(format!("a Kubernetes {kind}{name}"))
        }
        None if probe.version.0 || probe.mig_configs.0 => DocKind::Config,
        None => DocKind::Unknown,
    })
}

/// Of several documents, the one that holds a config: a mig-parted config, or a ConfigMap
/// whose data holds one. None or several is an error that lists the documents.
fn pick_document(docs: &[Doc<'_>], kinds: &[DocKind]) -> Result<usize, Located> {
    let holds: Vec<usize> = (0..docs.len())
        .filter(|&i| match &kinds[i] {
            DocKind::Config => true,
            DocKind::ConfigMap => config_map_holds_config(docs[i].text),
            DocKind::Other(_) | DocKind::Unknown => false,
        })
        .collect();
    let describe = |i: usize| {
        let what = match &kinds[i] {
            DocKind::Config => "a mig-parted config".to_string(),
            DocKind::ConfigMap => match config_map_name(docs[i].text) {
                Some(n) => format!("ConfigMap '{n}'"),
                None => "a ConfigMap".to_string(),
            },
            DocKind::Other(what) => what.clone(),
            DocKind::Unknown => "a YAML document without `kind` or `mig-configs`".to_string(),
        };
        format!("{what} at line {}", docs[i].first_line)
    };
    match holds.as_slice() {
        [one] => Ok(*one),
        [] => Err(Frame::lines(0).problem(
            format!(
                "none of the {} YAML documents is a mig-parted config or a ConfigMap holding \
                 one ({})",
                docs.len(),
                (0..docs.len()).map(describe).collect::<Vec<_>>().join("; ")
            ),
            docs[0].first_line,
            1,
        )),
        several => Err(Frame::lines(0).problem(
            format!(
                "{} YAML documents hold a mig-parted config ({}); the file should hold one",
                several.len(),
                several
                    .iter()
                    .map(|&i| describe(i))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            docs[several[1]].first_line,
            1,
        )),
    }
}

/// A ConfigMap as far as migsched reads it; other fields are ignored.
#[derive(Deserialize)]
struct ConfigMapDoc {
    metadata: Option<Metadata>,
    data: Option<OrderedMap<Value>>,
}

fn config_map_name(text: &str) -> Option<String> {
    serde_yaml_ng::from_str::<ConfigMapDoc>(text)
        .ok()?
        .metadata?
        .name
        .map(|n| name_of(&n))
}

fn config_map_holds_config(text: &str) -> bool {
    serde_yaml_ng::from_str::<ConfigMapDoc>(text)
        .ok()
        .and_then(|cm| cm.data)
        .is_some_and(|data| {
            data.0
                .iter()
                .any(|(k, v)| k == CONFIG_MAP_KEY || holds_config(v))
        })
}

/// Whether a data value is a string that parses as a mapping with `mig-configs`.
fn holds_config(value: &Value) -> bool {
    let Value::String(s) = value else {
        return false;
    };
    serde_yaml_ng::from_str::<Probe>(s).is_ok_and(|p| p.mig_configs.0)
}

/// The config under the ConfigMap's `data."config.yaml"`, or under its one other key
/// holding a config.
fn from_config_map(doc: Doc<'_>) -> Result<(MigPartedConfig, ConfigForm), Located> {
    let frame = doc.frame();
    let cm: ConfigMapDoc =
        serde_yaml_ng::from_str(doc.text).map_err(|e| frame.yaml_error(&e, doc.text))?;
    let name = cm.metadata.and_then(|m| m.name).map(|n| name_of(&n));
    let label = name
        .as_ref()
        .map_or("the ConfigMap".to_string(), |n| format!("ConfigMap '{n}'"));
    let at = |key: Option<KeyAt<'_>>| key.map_or((1, 1), |k| (k.line, k.column));
    let data_at = at(top_key(doc.text, "data").or_else(|| top_key(doc.text, "kind")));
    let Some(data) = cm.data.filter(|d| !d.0.is_empty()) else {
        return Err(frame.problem(
            format!(
                "{label} has no data; mig-parted reads its config from data.\"{CONFIG_MAP_KEY}\""
            ),
            data_at.0,
            data_at.1,
        ));
    };
    let key = choose_key(&data, &label).map_err(|why| frame.problem(why, data_at.0, data_at.1))?;
    let key_at = data_key(doc.text, &key);
    let (key_line, key_column) = key_at.as_ref().map_or(data_at, |k| (k.line, k.column));
    let value = &data
        .0
        .iter()
        .find(|(k, _)| *k == key)
        .expect("chosen key")
        .1;
    let Value::String(inner) = value else {
        return Err(frame.problem(
            format!(
                "data.\"{key}\" must be a string holding the config (`{key}: |` with the config \
                 indented below it)"
            ),
            key_line,
            key_column,
        ));
    };
    let inner_frame = match key_at
        .as_ref()
        .and_then(|k| literal_block(doc.text, k, inner))
    {
        Some((first_line, indent)) => Frame::Lines {
            line_offset: frame.outer(first_line, 1).0 - 1,
            indent,
        },
        None => {
            let (line, column) = frame.outer(key_line, key_column);
            Frame::Opaque {
                line,
                column,
                key: format!("data.\"{key}\""),
            }
        }
    };
    if inner.lines().all(is_blank) {
        return Err(frame.problem(
            format!("data.\"{key}\" is empty; it should hold the mig-parted config"),
            key_line,
            key_column,
        ));
    }
    let config = parse_config(inner, &inner_frame)?;
    let form = ConfigForm::ConfigMap {
        name,
        key,
        key_line: frame.outer(key_line, 1).0,
    };
    Ok((config, form))
}

/// `config.yaml`, else the one key whose value holds a config.
fn choose_key(data: &OrderedMap<Value>, label: &str) -> Result<String, String> {
    if data.0.iter().any(|(k, _)| k == CONFIG_MAP_KEY) {
        return Ok(CONFIG_MAP_KEY.to_string());
    }
    let keys: Vec<&str> = data.0.iter().map(|(k, _)| k.as_str()).collect();
    let holding: Vec<&str> = data
        .0
        .iter()
        .filter(|(_, v)| holds_config(v))
        .map(|(k, _)| k.as_str())
        .collect();
    match holding.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(format!(
            "{label} has no data.\"{CONFIG_MAP_KEY}\", and none of its data keys ({}) holds a \
             mig-parted config",
            keys.join(", ")
        )),
        several => Err(format!(
            "{label} has no data.\"{CONFIG_MAP_KEY}\", and several data keys hold a mig-parted \
             config ({}); name one `{CONFIG_MAP_KEY}`",
            several.join(", ")
        )),
    }
}

/// The line of `key:` under the document's block mapping `data:`.
fn data_key<'t>(text: &'t str, key: &str) -> Option<KeyAt<'t>> {
    let data = top_key(text, "data")?;
    if !data.value.is_empty() {
        return None;
    }
    let (line, column) = content_column(text, data.line + 1)?;
    keys_at(text, column, line)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, at)| at)
}

/// When `key` holds a literal block scalar (`|`, `|-`, `|+`, `|2`) whose lines are `value`'s
/// lines: the first content line of the block (1-based, in `text`) and its indentation.
fn literal_block(text: &str, key: &KeyAt<'_>, value: &str) -> Option<(usize, usize)> {
    let header = key.value.strip_prefix('|')?;
    let explicit = header.chars().find_map(|c| c.to_digit(10));
    let first_line = key.line + 1;
    let lines: Vec<&str> = text.lines().skip(key.line).collect();
    let first_content = lines.iter().find(|l| !l.trim().is_empty())?;
    let indent = match explicit {
        Some(n) => key.column - 1 + n as usize,
        None => first_content.len() - first_content.trim_start_matches(' ').len(),
    };
    let first_value = value.lines().find(|l| !l.trim().is_empty())?;
    let stripped = first_content.get(indent..)?.trim_end_matches('\r');
    (stripped == first_value).then_some((first_line, indent))
}

/// Parses a config's text; `frame` places it in the file.
pub(crate) fn parse_config(text: &str, frame: &Frame) -> Result<MigPartedConfig, Located> {
    // An embedded config (a ConfigMap's string) is YAML of its own, with its own aliases.
    super::expansion::check(text, frame)?;
    let config: MigPartedConfig =
        serde_yaml_ng::from_str(text).map_err(|e| config_error(&e, text, frame))?;
    if config.version != "v1" {
        let (line, column) = top_key(text, "version").map_or((1, 1), |k| (k.line, k.value_column));
        return Err(frame.problem(
            format!(
                "version: '{}' is not supported; expected v1",
                config.version
            ),
            line,
            column,
        ));
    }
    if config.mig_configs.0.is_empty() {
        let (line, column) =
            top_key(text, "mig-configs").map_or((1, 1), |k| (k.line, k.value_column));
        return Err(frame.problem("mig-configs: no configurations", line, column));
    }
    Ok(config)
}

/// A deserializing error; a repeated key is placed at its second occurrence (serde_yaml_ng
/// places errors of a mapping at the mapping's start).
fn config_error(e: &serde_yaml_ng::Error, text: &str, frame: &Frame) -> Located {
    let located = frame.yaml_error(e, text);
    let Some(at) = e.location() else {
        return located;
    };
    let Some(key) = super::repeated_key(&located.message) else {
        return located;
    };
    let second = keys_at(text, at.column(), at.line())
        .into_iter()
        .filter(|(k, _)| *k == key)
        .nth(1);
    match (second, located.message.rfind(" at line ")) {
        (Some((_, second)), Some(cut)) => {
            frame.problem(&located.message[..cut], second.line, second.column)
        }
        _ => located,
    }
}
