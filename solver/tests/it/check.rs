//! An independent plan checker, written from the rules rather than from the solver: layouts
//! must parse legal, instances must match the table and the SLO rule, and rates must be met.

use migsched_core::{Catalog, Instance, Layout, Plan, ProfileKey, ProfileTable};

/// Every problem with the plan, or an empty list.
pub fn check_plan(
    plan: &Plan,
    instance: &Instance,
    table: &ProfileTable,
    load: f64,
) -> Vec<String> {
    let catalog = Catalog::builtin();
    let mut out = Vec::new();
    let mut per_type = std::collections::BTreeMap::<String, u32>::new();
    let mut served = vec![0.0; instance.models.len()];
    let mut used = 0;
    for g in plan.mig_gpus() {
        *per_type.entry(g.gpu.clone()).or_default() += 1;
        let gpu = catalog.gpu(&g.gpu).unwrap().clone();
        let layout = match Layout::parse(gpu.clone(), &g.layout, instance.serving.driver) {
            Ok(l) => l,
            Err(e) => {
                out.push(format!("GPU {}: {e}", g.index));
                continue;
            }
        };
        let placed: Vec<(String, u8)> = layout
            .instances()
            .map(|(pl, p)| (p.name().to_string(), pl.start))
            .collect();
        let listed: Vec<(String, u8)> = g
            .instances
            .iter()
            .map(|i| (i.profile.clone(), i.start))
            .collect();
        if placed != listed {
            out.push(format!(
                "GPU {}: instances {listed:?} differ from the layout {placed:?}",
                g.index
            ));
        }
        if g.instances.iter().any(|i| i.model.is_some()) {
            used += 1;
        }
        for i in &g.instances {
            let Some(model) = &i.model else { continue };
            let Some(mi) = instance.models.iter().position(|m| &m.name == model) else {
                out.push(format!("GPU {}: unknown model {model}", g.index));
                continue;
            };
            let demand = &instance.models[mi];
            let key = ProfileKey {
                gpu: g.gpu.clone(),
                profile: i.profile.clone(),
                model: model.clone(),
                batch: i.batch.unwrap_or(0),
                procs: i.procs.unwrap_or(0),
            };
            let Some(row) = table.get(&key) else {
                out.push(format!(
                    "GPU {} {}@{}: no table row {key:?}",
                    g.index, i.profile, i.start
                ));
                continue;
            };
            if i.throughput_rps != Some(row.throughput_rps) || i.latency_ms != Some(row.latency_ms)
            {
                out.push(format!(
                    "GPU {} {}@{}: figures differ from the table",
                    g.index, i.profile, i.start
                ));
            }
            if key.procs > instance.serving.max_procs {
                out.push(format!(
                    "GPU {}: {} processes over the limit",
                    g.index, key.procs
                ));
            }
            let rate = row.throughput_rps.min(demand.rate_rps);
            if !instance
                .serving
                .slo_rule
                .admits(row.latency_ms, key.batch, rate, demand.slo_ms)
            {
                out.push(format!(
                    "GPU {} {}@{}: latency {} breaks the SLO of {model}",
                    g.index, i.profile, i.start, row.latency_ms
                ));
            }
            served[mi] += row.throughput_rps;
        }
    }
    for pool in &instance.gpus {
        let n = per_type.get(&pool.gpu).copied().unwrap_or(0);
        if n > pool.count {
            out.push(format!("{} {} GPUs, {} available", n, pool.gpu, pool.count));
        }
    }
    for (mi, m) in instance.models.iter().enumerate() {
        if served[mi] < load * m.rate_rps * (1.0 - 1e-9) {
            out.push(format!(
                "{}: serves {} of {}",
                m.name,
                served[mi],
                load * m.rate_rps
            ));
        }
        let reported = plan
            .models
            .iter()
            .find(|s| s.model == m.name)
            .map_or(f64::NAN, |s| s.served_rps);
        if (reported - served[mi]).abs() > 1e-6 * served[mi].max(1.0) {
            out.push(format!(
                "{}: reports {reported} served, recomputed {}",
                m.name, served[mi]
            ));
        }
    }
    if plan.gpus_used != used {
        out.push(format!(
            "reports {} GPUs used, {used} serve a model",
            plan.gpus_used
        ));
    }
    out
}
