//! Plans imported from ParvaGPU deployments and mig-parted configs: legal files import to
//! clean plans, illegal ones import as written and then fail the plan checker.

use std::collections::BTreeSet;

use migsched_core::mig_parted::MigPartedConfig;
use migsched_core::{Catalog, Driver, Instance, ProfileTable};
use migsched_verify::{
    Against, MigPartedImport, Rule, check_plan, import_mig_parted, import_parvagpu,
};

use super::repo;

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo().join("verify/tests/fixtures").join(name)).unwrap()
}

fn parva_instance() -> (Instance, ProfileTable) {
    let inst = Instance::from_toml_str(
        Catalog::builtin(),
        &fixture("parvagpu-instance.toml"),
        "parvagpu-instance.toml",
        "parva",
    )
    .unwrap();
    let csv = std::fs::read_to_string(repo().join("datasets/profiles/a100-80gb.csv")).unwrap();
    let table = ProfileTable::from_csv_str(Catalog::builtin(), &csv, "a100-80gb.csv").unwrap();
    (inst, table)
}

#[test]
fn a_legal_parvagpu_deployment_imports_clean() {
    let (inst, table) = parva_instance();
    let gpu = Catalog::builtin().gpu("a100-80gb").unwrap();
    let imp =
        import_parvagpu(&fixture("parvagpu-deploy.csv"), "d.csv", gpu, &inst, &table).unwrap();
    let layouts: Vec<&str> = imp.plan.mig_gpus().map(|g| g.layout.as_str()).collect();
    assert_eq!(
        layouts,
        [
            "2g.20gb@0,2g.20gb@2,3g.40gb@4",
            "4g.40gb@0,2g.20gb@4,1g.10gb@6"
        ]
    );
    assert_eq!((imp.plan.gpus_used, imp.plan.cost), (2, 2.0));
    assert_eq!(imp.plan.method, migsched_core::Method::Imported);
    assert!(
        !imp.notes.iter().any(|n| n.contains("no row")),
        "{:?}",
        imp.notes
    );
    let r = check_plan(
        Catalog::builtin(),
        &imp.plan,
        Against::Instance {
            instance: &inst,
            table: &table,
        },
    );
    assert!(r.is_clean(), "{:#?}", r.violations);
    assert!((r.models[0].served_rps - 11401.85).abs() < 1e-6);
}

#[test]
fn an_imported_plan_costs_its_used_gpus() {
    let (_, table) = parva_instance();
    let priced = fixture("parvagpu-instance.toml").replace("count = 4", "count = 4\ncost = 2.5");
    let inst = Instance::from_toml_str(Catalog::builtin(), &priced, "i.toml", "parva").unwrap();
    let gpu = Catalog::builtin().gpu("a100-80gb").unwrap();
    let imp =
        import_parvagpu(&fixture("parvagpu-deploy.csv"), "d.csv", gpu, &inst, &table).unwrap();
    assert_eq!((imp.plan.gpus_used, imp.plan.cost), (2, 5.0));
}

#[test]
fn an_illegal_parvagpu_deployment_imports_as_written_and_fails() {
    let (inst, table) = parva_instance();
    let gpu = Catalog::builtin().gpu("a100-80gb").unwrap();
    let imp = import_parvagpu(
        &fixture("parvagpu-deploy-illegal.csv"),
        "d.csv",
        gpu,
        &inst,
        &table,
    )
    .unwrap();
    assert_eq!(
        imp.plan.gpus[0].as_mig().unwrap().layout,
        "2g.20gb@0,3g.40gb@2,2g.20gb@4"
    );
    assert_eq!(imp.plan.gpus[1].as_mig().unwrap().layout, "5g@0,2g.20gb@4");
    let rowless = imp
        .plan
        .mig_gpus()
        .flat_map(|g| &g.instances)
        .filter(|i| i.latency_ms.is_none())
        .count();
    assert!(rowless > 0);
    let note = format!("{rowless} instance(s) have no row in the profile table");
    assert!(
        imp.notes.iter().any(|n| n.starts_with(&note)),
        "{note}: {:?}",
        imp.notes
    );
    assert!(
        imp.notes.iter().any(|n| n.contains("no profile of 5 GPC")),
        "{:?}",
        imp.notes
    );
    let r = check_plan(
        Catalog::builtin(),
        &imp.plan,
        Against::Instance {
            instance: &inst,
            table: &table,
        },
    );
    let rules: BTreeSet<Rule> = r.violations.iter().map(|v| v.rule).collect();
    for want in [
        Rule::IllegalStart,
        Rule::Overlap,
        Rule::UnknownProfile,
        Rule::ServingLimit,
        Rule::ProfileRow,
        Rule::Demand,
    ] {
        assert!(
            rules.contains(&want),
            "{want:?} missing from {:#?}",
            r.violations
        );
    }
}

#[test]
fn mig_parted_configs_import_as_idle_plans() {
    let cat = Catalog::builtin();
    let config = MigPartedConfig::parse(&fixture("mig-parted.yaml"), "m.yaml").unwrap();
    let imp = import_mig_parted(
        cat,
        &config,
        "m.yaml",
        &MigPartedImport {
            config: Some("balanced"),
            ..MigPartedImport::default()
        },
    )
    .unwrap();
    assert_eq!(imp.plan.gpus.len(), 2);
    let r = check_plan(
        cat,
        &imp.plan,
        Against::Alone {
            driver: Driver::R510OrLater,
        },
    );
    assert!(r.is_clean(), "{:#?}", r.violations);
    let imp = import_mig_parted(
        cat,
        &config,
        "m.yaml",
        &MigPartedImport {
            config: Some("too-much"),
            all_devices: 3,
            ..MigPartedImport::default()
        },
    )
    .unwrap();
    assert_eq!(imp.plan.gpus.len(), 3);
    assert_eq!(imp.plan.gpus[0].gpu(), "h100-80gb");
    assert_eq!(
        imp.plan.gpus[0].as_mig().unwrap().layout,
        "4g.40gb@0,1g.10gb@0,2g.20gb@4,1g.10gb@6"
    );
    let r = check_plan(
        cat,
        &imp.plan,
        Against::Alone {
            driver: Driver::R510OrLater,
        },
    );
    let rules: BTreeSet<Rule> = r.violations.iter().map(|v| v.rule).collect();
    assert_eq!(
        rules,
        [Rule::Overlap, Rule::ComputeLimit].into_iter().collect()
    );
    assert_eq!(r.violations.len(), 6);
}

const TWO_ON_DEVICE_0: &str = r#"
version: v1
mig-configs:
  split:
    - device-filter: ["0x20B210DE"]
      devices: [0]
      mig-enabled: true
      mig-devices:
        "1g.10gb": 1
    - device-filter: ["0x20B210DE"]
      devices: [0]
      mig-enabled: true
      mig-devices:
        "1g.10gb": 2
        "3g.40gb": 1
"#;

fn import_text(yaml: &str, config: Option<&str>) -> Result<migsched_verify::Imported, String> {
    let config_file = MigPartedConfig::parse(yaml, "m.yaml").unwrap();
    import_mig_parted(
        Catalog::builtin(),
        &config_file,
        "m.yaml",
        &MigPartedImport {
            config,
            ..MigPartedImport::default()
        },
    )
    .map_err(|e| e.to_string())
}

#[test]
fn a_single_configuration_needs_no_name_and_a_device_sums_its_entries() {
    let imp = import_text(TWO_ON_DEVICE_0, None).unwrap();
    assert_eq!(imp.plan.gpus.len(), 1);
    assert_eq!(
        imp.plan.gpus[0].as_mig().unwrap().layout,
        "3g.40gb@0,1g.10gb@4,1g.10gb@5,1g.10gb@6"
    );
    assert!(
        imp.notes
            .iter()
            .any(|n| n.contains("also appears in an earlier entry")),
        "{:?}",
        imp.notes
    );
    // Two configurations: one must be named.
    let two = format!(
        "{TWO_ON_DEVICE_0}  other:\n    - devices: all\n      mig-enabled: false\n      mig-devices: {{}}\n"
    );
    let err = import_text(&two, None).unwrap_err();
    assert!(err.contains("choose one with --config"), "{err}");
    assert!(import_text(&two, Some("split")).is_ok());
}

#[test]
fn listed_devices_without_mig_mode_are_noted_and_checked() {
    let yaml = |counts: &str| {
        format!(
            "version: v1\nmig-configs:\n  off:\n    - device-filter: [\"0x20B210DE\"]\n      \
             devices: [0]\n      mig-enabled: false\n      mig-devices:\n        {counts}\n"
        )
    };
    let listed = yaml("\"1g.10gb\": 2");
    let zero = yaml("\"1g.10gb\": 0");
    let noted = |y: &str| {
        import_text(y, None)
            .unwrap()
            .notes
            .iter()
            .any(|n| n.contains("mig-enabled: false"))
    };
    assert!(noted(&listed));
    assert!(!noted(&zero));
    let checks = |y: &str| {
        let c = MigPartedConfig::parse(y, "m.yaml").unwrap();
        migsched_verify::import::mig_parted::check_config(
            Catalog::builtin(),
            &c,
            None,
            Driver::R510OrLater,
        )
    };
    let c = checks(&listed);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].violations.len(), 1, "{:?}", c[0].violations);
    let v = &c[0].violations[0];
    assert_eq!(v.rule, Rule::NoPlacement);
    assert_eq!(v.at.entry.as_deref(), Some("off[0]"));
    assert_eq!(v.at.gpu_type.as_deref(), Some("a100-80gb"));
    assert_eq!(checks(&zero)[0].violations, []);
}
