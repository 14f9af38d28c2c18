//! The plan checker: every plan of every solver method passes it, on the bundled instances
//! and on random small ones; and every rule, broken once in a hand-made plan, is caught.

use std::collections::BTreeSet;
use std::path::Path;

use migsched_core::{
    Catalog, Driver, Instance, Method, MigGpu, MigMethod, ModelService, PLAN_FORMAT, Plan, PlanGpu,
    PlanInstance, ProfileKey, ProfileTable,
};
use migsched_solver::{
    BRUTE_MAX_GPUS, BRUTE_MAX_MODELS, Objective, Problem, SolveOptions, applicable, solve,
};
use migsched_verify::{Against, Rule, check_plan, latency_at};
use proptest::prelude::*;

use super::{config, instance, repo, synthetic_table};

const OBJECTIVES: [Objective; 4] = [
    Objective::MinGpus,
    Objective::MinCost,
    Objective::MaxLoad,
    Objective::Paris,
];

fn options() -> SolveOptions {
    SolveOptions {
        time_limit_s: 30.0,
        ..SolveOptions::default()
    }
}

/// A bundled instance and its profile table (files relative to the instance).
fn bundled(name: &str) -> (Instance, ProfileTable) {
    let path = repo()
        .join("datasets/instances")
        .join(format!("{name}.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let inst = Instance::from_toml_str(Catalog::builtin(), &text, name, name).unwrap();
    let files = match &inst.profiles {
        migsched_core::ProfileSource::Files { files } => files.clone(),
        other => panic!("{name}: bundled instances name their tables, not {other:?}"),
    };
    let tables: Vec<ProfileTable> = files
        .iter()
        .map(|f| {
            let p = path.parent().unwrap_or(Path::new("")).join(f);
            let csv = std::fs::read_to_string(&p).unwrap();
            ProfileTable::from_csv_str(Catalog::builtin(), &csv, &p.display().to_string()).unwrap()
        })
        .collect();
    let table = ProfileTable::merged(&tables.iter().collect::<Vec<_>>());
    (inst, table)
}

/// Solves with every applicable method and objective; asserts every plan is clean.
/// Returns how many plans were checked.
fn every_plan_is_clean(inst: &Instance, table: &ProfileTable, objectives: &[Objective]) -> usize {
    let problem = Problem::new(Catalog::builtin(), inst, table).unwrap();
    let mut checked = 0;
    for &objective in objectives {
        for method in MigMethod::ALL {
            if !applicable(method, objective) {
                continue;
            }
            // Brute force only where it is allowed, and not for max-load (seconds per
            // instance, by bisection over exhaustive searches).
            if method == MigMethod::Brute
                && (problem.gpus_available() > BRUTE_MAX_GPUS
                    || inst.models.len() > BRUTE_MAX_MODELS
                    || objective == Objective::MaxLoad)
            {
                continue;
            }
            let s = solve(&problem, method, objective, &options());
            let Some(plan) = &s.plan else { continue };
            let r = check_plan(
                Catalog::builtin(),
                plan,
                Against::Instance {
                    instance: inst,
                    table,
                },
            );
            assert!(
                r.is_clean(),
                "{} {method} {objective}: {:#?}\n{}",
                inst.name,
                r.violations,
                serde_json::to_string_pretty(plan).unwrap()
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn every_bundled_plan_passes() {
    let mut n = 0;
    for name in ["small", "paris"] {
        let (inst, table) = bundled(name);
        n += every_plan_is_clean(&inst, &table, &OBJECTIVES);
    }
    // max-load's ILP takes 10 to 40 s on the larger instances; the others take well under 5.
    for name in ["medium", "hetero", "large"] {
        let (inst, table) = bundled(name);
        n += every_plan_is_clean(
            &inst,
            &table,
            &[Objective::MinGpus, Objective::MinCost, Objective::Paris],
        );
    }
    assert!(n >= 20, "only {n} plans checked");
}

/// A random small instance: one or two GPU types, up to three models (some with batch
/// distributions), a random SLO rule and process limit.
fn small_instance() -> impl Strategy<Value = String> {
    let model = (1.0f64..6.0, 15.0f64..120.0, 50.0f64..4000.0, any::<bool>());
    (
        1u32..=3,
        0u32..=2,
        0usize..3,
        1u32..=3,
        prop::collection::vec(model, 1..=3),
        any::<bool>(),
    )
        .prop_map(|(a100, h100, rule, procs, models, before)| {
            let rule = ["\"double\"", "\"batch-wait\"", "{ fraction = 0.5, strict = true }"][rule];
            let driver = if before { "before-r510" } else { "r510-or-later" };
            let mut s = format!(
                "name = \"random\"\n[serving]\nslo_rule = {rule}\nmax_procs = {procs}\ndriver = \"{driver}\"\n\
                 [[gpus]]\ntype = \"a100-80gb\"\ncount = {a100}\n"
            );
            if h100 > 0 {
                s += &format!("[[gpus]]\ntype = \"h100-80gb\"\ncount = {h100}\ncost = 1.7\n");
            }
            for (i, (base, slo, rate, dist)) in models.iter().enumerate() {
                s += &format!(
                    "[[models]]\nname = \"m{i}-{}\"\nslo_ms = {slo:.1}\nrate_rps = {rate:.1}\n",
                    (base * 10.0).round()
                );
                if *dist {
                    s += "batch_distribution = { 1 = 0.5, 4 = 0.3, 8 = 0.2 }\n";
                }
            }
            s
        })
}

/// The synthetic tables for an instance's GPU types and models (base latency from the
/// name `m<i>-<10·base>`).
fn tables_for(inst: &Instance) -> ProfileTable {
    let models: Vec<(String, f64)> = inst
        .models
        .iter()
        .map(|m| {
            let base: f64 = m.name.rsplit('-').next().unwrap().parse().unwrap();
            (m.name.clone(), base / 10.0)
        })
        .collect();
    let refs: Vec<(&str, f64)> = models.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let tables: Vec<ProfileTable> = inst
        .gpus
        .iter()
        .map(|p| synthetic_table(&p.gpu, &refs, true))
        .collect();
    ProfileTable::merged(&tables.iter().collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(config(24))]

    #[test]
    fn every_plan_of_a_random_small_instance_passes(text in small_instance()) {
        let inst = instance(&text);
        let table = tables_for(&inst);
        every_plan_is_clean(&inst, &table, &OBJECTIVES);
    }
}

// ---------------------------------------------------------------------------------------
// Hand-broken plans: a legal base, then each rule broken once.

const BASE: &str = r#"
name = "base"
[serving]
slo_rule = "double"
max_procs = 2
[[gpus]]
type = "a100-80gb"
count = 2
cost = 2.5
[[models]]
name = "m1"
slo_ms = 40
rate_rps = 3000
[[models]]
name = "m2"
slo_ms = 60
rate_rps = 1500
"#;

fn base_table() -> ProfileTable {
    synthetic_table("a100-80gb", &[("m1", 2.0), ("m2", 3.0)], true)
}

fn serve(
    table: &ProfileTable,
    profile: &str,
    start: u8,
    model: &str,
    batch: u32,
    procs: u32,
) -> PlanInstance {
    let row = table.get(&ProfileKey {
        gpu: "a100-80gb".into(),
        profile: profile.into(),
        model: model.into(),
        batch,
        procs,
    });
    PlanInstance {
        profile: profile.into(),
        start,
        model: Some(model.into()),
        batch: Some(batch),
        procs: Some(procs),
        latency_ms: row.map(|r| r.latency_ms),
        throughput_rps: row.map(|r| r.throughput_rps),
    }
}

fn idle(profile: &str, start: u8) -> PlanInstance {
    PlanInstance {
        profile: profile.into(),
        start,
        model: None,
        batch: None,
        procs: None,
        latency_ms: None,
        throughput_rps: None,
    }
}

/// Recomputes a plan's layout texts and totals (as a correct planner would), so that a test
/// breaks exactly the rule it means to.
fn retotal(plan: &mut Plan, inst: &Instance) {
    for g in plan.gpus.iter_mut().filter_map(PlanGpu::as_mig_mut) {
        let mut items: Vec<&PlanInstance> = g.instances.iter().collect();
        items.sort_by_key(|i| i.start);
        g.layout = items
            .iter()
            .map(|i| format!("{}@{}", i.profile, i.start))
            .collect::<Vec<_>>()
            .join(",");
    }
    plan.models = inst
        .models
        .iter()
        .map(|m| {
            let mine: Vec<&PlanInstance> = plan
                .mig_gpus()
                .flat_map(|g| &g.instances)
                .filter(|i| i.model.as_deref() == Some(&m.name))
                .collect();
            ModelService {
                model: m.name.clone(),
                slo_ms: m.slo_ms,
                rate_rps: m.rate_rps,
                served_rps: mine.iter().map(|i| i.throughput_rps.unwrap_or(0.0)).sum(),
                instances: mine.len() as u32,
            }
        })
        .collect();
    plan.gpus_used = plan
        .mig_gpus()
        .filter(|g| g.instances.iter().any(|i| i.model.is_some()))
        .count() as u32;
    plan.cost = f64::from(plan.gpus_used) * inst.gpus[0].cost;
}

fn base_plan(table: &ProfileTable) -> Plan {
    let inst = instance(BASE);
    let mut plan = Plan {
        format: PLAN_FORMAT.into(),
        instance: "base".into(),
        method: Method::Imported,
        objective: Some(Objective::MinGpus),
        gpus: vec![PlanGpu::Mig(MigGpu {
            index: 0,
            gpu: "a100-80gb".into(),
            layout: String::new(),
            instances: vec![
                serve(table, "3g.40gb", 0, "m1", 8, 2),
                serve(table, "2g.20gb", 4, "m2", 4, 1),
                serve(table, "1g.10gb", 6, "m2", 2, 1),
            ],
        })],
        models: Vec::new(),
        gpus_used: 0,
        cost: 0.0,
    };
    retotal(&mut plan, &inst);
    plan
}

fn gpu0(p: &mut Plan) -> &mut Vec<PlanInstance> {
    &mut p.gpus[0].as_mig_mut().unwrap().instances
}

fn rules_of(plan: &Plan, inst: &Instance, table: &ProfileTable) -> BTreeSet<Rule> {
    let r = check_plan(
        Catalog::builtin(),
        plan,
        Against::Instance {
            instance: inst,
            table,
        },
    );
    r.violations.iter().map(|v| v.rule).collect()
}

/// Breaks the base plan with `edit` (totals recomputed unless `keep_totals`) and returns the
/// rules broken.
fn broken(edit: impl Fn(&mut Plan), inst_text: &str, keep_totals: bool) -> BTreeSet<Rule> {
    let table = base_table();
    let inst = instance(inst_text);
    let mut plan = base_plan(&table);
    edit(&mut plan);
    if !keep_totals {
        retotal(&mut plan, &inst);
    }
    rules_of(&plan, &inst, &table)
}

fn set(rules: &[Rule]) -> BTreeSet<Rule> {
    rules.iter().copied().collect()
}

#[test]
fn the_base_plan_is_clean() {
    let table = base_table();
    let plan = base_plan(&table);
    assert_eq!(rules_of(&plan, &instance(BASE), &table), set(&[]));
    let alone = check_plan(
        Catalog::builtin(),
        &plan,
        Against::Alone {
            driver: Driver::R510OrLater,
        },
    );
    assert!(alone.is_clean(), "{:?}", alone.violations);
    assert_eq!(alone.not_checked.len(), 1);
    // ... and a plan with an illegal start is not.
    let mut bad = plan.clone();
    gpu0(&mut bad)[2].start = 7;
    let r = check_plan(
        Catalog::builtin(),
        &bad,
        Against::Alone {
            driver: Driver::R510OrLater,
        },
    );
    assert!(!r.is_clean());
}

#[test]
fn layout_rules_are_caught_in_plans() {
    let t = base_table();
    assert_eq!(
        broken(|p| gpu0(p)[2].start = 7, BASE, false),
        set(&[Rule::IllegalStart])
    );
    assert_eq!(
        broken(|p| gpu0(p)[2].start = 5, BASE, false),
        set(&[Rule::Overlap])
    );
    assert_eq!(
        broken(|p| gpu0(p)[0].profile = "3g.20gb".into(), BASE, false),
        set(&[Rule::UnknownProfile])
    );
    // On these GPUs more compute or count than allowed always takes an illegal start too.
    assert_eq!(
        broken(
            |p| {
                gpu0(p)[0] = serve(&t, "4g.40gb", 0, "m1", 8, 2);
                gpu0(p).push(idle("1g.10gb", 7));
            },
            BASE,
            false
        ),
        set(&[Rule::IllegalStart, Rule::ComputeLimit])
    );
    let fewer = BASE.replace("rate_rps = 1500", "rate_rps = 500");
    assert_eq!(
        broken(
            |p| {
                gpu0(p)[1] = serve(&t, "1g.10gb", 4, "m2", 2, 1);
                gpu0(p)[2] = idle("1g.10gb+me", 5);
                gpu0(p).push(idle("1g.10gb+me", 6));
            },
            &fewer,
            false
        ),
        set(&[Rule::CountLimit, Rule::MediaExtensions])
    );
    let before = BASE.replace("max_procs = 2", "max_procs = 2\ndriver = \"before-r510\"");
    assert_eq!(
        broken(
            |p| {
                gpu0(p)[0] = serve(&t, "4g.40gb", 0, "m1", 8, 2);
                gpu0(p)[1] = serve(&t, "3g.40gb", 4, "m2", 4, 1);
                gpu0(p).pop();
            },
            &before,
            false
        ),
        set(&[Rule::DriverRule])
    );
}

#[test]
fn gpu_rules_are_caught() {
    assert_eq!(
        broken(|p| p.gpus[0].as_mig_mut().unwrap().index = 3, BASE, false),
        set(&[Rule::GpuIndex])
    );
    assert_eq!(
        broken(
            |p| p.gpus[0].as_mig_mut().unwrap().layout = "3g.40gb@0,2g.20gb@4".into(),
            BASE,
            true
        ),
        set(&[Rule::LayoutText])
    );
    assert_eq!(
        broken(
            |p| p.gpus[0].as_mig_mut().unwrap().layout = "3g.40gb@0,2g.20gb".into(),
            BASE,
            true
        ),
        set(&[Rule::LayoutText])
    );
    assert_eq!(
        broken(
            |p| p.gpus[0].as_mig_mut().unwrap().gpu = "v100".into(),
            BASE,
            false
        ),
        set(&[Rule::UnknownGpu])
    );
    assert_eq!(
        broken(|_| {}, &BASE.replace("count = 2", "count = 0"), false),
        set(&[Rule::GpuCount])
    );
    assert_eq!(
        broken(
            |p| p.gpus[0].as_mig_mut().unwrap().gpu = "h100-80gb".into(),
            BASE,
            false
        ),
        set(&[Rule::GpuCount, Rule::ProfileRow])
    );
}

#[test]
fn serving_rules_are_caught() {
    let t = base_table();
    // A model the instance lacks.
    assert_eq!(
        broken(
            |p| {
                gpu0(p).pop();
                gpu0(p).push(PlanInstance {
                    model: Some("m9".into()),
                    ..idle("1g.10gb", 6)
                });
            },
            BASE.replace("rate_rps = 1500", "rate_rps = 1000").as_str(),
            false
        ),
        set(&[Rule::UnknownModel])
    );
    // No row: batch 3 was never profiled.
    assert_eq!(
        broken(|p| gpu0(p)[2].batch = Some(3), BASE, false),
        set(&[Rule::ProfileRow])
    );
    // A figure that differs from the table.
    assert_eq!(
        broken(|p| gpu0(p)[1].latency_ms = Some(1.0), BASE, false),
        set(&[Rule::ProfileRow])
    );
    assert_eq!(
        broken(|p| gpu0(p)[1].throughput_rps = Some(2000.0), BASE, false),
        set(&[Rule::ProfileRow])
    );
    // Three processes where two are allowed.
    assert_eq!(
        broken(
            |p| gpu0(p)[0] = serve(&t, "3g.40gb", 0, "m1", 8, 3),
            BASE,
            false
        ),
        set(&[Rule::ServingLimit])
    );
    let batches = BASE.replace("max_procs = 2", "max_procs = 2\nbatches = [1, 2, 8]");
    assert_eq!(broken(|_| {}, &batches, false), set(&[Rule::ServingLimit]));
    // A tighter SLO breaks both m2 instances under 2·L ≤ SLO.
    let tight = BASE.replace("slo_ms = 60", "slo_ms = 5");
    assert_eq!(broken(|_| {}, &tight, false), set(&[Rule::Slo]));
    // Memory: batch 16 with two processes needs 12000 MiB on a 1g.10gb.
    let loose = BASE.replace("slo_ms = 60", "slo_ms = 100");
    assert_eq!(
        broken(
            |p| gpu0(p)[2] = serve(&t, "1g.10gb", 6, "m2", 16, 2),
            &loose,
            false
        ),
        set(&[Rule::Memory])
    );
    let r = check_plan(
        Catalog::builtin(),
        &{
            let mut p = base_plan(&t);
            p.gpus[0].as_mig_mut().unwrap().instances[2] = serve(&t, "1g.10gb", 6, "m2", 16, 2);
            retotal(&mut p, &instance(&loose));
            p
        },
        Against::Instance {
            instance: &instance(&loose),
            table: &t,
        },
    );
    assert_eq!(
        r.violations[0].to_string(),
        "gpu 0 (a100-80gb), 1g.10gb@6, model m2: the option needs 12000 MiB, but a 1g.10gb \
         instance has 9728 MiB [memory]"
    );
}

#[test]
fn demand_and_totals_are_caught() {
    let more = BASE.replace("rate_rps = 1500", "rate_rps = 15000");
    assert_eq!(broken(|_| {}, &more, false), set(&[Rule::Demand]));
    assert_eq!(
        broken(|p| p.models[0].served_rps += 1.0, BASE, true),
        set(&[Rule::Totals])
    );
    assert_eq!(
        broken(|p| p.models[1].instances = 3, BASE, true),
        set(&[Rule::Totals])
    );
    assert_eq!(
        broken(|p| p.gpus_used = 2, BASE, true),
        set(&[Rule::Totals])
    );
    assert_eq!(broken(|p| p.cost = 1.0, BASE, true), set(&[Rule::Totals]));
    assert_eq!(
        broken(|p| p.models[1].rate_rps = 1.0, BASE, true),
        set(&[Rule::Totals])
    );
    assert_eq!(
        broken(|p| p.models[1].slo_ms = 61.0, BASE, true),
        set(&[Rule::Totals])
    );
    assert_eq!(
        broken(
            |p| {
                p.models.pop();
            },
            BASE,
            true
        ),
        set(&[Rule::Totals])
    );
    assert_eq!(
        broken(|p| p.instance = "other".into(), BASE, true),
        set(&[Rule::Totals])
    );
    // Alone, the plan's own demand counts.
    let table = base_table();
    let mut plan = base_plan(&table);
    plan.models[1].rate_rps = 15000.0;
    let r = check_plan(
        Catalog::builtin(),
        &plan,
        Against::Alone {
            driver: Driver::R510OrLater,
        },
    );
    assert_eq!(
        r.violations
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>(),
        ["model m2: serves 1902.4256/s of its demand 15000/s (12.7%) with 2 instance(s) [demand]"]
    );
    // A max-load plan reports its load instead.
    plan.objective = Some(Objective::MaxLoad);
    let r = check_plan(
        Catalog::builtin(),
        &plan,
        Against::Alone {
            driver: Driver::R510OrLater,
        },
    );
    assert!(r.is_clean());
    assert!(
        (r.load.unwrap() - 1902.4256 / 15000.0).abs() < 1e-6,
        "{:?}",
        r.load
    );
}

const PARIS: &str = r#"
name = "base"
[serving]
slo_rule = { fraction = 1.0 }
[[gpus]]
type = "a100-80gb"
count = 1
[[models]]
name = "m1"
slo_ms = 40
rate_rps = 300
batch_distribution = { 1 = 0.5, 4 = 0.3, 8 = 0.2 }
"#;

fn paris_plan(table: &ProfileTable, batch: u32, routed: f64, inst: &Instance) -> Plan {
    let points: Vec<(u32, f64)> = table
        .select(Some("a100-80gb"), Some("3g.40gb"), Some("m1"), Some(1))
        .map(|r| (r.key.batch, r.latency_ms))
        .collect();
    let mut plan = base_plan(table);
    plan.objective = Some(Objective::Paris);
    plan.gpus[0].as_mig_mut().unwrap().instances = vec![PlanInstance {
        latency_ms: latency_at(&points, batch).map(|(l, _)| l),
        throughput_rps: Some(routed),
        ..serve(table, "3g.40gb", 0, "m1", batch, 1)
    }];
    retotal(&mut plan, inst);
    plan
}

#[test]
fn paris_rules_are_caught() {
    let t = base_table();
    let inst = instance(PARIS);
    let rules = |p: &Plan| rules_of(p, &inst, &t);
    assert_eq!(rules(&paris_plan(&t, 8, 300.0, &inst)), set(&[]));
    assert_eq!(rules(&paris_plan(&t, 2, 300.0, &inst)), set(&[Rule::Paris]));
    assert_eq!(rules(&paris_plan(&t, 4, 300.0, &inst)), set(&[Rule::Paris]));
    assert_eq!(
        rules(&paris_plan(&t, 8, 1000.0, &inst)),
        set(&[Rule::Paris])
    );
    assert_eq!(
        rules(&paris_plan(&t, 8, 200.0, &inst)),
        set(&[Rule::Demand])
    );
    let mut p = paris_plan(&t, 8, 300.0, &inst);
    p.gpus[0].as_mig_mut().unwrap().instances[0].procs = Some(2);
    assert_eq!(rules(&p), set(&[Rule::Paris, Rule::ServingLimit]));
    let mut p = paris_plan(&t, 8, 300.0, &inst);
    p.gpus[0].as_mig_mut().unwrap().instances[0].latency_ms = Some(1.0);
    assert_eq!(rules(&p), set(&[Rule::ProfileRow]));
    let tight = instance(&PARIS.replace("slo_ms = 40", "slo_ms = 2"));
    let p = paris_plan(&t, 8, 300.0, &tight);
    assert_eq!(rules_of(&p, &tight, &t), set(&[Rule::Slo]));
    // A class between profiled batches is served at the interpolated latency.
    let three = instance(&PARIS.replace("4 = 0.3, 8 = 0.2", "3 = 0.5"));
    let p = paris_plan(&t, 3, 300.0, &three);
    assert_eq!(rules_of(&p, &three, &t), set(&[]));
    let mut p = p;
    p.gpus[0].as_mig_mut().unwrap().instances[0].latency_ms = Some(1.0);
    let r = check_plan(
        Catalog::builtin(),
        &p,
        Against::Instance {
            instance: &three,
            table: &t,
        },
    );
    assert!(
        r.violations[0].message.ends_with("(interpolated)"),
        "{:?}",
        r.violations
    );
}

/// A PARIS plan of one `profile@start` instance serving m1 at `batch` (its only class),
/// routed `routed`/s, against the PARIS instance with m1's rate `rate`.
fn paris_alone(profile: &str, start: u8, batch: u32, routed: f64, rate: f64) -> BTreeSet<Rule> {
    let t = base_table();
    let text = PARIS
        .replace("rate_rps = 300", &format!("rate_rps = {rate}"))
        .replace("1 = 0.5, 4 = 0.3, 8 = 0.2", &format!("{batch} = 1.0"));
    let inst = instance(&text);
    let mut plan = base_plan(&t);
    plan.objective = Some(Objective::Paris);
    plan.gpus[0].as_mig_mut().unwrap().instances = vec![PlanInstance {
        throughput_rps: Some(routed),
        ..serve(&t, profile, start, "m1", batch, 1)
    }];
    retotal(&mut plan, &inst);
    rules_of(&plan, &inst, &t)
}

#[test]
fn a_paris_instance_may_be_busy_all_the_time_and_no_more() {
    // 4g.40gb at batch 8: 1.8 ms a query, so 1000/1.8 queries/s keep it exactly busy.
    let full = 1000.0 / 1.8;
    assert_eq!(paris_alone("4g.40gb", 0, 8, full, 500.0), set(&[]));
    assert_eq!(
        paris_alone("4g.40gb", 0, 8, full * 1.001, 500.0),
        set(&[Rule::Paris])
    );
}

#[test]
fn a_paris_class_that_overflows_memory_is_caught() {
    // Batch 32 on a 1g.10gb needs 2000 + 250·32 = 10000 MiB of its 9728.
    assert_eq!(
        paris_alone("1g.10gb", 6, 32, 20.0, 20.0),
        set(&[Rule::Memory])
    );
    assert_eq!(paris_alone("2g.20gb", 4, 32, 20.0, 20.0), set(&[]));
}

#[test]
fn serving_limits_on_batches_and_processes() {
    let t = base_table();
    // A listed batch set that holds every batch the plan uses is clean.
    let all = BASE.replace("max_procs = 2", "max_procs = 2\nbatches = [2, 4, 8]");
    assert_eq!(broken(|_| {}, &all, false), set(&[]));
    // No processes, or a batch of zero.
    assert_eq!(
        broken(|p| gpu0(p)[0].procs = Some(0), BASE, false),
        set(&[Rule::ServingLimit])
    );
    assert_eq!(
        broken(
            |p| gpu0(p)[0] = PlanInstance {
                batch: Some(0),
                ..serve(&t, "3g.40gb", 0, "m1", 8, 2)
            },
            BASE,
            false
        ),
        set(&[Rule::ServingLimit])
    );
}

#[test]
fn gpu_count_violations_name_the_gpu_type() {
    let t = base_table();
    for (edit, text) in [
        (
            (|p: &mut Plan| p.gpus[0].as_mig_mut().unwrap().gpu = "h100-80gb".into())
                as fn(&mut Plan),
            BASE.to_string(),
        ),
        (|_: &mut Plan| {}, BASE.replace("count = 2", "count = 0")),
    ] {
        let inst = instance(&text);
        let mut plan = base_plan(&t);
        edit(&mut plan);
        retotal(&mut plan, &inst);
        let r = check_plan(
            Catalog::builtin(),
            &plan,
            Against::Instance {
                instance: &inst,
                table: &t,
            },
        );
        let v = r
            .violations
            .iter()
            .find(|v| v.rule == Rule::GpuCount)
            .unwrap();
        assert_eq!(v.at.gpu_type.as_deref(), Some(plan.gpus[0].gpu()));
    }
}

#[test]
fn the_report_counts_gpus_instances_and_serving_ones() {
    let t = base_table();
    let mut plan = base_plan(&t);
    // The 2g.20gb left idle (m2 is then short of its rate; only the counts matter here).
    gpu0(&mut plan)[1] = idle("2g.20gb", 4);
    retotal(&mut plan, &instance(BASE));
    let r = check_plan(
        Catalog::builtin(),
        &plan,
        Against::Instance {
            instance: &instance(BASE),
            table: &t,
        },
    );
    assert_eq!((r.gpus, r.instances, r.serving), (1, 3, 2));
}
