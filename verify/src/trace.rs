//! The trace checker: reads a JSON-lines event trace (`migsched-trace/1`, documented in
//! `migsched_core::trace`, from migsched's simulator or any other system) and re-derives
//! every invariant from the events alone.
//!
//! Rules (each violation names the line, time, GPU, instance and request involved):
//! - **clock**: times never decrease, and no event lies past the header's `duration_ns`;
//! - **causality**: a request is dispatched after it arrived, starts after its dispatch (to
//!   the instance that starts it), and finishes after it started; events name requests,
//!   instances and running batches that exist at that point;
//! - **one-batch-per-slot**: a slot runs one batch at a time and exists on its instance;
//! - **batch-limit**: a batch has members, its `batch` equals their samples, and is at most
//!   the instance's `max_batch`;
//! - **service-time**: a batch finishes exactly `service_ns` after it started;
//! - **ends-once**: every request ends exactly once, finished or dropped (at most once when
//!   the header says `drained: false`: the run stopped with requests in flight);
//! - **early-drop**: a request is dropped only once its deadline (arrival + SLO) has passed
//!   and only before it started;
//! - **instance**: only instances of the header (and of the plan, with one) are used, each
//!   for requests of its own model; the header agrees with the plan (model, slots ≤ the
//!   plan's processes, max batch ≤ the plan's batch, SLOs);
//! - **work-conservation** (when the header claims it): after the events of each instant,
//!   no instance has an idle slot while a request it may serve waits. A request waits from
//!   its arrival until it starts or is dropped; an instance may serve it when the request was
//!   dispatched to that instance, or is not yet dispatched and the instance serves its model,
//!   and its batch fits the instance's `max_batch`. Each idle episode is reported once;
//! - **elsa-decision** and **elsa-state** (scheduler `elsa`): see [`crate::elsa`] for the
//!   replayed rule. At each dispatch the checker also reconstructs each candidate's predicted
//!   wait: the predicted service of every request queued on it (dispatched, not yet started
//!   or dropped; each request's prediction is its dispatch's `service_ns` for the instance
//!   it went to) plus, for every batch running on it, the part of its members' predicted
//!   service not yet elapsed (`max(0, start + Σ predicted − now)`), divided by the
//!   instance's slots; and the slack `deadline − now`. Both must match the trace's numbers
//!   within [`crate::elsa::TOLERANCE_NS`]. With `batching: dynamic` the queued samples count
//!   as full batches of `max_batch` and one remainder, each at the header's `service_ns`
//!   table, and a running batch's prediction is the table's entry for its samples. The
//!   choices must be a prefix of the visiting order (ELSA stops at the first instance that
//!   qualifies), the whole order when none does. When the header publishes `service_ns`, each
//!   choice's predicted service must be the table's entry for the request's batch;
//! - **metrics**: reported metrics (see [`crate::metrics`]) equal the recomputed ones.
//!
//! Node-level traces (LazyBatching and its baselines) are checked by [`crate::node`].

use migsched_core::Ns;
use std::collections::{BTreeMap, BTreeSet};

use migsched_core::{
    BATCHING_DYNAMIC, BATCHING_PREBATCHED, Event, EventKind, Plan, TRACE_FORMAT, TraceChoice,
    TraceEvent, TraceHeader, TraceInstance,
};
use serde::Serialize;

use crate::elsa::{ElsaParams, TOLERANCE_NS, compute_slices_of, replay};
use crate::error::InputError;
use crate::metrics::{Metrics, Outcome, ReportedMetrics, check_reported, metrics_of};
use crate::plan::{FIGURE_TOLERANCE, close, fmt_num};
use crate::violation::{Location, Rule, Violation, format_ns};

/// A trace read from its text: the header and every event with its line number.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The first line.
    pub header: TraceHeader,
    /// (line, event), in file order.
    pub events: Vec<(usize, TraceEvent)>,
}

/// Reads a trace. Fails on an empty file, a line that is not JSON or not of the format, a
/// header of another format, an event without a field its kind needs, and a header that
/// names one instance id or model twice (the events would be ambiguous). Blank lines are
/// skipped.
pub fn read_trace(text: &str, origin: &str) -> Result<Trace, InputError> {
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hline, htext)) = lines.next() else {
        return Err(InputError::new(
            origin,
            "the file is empty; a trace starts with a header line of format migsched-trace/1",
        ));
    };
    let header: TraceHeader = serde_json::from_str(htext)
        .map_err(|e| InputError::at_line(origin, hline, format!("not a trace header: {e}")))?;
    if header.format != TRACE_FORMAT {
        return Err(InputError::at_line(
            origin,
            hline,
            format!("format '{}' is not {TRACE_FORMAT}", header.format),
        )
        .with_field("format"));
    }
    let mut ids = BTreeSet::new();
    for i in &header.instances {
        if !ids.insert(i.instance) {
            return Err(InputError::at_line(
                origin,
                hline,
                format!("instance id {} appears twice", i.instance),
            )
            .with_field("instances"));
        }
    }
    if let Some(b) = header.batching.as_deref() {
        if b != BATCHING_PREBATCHED && b != BATCHING_DYNAMIC {
            return Err(InputError::at_line(
                origin,
                hline,
                format!(
                    "batching '{b}' is neither '{BATCHING_PREBATCHED}' nor '{BATCHING_DYNAMIC}'"
                ),
            )
            .with_field("batching"));
        }
    }
    for i in &header.instances {
        if let Some(table) = &i.service_ns {
            if table.len() != i.max_batch as usize {
                return Err(InputError::at_line(
                    origin,
                    hline,
                    format!(
                        "instance {} publishes {} predicted service times, but its max_batch \
                         is {} (one per batch size 1..=max_batch)",
                        i.instance,
                        table.len(),
                        i.max_batch
                    ),
                )
                .with_field("service_ns"));
            }
        }
    }
    let mut names = BTreeSet::new();
    for m in &header.models {
        if !names.insert(m.model.as_str()) {
            return Err(InputError::at_line(
                origin,
                hline,
                format!("model '{}' appears twice", m.model),
            )
            .with_field("models"));
        }
    }
    let mut events = Vec::new();
    for (line, text) in lines {
        let ev: TraceEvent = serde_json::from_str(text)
            .map_err(|e| InputError::at_line(origin, line, format!("not a trace event: {e}")))?;
        events.push((line, ev));
    }
    Ok(Trace { header, events })
}

/// The **clock** rule for an event at `t`: no earlier than the latest time before it
/// (`prev`), and not past the trace's end. Shared by the request- and node-level checkers.
pub(crate) fn clock_problems(prev: Option<u64>, t: u64, end: u64) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(p) = prev.filter(|&p| t < p) {
        out.push(format!(
            "time goes back from {} to {}",
            format_ns(p),
            format_ns(t)
        ));
    }
    if t > end {
        out.push(format!(
            "the event lies past the trace's end ({})",
            format_ns(end)
        ));
    }
    out
}

/// What a trace is checked against, besides its own header.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceOptions<'a> {
    /// The plan the run served: every instance must be one of its instances.
    pub plan: Option<&'a Plan>,
    /// Metrics the system reported for the run.
    pub metrics: Option<&'a ReportedMetrics>,
}

/// The checker's answer for one trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TraceReport {
    /// Every violation, in trace order.
    pub violations: Vec<Violation>,
    /// Events read.
    pub events: usize,
    /// Recomputed metrics of the whole run.
    pub metrics: Metrics,
    /// Recomputed metrics per model.
    pub models: BTreeMap<String, Metrics>,
    /// ELSA dispatches replayed.
    pub elsa_replayed: usize,
    /// What this run could not check, and why.
    pub not_checked: Vec<String>,
}

impl TraceReport {
    /// Whether no rule is violated.
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

#[derive(Debug, Clone)]
struct Running {
    members: Vec<u64>,
    start: u64,
    service: u64,
    line: usize,
}

struct Inst<'h> {
    hdr: &'h TraceInstance,
    slots: Vec<Vec<Running>>,
    queued: BTreeSet<u64>,
    idle_episode: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    Finished(u64),
    Dropped(u64),
}

struct Req {
    arrival: u64,
    line: usize,
    model: String,
    batch: u32,
    deadline: Option<u64>,
    dispatch: Option<(u32, u64)>,
    predicted: Option<u64>,
    started: Option<u64>,
    end: Option<End>,
}

/// An SLO in ms as whole nanoseconds.
pub fn slo_ns(slo_ms: f64) -> u64 {
    Ns::from_ms(slo_ms).get()
}

struct Checker<'t> {
    header: &'t TraceHeader,
    insts: BTreeMap<u32, Inst<'t>>,
    by_model: BTreeMap<&'t str, Vec<u32>>,
    slo: BTreeMap<&'t str, u64>,
    reqs: BTreeMap<u64, Req>,
    undispatched: BTreeMap<String, BTreeSet<u64>>,
    out: Vec<Violation>,
    elsa: Option<ElsaParams>,
    elsa_replayed: usize,
    unpredicted: bool,
    /// Some ELSA choice's predicted service could not be checked (no published table).
    unpredicted_service: bool,
    /// Batching is dynamic: queued samples form batches of up to `max_batch`.
    dynamic: bool,
}

/// The predicted service of `batch` samples on an instance, from the table its header
/// publishes (`None` without one, or past its max batch).
fn table_service(hdr: &TraceInstance, batch: u64) -> Option<u64> {
    let table = hdr.service_ns.as_ref()?;
    if batch == 0 {
        return Some(0);
    }
    table.get(usize::try_from(batch).ok()? - 1).copied()
}

impl<'t> Checker<'t> {
    fn inst_label(&self, id: u32) -> (Option<u32>, String) {
        match self.insts.get(&id) {
            Some(i) => (
                Some(i.hdr.gpu),
                format!("instance {id} ({}@{})", i.hdr.profile, i.hdr.start),
            ),
            None => (None, format!("instance {id}")),
        }
    }

    fn at(&self, line: usize, t: u64, instance: Option<u32>, req: Option<u64>) -> Location {
        let mut loc = Location {
            line: Some(line),
            time_ns: Some(t),
            request: req,
            ..Location::none()
        };
        if let Some(id) = instance {
            let (gpu, label) = self.inst_label(id);
            loc.gpu = gpu;
            loc.instance = Some(label);
        }
        loc
    }

    fn push(&mut self, rule: Rule, at: Location, message: String) {
        self.out.push(Violation::new(rule, at, message));
    }

    fn predicted_wait(&self, id: u32, now: u64) -> Option<(f64, String)> {
        let inst = self.insts.get(&id)?;
        let mut work: u64 = 0;
        if self.dynamic {
            // Queued samples run as full batches of max_batch and one remainder.
            let mut samples: u64 = 0;
            for r in &inst.queued {
                samples += u64::from(self.reqs.get(r)?.batch);
            }
            let max = u64::from(inst.hdr.max_batch.max(1));
            work += (samples / max) * table_service(inst.hdr, max)?
                + table_service(inst.hdr, samples % max)?;
        } else {
            for r in &inst.queued {
                work += self.reqs.get(r)?.predicted?;
            }
        }
        let mut running = 0;
        for batch in inst.slots.iter().flatten() {
            let samples: u64 = batch
                .members
                .iter()
                .filter_map(|m| self.reqs.get(m))
                .map(|r| u64::from(r.batch))
                .sum();
            let pred = match table_service(inst.hdr, samples) {
                Some(p) => p,
                None => {
                    let mut pred: u64 = 0;
                    for m in &batch.members {
                        pred += self.reqs.get(m)?.predicted?;
                    }
                    pred
                }
            };
            work += (batch.start + pred).saturating_sub(now);
            running += 1;
        }
        let slots = inst.hdr.slots.max(1);
        Some((
            work as f64 / f64::from(slots),
            format!(
                "{} of predicted work ({} queued, {running} running) over {slots} slot(s)",
                format_ns(work),
                inst.queued.len()
            ),
        ))
    }

    fn waiting_for(&self, id: u32) -> Option<u64> {
        let inst = self.insts.get(&id)?;
        let fits = |r: &u64| {
            self.reqs
                .get(r)
                .is_some_and(|q| q.batch <= inst.hdr.max_batch)
        };
        inst.queued.iter().find(|r| fits(r)).copied().or_else(|| {
            self.undispatched
                .get(&inst.hdr.model)
                .and_then(|s| s.iter().find(|r| fits(r)).copied())
        })
    }

    fn work_conservation(&mut self, t: u64, line: usize, dirty: &mut BTreeSet<u32>) {
        let ids: Vec<u32> = self
            .insts
            .iter()
            .filter(|(id, i)| i.idle_episode || dirty.contains(id))
            .map(|(id, _)| *id)
            .collect();
        dirty.clear();
        for id in ids {
            let idle = self.insts[&id]
                .slots
                .iter()
                .filter(|s| s.is_empty())
                .count();
            let waiting = if idle > 0 { self.waiting_for(id) } else { None };
            let inst = self.insts.get_mut(&id).expect("listed above");
            match waiting {
                Some(r) if !inst.idle_episode => {
                    inst.idle_episode = true;
                    let since = self.reqs.get(&r).map_or(0, |q| q.arrival);
                    let at = self.at(line, t, Some(id), Some(r));
                    self.push(
                        Rule::WorkConservation,
                        at,
                        format!(
                            "{idle} slot(s) idle while request {r} (arrived at {}) waits for \
                             this instance; the scheduler claims work conservation",
                            format_ns(since)
                        ),
                    );
                }
                Some(_) => {}
                None => inst.idle_episode = false,
            }
        }
    }
}

/// Checks a trace; see the module documentation for every rule.
pub fn check_trace(trace: &Trace, options: &TraceOptions<'_>) -> TraceReport {
    if crate::node::is_node_trace(trace) {
        return crate::node::check_node_trace(trace, options); // node-level: see crate::node
    }
    let header = &trace.header;
    let mut not_checked = Vec::new();
    let elsa = header.scheduler.eq_ignore_ascii_case("elsa").then(|| {
        let get = |name: &str| {
            header
                .parameters
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        };
        let d = ElsaParams::default();
        for (name, v) in [("alpha", d.alpha), ("beta", d.beta)] {
            if get(name).is_none() {
                not_checked.push(format!(
                    "the header has no ELSA parameter '{name}'; replayed with the default {v}"
                ));
            }
        }
        ElsaParams {
            alpha: get("alpha").unwrap_or(d.alpha),
            beta: get("beta").unwrap_or(d.beta),
        }
    });
    let mut c = Checker {
        header,
        insts: header
            .instances
            .iter()
            .map(|i| {
                (
                    i.instance,
                    Inst {
                        hdr: i,
                        slots: vec![Vec::new(); i.slots as usize],
                        queued: BTreeSet::new(),
                        idle_episode: false,
                    },
                )
            })
            .collect(),
        by_model: BTreeMap::new(),
        slo: header
            .models
            .iter()
            .map(|m| (m.model.as_str(), slo_ns(m.slo_ms)))
            .collect(),
        reqs: BTreeMap::new(),
        undispatched: BTreeMap::new(),
        out: Vec::new(),
        elsa,
        elsa_replayed: 0,
        unpredicted: false,
        unpredicted_service: false,
        dynamic: header.batching.as_deref() == Some(BATCHING_DYNAMIC),
    };
    for i in &header.instances {
        c.by_model
            .entry(i.model.as_str())
            .or_default()
            .push(i.instance);
    }
    check_header(&mut c, options.plan);

    let mut prev_t: Option<u64> = None;
    let mut last_line = 1;
    let mut dirty: BTreeSet<u32> = BTreeSet::new();
    for (line, ev) in &trace.events {
        let (line, t) = (*line, ev.t);
        if header.work_conserving {
            if let Some(p) = prev_t {
                if t != p {
                    c.work_conservation(p, last_line, &mut dirty);
                }
            }
        }
        for msg in clock_problems(prev_t, t, header.duration_ns) {
            let at = c.at(line, t, None, None);
            c.push(Rule::Clock, at, msg);
        }
        prev_t = Some(prev_t.map_or(t, |p| p.max(t)));
        last_line = line;
        match ev.kind() {
            EventKind::Arrival => arrival(&mut c, line, ev, &mut dirty),
            EventKind::Dispatch => dispatch(&mut c, line, ev, &mut dirty),
            EventKind::Start => start(&mut c, line, ev),
            EventKind::Finish => finish(&mut c, line, ev, &mut dirty),
            EventKind::Drop => drop_event(&mut c, line, ev),
        }
    }
    if header.work_conserving {
        if let Some(p) = prev_t {
            c.work_conservation(p, last_line, &mut dirty);
        }
    }

    // Every request ends exactly once.
    let end_t = prev_t.unwrap_or(0);
    let mut outcomes: Vec<(u32, Outcome)> = Vec::new();
    // Every model of the header has metrics, requests or not.
    let mut per_model: BTreeMap<String, Vec<(u32, Outcome)>> = header
        .models
        .iter()
        .map(|m| (m.model.clone(), Vec::new()))
        .collect();
    let warmup = header.warmup_ns.unwrap_or(0);
    let mut never: Vec<Violation> = Vec::new();
    let mut in_flight_at_end = 0usize;
    for (&id, r) in &c.reqs {
        let outcome = match r.end {
            Some(End::Finished(f)) => {
                let latency_ns = f.saturating_sub(r.arrival);
                Outcome::Finished {
                    latency_ns,
                    met: r.deadline.is_some_and(|d| f <= d),
                }
            }
            Some(End::Dropped(_)) => Outcome::Dropped,
            None if header.drained == Some(false) => {
                // Arrivals stopped at the end of the run; what was in flight stays so.
                in_flight_at_end += 1;
                Outcome::Unfinished
            }
            None => {
                let state = match (r.started, r.dispatch) {
                    (Some(s), _) => format!("started at {} and never finished", format_ns(s)),
                    (None, Some((i, _))) => format!("still queued on instance {i}"),
                    (None, None) => "never dispatched".to_string(),
                };
                never.push(Violation::new(
                    Rule::EndsOnce,
                    Location {
                        line: Some(r.line),
                        time_ns: Some(end_t),
                        request: Some(id),
                        ..Location::none()
                    },
                    format!(
                        "arrived at {} and neither finished nor was dropped by the end of the \
                         trace: {state}",
                        format_ns(r.arrival)
                    ),
                ));
                Outcome::Unfinished
            }
        };
        // The metrics count requests that arrived after the warm-up.
        if r.arrival < warmup {
            continue;
        }
        outcomes.push((r.batch, outcome));
        per_model
            .entry(r.model.clone())
            .or_default()
            .push((r.batch, outcome));
    }
    c.out.extend(never);
    let measured = header.duration_ns.saturating_sub(warmup);
    let metrics = metrics_of(&outcomes, measured);
    let models: BTreeMap<String, Metrics> = per_model
        .into_iter()
        .map(|(m, o)| (m, metrics_of(&o, measured)))
        .collect();
    check_reported(
        &metrics,
        &models,
        options.metrics,
        &mut c.out,
        &mut not_checked,
    );
    if in_flight_at_end > 0 {
        not_checked.push(format!(
            "the ends of {in_flight_at_end} request(s) in flight when the run stopped (the header \
             says drained: false)"
        ));
    }
    if c.unpredicted {
        not_checked.push(
            "some ELSA waits: a request queued or running there carries no prediction".into(),
        );
    }
    if c.unpredicted_service {
        not_checked.push(
            "some of ELSA's predicted service times (service_ns of a choice): the header \
             publishes no service_ns table for that instance"
                .into(),
        );
    }
    if options.plan.is_none() {
        not_checked.push("instances against a plan: no plan given (--plan)".into());
    }
    TraceReport {
        violations: c.out,
        events: trace.events.len(),
        metrics,
        models,
        elsa_replayed: c.elsa_replayed,
        not_checked,
    }
}

fn check_header(c: &mut Checker<'_>, plan: Option<&Plan>) {
    let header = c.header;
    for i in &header.instances {
        let at = c.at(1, 0, Some(i.instance), None);
        if !c.slo.contains_key(i.model.as_str()) {
            c.push(
                Rule::Instance,
                at.clone(),
                format!(
                    "serves '{}', which the header's models do not list",
                    i.model
                ),
            );
        }
        if i.slots == 0 {
            c.push(Rule::Instance, at.clone(), "has no slots".into());
        }
        if i.max_batch == 0 {
            c.push(Rule::Instance, at.clone(), "has a max batch of 0".into());
        }
    }
    let Some(plan) = plan else { return };
    let mut seen: BTreeMap<(u32, String, u8), u32> = BTreeMap::new();
    for i in &header.instances {
        let at = c.at(1, 0, Some(i.instance), None);
        let key = (i.gpu, i.profile.to_ascii_lowercase(), i.start);
        if let Some(other) = seen.insert(key, i.instance) {
            c.push(
                Rule::Instance,
                at.clone(),
                format!(
                    "instances {other} and {} are the same GPU instance of the plan",
                    i.instance
                ),
            );
        }
        let found = plan.mig_gpus().find(|g| g.index == i.gpu).and_then(|g| {
            g.instances
                .iter()
                .find(|p| p.profile.eq_ignore_ascii_case(&i.profile) && p.start == i.start)
        });
        let Some(p) = found else {
            c.push(
                Rule::Instance,
                at,
                format!("the plan has no {}@{} on GPU {}", i.profile, i.start, i.gpu),
            );
            continue;
        };
        if p.model.as_deref() != Some(i.model.as_str()) {
            c.push(
                Rule::Instance,
                at.clone(),
                format!(
                    "serves '{}', but the plan has it {}",
                    i.model,
                    p.model
                        .as_deref()
                        .map_or("idle".to_string(), |m| format!("serving '{m}'"))
                ),
            );
        }
        if let Some(procs) = p.procs {
            if i.slots > procs {
                c.push(
                    Rule::Instance,
                    at.clone(),
                    format!(
                        "has {} slots, but the plan runs {procs} process(es)",
                        i.slots
                    ),
                );
            }
        }
        if let Some(batch) = p.batch {
            if i.max_batch > batch {
                c.push(
                    Rule::Instance,
                    at.clone(),
                    format!(
                        "allows batches of {}, but the plan's batch is {batch}",
                        i.max_batch
                    ),
                );
            }
        }
    }
    for m in &header.models {
        match plan.models.iter().find(|s| s.model == m.model) {
            None => c.push(
                Rule::Instance,
                Location::none().with_model(&m.model),
                "the trace serves a model the plan does not list".into(),
            ),
            Some(s) if !close(s.slo_ms, m.slo_ms, FIGURE_TOLERANCE) => c.push(
                Rule::Instance,
                Location::none().with_model(&m.model),
                format!(
                    "the trace's SLO is {} ms, the plan's {} ms",
                    fmt_num(m.slo_ms),
                    fmt_num(s.slo_ms)
                ),
            ),
            Some(_) => {}
        }
    }
}

fn arrival(c: &mut Checker<'_>, line: usize, ev: &TraceEvent, dirty: &mut BTreeSet<u32>) {
    let Event::Arrival { req, model, batch } = &ev.event else {
        return;
    };
    let (req, t, model, batch) = (*req, ev.t, model.clone(), *batch);
    let at = c.at(line, t, None, Some(req)).with_model(&model);
    if let Some(first) = c.reqs.get(&req) {
        let msg = format!("arrives again (first at line {})", first.line);
        c.push(Rule::Causality, at, msg);
        return;
    }
    let deadline = c.slo.get(model.as_str()).map(|s| t + s);
    if deadline.is_none() {
        c.push(
            Rule::Instance,
            at.clone(),
            format!("model '{model}' is not among the header's models"),
        );
    }
    if batch == 0 {
        c.push(Rule::BatchLimit, at, "a request of 0 samples".into());
    }
    for id in c.by_model.get(model.as_str()).into_iter().flatten() {
        dirty.insert(*id);
    }
    c.undispatched.entry(model.clone()).or_default().insert(req);
    c.reqs.insert(
        req,
        Req {
            arrival: t,
            line,
            model,
            batch,
            deadline,
            dispatch: None,
            predicted: None,
            started: None,
            end: None,
        },
    );
}

fn dispatch(c: &mut Checker<'_>, line: usize, ev: &TraceEvent, dirty: &mut BTreeSet<u32>) {
    let Event::Dispatch { req, instance, .. } = ev.event else {
        return;
    };
    let (req, t, id) = (req, ev.t, instance);
    let at = c.at(line, t, Some(id), Some(req));
    let Some(r) = c.reqs.get(&req) else {
        c.push(
            Rule::Causality,
            at,
            "dispatched, but the request has not arrived".into(),
        );
        return;
    };
    let (model, arrival, end, started, dispatched) =
        (r.model.clone(), r.arrival, r.end, r.started, r.dispatch);
    if t < arrival {
        c.push(
            Rule::Causality,
            at.clone(),
            format!("dispatched before it arrived at {}", format_ns(arrival)),
        );
    }
    if let Some((other, when)) = dispatched {
        c.push(
            Rule::Causality,
            at.clone(),
            format!(
                "dispatched again (already to instance {other} at {})",
                format_ns(when)
            ),
        );
        return;
    }
    if end.is_some() || started.is_some() {
        c.push(
            Rule::Causality,
            at.clone(),
            "dispatched after it started or ended".into(),
        );
        return;
    }
    let Some(inst) = c.insts.get(&id) else {
        c.push(
            Rule::Instance,
            at,
            format!("instance {id} is not in the trace's header"),
        );
        return;
    };
    if inst.hdr.model != model {
        let msg = format!(
            "a request for '{model}' is sent to an instance serving '{}'",
            inst.hdr.model
        );
        c.push(Rule::Instance, at.clone(), msg);
    }
    // ELSA: replay the decision from the state before this request joins a queue.
    let mut predicted = None;
    if let Some(params) = c.elsa {
        predicted = elsa_dispatch(c, line, ev, &model, params);
    }
    if let Some(set) = c.undispatched.get_mut(&model) {
        set.remove(&req);
    }
    if let Some(inst) = c.insts.get_mut(&id) {
        inst.queued.insert(req);
    }
    dirty.insert(id);
    if let Some(r) = c.reqs.get_mut(&req) {
        r.dispatch = Some((id, t));
        r.predicted = predicted;
    }
}

/// Checks one ELSA dispatch; returns the request's predicted service on the chosen instance.
fn elsa_dispatch(
    c: &mut Checker<'_>,
    line: usize,
    ev: &TraceEvent,
    model: &str,
    params: ElsaParams,
) -> Option<u64> {
    let Event::Dispatch {
        req,
        instance: id,
        slack_ns,
        choices,
    } = &ev.event
    else {
        return None;
    };
    let (req, t, id) = (*req, ev.t, *id);
    let at = c.at(line, t, Some(id), Some(req));
    let (Some(slack), Some(choices)) = (*slack_ns, choices.as_ref()) else {
        c.push(
            Rule::ElsaDecision,
            at,
            "an ELSA dispatch without slack_ns and choices cannot be replayed".into(),
        );
        return None;
    };
    c.elsa_replayed += 1;
    // The slack.
    if let Some(deadline) = c.reqs.get(&req).and_then(|r| r.deadline) {
        let expected = deadline as i128 - t as i128;
        if (i128::from(slack) - expected).abs() as f64 > TOLERANCE_NS {
            c.push(
                Rule::ElsaState,
                at.clone(),
                format!(
                    "slack_ns is {slack}, but deadline − now is {expected} ns (arrival + SLO = {})",
                    format_ns(deadline)
                ),
            );
        }
    }
    // The visiting order: the model's instances, smallest partition first, ties by id.
    let mut expected: Vec<(u8, u32)> = c
        .by_model
        .get(model)
        .into_iter()
        .flatten()
        .map(|&i| {
            let g = compute_slices_of(&c.insts[&i].hdr.profile).unwrap_or(u8::MAX);
            (g, i)
        })
        .collect();
    expected.sort_unstable();
    let order: Vec<u32> = expected.iter().map(|&(_, i)| i).collect();
    // ELSA stops at the first instance that qualifies, so the choices are a prefix of the
    // visiting order: the whole order when none qualifies.
    let given: Vec<u32> = choices.iter().map(|ch| ch.instance).collect();
    if given.is_empty() || !order.starts_with(&given) {
        c.push(
            Rule::ElsaDecision,
            at.clone(),
            format!(
                "choices visit instances [{}], but ELSA visits the model's instances smallest \
                 partition first: [{}] (stopping at the first that qualifies)",
                ids(&given),
                ids(&order)
            ),
        );
    }
    // The predicted services, against the table the header publishes.
    let batch = c.reqs.get(&req).map(|r| u64::from(r.batch));
    for ch in choices {
        let Some(inst) = c.insts.get(&ch.instance) else {
            continue;
        };
        if let Some(expected) = batch.and_then(|b| table_service(inst.hdr, b)) {
            if (ch.service_ns as f64 - expected as f64).abs() > TOLERANCE_NS {
                let at = c.at(line, t, Some(ch.instance), Some(req));
                c.push(
                    Rule::ElsaState,
                    at,
                    format!(
                        "the choice predicts a service of {}, but the header's service_ns \
                         table gives {} for a batch of {}",
                        format_ns(ch.service_ns),
                        format_ns(expected),
                        batch.unwrap_or_default()
                    ),
                );
            }
        } else if inst.hdr.service_ns.is_none() {
            c.unpredicted_service = true;
        }
    }
    // The predicted waits.
    for ch in choices {
        match c.predicted_wait(ch.instance, t) {
            Some((wait, how)) => {
                if (ch.wait_ns as f64 - wait).abs() > TOLERANCE_NS {
                    let at = c.at(line, t, Some(ch.instance), Some(req));
                    c.push(
                        Rule::ElsaState,
                        at,
                        format!(
                            "the choice predicts a wait of {}, but the queue holds {how}: {}",
                            format_ns(ch.wait_ns),
                            format_ns(wait.round() as u64)
                        ),
                    );
                }
            }
            None => c.unpredicted |= c.insts.contains_key(&ch.instance),
        }
    }
    // The decision, replayed in ELSA's visiting order over the numbers given.
    let mut ordered: Vec<TraceChoice> = choices.clone();
    ordered.sort_by_key(|ch| {
        order
            .iter()
            .position(|&i| i == ch.instance)
            .unwrap_or(usize::MAX)
    });
    if let Some(d) = replay(slack, &ordered, params) {
        if !d.qualified && given.len() < order.len() && order.starts_with(&given) {
            c.push(
                Rule::ElsaDecision,
                at.clone(),
                format!(
                    "no visited instance qualifies, yet the choices stop after [{}] of [{}]: \
                     ELSA falls back to the soonest completion only after visiting every \
                     instance",
                    ids(&given),
                    ids(&order)
                ),
            );
        }
        if !d.acceptable.contains(&id) {
            c.push(
                Rule::ElsaDecision,
                at,
                format!(
                    "dispatched to instance {id}, but ELSA chooses instance {}: {}",
                    d.chosen, d.why
                ),
            );
        }
    }
    choices
        .iter()
        .find(|ch| ch.instance == id)
        .map(|ch| ch.service_ns)
}

fn ids(xs: &[u32]) -> String {
    xs.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
}

fn start(c: &mut Checker<'_>, line: usize, ev: &TraceEvent) {
    let Event::Start {
        instance: id,
        slot,
        members,
        batch,
        service_ns: service,
        ..
    } = &ev.event
    else {
        return;
    };
    let (t, id, slot, batch, service) = (ev.t, *id, *slot, *batch, *service);
    let members = members.clone();
    let at = c.at(line, t, Some(id), None);
    let Some(inst) = c.insts.get(&id) else {
        c.push(
            Rule::Instance,
            at,
            format!("instance {id} is not in the trace's header"),
        );
        return;
    };
    let (slots, max_batch, inst_model) =
        (inst.hdr.slots, inst.hdr.max_batch, inst.hdr.model.clone());
    if slot >= slots {
        c.push(
            Rule::OneBatchPerSlot,
            at,
            format!("slot {slot} does not exist; the instance has {slots} slot(s)"),
        );
        return;
    }
    if let Some(busy) = c.insts[&id].slots[slot as usize].first() {
        let msg = format!(
            "slot {slot} starts a batch while the batch started at {} (line {}) runs until {}",
            format_ns(busy.start),
            busy.line,
            format_ns(busy.start + busy.service)
        );
        c.push(Rule::OneBatchPerSlot, at.clone(), msg);
    }
    if members.is_empty() {
        c.push(
            Rule::BatchLimit,
            at.clone(),
            "a batch without members".into(),
        );
    }
    if batch > max_batch {
        c.push(
            Rule::BatchLimit,
            at.clone(),
            format!("a batch of {batch} samples, but the instance's max batch is {max_batch}"),
        );
    }
    let mut samples: u64 = 0;
    let mut seen = BTreeSet::new();
    for &m in &members {
        let at = c.at(line, t, Some(id), Some(m));
        if !seen.insert(m) {
            c.push(Rule::BatchLimit, at, "listed twice in one batch".into());
            continue;
        }
        let Some(r) = c.reqs.get(&m) else {
            c.push(
                Rule::Causality,
                at,
                "starts, but the request has not arrived".into(),
            );
            continue;
        };
        samples += u64::from(r.batch);
        let (model, dispatch, started, end) = (r.model.clone(), r.dispatch, r.started, r.end);
        if model != inst_model {
            c.push(
                Rule::Instance,
                at.clone(),
                format!("a request for '{model}' runs on an instance serving '{inst_model}'"),
            );
        }
        match dispatch {
            None => c.push(
                Rule::Causality,
                at.clone(),
                "starts without a dispatch".into(),
            ),
            Some((to, _)) if to != id => c.push(
                Rule::Causality,
                at.clone(),
                format!("starts here, but was dispatched to instance {to}"),
            ),
            Some((_, when)) if when > t => c.push(
                Rule::Causality,
                at.clone(),
                format!("starts before its dispatch at {}", format_ns(when)),
            ),
            Some(_) => {}
        }
        if let Some(s) = started {
            c.push(
                Rule::Causality,
                at.clone(),
                format!("starts again (already started at {})", format_ns(s)),
            );
        } else if let Some(End::Dropped(d)) = end {
            c.push(
                Rule::Causality,
                at.clone(),
                format!("starts after it was dropped at {}", format_ns(d)),
            );
        }
        if let Some(r) = c.reqs.get_mut(&m) {
            if r.started.is_none() {
                r.started = Some(t);
            }
        }
        if let Some(set) = c.undispatched.get_mut(&model) {
            set.remove(&m);
        }
        if let Some(i) = dispatch.and_then(|(to, _)| c.insts.get_mut(&to)) {
            i.queued.remove(&m);
        }
    }
    if !members.is_empty() && samples != u64::from(batch) && seen.len() == members.len() {
        c.push(
            Rule::BatchLimit,
            at,
            format!("the batch says {batch} samples, but its members carry {samples}"),
        );
    }
    if let Some(inst) = c.insts.get_mut(&id) {
        inst.slots[slot as usize].push(Running {
            members,
            start: t,
            service,
            line,
        });
    }
}

fn finish(c: &mut Checker<'_>, line: usize, ev: &TraceEvent, dirty: &mut BTreeSet<u32>) {
    let Event::Finish {
        instance: id,
        slot,
        members,
        ..
    } = &ev.event
    else {
        return;
    };
    let (t, id, slot) = (ev.t, *id, *slot);
    let members = members.clone();
    let at = c.at(line, t, Some(id), None);
    let pos = c.insts.get(&id).and_then(|i| {
        i.slots
            .get(slot as usize)
            .and_then(|s| s.iter().position(|b| b.members == members))
    });
    let Some(pos) = pos else {
        c.push(
            Rule::Causality,
            at,
            format!(
                "finishes batch [{}] on slot {slot}, but no such batch runs there",
                members
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        return;
    };
    let batch = c.insts.get_mut(&id).expect("found above").slots[slot as usize].remove(pos);
    dirty.insert(id);
    if t != batch.start + batch.service {
        c.push(
            Rule::ServiceTime,
            at,
            format!(
                "finishes at {}, but the batch started at {} (line {}) with service_ns {} \
                 ends at {}",
                format_ns(t),
                format_ns(batch.start),
                batch.line,
                batch.service,
                format_ns(batch.start + batch.service)
            ),
        );
    }
    for m in members {
        let Some(r) = c.reqs.get_mut(&m) else {
            continue;
        };
        match r.end {
            None => r.end = Some(End::Finished(t)),
            Some(prev) => {
                let msg = match prev {
                    End::Finished(f) => format!("finishes again (already at {})", format_ns(f)),
                    End::Dropped(d) => format!("finishes, but was dropped at {}", format_ns(d)),
                };
                let at = c.at(line, t, Some(id), Some(m));
                c.push(Rule::EndsOnce, at, msg);
            }
        }
    }
}

fn drop_event(c: &mut Checker<'_>, line: usize, ev: &TraceEvent) {
    let Event::Drop { req } = ev.event else {
        return;
    };
    let t = ev.t;
    let at = c.at(line, t, None, Some(req));
    let Some(r) = c.reqs.get(&req) else {
        c.push(
            Rule::Causality,
            at,
            "dropped, but the request has not arrived".into(),
        );
        return;
    };
    let (end, started, deadline, model, dispatch) =
        (r.end, r.started, r.deadline, r.model.clone(), r.dispatch);
    if let Some(prev) = end {
        let msg = match prev {
            End::Finished(f) => format!("dropped, but it finished at {}", format_ns(f)),
            End::Dropped(d) => format!("dropped again (already at {})", format_ns(d)),
        };
        c.push(Rule::EndsOnce, at, msg);
        return;
    }
    if let Some(s) = started {
        c.push(
            Rule::EarlyDrop,
            at.clone(),
            format!("dropped after it started at {}", format_ns(s)),
        );
    }
    if let Some(d) = deadline {
        if t < d {
            c.push(
                Rule::EarlyDrop,
                at.clone(),
                format!(
                    "dropped before its deadline {} (arrival + SLO)",
                    format_ns(d)
                ),
            );
        }
    }
    if let Some(set) = c.undispatched.get_mut(&model) {
        set.remove(&req);
    }
    if let Some(i) = dispatch.and_then(|(to, _)| c.insts.get_mut(&to)) {
        i.queued.remove(&req);
    }
    if let Some(r) = c.reqs.get_mut(&req) {
        r.end = Some(End::Dropped(t));
    }
}
