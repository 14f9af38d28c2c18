//! Simulation of gpulet plans: MPS gpulets (at most two per GPU) each running its models round
//! robin (temporal sharing inside a spatial partition), the interference slowdown while both
//! gpulets of a GPU are busy, and autoscaling with time-varying rates.
//!
//! Modelling choices:
//! - **Queues**: one FIFO per model (a central queue); a gpulet's turn for a model takes up to
//!   the model's planned batch from it. Turns go round robin over the gpulet's models and skip
//!   models with nothing queued (no idle waiting for a full cycle). A request whose deadline
//!   has passed when a batch is formed is dropped.
//! - **Service time** of a batch of `n` is the gpulet's latency at `n` times the interference
//!   factor `max(1, c·features)` if the other gpulet of the GPU is running a batch when it
//!   starts (the factor is fixed for the batch; a neighbour that starts later does not
//!   lengthen it).
//! - **Autoscaling**: every epoch the observed rate of each model (arrivals in the epoch)
//!   updates an EWMA, never below that observation (scale up at once, down smoothly); the planner is asked for a configuration for the EWMA × padding. GPUs
//!   whose split and models are unchanged keep serving (new batch sizes apply at once); every other GPU of the new configuration
//!   (repartitioned or added) serves nothing for the reconfiguration delay; GPUs no longer
//!   needed stop at once (their running batches finish).
//! - **Rates** over time: a base rate per model times a [`RateProfile`], arrivals by thinning a
//!   Poisson process at the peak rate (one xoshiro stream per model).

use migsched_core::Ns;
use std::collections::VecDeque;

use migsched_core::metrics::RunMetrics;
use migsched_core::{Event, TRACE_FORMAT, TraceEvent, TraceHeader, TraceInstance, TraceModel};
use migsched_perf::gpulet::interference::{Coefficients, Usage};
use serde::Serialize;

use crate::budget::{Budget, BudgetExceeded};
use crate::metrics::MetricsRecorder;

use crate::{EventQueue, Rng};

/// A model's latency and features at one batch on one gpulet size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BatchCost {
    /// Latency of the batch alone, ms.
    pub latency_ms: f64,
    /// L2 feature (whole GPU).
    pub l2: f64,
    /// DRAM feature (whole GPU).
    pub dram: f64,
}

/// One model's turn in a gpulet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimTask {
    /// Index into the models.
    pub model: usize,
    /// Largest batch per turn.
    pub batch: u32,
    /// Costs at batches 1..=batch.
    pub costs: Vec<BatchCost>,
}

/// A gpulet: its size and its models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimGpulet {
    /// Size, % of SMs.
    pub percent: u32,
    /// Its models, in round-robin order (empty: a free part).
    pub tasks: Vec<SimTask>,
}

/// A GPU: one or two gpulets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimGpu {
    /// The gpulets.
    pub gpulets: Vec<SimGpulet>,
}

impl SimGpu {
    /// Same split and the same models in each gpulet: only batches may differ, which needs
    /// no restart of the MPS processes.
    fn same_partition(&self, other: &SimGpu) -> bool {
        self.gpulets.len() == other.gpulets.len()
            && self.gpulets.iter().zip(&other.gpulets).all(|(a, b)| {
                a.percent == b.percent
                    && a.tasks.len() == b.tasks.len()
                    && a.tasks
                        .iter()
                        .zip(&b.tasks)
                        .all(|(x, y)| x.model == y.model)
            })
    }
}

/// A model: name and SLO.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimModel {
    /// Name.
    pub name: String,
    /// SLO, ms.
    pub slo_ms: f64,
    /// Base rate, requests/s (scaled by the profile).
    pub rate_rps: f64,
}

/// How rates change over time: a multiplier on every model's base rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum RateProfile {
    /// Always 1.
    Constant,
    /// Piecewise constant: `(from_s, factor)`, sorted by time; 1 before the first.
    Steps(Vec<(f64, f64)>),
    /// `1 + amplitude · sin(2π t / period)`, amplitude in [0, 1).
    Diurnal {
        /// Period, s.
        period_s: f64,
        /// Relative amplitude.
        amplitude: f64,
    },
}

impl RateProfile {
    /// The multiplier at `t_s`.
    pub fn at(&self, t_s: f64) -> f64 {
        match self {
            RateProfile::Constant => 1.0,
            RateProfile::Steps(s) => s
                .iter()
                .rev()
                .find(|(from, _)| *from <= t_s)
                .map_or(1.0, |&(_, f)| f),
            RateProfile::Diurnal {
                period_s,
                amplitude,
            } => 1.0 + amplitude * (2.0 * std::f64::consts::PI * t_s / period_s).sin(),
        }
    }

    /// The largest multiplier over `[0, duration_s]`.
    pub fn peak(&self, duration_s: f64) -> f64 {
        match self {
            RateProfile::Constant => 1.0,
            RateProfile::Steps(s) => s
                .iter()
                .filter(|(from, _)| *from <= duration_s)
                .map(|&(_, f)| f)
                .fold(1.0, f64::max),
            RateProfile::Diurnal { amplitude, .. } => 1.0 + amplitude,
        }
    }
}

/// Autoscaling parameters. Defaults: 20 s epochs (the paper), EWMA weight 0.5 on the newest
/// epoch, rates padded × 1.2 (the paper), MPS repartition delay 12 s (10 to 15 s reported).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Autoscale {
    /// Epoch, s.
    pub epoch_s: f64,
    /// EWMA weight of the newest observation, in (0, 1].
    pub ewma: f64,
    /// Multiplier on the estimated rates handed to the planner.
    pub padding: f64,
    /// Time a reconfigured or added GPU serves nothing, s.
    pub reconfig_s: f64,
}

impl Default for Autoscale {
    fn default() -> Self {
        Autoscale {
            epoch_s: 20.0,
            ewma: 0.5,
            padding: 1.2,
            reconfig_s: 12.0,
        }
    }
}

/// Options of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuletSimOptions {
    /// Arrivals stop after this many seconds; the run then drains.
    pub duration_s: f64,
    /// Seed.
    pub seed: u64,
    /// How rates change.
    pub profile: RateProfile,
    /// Interference coefficients (`None`: no slowdown).
    pub interference: Option<Coefficients>,
    /// Autoscaling (`None`: the initial configuration throughout).
    pub autoscale: Option<Autoscale>,
    /// Record a trace.
    pub trace: bool,
}

/// One model's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct GpuletModelReport {
    /// Name.
    pub model: String,
    /// Requests arrived.
    pub arrived: u64,
    /// Finished within the SLO.
    pub good: u64,
    /// Finished late.
    pub late: u64,
    /// Dropped.
    pub dropped: u64,
    /// `good / arrived`.
    pub slo_attainment: f64,
}

/// One autoscaling epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochPoint {
    /// Epoch start, s.
    pub t_s: f64,
    /// GPUs serving (not reconfiguring) at the epoch start, after the decision.
    pub gpus_serving: u32,
    /// GPUs configured (serving or reconfiguring).
    pub gpus_configured: u32,
    /// The true total rate at that time, requests/s.
    pub true_rps: f64,
    /// The estimated total rate the planner was given (padded), requests/s.
    pub planned_rps: f64,
}

/// The results of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GpuletReport {
    /// Per model.
    pub models: Vec<GpuletModelReport>,
    /// All requests that met the SLO over all that arrived.
    pub slo_attainment: f64,
    /// Requests finished within the SLO per second of the arrival window.
    pub goodput_rps: f64,
    /// Batches that started while the other gpulet of the GPU was busy.
    pub interfered_batches: u64,
    /// Batches in all.
    pub batches: u64,
    /// Autoscaling epochs (empty without autoscaling).
    pub epochs: Vec<EpochPoint>,
    /// GPU-seconds configured over the arrival window.
    pub gpu_seconds: f64,
    /// The serving metrics as `migsched_core::metrics` defines them, over the trace's span.
    pub metrics: RunMetrics,
}

/// The planner autoscaling calls: rates (requests/s per model) to a configuration.
pub type Replan<'a> = dyn FnMut(&[f64]) -> Option<Vec<SimGpu>> + 'a;

#[derive(Debug, Clone, Copy)]
enum Ev {
    Arrival(usize),
    Done { gpu: usize, gpulet: usize },
    Epoch,
    Up,
}

struct Req {
    id: u64,
    arrival: u64,
    batch_model: usize,
}

struct Running {
    /// (request, arrival ns).
    members: Vec<(u64, u64)>,
    model: usize,
    instance: u32,
    usage: Usage,
}

struct GpuletState {
    cfg: SimGpulet,
    next: usize,
    running: Option<Running>,
    instances: Vec<u32>,
}

struct GpuState {
    gpulets: Vec<GpuletState>,
    cfg: SimGpu,
    up_at: u64,
    retired: bool,
}

fn ns(s: f64) -> u64 {
    Ns::from_s(s).get()
}

struct World<'a> {
    models: &'a [SimModel],
    opts: &'a GpuletSimOptions,
    queues: Vec<VecDeque<Req>>,
    gpus: Vec<GpuState>,
    q: EventQueue<Ev>,
    events: Vec<TraceEvent>,
    instances: Vec<TraceInstance>,
    report: GpuletReport,
    arrivals_epoch: Vec<u64>,
    recorder: MetricsRecorder,
    last_t: u64,
}

impl World<'_> {
    /// Notes an event at `t`; builds and keeps it only when tracing.
    fn log(&mut self, t: u64, event: impl FnOnce() -> Event) {
        self.last_t = self.last_t.max(t);
        if self.opts.trace {
            self.events.push(TraceEvent { t, event: event() });
        }
    }

    fn add_gpu(&mut self, cfg: SimGpu, slot: Option<usize>, up_at: u64) -> usize {
        let index = slot.unwrap_or(self.gpus.len()) as u32;
        let mut gpulets = Vec::new();
        for (gi, l) in cfg.gpulets.iter().enumerate() {
            let mut ids = Vec::new();
            for t in &l.tasks {
                let id = self.instances.len() as u32;
                self.instances.push(TraceInstance {
                    instance: id,
                    gpu: index,
                    profile: format!("gpulet-{}", l.percent),
                    start: gi as u8,
                    model: self.models[t.model].name.clone(),
                    slots: 1,
                    max_batch: t.batch,
                    service_ns: None,
                });
                ids.push(id);
            }
            gpulets.push(GpuletState {
                cfg: l.clone(),
                next: 0,
                running: None,
                instances: ids,
            });
        }
        let st = GpuState {
            gpulets,
            cfg,
            up_at,
            retired: false,
        };
        match slot {
            Some(s) => {
                self.gpus[s] = st;
                s
            }
            None => {
                self.gpus.push(st);
                self.gpus.len() - 1
            }
        }
    }

    /// Starts the next batch on an idle gpulet, if it has work.
    fn kick(&mut self, now: u64, gi: usize, li: usize) {
        let g = &self.gpus[gi];
        if g.retired || now < g.up_at || g.gpulets[li].running.is_some() {
            return;
        }
        let n = g.gpulets[li].cfg.tasks.len();
        for step in 0..n {
            let ti = (self.gpus[gi].gpulets[li].next + step) % n;
            let task = self.gpus[gi].gpulets[li].cfg.tasks[ti].clone();
            let slo = Ns::from_ms(self.models[task.model].slo_ms).get();
            // Drop what can no longer start in time.
            while let Some(r) = self.queues[task.model].front() {
                if r.arrival + slo <= now {
                    let r = self.queues[task.model].pop_front().unwrap();
                    self.report.models[task.model].dropped += 1;
                    self.recorder.dropped(task.model);
                    self.log(now, || Event::Drop { req: r.id });
                } else {
                    break;
                }
            }
            if self.queues[task.model].is_empty() {
                continue;
            }
            let take = (task.batch as usize).min(self.queues[task.model].len());
            let members: Vec<(u64, u64)> = self.queues[task.model]
                .drain(..take)
                .map(|r| {
                    debug_assert_eq!(r.batch_model, task.model);
                    (r.id, r.arrival)
                })
                .collect();
            let cost = task.costs[take - 1];
            let usage = Usage {
                l2: cost.l2,
                dram: cost.dram,
                percent: self.gpus[gi].gpulets[li].cfg.percent,
            };
            let other = self.gpus[gi]
                .gpulets
                .iter()
                .enumerate()
                .find(|&(i, l)| i != li && l.running.is_some())
                .map(|(_, l)| l.running.as_ref().unwrap().usage);
            let factor = match (&self.opts.interference, other) {
                (Some(c), Some(o)) => {
                    self.report.interfered_batches += 1;
                    c.factor(&usage, &o)
                }
                _ => 1.0,
            };
            self.report.batches += 1;
            let service = Ns::from_ms(cost.latency_ms * factor).get().max(1);
            let instance = self.gpus[gi].gpulets[li].instances[ti];
            for &(m, _) in &members {
                self.log(now, || Event::Dispatch {
                    req: m,
                    instance,
                    slack_ns: None,
                    choices: None,
                });
            }
            self.log(now, || Event::Start {
                instance,
                slot: 0,
                members: members.iter().map(|m| m.0).collect(),
                batch: take as u32,
                service_ns: service,
                slack_ns: None,
                node: None,
            });
            let st = &mut self.gpus[gi].gpulets[li];
            st.next = (ti + 1) % n;
            st.running = Some(Running {
                members,
                model: task.model,
                instance,
                usage,
            });
            self.q.push(
                now + service,
                Ev::Done {
                    gpu: gi,
                    gpulet: li,
                },
            );
            return;
        }
    }

    fn kick_model(&mut self, now: u64, model: usize) {
        for gi in 0..self.gpus.len() {
            for li in 0..self.gpus[gi].gpulets.len() {
                if self.gpus[gi].gpulets[li]
                    .cfg
                    .tasks
                    .iter()
                    .any(|t| t.model == model)
                {
                    self.kick(now, gi, li);
                    if self.queues[model].is_empty() {
                        return;
                    }
                }
            }
        }
    }

    fn kick_all(&mut self, now: u64) {
        for gi in 0..self.gpus.len() {
            for li in 0..self.gpus[gi].gpulets.len() {
                self.kick(now, gi, li);
            }
        }
    }

    fn serving(&self, now: u64) -> u32 {
        self.gpus
            .iter()
            .filter(|g| !g.retired && g.up_at <= now)
            .count() as u32
    }

    fn configured(&self) -> u32 {
        self.gpus.iter().filter(|g| !g.retired).count() as u32
    }

    /// Moves to a new configuration at `now`.
    fn apply(&mut self, now: u64, new: Vec<SimGpu>, delay: u64) {
        let mut keep = vec![false; self.gpus.len()];
        let mut pending = Vec::new();
        for cfg in new {
            let hit = (0..self.gpus.len()).find(|&i| {
                !keep[i] && !self.gpus[i].retired && self.gpus[i].cfg.same_partition(&cfg)
            });
            match hit {
                Some(i) => {
                    keep[i] = true;
                    // New batches take effect at once (no repartition).
                    for (st, l) in self.gpus[i].gpulets.iter_mut().zip(&cfg.gpulets) {
                        for (j, t) in l.tasks.iter().enumerate() {
                            let id = st.instances[j] as usize;
                            self.instances[id].max_batch =
                                self.instances[id].max_batch.max(t.batch);
                        }
                        st.cfg = l.clone();
                    }
                    self.gpus[i].cfg = cfg;
                }
                None => pending.push(cfg),
            }
        }
        for (g, kept) in self.gpus.iter_mut().zip(&keep) {
            if !kept {
                g.retired = true;
            }
        }
        for cfg in pending {
            // A retired GPU whose batches are done takes the new configuration.
            let slot = (0..self.gpus.len()).find(|&i| {
                self.gpus[i].retired && self.gpus[i].gpulets.iter().all(|l| l.running.is_none())
            });
            self.add_gpu(cfg, slot, now + delay);
            self.q.push(now + delay, Ev::Up);
        }
    }
}

/// A run's trace: its header and events in time order.
pub type Trace = (TraceHeader, Vec<TraceEvent>);

/// Runs a gpulet configuration. `replan` is called at every epoch when autoscaling.
///
/// # Panics
/// When the run exceeds the default [`Budget`] (more than
/// [`crate::DEFAULT_MAX_IN_FLIGHT`] requests queued: the arrivals far outrun the gpulets);
/// for rates from input, call [`try_simulate_gpulets`], which returns that as an error.
pub fn simulate_gpulets(
    models: &[SimModel],
    initial: Vec<SimGpu>,
    opts: &GpuletSimOptions,
    replan: &mut Replan<'_>,
) -> (GpuletReport, Option<Trace>) {
    try_simulate_gpulets(models, initial, opts, &Budget::default(), replan)
        .unwrap_or_else(|e| panic!("gpulet simulation, seed {}: {e}", opts.seed))
}

/// [`simulate_gpulets`] under `budget`: a run with more requests queued than the budget, or
/// an event past its latest time, stops with the budget it exceeded.
pub fn try_simulate_gpulets(
    models: &[SimModel],
    initial: Vec<SimGpu>,
    opts: &GpuletSimOptions,
    budget: &Budget,
    replan: &mut Replan<'_>,
) -> Result<(GpuletReport, Option<Trace>), BudgetExceeded> {
    if let Some(a) = &opts.autoscale {
        let epochs = opts.duration_s / a.epoch_s;
        if epochs.is_nan() || epochs > crate::budget::MAX_EPOCHS as f64 {
            return Err(BudgetExceeded::Epochs {
                epoch_s: a.epoch_s,
                duration_s: opts.duration_s,
                epochs,
                limit: crate::budget::MAX_EPOCHS,
            });
        }
    }
    let mut w = World::new(models, opts);
    for cfg in initial {
        w.add_gpu(cfg, None, 0);
    }
    let end = ns(opts.duration_s);
    let peak = opts.profile.peak(opts.duration_s);
    let mut rngs: Vec<Rng> = (0..models.len())
        .map(|i| Rng::new(opts.seed, 1000 + i as u64))
        .collect();
    for (i, m) in models.iter().enumerate() {
        if m.rate_rps > 0.0 {
            let t = ns(rngs[i].exponential(1.0 / (m.rate_rps * peak)));
            w.q.push(t, Ev::Arrival(i));
        }
    }
    let mut estimate: Vec<f64> = models
        .iter()
        .map(|m| m.rate_rps * opts.profile.at(0.0))
        .collect();
    if let Some(a) = &opts.autoscale {
        w.q.push(ns(a.epoch_s), Ev::Epoch);
        w.report.epochs.push(EpochPoint {
            t_s: 0.0,
            gpus_serving: w.serving(0),
            gpus_configured: w.configured(),
            true_rps: estimate.iter().sum(),
            planned_rps: estimate.iter().sum(),
        });
    }
    let mut next_id = 0u64;
    let mut last_t = 0u64;
    let mut gpu_ns = 0f64;
    let mut now = 0;
    while let Some((t, ev)) = w.q.pop() {
        budget.check(t, w.queues.iter().map(|q| q.len() as u64).sum())?;
        now = t;
        let window_end = t.min(end);
        if window_end > last_t {
            gpu_ns += f64::from(w.configured()) * (window_end - last_t) as f64;
            last_t = window_end;
        }
        match ev {
            Ev::Arrival(m) => {
                if t >= end {
                    continue;
                }
                let rate = models[m].rate_rps * opts.profile.at(Ns(t).s());
                let next = t + ns(rngs[m].exponential(1.0 / (models[m].rate_rps * peak))).max(1);
                w.q.push(next, Ev::Arrival(m));
                // Thinning: keep with probability rate / peak rate.
                if rngs[m].uniform() * models[m].rate_rps * peak > rate {
                    continue;
                }
                let id = next_id;
                next_id += 1;
                w.report.models[m].arrived += 1;
                w.recorder.arrival(m);
                w.arrivals_epoch[m] += 1;
                w.log(t, || Event::Arrival {
                    req: id,
                    model: models[m].name.clone(),
                    batch: 1,
                });
                w.queues[m].push_back(Req {
                    id,
                    arrival: t,
                    batch_model: m,
                });
                w.kick_model(t, m);
            }
            Ev::Done { gpu, gpulet } => w.on_done(t, gpu, gpulet),
            Ev::Up => w.kick_all(t),
            Ev::Epoch => {
                let a = opts.autoscale.clone().unwrap_or_default();
                if t < end {
                    w.q.push(t + ns(a.epoch_s), Ev::Epoch);
                }
                if t > end {
                    continue;
                }
                for (i, e) in estimate.iter_mut().enumerate() {
                    let obs = w.arrivals_epoch[i] as f64 / a.epoch_s;
                    // Scale up at once, down smoothly: the EWMA, never below the latest epoch.
                    *e = (a.ewma * obs + (1.0 - a.ewma) * *e).max(obs);
                    w.arrivals_epoch[i] = 0;
                }
                let padded: Vec<f64> = estimate.iter().map(|r| r * a.padding).collect();
                if let Some(cfg) = replan(&padded) {
                    w.apply(t, cfg, ns(a.reconfig_s));
                }
                let true_rps = models
                    .iter()
                    .map(|m| m.rate_rps * opts.profile.at(Ns(t).s()))
                    .sum();
                let point = EpochPoint {
                    t_s: Ns(t).s(),
                    gpus_serving: w.serving(t),
                    gpus_configured: w.configured(),
                    true_rps,
                    planned_rps: padded.iter().sum(),
                };
                w.report.epochs.push(point);
                w.kick_all(t);
            }
        }
    }
    Ok(w.finish(now, end, gpu_ns))
}

impl<'a> World<'a> {
    fn new(models: &'a [SimModel], opts: &'a GpuletSimOptions) -> World<'a> {
        World {
            models,
            opts,
            queues: models.iter().map(|_| VecDeque::new()).collect(),
            gpus: Vec::new(),
            q: EventQueue::new(),
            events: Vec::new(),
            instances: Vec::new(),
            report: GpuletReport {
                models: models
                    .iter()
                    .map(|m| GpuletModelReport {
                        model: m.name.clone(),
                        ..Default::default()
                    })
                    .collect(),
                slo_attainment: 0.0,
                goodput_rps: 0.0,
                interfered_batches: 0,
                batches: 0,
                epochs: Vec::new(),
                gpu_seconds: 0.0,
                metrics: RunMetrics::default(),
            },
            arrivals_epoch: vec![0; models.len()],
            recorder: MetricsRecorder::new(models.iter().map(|m| m.name.clone()).collect()),
            last_t: 0,
        }
    }

    /// A gpulet's batch completes at `t`: its members end, the gpulet takes its next batch.
    fn on_done(&mut self, t: u64, gpu: usize, gpulet: usize) {
        let Some(r) = self.gpus[gpu].gpulets[gpulet].running.take() else {
            return;
        };
        let mi = r.model;
        let slo = Ns::from_ms(self.models[mi].slo_ms).get();
        self.log(t, || Event::Finish {
            instance: r.instance,
            slot: 0,
            members: r.members.iter().map(|m| m.0).collect(),
            node: None,
        });
        for &(_, arrival) in &r.members {
            self.recorder
                .finished(mi, t - arrival, t <= arrival + slo, 1);
            if t <= arrival + slo {
                self.report.models[mi].good += 1;
            } else {
                self.report.models[mi].late += 1;
            }
        }
        self.kick_all(t);
    }

    /// Ends the run at `now` (arrivals stopped at `end`): drops what is still queued, totals
    /// the report and its metrics, and assembles the trace when asked for.
    fn finish(mut self, now: u64, end: u64, gpu_ns: f64) -> (GpuletReport, Option<Trace>) {
        let models = self.models;
        // Whatever is still queued (no gpulet serves its model any more) is dropped at its
        // deadline.
        for (m, model) in models.iter().enumerate() {
            let slo = Ns::from_ms(model.slo_ms).get();
            while let Some(r) = self.queues[m].pop_front() {
                self.report.models[m].dropped += 1;
                self.recorder.dropped(m);
                self.log((r.arrival + slo).max(now), || Event::Drop { req: r.id });
            }
        }
        let (mut arrived, mut good) = (0u64, 0u64);
        for m in &mut self.report.models {
            m.slo_attainment = if m.arrived == 0 {
                1.0
            } else {
                m.good as f64 / m.arrived as f64
            };
            arrived += m.arrived;
            good += m.good;
        }
        self.report.slo_attainment = if arrived == 0 {
            1.0
        } else {
            good as f64 / arrived as f64
        };
        self.report.goodput_rps = good as f64 / self.opts.duration_s;
        self.report.gpu_seconds = gpu_ns / 1e9;
        // The trace ends at its last event or the end of arrivals, whichever is later; the
        // metrics are over the same span.
        let duration_ns = self.last_t.max(end);
        self.report.metrics = self.recorder.metrics(duration_ns);
        let trace = self.opts.trace.then(|| {
            let mut events = std::mem::take(&mut self.events);
            events.sort_by_key(|e| e.t);
            (
                TraceHeader {
                    format: TRACE_FORMAT.to_string(),
                    scheduler: "gpulet-round-robin".into(),
                    parameters: Vec::new(),
                    seed: Some(self.opts.seed),
                    duration_ns,
                    instances: std::mem::take(&mut self.instances),
                    models: models
                        .iter()
                        .map(|m| TraceModel {
                            model: m.name.clone(),
                            slo_ms: m.slo_ms,
                        })
                        .collect(),
                    work_conserving: false,
                    batching: None,
                    drained: Some(true),
                    warmup_ns: None,
                    nodes: None,
                },
                events,
            )
        });
        (self.report, trace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One whole-GPU gpulet serving one model, `cap` requests/s at batch 8 (10 ms per batch
    /// at 80 requests: latency grows with the batch).
    fn gpu(cap_batch: u32) -> SimGpu {
        SimGpu {
            gpulets: vec![SimGpulet {
                percent: 100,
                tasks: vec![SimTask {
                    model: 0,
                    batch: cap_batch,
                    costs: (1..=cap_batch)
                        .map(|b| BatchCost {
                            latency_ms: 2.0 + f64::from(b),
                            l2: 0.3,
                            dram: 0.3,
                        })
                        .collect(),
                }],
            }],
        }
    }

    #[test]
    fn autoscaling_catches_up_within_an_epoch_and_the_delay() {
        // Batch 8 in 10 ms: 800/s per GPU.
        let per_gpu = 800.0;
        let needed = |rate: f64| (rate / per_gpu).ceil() as usize;
        let models = vec![SimModel {
            name: "m".into(),
            slo_ms: 25.0,
            rate_rps: 500.0,
        }];
        let (epoch, delay) = (5.0, 3.0);
        for steps in [
            vec![(10.0, 3.0), (20.0, 6.0), (35.0, 2.0), (45.0, 8.0)],
            vec![(5.0, 10.0), (25.0, 1.0)],
        ] {
            let profile = RateProfile::Steps(steps.clone());
            let opts = GpuletSimOptions {
                duration_s: 60.0,
                seed: 3,
                profile: profile.clone(),
                interference: None,
                autoscale: Some(Autoscale {
                    epoch_s: epoch,
                    reconfig_s: delay,
                    ..Autoscale::default()
                }),
                trace: false,
            };
            let mut replan =
                |rates: &[f64]| Some((0..needed(rates[0]).max(1)).map(|_| gpu(8)).collect());
            let initial = (0..needed(500.0 * 1.2)).map(|_| gpu(8)).collect();
            let (r, _) = simulate_gpulets(&models, initial, &opts, &mut replan);
            assert!(r.epochs.len() >= 12);
            for e in &r.epochs {
                let want = needed(500.0 * profile.at(e.t_s));
                if (e.gpus_serving as usize) < want {
                    // Only right after a rate change: within one epoch plus the delay.
                    let recent = steps
                        .iter()
                        .any(|&(t, _)| t <= e.t_s && e.t_s < t + epoch + delay);
                    assert!(
                        recent,
                        "{} GPUs serving at {} s, {want} needed",
                        e.gpus_serving, e.t_s
                    );
                }
            }
        }
    }

    #[test]
    fn a_rate_far_beyond_the_gpus_stops_at_the_backlog_budget() {
        // A rate of 1e300: a request every nanosecond, queued faster than any gpulet serves.
        let models = vec![SimModel {
            name: "m".into(),
            slo_ms: 25.0,
            rate_rps: 1e300,
        }];
        let opts = GpuletSimOptions {
            duration_s: 60.0,
            seed: 3,
            profile: RateProfile::Constant,
            interference: None,
            autoscale: None,
            trace: false,
        };
        let budget = Budget {
            max_in_flight: 10_000,
            ..Budget::default()
        };
        let e =
            try_simulate_gpulets(&models, vec![gpu(8)], &opts, &budget, &mut |_| None).unwrap_err();
        assert!(
            matches!(e, BudgetExceeded::InFlight { limit: 10_000, .. }),
            "{e}"
        );
        // `--autoscale --epoch 1e-6`: 60 million replans.
        let opts = GpuletSimOptions {
            autoscale: Some(Autoscale {
                epoch_s: 1e-6,
                ..Autoscale::default()
            }),
            ..opts
        };
        let e =
            try_simulate_gpulets(&models, vec![gpu(8)], &opts, &budget, &mut |_| None).unwrap_err();
        assert!(
            e.to_string()
                .contains("more than 100000; lengthen the epoch"),
            "{e}"
        );
    }

    #[test]
    fn interference_slows_co_located_batches_and_counts_add_up() {
        let two = SimGpu {
            gpulets: vec![
                SimGpulet {
                    percent: 50,
                    tasks: gpu(8).gpulets[0].tasks.clone(),
                },
                SimGpulet {
                    percent: 50,
                    tasks: gpu(8).gpulets[0].tasks.clone(),
                },
            ],
        };
        let models = vec![SimModel {
            name: "m".into(),
            slo_ms: 25.0,
            rate_rps: 1200.0,
        }];
        let c = Coefficients {
            gpu: "x".into(),
            source: "test".into(),
            c: [0.0, 0.0, 0.0, 2.0, 1.0],
        };
        let run = |interference: Option<Coefficients>| {
            let opts = GpuletSimOptions {
                duration_s: 10.0,
                seed: 1,
                profile: RateProfile::Constant,
                interference,
                autoscale: None,
                trace: true,
            };
            simulate_gpulets(&models, vec![two.clone()], &opts, &mut |_: &[f64]| None)
        };
        let (with, trace) = run(Some(c));
        let (without, _) = run(None);
        assert!(with.interfered_batches > 0);
        assert_eq!(without.interfered_batches, 0);
        for r in [&with, &without] {
            let m = &r.models[0];
            assert_eq!(m.arrived, m.good + m.late + m.dropped);
        }
        // Interference costs SLO attainment here (factor 1.3 on every co-located batch).
        assert!(with.slo_attainment <= without.slo_attainment);
        let (header, events) = trace.unwrap();
        assert_eq!(header.instances.len(), 2);
        assert!(events.windows(2).all(|w| w[0].t <= w[1].t));
    }
}
