//! The checker of node-level traces: a model run on one instance as its sequence of graph
//! nodes, one kernel (`start`/`finish` with `node`) per node and batch, as migsched's
//! node-level simulator (serial, graph and lazy batching) writes them. `check_trace` hands a
//! trace here when its header carries a node table or any event names a node.
//!
//! Rules, on top of **clock**, **causality**, **service-time**, **ends-once**, **early-drop**,
//! **instance**, **work-conservation** and **metrics** as for whole-model traces:
//! - **node-order**: every request runs the nodes `0, 1, …, n−1` in order, each once, and is
//!   finished by the kernel of its last node; `n` is the length of the header's node table
//!   (without one, the largest node index seen plus one);
//! - **node-batch**: a kernel batches only requests that are all at its node; under the `lazy`
//!   scheduler it runs one whole group (see below);
//! - **batch-limit**: a kernel has members, `batch` equals their number (node-level requests
//!   are one sample each), at most the instance's `max_batch`;
//! - **service-time**: with a node table, a kernel's `service_ns` is the table's latency of
//!   its node at its batch; every kernel finishes `service_ns` after it starts;
//! - **node-slack** (scheduler `lazy`, with a node table): the slack rule at every merge.
//!
//! **The slack rule, re-derived.** At a kernel start, the requests waiting on the instance
//! form groups: at each node past 0, every request there (they ran their last kernel
//! together or merged there); at node 0, the waiting requests in arrival order in chunks of
//! `max_batch` (so every node-0 group but the newest is full). The default order is node
//! descending, node-0 chunks oldest first. A kernel of the first group needs no permission.
//! Any other kernel is a catch-up: its group `c` (node `k`, `b` requests) must be at a node
//! behind the first group, and the nearest group ahead of it, `h` (node `k_h`, `b_h`), must
//! have room for it (`b + b_h ≤ max_batch`). From the node table, `R(k, b)` is the time of
//! nodes `k..n` at batch `b`. The **default plan** runs the groups one after another to the
//! end in default order, each at its own size; the **catch-up plan** first runs `c` alone
//! through nodes `k..k_h`, then the same order with `c` removed and `h` run at `b + b_h`. A
//! request's predicted slack is its deadline (arrival + SLO) minus its predicted finish.
//! Violated when some request with a non-negative slack under the default plan has a negative
//! one under the catch-up plan. A kernel's recorded `slack_ns`, when present, must equal the
//! smallest predicted slack of its members under the plan that ran.

use std::collections::{BTreeMap, BTreeSet};

use migsched_core::{Event, TraceEvent};

use crate::metrics::{Outcome, check_reported, metrics_of};
use crate::trace::{Trace, TraceOptions, TraceReport, slo_ns};
use crate::violation::{Location, Rule, Violation, format_ns};

/// Whether `trace` is node-level: its header has a node table or an event names a node.
pub fn is_node_trace(trace: &Trace) -> bool {
    trace.header.nodes.is_some() || trace.events.iter().any(|(_, e)| e.node().is_some())
}

struct Req {
    arrival: u64,
    line: usize,
    deadline: Option<u64>,
    /// The next node it runs.
    progress: u32,
    end: Option<Result<u64, u64>>,
}

struct Kernel {
    node: u32,
    members: Vec<u64>,
    start: u64,
    service: u64,
}

struct Checker<'t> {
    trace: &'t Trace,
    out: Vec<Violation>,
    reqs: BTreeMap<u64, Req>,
    /// Waiting requests (arrived, not ended, not in the running kernel) by their next node.
    at_node: BTreeMap<u32, BTreeSet<u64>>,
    running: Option<Kernel>,
    nodes: Option<u32>,
    max_batch: u32,
    lazy: bool,
}

/// A group of waiting requests: its node and members.
struct Group {
    node: u32,
    members: Vec<u64>,
}

impl Checker<'_> {
    fn at(&self, line: usize, t: u64, req: Option<u64>) -> Location {
        Location {
            line: Some(line),
            time_ns: Some(t),
            request: req,
            instance: Some("instance 0".into()),
            ..Location::none()
        }
    }

    fn push(&mut self, rule: Rule, at: Location, message: String) {
        self.out.push(Violation::new(rule, at, message));
    }

    fn table(&self, node: u32, batch: u32) -> Option<u64> {
        let t = self.trace.header.nodes.as_ref()?;
        t.get(node as usize)?
            .latency_ns
            .get((batch as usize).checked_sub(1)?)
            .copied()
    }

    /// Time of nodes `node..` at `batch`, from the table.
    fn remaining(&self, node: u32, batch: u32) -> Option<u64> {
        (node..self.nodes?).map(|k| self.table(k, batch)).sum()
    }

    fn deadline(&self, r: u64) -> i128 {
        self.reqs
            .get(&r)
            .and_then(|q| q.deadline)
            .map_or(i128::MAX / 4, i128::from)
    }

    /// The waiting requests as groups in default order.
    fn groups(&self) -> Vec<Group> {
        let mut out = Vec::new();
        for (&node, set) in self.at_node.iter().rev() {
            if set.is_empty() {
                continue;
            }
            if node > 0 {
                out.push(Group {
                    node,
                    members: set.iter().copied().collect(),
                });
            } else {
                let mut zero: Vec<u64> = set.iter().copied().collect();
                zero.sort_by_key(|r| (self.reqs[r].arrival, *r));
                for chunk in zero.chunks(self.max_batch.max(1) as usize) {
                    out.push(Group {
                        node: 0,
                        members: chunk.to_vec(),
                    });
                }
            }
        }
        out
    }

    /// Predicted finish of each group when `order` ((group, node, size)) runs from `t`.
    fn plan(&self, order: &[(usize, u32, u32)], mut t: i128) -> Option<BTreeMap<usize, i128>> {
        let mut out = BTreeMap::new();
        for &(g, node, size) in order {
            t += i128::from(self.remaining(node, size)?);
            out.insert(g, t);
        }
        Some(out)
    }

    /// The slack rule at a lazy kernel start of `members` at node `k` (nothing running yet).
    fn slack_rule(&mut self, line: usize, ev: &TraceEvent, k: u32, members: &[u64]) {
        let t = ev.t;
        let groups = self.groups();
        let Some(c) = groups
            .iter()
            .position(|g| g.node == k && g.members == members)
        else {
            let at = self.at(line, t, members.first().copied());
            self.push(
                Rule::NodeBatch,
                at,
                format!(
                    "the lazy kernel of {members:?} at node {k} is not one whole group (all \
                     waiting requests at a node past 0, or an arrival-order chunk of {} at \
                     node 0)",
                    self.max_batch
                ),
            );
            return;
        };
        let b = members.len() as u32;
        let default_order: Vec<(usize, u32, u32)> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (i, g.node, g.members.len() as u32))
            .collect();
        let now = i128::from(t);
        let Some(default) = self.plan(&default_order, now) else {
            return;
        };
        let deadlines: Vec<i128> = members.iter().map(|&r| self.deadline(r)).collect();
        let min_slack = |finish: i128| deadlines.iter().map(|d| d - finish).min().unwrap_or(0);
        if c == 0 {
            self.recorded(line, ev, min_slack(default[&0]), "the default plan");
            return;
        }
        let at = self.at(line, t, members.first().copied());
        // The nearest group ahead: the one at the smallest node past k.
        let Some(h) = groups.iter().rposition(|g| g.node > k) else {
            self.push(
                Rule::NodeSlack,
                at,
                format!(
                    "{members:?} at node {k} runs before the older group {:?} at the same node \
                     without catching up with anything",
                    groups[0].members
                ),
            );
            return;
        };
        let (kh, bh) = (groups[h].node, groups[h].members.len() as u32);
        if b + bh > self.max_batch {
            self.push(
                Rule::NodeSlack,
                at,
                format!(
                    "{members:?} at node {k} overtakes the group of {bh} at node {kh} that it \
                     cannot merge with ({b} + {bh} > max batch {})",
                    self.max_batch
                ),
            );
            return;
        }
        let (Some(rk), Some(rkh)) = (self.remaining(k, b), self.remaining(kh, b)) else {
            return;
        };
        let alone = i128::from(rk) - i128::from(rkh);
        let mut order = Vec::new();
        for &(i, node, size) in &default_order {
            if i == c {
                continue;
            }
            order.push(if i == h {
                (i, node, size + b)
            } else {
                (i, node, size)
            });
        }
        let Some(mut catch_up) = self.plan(&order, now + alone) else {
            return;
        };
        catch_up.insert(c, catch_up[&h]);
        let mut broken = Vec::new();
        for (i, g) in groups.iter().enumerate() {
            for &r in &g.members {
                let before = self.deadline(r) - default[&i];
                let after = self.deadline(r) - catch_up[&i];
                if before >= 0 && after < 0 {
                    broken.push((r, before, after));
                }
            }
        }
        if let Some(&(r, before, after)) = broken.first() {
            self.push(
                Rule::NodeSlack,
                at.with_request(r),
                format!(
                    "{members:?} at node {k} catches up with the group of {bh} at node {kh}, \
                     but request {r}'s predicted slack drops from {} to -{} ({} request(s) \
                     turned from a predicted hit into a predicted miss)",
                    format_ns(before as u64),
                    format_ns((-after) as u64),
                    broken.len()
                ),
            );
        }
        self.recorded(line, ev, min_slack(catch_up[&c]), "the catch-up plan");
    }

    fn recorded(&mut self, line: usize, ev: &TraceEvent, predicted: i128, plan: &str) {
        if let Event::Start {
            slack_ns: Some(s), ..
        } = ev.event
        {
            if i128::from(s) != predicted {
                let at = self.at(line, ev.t, None);
                self.push(
                    Rule::NodeSlack,
                    at,
                    format!(
                        "recorded slack {s} ns, but {plan} predicts {predicted} ns for the \
                         kernel's members"
                    ),
                );
            }
        }
    }

    fn arrival(&mut self, line: usize, ev: &TraceEvent) {
        let Event::Arrival { req, model, batch } = &ev.event else {
            return;
        };
        let (r, model, batch) = (*req, model.as_str(), *batch);
        let header = &self.trace.header;
        let at = self.at(line, ev.t, Some(r));
        if self.reqs.contains_key(&r) {
            self.push(Rule::Causality, at, "arrives a second time".into());
            return;
        }
        if !header.instances.iter().any(|i| i.model == model) {
            self.push(
                Rule::Instance,
                at.clone(),
                format!("model '{model}' is not served by the trace's instance"),
            );
        }
        if batch != 1 {
            self.push(
                Rule::BatchLimit,
                at,
                format!("a request of {batch} samples; node-level requests are one sample"),
            );
        }
        let deadline = header
            .models
            .iter()
            .find(|m| m.model == model)
            .map(|m| ev.t + slo_ns(m.slo_ms));
        self.reqs.insert(
            r,
            Req {
                arrival: ev.t,
                line,
                deadline,
                progress: 0,
                end: None,
            },
        );
        self.at_node.entry(0).or_default().insert(r);
    }

    fn start(&mut self, line: usize, ev: &TraceEvent) {
        let Event::Start {
            instance,
            slot,
            members,
            batch,
            service_ns,
            node,
            ..
        } = &ev.event
        else {
            return;
        };
        let (t, instance, slot, batch, service_ns) = (ev.t, *instance, *slot, *batch, *service_ns);
        let members = members.clone();
        let at = self.at(line, t, members.first().copied());
        let Some(k) = *node else {
            self.push(
                Rule::NodeOrder,
                at,
                "a kernel without a node in a node-level trace".into(),
            );
            return;
        };
        if instance != 0 || slot != 0 {
            self.push(
                Rule::Instance,
                at.clone(),
                format!(
                    "instance {instance} slot {slot}; a node-level trace runs on instance 0, slot 0"
                ),
            );
        }
        if let Some(r) = &self.running {
            self.push(
                Rule::OneBatchPerSlot,
                at.clone(),
                format!(
                    "starts node {k} while the kernel of node {} started at {} runs",
                    r.node,
                    format_ns(r.start)
                ),
            );
            return;
        }
        let b = members.len() as u32;
        let distinct: BTreeSet<u64> = members.iter().copied().collect();
        if b == 0 || distinct.len() != members.len() {
            self.push(
                Rule::BatchLimit,
                at,
                "a kernel without members or with a member twice".into(),
            );
            return;
        }
        if batch != b || b > self.max_batch {
            self.push(
                Rule::BatchLimit,
                at.clone(),
                format!(
                    "batch {batch} of {b} members (max batch {})",
                    self.max_batch
                ),
            );
        }
        if let Some(n) = self.nodes {
            if k >= n {
                self.push(
                    Rule::NodeOrder,
                    at.clone(),
                    format!("node {k} of a model with {n} nodes"),
                );
                return;
            }
        }
        let service = service_ns;
        if let Some(expected) = self.table(k, b) {
            if expected != service {
                self.push(
                    Rule::ServiceTime,
                    at.clone(),
                    format!("service {service} ns, the node table gives {expected} ns for node {k} at batch {b}"),
                );
            }
        } else if self.trace.header.nodes.is_some() {
            self.push(
                Rule::ServiceTime,
                at.clone(),
                format!("the node table has no latency of node {k} at batch {b}"),
            );
        }
        let mut progress = BTreeSet::new();
        let mut ok = true;
        for &r in &members {
            match self.reqs.get(&r) {
                None => {
                    self.push(
                        Rule::Causality,
                        at.with_request(r),
                        "runs before it arrived".into(),
                    );
                    ok = false;
                }
                Some(q) if q.end.is_some() => {
                    self.push(
                        Rule::Causality,
                        at.with_request(r),
                        "runs after it ended".into(),
                    );
                    ok = false;
                }
                Some(q) => {
                    progress.insert(q.progress);
                    if q.progress != k {
                        let p = q.progress;
                        self.push(
                            Rule::NodeOrder,
                            at.with_request(r),
                            format!("runs node {k} while its next node is {p}"),
                        );
                        ok = false;
                    }
                }
            }
        }
        if progress.len() > 1 {
            self.push(
                Rule::NodeBatch,
                at.clone(),
                format!("one kernel merges requests at nodes {progress:?}"),
            );
        }
        if ok && self.lazy && self.trace.header.nodes.is_some() {
            self.slack_rule(line, ev, k, &members);
        }
        for r in &members {
            if let Some(q) = self.reqs.get(r) {
                if let Some(s) = self.at_node.get_mut(&q.progress) {
                    s.remove(r);
                }
            }
        }
        self.running = Some(Kernel {
            node: k,
            members,
            start: t,
            service,
        });
    }

    fn finish(&mut self, line: usize, ev: &TraceEvent) {
        let Event::Finish { members, node, .. } = &ev.event else {
            return;
        };
        let t = ev.t;
        let at = self.at(line, t, None);
        let Some(kernel) = self.running.take() else {
            self.push(Rule::Causality, at, "a finish while no kernel runs".into());
            return;
        };
        if *node != Some(kernel.node) || *members != kernel.members {
            self.push(
                Rule::Causality,
                at.clone(),
                format!(
                    "finishes node {node:?} of {members:?}, but the running kernel is node {} of {:?}",
                    kernel.node, kernel.members
                ),
            );
        }
        if t != kernel.start + kernel.service {
            self.push(
                Rule::ServiceTime,
                at,
                format!(
                    "finishes at {}, its start plus its service is {}",
                    format_ns(t),
                    format_ns(kernel.start + kernel.service)
                ),
            );
        }
        for r in kernel.members {
            let Some(q) = self.reqs.get_mut(&r) else {
                continue;
            };
            if q.end.is_some() {
                continue;
            }
            q.progress = kernel.node + 1;
            if Some(q.progress) == self.nodes {
                q.end = Some(Ok(t));
            } else {
                self.at_node.entry(q.progress).or_default().insert(r);
            }
        }
    }

    fn drop_event(&mut self, line: usize, ev: &TraceEvent) {
        let Event::Drop { req: r } = ev.event else {
            return;
        };
        let at = self.at(line, ev.t, Some(r));
        let running = self
            .running
            .as_ref()
            .is_some_and(|k| k.members.contains(&r));
        let Some(q) = self.reqs.get_mut(&r) else {
            self.push(Rule::Causality, at, "dropped before it arrived".into());
            return;
        };
        if q.end.is_some() || running || q.progress > 0 {
            self.push(
                Rule::EndsOnce,
                at,
                "dropped after it started or ended".into(),
            );
            return;
        }
        q.end = Some(Err(ev.t));
        let early = q.deadline.is_some_and(|d| ev.t < d);
        if let Some(s) = self.at_node.get_mut(&0) {
            s.remove(&r);
        }
        if early {
            self.push(
                Rule::EarlyDrop,
                at,
                "dropped before its deadline passed".into(),
            );
        }
    }

    fn work_conservation(&mut self, t: u64, line: usize, idle: &mut bool) {
        let waiting = self.at_node.values().flatten().next().copied();
        match (waiting, &self.running) {
            (Some(r), None) if !*idle => {
                *idle = true;
                let at = self.at(line, t, Some(r));
                self.push(
                    Rule::WorkConservation,
                    at,
                    format!(
                        "the instance is idle while request {r} waits; the scheduler claims \
                         work conservation"
                    ),
                );
            }
            (Some(_), None) => {}
            _ => *idle = false,
        }
    }
}

/// Checks a node-level trace (see the module documentation).
pub fn check_node_trace(trace: &Trace, options: &TraceOptions<'_>) -> TraceReport {
    let header = &trace.header;
    let mut not_checked = Vec::new();
    let table_nodes = header.nodes.as_ref().map(|n| n.len() as u32);
    let nodes = table_nodes.or_else(|| {
        not_checked.push(
            "node latencies and the slack rule: the header carries no node table; the node \
             count is taken as the largest node seen plus one"
                .into(),
        );
        trace
            .events
            .iter()
            .filter_map(|(_, e)| e.node())
            .max()
            .map(|m| m + 1)
    });
    let mut c = Checker {
        trace,
        out: Vec::new(),
        reqs: BTreeMap::new(),
        at_node: BTreeMap::new(),
        running: None,
        nodes,
        max_batch: header.instances.first().map_or(0, |i| i.max_batch),
        lazy: header.scheduler.eq_ignore_ascii_case("lazy"),
    };
    let header_at = Location {
        line: Some(1),
        ..Location::none()
    };
    if header.instances.len() != 1 || header.instances[0].slots != 1 {
        c.push(
            Rule::Instance,
            header_at.clone(),
            format!(
                "a node-level trace has one instance with one slot; the header has {} \
                 instance(s)",
                header.instances.len()
            ),
        );
    }
    if let Some(table) = &header.nodes {
        for (i, n) in table.iter().enumerate() {
            if (n.latency_ns.len() as u32) < c.max_batch || n.latency_ns.contains(&0) {
                c.push(
                    Rule::Instance,
                    header_at.clone(),
                    format!(
                        "node {i} ('{}') needs a positive latency for every batch up to the \
                         max batch {}",
                        n.name, c.max_batch
                    ),
                );
            }
        }
    }
    if c.lazy && header.nodes.is_none() {
        not_checked.push("the slack rule: no node table in the header".into());
    }
    let mut prev_t: Option<u64> = None;
    let mut last_line = 1;
    let mut idle = false;
    for (line, ev) in &trace.events {
        let (line, t) = (*line, ev.t);
        if let Some(p) = prev_t {
            if header.work_conserving && t != p {
                c.work_conservation(p, last_line, &mut idle);
            }
        }
        for msg in crate::trace::clock_problems(prev_t, t, header.duration_ns) {
            let at = c.at(line, t, None);
            c.push(Rule::Clock, at, msg);
        }
        prev_t = Some(prev_t.map_or(t, |p| p.max(t)));
        last_line = line;
        match ev.event {
            Event::Arrival { .. } => c.arrival(line, ev),
            Event::Dispatch { req: r, .. } => {
                if !c.reqs.contains_key(&r) {
                    let at = c.at(line, t, Some(r));
                    c.push(Rule::Causality, at, "dispatched before it arrived".into());
                }
            }
            Event::Start { .. } => c.start(line, ev),
            Event::Finish { .. } => c.finish(line, ev),
            Event::Drop { .. } => c.drop_event(line, ev),
        }
    }
    if header.work_conserving {
        if let Some(p) = prev_t {
            c.work_conservation(p, last_line, &mut idle);
        }
    }
    let end_t = prev_t.unwrap_or(0);
    let model = header.instances.first().map_or("", |i| i.model.as_str());
    let mut outcomes = Vec::new();
    let mut never = Vec::new();
    for (&id, r) in &c.reqs {
        let outcome = match r.end {
            Some(Ok(f)) => Outcome::Finished {
                latency_ns: f - r.arrival,
                met: r.deadline.is_some_and(|d| f <= d),
            },
            Some(Err(_)) => Outcome::Dropped,
            None => {
                never.push(Violation::new(
                    Rule::EndsOnce,
                    Location {
                        line: Some(r.line),
                        time_ns: Some(end_t),
                        request: Some(id),
                        ..Location::none()
                    },
                    format!(
                        "arrived at {} and did not finish its {} nodes by the end of the trace \
                         (next node {})",
                        format_ns(r.arrival),
                        nodes.unwrap_or(0),
                        r.progress
                    ),
                ));
                Outcome::Unfinished
            }
        };
        outcomes.push((1, outcome));
    }
    c.out.extend(never);
    let metrics = metrics_of(&outcomes, header.duration_ns);
    let models = BTreeMap::from([(model.to_string(), metrics.clone())]);
    check_reported(
        &metrics,
        &models,
        options.metrics,
        &mut c.out,
        &mut not_checked,
    );
    if options.plan.is_some() {
        not_checked.push("instances against a plan: a node-level trace has no plan".into());
    }
    TraceReport {
        violations: c.out,
        events: trace.events.len(),
        metrics,
        models,
        elsa_replayed: 0,
        not_checked,
    }
}
