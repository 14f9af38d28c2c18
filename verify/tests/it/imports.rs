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
    let layouts: Vec<&str> = imp.plan.gpus.iter().map(|g| g.layout.as_str()).collect();
    assert_eq!(
        layouts,
        [
            "2g.20gb@0,2g.20gb@2,3g.40gb@4",
            "4g.40gb@0,2g.20gb@4,1g.10gb@6"
        ]
    );
    assert_eq!((imp.plan.gpus_used, imp.plan.cost), (2, 2.0));
    assert_eq!(imp.plan.method, "imported");
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
    assert_eq!(imp.plan.gpus[0].layout, "2g.20gb@0,3g.40gb@2,2g.20gb@4");
    assert_eq!(imp.plan.gpus[1].layout, "5g@0,2g.20gb@4");
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
    assert_eq!(imp.plan.gpus[0].gpu, "h100-80gb");
    assert_eq!(
        imp.plan.gpus[0].layout,
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
