//! Simulator events as trace records (`migsched-trace/1`, documented in
//! `migsched_core::trace`): the conversion the binary's trace writer uses, and an in-memory
//! recorder for tests and tools that check traces without files.

use migsched_core::Ns;
use migsched_core::{
    BATCHING_DYNAMIC, BATCHING_PREBATCHED, Event, TRACE_FORMAT, TraceEvent, TraceHeader,
    TraceInstance, TraceModel,
};

use crate::engine::{Observed, Observer, ServingMode, SimConfig, Stop};
use crate::report::SimReport;
use crate::setup::SimSetup;

/// One simulator event as a trace record; `models` are the setup's model names by index.
pub fn trace_event(event: Observed<'_>, models: &[String]) -> TraceEvent {
    let (t, event) = match event {
        Observed::Arrival {
            t,
            req,
            model,
            batch,
        } => (
            t,
            Event::Arrival {
                req,
                model: models[model].clone(),
                batch,
            },
        ),
        Observed::Dispatch {
            t,
            req,
            instance,
            slack_ns,
            choices,
        } => (
            t,
            Event::Dispatch {
                req,
                instance,
                slack_ns: Some(slack_ns),
                choices: (!choices.is_empty()).then(|| choices.to_vec()),
            },
        ),
        Observed::Start {
            t,
            instance,
            slot,
            members,
            batch,
            service_ns,
        } => (
            t,
            Event::Start {
                instance,
                slot,
                members: members.to_vec(),
                batch,
                service_ns,
                slack_ns: None,
                node: None,
            },
        ),
        Observed::Finish {
            t,
            instance,
            slot,
            members,
        } => (
            t,
            Event::Finish {
                instance,
                slot,
                members: members.to_vec(),
                node: None,
            },
        ),
        Observed::Drop { t, req } => (t, Event::Drop { req }),
    };
    TraceEvent { t, event }
}

/// The header of a simulation's trace.
pub fn trace_header(setup: &SimSetup, config: &SimConfig, report: &SimReport) -> TraceHeader {
    TraceHeader {
        format: TRACE_FORMAT.to_string(),
        scheduler: report.scheduler.clone(),
        parameters: report.parameters.clone(),
        seed: Some(report.seed),
        duration_ns: report.end_ns,
        warmup_ns: (config.warmup_ns > 0).then_some(config.warmup_ns),
        instances: setup
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| TraceInstance {
                instance: i as u32,
                gpu: s.gpu,
                profile: s.profile.clone(),
                start: s.start,
                model: setup.models[s.model].name.clone(),
                slots: s.slots,
                max_batch: s.max_batch,
                service_ns: Some(
                    (1..=s.max_batch)
                        .map(|b| s.predicted_service_ns(b))
                        .collect(),
                ),
            })
            .collect(),
        models: setup
            .models
            .iter()
            .map(|m| TraceModel {
                model: m.name.clone(),
                slo_ms: Ns(m.slo_ns).ms(),
            })
            .collect(),
        work_conserving: report.work_conserving,
        batching: Some(
            match config.mode {
                ServingMode::Prebatched => BATCHING_PREBATCHED,
                ServingMode::Dynamic { .. } => BATCHING_DYNAMIC,
            }
            .to_string(),
        ),
        drained: Some(!matches!(config.stop, Stop::Duration { drain: false, .. })),
        nodes: None,
    }
}

/// An observer that keeps the trace in memory.
#[derive(Debug, Clone, Default)]
pub struct TraceRecorder {
    models: Vec<String>,
    /// The events so far, in order.
    pub events: Vec<TraceEvent>,
}

impl TraceRecorder {
    /// A recorder for a run of `setup`.
    pub fn new(setup: &SimSetup) -> TraceRecorder {
        TraceRecorder {
            models: setup.models.iter().map(|m| m.name.clone()).collect(),
            events: Vec::new(),
        }
    }

    /// The whole trace as JSON lines: `header`, then every event.
    pub fn to_jsonl(&self, header: &TraceHeader) -> String {
        let mut out = serde_json::to_string(header).expect("a header serializes");
        out.push('\n');
        for e in &self.events {
            out.push_str(&serde_json::to_string(e).expect("an event serializes"));
            out.push('\n');
        }
        out
    }
}

impl Observer for TraceRecorder {
    fn enabled(&self) -> bool {
        true
    }
    fn observe(&mut self, event: Observed<'_>) {
        self.events.push(trace_event(event, &self.models));
    }
}
