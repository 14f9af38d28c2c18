//! The discrete-event engine: integer nanoseconds, events ordered by (time, insertion order),
//! one seeded stream per model and purpose, no wall clock. Requests live in a slab that is
//! reused, so memory grows with what is in flight, not with how many requests are simulated.

use migsched_core::time::{Ns, ns_to_ms};
use std::collections::VecDeque;

use migsched_core::TraceChoice;
use serde::Serialize;
use thiserror::Error;

use crate::budget::Budget;
use crate::event_queue::EventQueue;
use crate::histogram::Histogram;
use crate::metrics::MetricsRecorder;
use crate::report::{InstanceReport, ModelReport, SeriesPoint, SimReport};
use crate::rng::Rng;
use crate::scheduler::{Decision, Request, Scheduler, View};
use crate::setup::{LatencyCurve, SimSetup};
use crate::workload::ArrivalGen;

/// When the run ends.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Stop {
    /// Arrivals for this long; then stop (requests in flight are reported as such) or, with
    /// `drain`, serve what is left.
    Duration {
        /// Simulated time, ns.
        ns: u64,
        /// Serve the requests in flight after the last arrival.
        drain: bool,
    },
    /// This many arrivals (all models together), then serve what is left.
    Requests {
        /// Arrivals.
        n: u64,
    },
}

impl Stop {
    /// The time at which the run stops with requests still in flight, if it does (a duration
    /// without `drain`); `None` when it serves everything that arrived.
    pub fn cutoff_ns(&self) -> Option<u64> {
        match *self {
            Stop::Duration { ns, drain: false } => Some(ns),
            _ => None,
        }
    }
}

/// How instances turn queued requests into batches.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ServingMode {
    /// Queries arrive batched (PARIS/ELSA): a slot runs one query at a time, as it is.
    Prebatched,
    /// A Triton-style dynamic batcher per instance: a free slot takes queued requests up to
    /// the instance's max batch, at once when a full batch (or a preferred size) waits or the
    /// oldest has waited the max queue delay (0: at once).
    Dynamic {
        /// Most time the oldest queued request waits for a fuller batch, ns.
        max_queue_delay_ns: u64,
    },
}

/// Multiplicative noise on service times (mean 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Noise {
    /// Service times are the profile's.
    None,
    /// Exponential service times with the profile's mean (M/M/c models).
    Exponential,
    /// Log-normal factor with this coefficient of variation.
    LogNormal {
        /// Coefficient of variation.
        cv: f64,
    },
}

/// Options of a run.
#[derive(Debug, Clone, Serialize)]
pub struct SimConfig {
    /// When to stop.
    pub stop: Stop,
    /// Factor on every model's rate.
    pub load: f64,
    /// Seed of every random stream.
    pub seed: u64,
    /// Batching at the instances.
    pub mode: ServingMode,
    /// Drop a request whose deadline passed before it could start (counted as a miss).
    pub drop_expired: bool,
    /// Service-time noise.
    pub noise: Noise,
    /// Requests arriving before this time (ns) are served but not counted.
    pub warmup_ns: u64,
    /// Dynamic batching: batch sizes formed at once, without waiting for the max queue delay
    /// (Triton's preferred batch sizes); the largest that the queue fills is taken.
    pub preferred_batches: Vec<u32>,
    /// Keep per-second counts per model.
    pub time_series: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            stop: Stop::Duration {
                ns: 60_000_000_000,
                drain: false,
            },
            load: 1.0,
            seed: 0,
            mode: ServingMode::Dynamic {
                max_queue_delay_ns: 0,
            },
            drop_expired: false,
            noise: Noise::None,
            warmup_ns: 0,
            preferred_batches: Vec::new(),
            time_series: false,
        }
    }
}

/// A run that cannot start.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SimError {
    /// The setup or options are unusable.
    #[error("{0}")]
    Invalid(String),
    /// The run exceeded a budget (requests in flight, simulated time).
    #[error(transparent)]
    Budget(#[from] crate::budget::BudgetExceeded),
}

/// What the engine reports as it runs (for traces and request logs).
#[derive(Debug, Clone, Copy)]
pub enum Observed<'a> {
    /// A request arrived.
    Arrival {
        /// Time, ns.
        t: u64,
        /// Request id.
        req: u64,
        /// Model index.
        model: usize,
        /// Samples.
        batch: u32,
    },
    /// A request was assigned to an instance.
    Dispatch {
        /// Time, ns.
        t: u64,
        /// Request id.
        req: u64,
        /// Instance.
        instance: u32,
        /// Deadline minus now, ns.
        slack_ns: i64,
        /// Candidates weighed, if the scheduler weighs any.
        choices: &'a [TraceChoice],
    },
    /// A slot started a batch.
    Start {
        /// Time, ns.
        t: u64,
        /// Instance.
        instance: u32,
        /// Slot.
        slot: u32,
        /// Request ids.
        members: &'a [u64],
        /// Samples.
        batch: u32,
        /// Service time, ns.
        service_ns: u64,
    },
    /// A slot finished a batch.
    Finish {
        /// Time, ns.
        t: u64,
        /// Instance.
        instance: u32,
        /// Slot.
        slot: u32,
        /// Request ids.
        members: &'a [u64],
    },
    /// A request was abandoned past its deadline.
    Drop {
        /// Time, ns.
        t: u64,
        /// Request id.
        req: u64,
    },
}

/// Receives events; `enabled` false lets the engine skip building them.
pub trait Observer {
    /// Whether to report events at all.
    fn enabled(&self) -> bool;
    /// One event.
    fn observe(&mut self, event: Observed<'_>);
}

/// An observer that wants nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn enabled(&self) -> bool {
        false
    }
    fn observe(&mut self, _: Observed<'_>) {}
}

#[derive(Debug, Clone, Copy)]
struct Req {
    id: u64,
    model: u32,
    batch: u32,
    arrival: u64,
    deadline: u64,
    /// Predicted service at its instance, ns (0 until dispatched).
    predicted: u64,
    /// Service time of the batch it ran in, ns (0 until started).
    service: u64,
    counted: bool,
}

/// An instance's state (read by schedulers through [`View`]).
#[derive(Debug)]
pub(crate) struct Inst {
    pub(crate) model: usize,
    slots: u32,
    pub(crate) free_slots: u32,
    max_batch: u32,
    pub(crate) gpcs: u8,
    curve: LatencyCurve,
    /// Predicted service of batches 0..=`max_batch` (index 0 unused), ns: schedulers ask for
    /// it once per candidate per request.
    service_table: Vec<u64>,
    dynamic: bool,
    pub(crate) queue: VecDeque<u32>,
    queued_samples: u64,
    queued_predicted: u64,
    slot_busy: Vec<bool>,
    slot_predicted_end: Vec<u64>,
    slot_members: Vec<Vec<u32>>,
    busy_ns: u64,
    batches: u64,
    samples: u64,
    timer_at: Option<u64>,
}

impl Inst {
    /// Whether a request given to this instance now would start with the next batch: a free
    /// slot without a query waiting for it (pre-batched), or room in the batches the free
    /// slots are forming (dynamic batching).
    pub(crate) fn accepts(&self) -> bool {
        if self.dynamic {
            self.queued_samples < u64::from(self.max_batch) * u64::from(self.free_slots)
        } else {
            (self.queue.len() as u64) < u64::from(self.free_slots)
        }
    }

    pub(crate) fn predicted_service(&self, batch: u32) -> u64 {
        match self.service_table.get(batch as usize) {
            Some(&ns) => ns,
            None => self.curve.at(batch).round() as u64,
        }
    }

    /// Predicted work still ahead of a new request, over the slots (ns). Pre-batched: each
    /// queued query's predicted service; dynamic batching: the queued samples in full batches
    /// of the max batch and one remainder.
    pub(crate) fn predicted_wait(&self, now: u64) -> u64 {
        let queued = if self.dynamic {
            let full = self.queued_samples / u64::from(self.max_batch);
            let rem = (self.queued_samples % u64::from(self.max_batch)) as u32;
            full * self.predicted_service(self.max_batch)
                + if rem > 0 {
                    self.predicted_service(rem)
                } else {
                    0
                }
        } else {
            self.queued_predicted
        };
        let running: u64 = self
            .slot_busy
            .iter()
            .zip(&self.slot_predicted_end)
            .filter(|(b, _)| **b)
            .map(|(_, &end)| end.saturating_sub(now))
            .sum();
        (queued + running) / u64::from(self.slots)
    }
}

#[derive(Debug, Clone, Copy)]
enum Ev {
    Arrive(u32),
    Replay,
    Finish(u32, u32),
    Timer(u32),
}

#[derive(Debug, Default, Clone)]
struct ModelStats {
    arrived: u64,
    completed: u64,
    dropped: u64,
    slo_met: u64,
    samples: u64,
    latency: Histogram,
    queue: Histogram,
    service_sum_ns: u128,
}

/// Runs a simulation.
pub fn simulate(
    setup: &SimSetup,
    config: &SimConfig,
    scheduler: &mut dyn Scheduler,
    observer: &mut dyn Observer,
) -> Result<SimReport, SimError> {
    simulate_with_progress(setup, config, scheduler, observer, &mut |_| {})
}

/// Where a run is, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Simulated time, ns.
    pub now_ns: u64,
    /// Requests arrived so far.
    pub arrived: u64,
    /// Events processed so far.
    pub events: u64,
}

/// Runs a simulation, calling `progress` every 2^20 events (it must not use the result to
/// change the run: the report depends only on setup, options and seed).
pub fn simulate_with_progress(
    setup: &SimSetup,
    config: &SimConfig,
    scheduler: &mut dyn Scheduler,
    observer: &mut dyn Observer,
    progress: &mut dyn FnMut(Progress),
) -> Result<SimReport, SimError> {
    let budget = Budget::default();
    simulate_with_budget(setup, config, &budget, scheduler, observer, progress)
}

/// [`simulate_with_progress`] under an explicit [`Budget`] (the others use the default): a
/// run with more requests in flight, or a later event, stops with [`SimError::Budget`].
pub fn simulate_with_budget(
    setup: &SimSetup,
    config: &SimConfig,
    budget: &Budget,
    scheduler: &mut dyn Scheduler,
    observer: &mut dyn Observer,
    progress: &mut dyn FnMut(Progress),
) -> Result<SimReport, SimError> {
    let mut engine = Engine::new(setup, config, observer.enabled())?;
    engine.budget = *budget;
    engine.run(scheduler, observer, progress)
}

struct Engine<'a> {
    budget: Budget,
    setup: &'a SimSetup,
    config: &'a SimConfig,
    observe: bool,
    queue: EventQueue<Ev>,
    now: u64,
    reqs: Vec<Req>,
    free: Vec<u32>,
    live: u64,
    next_id: u64,
    insts: Vec<Inst>,
    by_model: Vec<Vec<u32>>,
    central: Vec<VecDeque<u32>>,
    gens: Vec<ArrivalGen>,
    batch_rngs: Vec<Rng>,
    noise_rng: Rng,
    replay_next: usize,
    arrived_total: u64,
    completed_total: u64,
    dropped_total: u64,
    stats: Vec<ModelStats>,
    recorder: MetricsRecorder,
    series: Vec<Vec<[u64; 4]>>,
    events: u64,
    scratch_ids: Vec<u64>,
    scratch_choices: Vec<TraceChoice>,
    scratch_batch: Vec<u32>,
}

impl<'a> Engine<'a> {
    fn new(
        setup: &'a SimSetup,
        config: &'a SimConfig,
        observe: bool,
    ) -> Result<Engine<'a>, SimError> {
        let invalid = |m: String| Err(SimError::Invalid(m));
        if !(config.load.is_finite() && config.load > 0.0) {
            return invalid(format!("load {} is not a positive number", config.load));
        }
        if let Noise::LogNormal { cv } = config.noise {
            if !(cv.is_finite() && cv > 0.0) {
                return invalid(format!("noise cv {cv} is not a positive number"));
            }
            if cv > crate::workload::MAX_CV {
                let max = crate::workload::MAX_CV;
                let cv = crate::workload::num(cv);
                return invalid(format!("noise cv {cv} is above {max}"));
            }
        }
        for spec in &setup.models {
            let checked = spec.arrival.validate().and(spec.batch.validate());
            if let Err(e) = checked {
                return invalid(format!("model '{}': {e}", spec.name));
            }
        }
        match config.stop {
            Stop::Duration { ns: 0, .. } => return invalid("the duration is 0".into()),
            Stop::Requests { n: 0 } => return invalid("the request count is 0".into()),
            _ => {}
        }
        let mut by_model = vec![Vec::new(); setup.models.len()];
        let mut insts = Vec::with_capacity(setup.servers.len());
        for (i, s) in setup.servers.iter().enumerate() {
            if s.model >= setup.models.len() || s.slots == 0 || s.max_batch == 0 {
                return invalid(format!("server {i}: bad model index, slots or max batch"));
            }
            by_model[s.model].push(i as u32);
            insts.push(Inst {
                model: s.model,
                slots: s.slots,
                free_slots: s.slots,
                max_batch: s.max_batch,
                gpcs: s.gpcs,
                curve: s.latency.clone(),
                service_table: (0..=s.max_batch.min(4096))
                    .map(|b| s.predicted_service_ns(b.max(1)))
                    .collect(),
                dynamic: matches!(config.mode, ServingMode::Dynamic { .. }),
                queue: VecDeque::new(),
                queued_samples: 0,
                queued_predicted: 0,
                slot_busy: vec![false; s.slots as usize],
                slot_predicted_end: vec![0; s.slots as usize],
                slot_members: vec![Vec::new(); s.slots as usize],
                busy_ns: 0,
                batches: 0,
                samples: 0,
                timer_at: None,
            });
        }
        for (m, spec) in setup.models.iter().enumerate() {
            let demanded = setup
                .replay
                .as_ref()
                .map_or(spec.rate_rps > 0.0, |r| r.iter().any(|a| a.1 == m));
            if demanded && by_model[m].is_empty() {
                return invalid(format!(
                    "model '{}' has requests but no instance serves it",
                    spec.name
                ));
            }
            if setup.replay.is_none() && !(spec.rate_rps.is_finite() && spec.rate_rps >= 0.0) {
                return invalid(format!(
                    "model '{}': rate {} is not a non-negative number",
                    spec.name, spec.rate_rps
                ));
            }
        }
        let gens = setup
            .models
            .iter()
            .enumerate()
            .map(|(m, spec)| {
                ArrivalGen::new(
                    spec.arrival.clone(),
                    (spec.rate_rps * config.load).max(1e-12),
                    Rng::new(config.seed, 2 * m as u64),
                )
            })
            .collect();
        let batch_rngs = (0..setup.models.len())
            .map(|m| Rng::new(config.seed, 2 * m as u64 + 1))
            .collect();
        Ok(Engine {
            budget: Budget::default(),
            setup,
            config,
            observe,
            queue: EventQueue::new(),
            now: 0,
            reqs: Vec::new(),
            free: Vec::new(),
            live: 0,
            next_id: 0,
            insts,
            by_model,
            central: vec![VecDeque::new(); setup.models.len()],
            gens,
            batch_rngs,
            noise_rng: Rng::new(config.seed, u64::MAX - 1),
            replay_next: 0,
            arrived_total: 0,
            completed_total: 0,
            dropped_total: 0,
            stats: vec![ModelStats::default(); setup.models.len()],
            recorder: MetricsRecorder::new(setup.models.iter().map(|m| m.name.clone()).collect()),
            series: vec![Vec::new(); setup.models.len()],
            events: 0,
            scratch_ids: Vec::new(),
            scratch_choices: Vec::new(),
            scratch_batch: Vec::new(),
        })
    }

    fn horizon(&self) -> Option<u64> {
        match self.config.stop {
            Stop::Duration { ns, .. } => Some(ns),
            Stop::Requests { .. } => None,
        }
    }

    fn run(
        mut self,
        scheduler: &mut dyn Scheduler,
        observer: &mut dyn Observer,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<SimReport, SimError> {
        match &self.setup.replay {
            Some(r) => {
                if let Some(&(t, _, _)) = r.first() {
                    self.queue.push(self.replay_time(t), Ev::Replay);
                }
            }
            None => {
                for m in 0..self.setup.models.len() {
                    if self.setup.models[m].rate_rps > 0.0 {
                        let t = self.gens[m].next(0);
                        self.queue.push(t, Ev::Arrive(m as u32));
                    }
                }
            }
        }
        let stop_at = self.config.stop.cutoff_ns();
        while let Some(t) = self.queue.peek_time() {
            if stop_at.is_some_and(|s| t > s) {
                break;
            }
            self.budget.check(t, self.live)?;
            let (t, ev) = self.queue.pop().expect("peeked");
            debug_assert!(t >= self.now, "time went backwards: {t} < {}", self.now);
            self.now = t;
            self.events += 1;
            if self.events & ((1 << 20) - 1) == 0 {
                progress(Progress {
                    now_ns: t,
                    arrived: self.arrived_total,
                    events: self.events,
                });
            }
            match ev {
                Ev::Arrive(m) => self.on_arrival(m as usize, None, scheduler, observer),
                Ev::Replay => {
                    let (_, m, b) = self
                        .setup
                        .replay
                        .as_ref()
                        .expect("replay event without a replay")[self.replay_next];
                    self.replay_next += 1;
                    self.on_arrival(m, Some(b), scheduler, observer);
                }
                Ev::Finish(i, s) => self.on_finish(i, s, observer),
                Ev::Timer(i) => {
                    let inst = &mut self.insts[i as usize];
                    if inst.timer_at == Some(t) {
                        inst.timer_at = None;
                        self.try_start(i, observer);
                    }
                }
            }
        }
        let end = self
            .config
            .stop
            .cutoff_ns()
            .unwrap_or_else(|| self.now.max(self.horizon().unwrap_or(0)));
        Ok(self.report(scheduler, end))
    }

    fn replay_time(&self, t: u64) -> u64 {
        (t as f64 / self.config.load).round() as u64
    }

    fn alloc(&mut self, r: Req) -> u32 {
        self.live += 1;
        match self.free.pop() {
            Some(i) => {
                self.reqs[i as usize] = r;
                i
            }
            None => {
                self.reqs.push(r);
                (self.reqs.len() - 1) as u32
            }
        }
    }

    fn release(&mut self, slab: u32) {
        self.live -= 1;
        self.free.push(slab);
    }

    fn bin(&mut self, model: usize, t: u64, field: usize) {
        if self.config.time_series {
            let s = (t / 1_000_000_000) as usize;
            let series = &mut self.series[model];
            if series.len() <= s {
                series.resize(s + 1, [0; 4]);
            }
            series[s][field] += 1;
        }
    }

    fn on_arrival(
        &mut self,
        model: usize,
        replay_batch: Option<u32>,
        scheduler: &mut dyn Scheduler,
        observer: &mut dyn Observer,
    ) {
        let now = self.now;
        if let Stop::Requests { n } = self.config.stop {
            if self.arrived_total >= n {
                // Another model's arrival after the count was reached: never happened.
                return;
            }
        }
        self.arrived_total += 1;
        // The stream's next arrival.
        match (self.config.stop, &self.setup.replay) {
            (_, Some(r)) => {
                if let Some(&(t, _, _)) = r.get(self.replay_next) {
                    let t = self.replay_time(t);
                    if self.horizon().is_none_or(|h| t < h) {
                        self.queue.push(t.max(now), Ev::Replay);
                    }
                }
            }
            (Stop::Duration { ns, .. }, None) => {
                let t = self.gens[model].next(now);
                if t < ns {
                    self.queue.push(t, Ev::Arrive(model as u32));
                }
            }
            (Stop::Requests { n }, None) => {
                if self.arrived_total < n {
                    let t = self.gens[model].next(now);
                    self.queue.push(t, Ev::Arrive(model as u32));
                }
            }
        }
        let batch = replay_batch.unwrap_or_else(|| {
            self.setup.models[model]
                .batch
                .sample(&mut self.batch_rngs[model])
        });
        let slo = self.setup.models[model].slo_ns;
        let counted = now >= self.config.warmup_ns;
        let id = self.next_id;
        self.next_id += 1;
        let slab = self.alloc(Req {
            id,
            model: model as u32,
            batch,
            arrival: now,
            deadline: now + slo,
            predicted: 0,
            service: 0,
            counted,
        });
        if counted {
            self.stats[model].arrived += 1;
            self.recorder.arrival(model);
            self.bin(model, now, 0);
        }
        if self.observe {
            observer.observe(Observed::Arrival {
                t: now,
                req: id,
                model,
                batch,
            });
        }
        let request = Request {
            id,
            model,
            batch,
            arrival_ns: now,
            deadline_ns: now + slo,
        };
        self.scratch_choices.clear();
        let decision = {
            let view = View {
                now,
                instances: &self.insts,
                by_model: &self.by_model,
            };
            let choices = if self.observe {
                Some(&mut self.scratch_choices)
            } else {
                None
            };
            scheduler.dispatch(&view, &request, choices)
        };
        match decision {
            Decision::Enqueue { instance } => {
                assert!(
                    self.insts
                        .get(instance as usize)
                        .is_some_and(|i| i.model == model),
                    "scheduler {} sent a {} request to instance {instance}, which does not serve it (seed {})",
                    scheduler.name(),
                    self.setup.models[model].name,
                    self.config.seed
                );
                self.enqueue(slab, instance, observer);
                self.try_start(instance, observer);
            }
            Decision::Hold => self.central[model].push_back(slab),
        }
    }

    fn enqueue(&mut self, slab: u32, instance: u32, observer: &mut dyn Observer) {
        let inst = &mut self.insts[instance as usize];
        let r = &mut self.reqs[slab as usize];
        r.predicted = inst.predicted_service(r.batch);
        inst.queue.push_back(slab);
        inst.queued_samples += u64::from(r.batch);
        inst.queued_predicted += r.predicted;
        if self.observe {
            let slack = r.deadline as i64 - self.now as i64;
            observer.observe(Observed::Dispatch {
                t: self.now,
                req: r.id,
                instance,
                slack_ns: slack,
                choices: &self.scratch_choices,
            });
        }
    }

    /// Starts batches on free slots of an instance while it has work that may start.
    fn try_start(&mut self, i: u32, observer: &mut dyn Observer) {
        let now = self.now;
        loop {
            let inst = &self.insts[i as usize];
            if inst.free_slots == 0 {
                return;
            }
            // Held requests of the model fill what the free slots can take now.
            let m = inst.model;
            while self.insts[i as usize].accepts() {
                let Some(slab) = self.central[m].pop_front() else {
                    break;
                };
                self.scratch_choices.clear();
                self.enqueue(slab, i, observer);
            }
            if self.insts[i as usize].queue.is_empty() {
                return;
            }
            // Drop requests that can no longer make their deadline.
            if self.config.drop_expired {
                let head = *self.insts[i as usize].queue.front().expect("non-empty");
                if self.reqs[head as usize].deadline < now {
                    self.dequeue_front(i);
                    self.drop_request(head, observer);
                    continue;
                }
            }
            let inst = &self.insts[i as usize];
            // How many queued requests form the batch.
            self.scratch_batch.clear();
            match self.config.mode {
                ServingMode::Prebatched => {
                    self.scratch_batch
                        .push(*inst.queue.front().expect("non-empty"));
                }
                ServingMode::Dynamic { max_queue_delay_ns } => {
                    let head = *inst.queue.front().expect("non-empty");
                    let full = inst.queued_samples >= u64::from(inst.max_batch);
                    let preferred = self
                        .config
                        .preferred_batches
                        .iter()
                        .copied()
                        .filter(|&p| p <= inst.max_batch && u64::from(p) <= inst.queued_samples)
                        .max();
                    let waited = now - self.reqs[head as usize].arrival;
                    if !full
                        && preferred.is_none()
                        && max_queue_delay_ns > 0
                        && waited < max_queue_delay_ns
                    {
                        let at = self.reqs[head as usize].arrival + max_queue_delay_ns;
                        if self.insts[i as usize].timer_at != Some(at) {
                            self.insts[i as usize].timer_at = Some(at);
                            self.queue.push(at, Ev::Timer(i));
                        }
                        return;
                    }
                    let cap = if full {
                        inst.max_batch
                    } else {
                        preferred.unwrap_or(inst.max_batch)
                    };
                    let mut samples = 0u32;
                    for &slab in &inst.queue {
                        let b = self.reqs[slab as usize].batch;
                        if !self.scratch_batch.is_empty() && samples + b > cap {
                            break;
                        }
                        samples += b;
                        self.scratch_batch.push(slab);
                    }
                }
            }
            for _ in 0..self.scratch_batch.len() {
                self.dequeue_front(i);
            }
            self.start_batch(i, observer);
        }
    }

    fn dequeue_front(&mut self, i: u32) {
        let inst = &mut self.insts[i as usize];
        let slab = inst.queue.pop_front().expect("non-empty");
        let r = &self.reqs[slab as usize];
        inst.queued_samples -= u64::from(r.batch);
        inst.queued_predicted -= r.predicted;
    }

    fn start_batch(&mut self, i: u32, observer: &mut dyn Observer) {
        let now = self.now;
        let samples: u32 = self
            .scratch_batch
            .iter()
            .map(|&s| self.reqs[s as usize].batch)
            .sum();
        let inst = &mut self.insts[i as usize];
        let slot = inst.slot_busy.iter().position(|b| !b).expect("a free slot") as u32;
        let predicted = inst.predicted_service(samples);
        let factor = match self.config.noise {
            Noise::None => 1.0,
            Noise::Exponential => self.noise_rng.exponential(1.0),
            Noise::LogNormal { cv } => {
                let s2 = (1.0 + cv * cv).ln();
                (s2.sqrt() * self.noise_rng.normal() - s2 / 2.0).exp()
            }
        };
        let service = ((predicted as f64) * factor).round().max(1.0) as u64;
        inst.free_slots -= 1;
        inst.slot_busy[slot as usize] = true;
        inst.slot_predicted_end[slot as usize] = now + predicted;
        let members = &mut inst.slot_members[slot as usize];
        members.clear();
        members.extend_from_slice(&self.scratch_batch);
        inst.busy_ns += service;
        inst.batches += 1;
        inst.samples += u64::from(samples);
        for &s in &self.scratch_batch {
            let r = &mut self.reqs[s as usize];
            r.service = service;
            if r.counted {
                self.stats[r.model as usize].queue.record(now - r.arrival);
            }
        }
        self.queue.push(now + service, Ev::Finish(i, slot));
        if self.observe {
            self.scratch_ids.clear();
            self.scratch_ids
                .extend(self.scratch_batch.iter().map(|&s| self.reqs[s as usize].id));
            observer.observe(Observed::Start {
                t: now,
                instance: i,
                slot,
                members: &self.scratch_ids,
                batch: samples,
                service_ns: service,
            });
        }
    }

    fn on_finish(&mut self, i: u32, slot: u32, observer: &mut dyn Observer) {
        let now = self.now;
        let members = std::mem::take(&mut self.insts[i as usize].slot_members[slot as usize]);
        if self.observe {
            self.scratch_ids.clear();
            self.scratch_ids
                .extend(members.iter().map(|&s| self.reqs[s as usize].id));
            observer.observe(Observed::Finish {
                t: now,
                instance: i,
                slot,
                members: &self.scratch_ids,
            });
        }
        for &s in &members {
            let r = self.reqs[s as usize];
            self.completed_total += 1;
            if r.counted {
                let m = r.model as usize;
                let st = &mut self.stats[m];
                let latency = now - r.arrival;
                st.completed += 1;
                st.samples += u64::from(r.batch);
                st.service_sum_ns += u128::from(r.service);
                st.latency.record(latency);
                self.recorder
                    .finished(m, latency, now <= r.deadline, r.batch);
                if now <= r.deadline {
                    st.slo_met += 1;
                    self.bin(m, now, 2);
                }
                self.bin(m, now, 1);
            }
            self.release(s);
        }
        let inst = &mut self.insts[i as usize];
        inst.slot_members[slot as usize] = members;
        inst.slot_busy[slot as usize] = false;
        inst.free_slots += 1;
        self.try_start(i, observer);
    }

    fn drop_request(&mut self, slab: u32, observer: &mut dyn Observer) {
        let r = self.reqs[slab as usize];
        self.dropped_total += 1;
        if r.counted {
            self.stats[r.model as usize].dropped += 1;
            self.recorder.dropped(r.model as usize);
            self.bin(r.model as usize, self.now, 3);
        }
        if self.observe {
            observer.observe(Observed::Drop {
                t: self.now,
                req: r.id,
            });
        }
        self.release(slab);
    }

    fn report(self, scheduler: &mut dyn Scheduler, end: u64) -> SimReport {
        let metrics = self
            .recorder
            .metrics(end.saturating_sub(self.config.warmup_ns));
        let duration_ns = end.saturating_sub(self.config.warmup_ns).max(1);
        let secs = Ns(duration_ns).s();
        let mut latency = Histogram::new();
        let mut queue = Histogram::new();
        let mut per_model = Vec::new();
        let (mut arrived, mut completed, mut dropped, mut met, mut samples) = (0, 0, 0, 0, 0);
        for (m, st) in self.stats.iter().enumerate() {
            latency.merge(&st.latency);
            queue.merge(&st.queue);
            arrived += st.arrived;
            completed += st.completed;
            dropped += st.dropped;
            met += st.slo_met;
            samples += st.samples;
            per_model.push(ModelReport {
                model: self.setup.models[m].name.clone(),
                slo_ms: Ns(self.setup.models[m].slo_ns).ms(),
                rate_rps: self.setup.models[m].rate_rps * self.config.load,
                requests: st.arrived,
                completed: st.completed,
                dropped: st.dropped,
                slo_attainment: metrics.models[&self.setup.models[m].name]
                    .slo_attainment
                    .unwrap_or(1.0),
                throughput_rps: st.completed as f64 / secs,
                goodput_rps: st.slo_met as f64 / secs,
                latency_ms: st.latency.percentiles_ms(),
                queue_ms: st.queue.percentiles_ms(),
                service_ms_mean: if st.completed == 0 {
                    0.0
                } else {
                    ns_to_ms(st.service_sum_ns as f64 / st.completed as f64)
                },
                time_series: self.config.time_series.then(|| {
                    self.series[m]
                        .iter()
                        .enumerate()
                        .map(|(s, c)| SeriesPoint {
                            second: s as u64,
                            arrived: c[0],
                            completed: c[1],
                            slo_met: c[2],
                            dropped: c[3],
                        })
                        .collect()
                }),
            });
        }
        let per_instance = self
            .insts
            .iter()
            .zip(&self.setup.servers)
            .enumerate()
            .map(|(i, (inst, spec))| InstanceReport {
                instance: i as u32,
                gpu: spec.gpu,
                profile: spec.profile.clone(),
                start: spec.start,
                model: self.setup.models[spec.model].name.clone(),
                slots: spec.slots,
                max_batch: spec.max_batch,
                batches: inst.batches,
                mean_batch: if inst.batches == 0 {
                    0.0
                } else {
                    inst.samples as f64 / inst.batches as f64
                },
                utilization: inst.busy_ns as f64 / (f64::from(spec.slots) * end.max(1) as f64),
            })
            .collect();

        SimReport {
            scheduler: scheduler.name().to_string(),
            parameters: scheduler.parameters(),
            // A dynamic batcher that waits for fuller batches idles slots on purpose.
            work_conserving: scheduler.work_conserving()
                && !matches!(
                    self.config.mode,
                    ServingMode::Dynamic { max_queue_delay_ns } if max_queue_delay_ns > 0
                ),
            seed: self.config.seed,
            load: self.config.load,
            duration_s: secs,
            end_ns: end,
            requests: arrived,
            completed,
            dropped,
            in_flight: self.live,
            arrived_total: self.arrived_total,
            completed_total: self.completed_total,
            dropped_total: self.dropped_total,
            slo_attainment: metrics.overall.slo_attainment.unwrap_or(1.0),
            throughput_rps: completed as f64 / secs,
            goodput_rps: met as f64 / secs,
            samples_per_second: samples as f64 / secs,
            latency_ms: latency.percentiles_ms(),
            queue_ms: queue.percentiles_ms(),
            per_model,
            per_instance,
            events: self.events,
            metrics,
        }
    }
}
