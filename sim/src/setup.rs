//! What a simulation runs: models with their demand and workload, and serving instances with
//! their latency curves; built from a plan (the solver's JSON) and an instance's profiles, or
//! from an explicit list of instances.

use migsched_core::Ns;
use migsched_core::{Catalog, Instance, Plan, ProfileTable};
use serde::Serialize;
use thiserror::Error;

use crate::workload::{Arrival, QueryBatch, Replayed};

/// A model's demand and workload.
#[derive(Debug, Clone, Serialize)]
pub struct ModelSpec {
    /// Name.
    pub name: String,
    /// Latency SLO, ns.
    pub slo_ns: u64,
    /// Requests (queries) per second at load 1.
    pub rate_rps: f64,
    /// Arrival process.
    pub arrival: Arrival,
    /// Batch size each query carries.
    pub batch: QueryBatch,
}

/// Service time as a function of batch size, from profiled points: linear between points,
/// linear in the last two points beyond the largest (proportional to the batch when there is
/// one point), and the smallest point's latency below it.
#[derive(Debug, Clone, Serialize)]
pub struct LatencyCurve {
    points: Vec<(u32, f64)>,
}

impl LatencyCurve {
    /// A curve from (batch, latency ns) points; `None` when there are none.
    pub fn new(mut points: Vec<(u32, f64)>) -> Option<LatencyCurve> {
        points.sort_by_key(|p| p.0);
        points.dedup_by_key(|p| p.0);
        (!points.is_empty()).then_some(LatencyCurve { points })
    }
    /// Service time of a batch, ns.
    pub fn at(&self, batch: u32) -> f64 {
        let p = &self.points;
        match p.binary_search_by_key(&batch, |q| q.0) {
            Ok(i) => p[i].1,
            Err(0) => p[0].1,
            Err(i) if i == p.len() => {
                if p.len() == 1 {
                    p[0].1 * f64::from(batch) / f64::from(p[0].0)
                } else {
                    let (a, b) = (p[p.len() - 2], p[p.len() - 1]);
                    b.1 + (b.1 - a.1) / f64::from(b.0 - a.0) * f64::from(batch - b.0)
                }
            }
            Err(i) => {
                let (a, b) = (p[i - 1], p[i]);
                a.1 + (b.1 - a.1) * f64::from(batch - a.0) / f64::from(b.0 - a.0)
            }
        }
    }
}

/// One serving instance.
#[derive(Debug, Clone, Serialize)]
pub struct ServerSpec {
    /// GPU index in the plan.
    pub gpu: u32,
    /// MIG profile.
    pub profile: String,
    /// Placement start.
    pub start: u8,
    /// Compute slices of the profile (ELSA visits smaller partitions first).
    pub gpcs: u8,
    /// Index into the models.
    pub model: usize,
    /// Parallel slots (MPS processes).
    pub slots: u32,
    /// Largest batch a slot runs (server batching), or the largest query (pre-batched).
    pub max_batch: u32,
    /// Service time of one batch on one slot while all slots run.
    pub latency: LatencyCurve,
}

impl ServerSpec {
    /// The predicted service time of a batch of `batch` samples on one slot (ns): the latency
    /// curve rounded to whole nanoseconds. What schedulers predict, and what traces publish.
    pub fn predicted_service_ns(&self, batch: u32) -> u64 {
        self.latency.at(batch).round() as u64
    }
}

/// Models, instances, and optionally a trace to replay instead of generated arrivals.
#[derive(Debug, Clone, Serialize)]
pub struct SimSetup {
    /// The models.
    pub models: Vec<ModelSpec>,
    /// The serving instances.
    pub servers: Vec<ServerSpec>,
    /// Arrivals to replay (model index, batch), sorted by time; generated arrivals when `None`.
    #[serde(skip)]
    pub replay: Option<Vec<(u64, usize, u32)>>,
}

/// A plan or instance list the simulator cannot run.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SetupError {
    /// The plan names something unknown or lacks what the simulator needs.
    #[error("{0}")]
    Invalid(String),
}

/// How to turn an instance's models into workloads.
#[derive(Debug, Clone)]
pub struct WorkloadOptions {
    /// Arrival process for every model.
    pub arrival: Arrival,
    /// Query batch sizes; `None`: each model's batch distribution from the instance, or one
    /// sample.
    pub batch: Option<QueryBatch>,
}

impl SimSetup {
    /// Builds the setup of a MIG plan (resolved against the catalog: known GPUs, legal
    /// layouts): every plan instance that serves a model becomes a server whose latency
    /// curve is the profile table's rows for its (GPU, profile, model, procs).
    pub fn from_plan(
        catalog: &Catalog,
        plan: &Plan,
        instance: &Instance,
        table: &ProfileTable,
        workload: &WorkloadOptions,
    ) -> Result<SimSetup, SetupError> {
        let models: Vec<ModelSpec> = instance
            .models
            .iter()
            .map(|m| ModelSpec {
                name: m.name.clone(),
                slo_ns: Ns::from_ms(m.slo_ms).get(),
                rate_rps: m.rate_rps,
                arrival: workload.arrival.clone(),
                batch: workload
                    .batch
                    .clone()
                    .unwrap_or_else(|| match &m.batch_distribution {
                        Some(d) => QueryBatch::Empirical { points: d.clone() },
                        None => QueryBatch::One,
                    }),
            })
            .collect();
        let mut servers = Vec::new();
        let resolved = plan
            .resolve_mig(catalog, instance.serving.driver)
            .map_err(|e| SetupError::Invalid(e.to_string()))?;
        for r in &resolved {
            let (g, gpu) = (r.entry, &r.gpu);
            for i in &g.instances {
                let Some(model) = &i.model else { continue };
                let Some(mi) = models.iter().position(|m| &m.name == model) else {
                    return Err(SetupError::Invalid(format!(
                        "plan GPU {} {}@{}: model '{model}' is not in the instance (its models: {})",
                        g.index,
                        i.profile,
                        i.start,
                        models
                            .iter()
                            .map(|m| m.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                let profile = gpu
                    .profile_by_name(&i.profile)
                    .map_err(|e| SetupError::Invalid(format!("plan GPU {}: {e}", g.index)))?;
                let procs = i.procs.unwrap_or(1).max(1);
                let points: Vec<(u32, f64)> = table
                    .select(
                        Some(gpu.id()),
                        Some(gpu.profile(profile).name()),
                        Some(model),
                        Some(procs),
                    )
                    .map(|r| (r.key.batch, r.latency_ms * 1e6))
                    .collect();
                let latency = LatencyCurve::new(points).ok_or_else(|| {
                    SetupError::Invalid(format!(
                        "plan GPU {} {}@{}: the profile table has no rows for {}/{}/{model} with {procs} processes",
                        g.index,
                        i.profile,
                        i.start,
                        gpu.id(),
                        i.profile
                    ))
                })?;
                let plan_batch = i.batch.unwrap_or(1).max(1);
                servers.push(ServerSpec {
                    gpu: g.index,
                    profile: gpu.profile(profile).name().to_string(),
                    start: i.start,
                    gpcs: gpu.profile(profile).compute_slices(),
                    model: mi,
                    slots: procs,
                    // Queries that arrive batched run as they are: the instance must take the
                    // largest one.
                    max_batch: plan_batch.max(models[mi].batch.max()),
                    latency,
                });
            }
        }
        if servers.is_empty() {
            return Err(SetupError::Invalid(
                "the plan has no instance serving a model".into(),
            ));
        }
        Ok(SimSetup {
            models,
            servers,
            replay: None,
        })
    }

    /// Replaces generated arrivals with a trace's; every model it names must be in the setup.
    pub fn with_replay(mut self, trace: &[Replayed]) -> Result<SimSetup, SetupError> {
        let mut out = Vec::with_capacity(trace.len());
        for r in trace {
            let m = self
                .models
                .iter()
                .position(|m| m.name == r.model)
                .ok_or_else(|| {
                    SetupError::Invalid(format!(
                        "the trace names model '{}', which the instance does not serve",
                        r.model
                    ))
                })?;
            out.push((r.t_ns, m, r.batch));
        }
        for s in &mut self.servers {
            let largest = trace
                .iter()
                .filter(|r| r.model == self.models[s.model].name)
                .map(|r| r.batch)
                .max()
                .unwrap_or(1);
            s.max_batch = s.max_batch.max(largest);
        }
        self.replay = Some(out);
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_curve_interpolates_and_extrapolates() {
        let c = LatencyCurve::new(vec![(4, 8.0), (1, 2.0), (8, 10.0)]).unwrap();
        assert_eq!(c.at(1), 2.0);
        assert_eq!(c.at(2), 4.0);
        assert_eq!(c.at(6), 9.0);
        assert_eq!(c.at(16), 14.0);
        let one = LatencyCurve::new(vec![(2, 4.0)]).unwrap();
        assert_eq!((one.at(1), one.at(4)), (4.0, 8.0));
        assert!(LatencyCurve::new(vec![]).is_none());
    }
}
