//! Reading the files the checkers take: plans (JSON), and layout files in any of three
//! forms (a plan, a mig-parted config, or layouts in text form, one per line).

use migsched_core::Plan;
use migsched_core::mig_parted::MigPartedConfig;

use crate::error::InputError;
use crate::layout::{PlacedInstance, parse_layout_text};

/// Reads a plan file (`migsched-plan/2`, or the older `migsched-plan/1`).
pub fn parse_plan(text: &str, origin: &str) -> Result<Plan, InputError> {
    Plan::from_json(text, origin)
}

/// A layout file, by form.
#[derive(Debug, Clone, PartialEq)]
pub enum LayoutFile {
    /// A plan: every GPU's layout.
    Plan(Plan),
    /// A mig-parted config: every device entry's counts.
    MigParted(MigPartedConfig),
    /// Layouts in text form, one per non-empty line (`#` starts a comment), with their lines.
    Text(Vec<(usize, Vec<PlacedInstance>)>),
}

/// Reads a layout file, telling the form from the text: a JSON object is a plan, YAML with
/// `version:`, `mig-configs:` or `kind:` a mig-parted config (or a Kubernetes ConfigMap
/// holding one), anything else layouts in text form.
pub fn read_layout_file(text: &str, origin: &str) -> Result<LayoutFile, InputError> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(InputError::new(
            origin,
            "the file is empty; give a plan, a mig-parted config or layouts in text form",
        ));
    }
    if trimmed.starts_with('{') {
        return parse_plan(text, origin).map(LayoutFile::Plan);
    }
    let yaml = text.lines().any(|l| {
        let l = l.trim_start();
        ["version:", "mig-configs:", "kind:"]
            .iter()
            .any(|key| l.starts_with(key))
    });
    if yaml {
        return MigPartedConfig::parse(text, origin)
            .map(LayoutFile::MigParted)
            .map_err(|e| InputError::new(origin, e.message));
    }
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let placed = parse_layout_text(line).map_err(|e| InputError::at_line(origin, i + 1, e))?;
        out.push((i + 1, placed));
    }
    if out.is_empty() {
        return Err(InputError::new(
            origin,
            "no layouts: every line is blank or a comment",
        ));
    }
    Ok(LayoutFile::Text(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_errors_name_the_file() {
        assert_eq!(
            parse_plan("\n", "p.json").unwrap_err().to_string(),
            "p.json: the file is empty; a plan is a JSON object of format migsched-plan/2"
        );
        let e = parse_plan("{\n\"format\": 3}", "p.json")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "p.json: format: format 3 is not migsched-plan/2 (or the older migsched-plan/1)"
        );
        let e = parse_plan("{\n\"format\": \"migsched-plan/2\", \"gpus\": 1}", "p.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("p.json:2: not a plan: invalid type"), "{e}");
        let e = parse_plan(
            r#"{"format":"other/2","instance":"x","method":"m","objective":"o","gpus":[],"models":[],"gpus_used":0,"cost":0}"#,
            "p.json",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.json: format: format \"other/2\" is not migsched-plan/2 (or the older migsched-plan/1)"
        );
    }

    #[test]
    fn layout_files_are_told_apart() {
        let t =
            read_layout_file("# two GPUs\n3g.40gb@0,3g.40gb@4\n\nempty # idle\n", "l.txt").unwrap();
        assert_eq!(
            t,
            LayoutFile::Text(vec![
                (
                    2,
                    vec![
                        PlacedInstance::new("3g.40gb", 0),
                        PlacedInstance::new("3g.40gb", 4)
                    ]
                ),
                (4, vec![])
            ])
        );
        let y = "version: v1\nmig-configs:\n  a:\n    - devices: all\n      mig-enabled: true\n      mig-devices:\n        \"7g.80gb\": 1\n";
        assert!(matches!(
            read_layout_file(y, "c.yaml").unwrap(),
            LayoutFile::MigParted(_)
        ));
        // A ConfigMap holding the config as a quoted string has no `version:` line of its own.
        let cm = format!("kind: ConfigMap\ndata:\n  config.yaml: {:?}\n", y);
        assert!(matches!(
            read_layout_file(&cm, "cm.yaml").unwrap(),
            LayoutFile::MigParted(_)
        ));
        assert_eq!(
            read_layout_file("3g.40gb@0\n2g.20gb\n", "l.txt")
                .unwrap_err()
                .to_string(),
            "l.txt:2: item 1 '2g.20gb' has no '@start'; a layout names every instance's start"
        );
        assert_eq!(
            read_layout_file("# nothing\n", "l.txt")
                .unwrap_err()
                .to_string(),
            "l.txt: no layouts: every line is blank or a comment"
        );
        assert!(read_layout_file("version: v1\nmig-configs: [", "c.yaml").is_err());
        assert!(read_layout_file("  ", "x").is_err());
    }
}
