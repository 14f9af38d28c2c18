//! Observers of a simulation that write files: the JSON-lines event trace (one streaming
//! writer for every simulator) and the per-request log.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use migsched_core::{TraceEvent, TraceHeader};
use migsched_out::{StreamWriter, TempGuard, check_output};
use migsched_sim::lazy::{NodeEvent, NodeObserver};
use migsched_sim::{Observed, Observer, SeriesPoint, SimReport, SimSetup, trace_event};

use crate::tables::{ColumnData, encode_table};

/// The one trace writer of every simulator: events stream to a temporary file beside the
/// destination as they happen (memory stays flat however long the run), tracked for removal
/// on SIGINT/SIGTERM; `finish` puts the header (which needs the end time) before the events in
/// a [`StreamWriter`], which the caller commits with its other outputs. A stream dropped
/// before `finish` (a failed run) leaves nothing behind.
pub struct TraceStream {
    path: PathBuf,
    tmp: TempGuard,
    out: BufWriter<File>,
    error: Option<std::io::Error>,
}

impl TraceStream {
    /// Checks `path` as a destination and opens the temporary events file beside it.
    pub fn create(path: &Path) -> Result<TraceStream> {
        check_output(path)?;
        let mut tmp = migsched_out::temp_path(path)?;
        tmp.set_extension("events");
        let guard = TempGuard::track(&tmp);
        let file = File::create(&tmp).with_context(|| format!("writing '{}'", path.display()))?;
        Ok(TraceStream {
            path: path.to_path_buf(),
            tmp: guard,
            out: BufWriter::with_capacity(1 << 20, file),
            error: None,
        })
    }

    /// Appends one event (the first write error is kept and reported by `finish`).
    pub fn write(&mut self, e: &TraceEvent) {
        if self.error.is_some() {
            return;
        }
        let out = &mut self.out;
        let r = serde_json::to_writer(&mut *out, e)
            .map_err(std::io::Error::other)
            .and_then(|_| out.write_all(b"\n"));
        if let Err(err) = r {
            self.error = Some(err);
        }
    }

    /// The whole trace, header first, staged in a [`StreamWriter`] (not yet in place).
    pub fn finish(mut self, header: &TraceHeader) -> Result<StreamWriter> {
        let shown = self.path.display().to_string();
        if let Some(e) = self.error.take() {
            return Err(e).with_context(|| format!("writing '{shown}'"));
        }
        self.out
            .flush()
            .with_context(|| format!("writing '{shown}'"))?;
        let mut w = StreamWriter::create(&self.path)?;
        serde_json::to_writer(&mut w, header).context("encoding the trace header")?;
        w.write_all(b"\n")?;
        let reader = BufReader::new(
            File::open(self.tmp.path()).with_context(|| format!("reading back '{shown}'"))?,
        );
        for line in reader.lines() {
            w.write_all(line?.as_bytes())?;
            w.write_all(b"\n")?;
        }
        // The events file goes with the guard.
        Ok(w)
    }
}

/// Writes a trace whose events are already in memory (the gpulet simulator's, which it logs
/// out of time order and sorts at the end) through the same stream.
pub fn write_trace(path: &Path, header: &TraceHeader, events: &[TraceEvent]) -> Result<()> {
    stage_trace(path, header, events)?.finish()
}

/// [`write_trace`], staged for a batch of outputs.
pub fn stage_trace(
    path: &Path,
    header: &TraceHeader,
    events: &[TraceEvent],
) -> Result<StreamWriter> {
    let mut stream = TraceStream::create(path)?;
    for e in events {
        stream.write(e);
    }
    stream.finish(header)
}

/// The request-level simulator's events, streamed as trace lines.
pub struct TraceWriter {
    stream: TraceStream,
    models: Vec<String>,
}

impl TraceWriter {
    /// Opens the stream of a run of `setup` towards `path`.
    pub fn create(path: &Path, setup: &SimSetup) -> Result<TraceWriter> {
        Ok(TraceWriter {
            stream: TraceStream::create(path)?,
            models: setup.models.iter().map(|m| m.name.clone()).collect(),
        })
    }

    /// The whole trace, header first, staged.
    pub fn finish(self, header: TraceHeader) -> Result<StreamWriter> {
        self.stream.finish(&header)
    }
}

impl Observer for TraceWriter {
    fn enabled(&self) -> bool {
        true
    }
    fn observe(&mut self, event: Observed<'_>) {
        let e = trace_event(event, &self.models);
        self.stream.write(&e);
    }
}

/// The node-level simulator's events, streamed as trace lines.
pub struct NodeTraceWriter {
    stream: TraceStream,
    model: String,
}

impl NodeTraceWriter {
    /// Opens the stream of a node-level run of `model` towards `path`.
    pub fn create(path: &Path, model: &str) -> Result<NodeTraceWriter> {
        Ok(NodeTraceWriter {
            stream: TraceStream::create(path)?,
            model: model.to_string(),
        })
    }

    /// The whole trace, header first, staged.
    pub fn finish(self, header: &TraceHeader) -> Result<StreamWriter> {
        self.stream.finish(header)
    }
}

impl NodeObserver for NodeTraceWriter {
    fn enabled(&self) -> bool {
        true
    }
    fn observe(&mut self, event: NodeEvent<'_>) {
        let e = event.to_trace(&self.model);
        self.stream.write(&e);
    }
}

#[derive(Debug, Clone)]
struct Pending {
    model: usize,
    batch: u32,
    arrival: u64,
    instance: Option<u32>,
    start: Option<u64>,
}

/// Collects one row per request (completed, dropped, or still in flight at the end).
#[derive(Default)]
pub struct RequestLog {
    pending: BTreeMap<u64, Pending>,
    done: Vec<(u64, Pending, u64, &'static str)>,
}

impl RequestLog {
    /// The log encoded for `path` (CSV or Parquet by extension), requests in id order.
    pub fn encode(mut self, path: &Path, models: &[String], end_ns: u64) -> Result<Vec<u8>> {
        for (id, p) in std::mem::take(&mut self.pending) {
            self.done.push((id, p, end_ns, "in-flight"));
        }
        self.done.sort_by_key(|d| d.0);
        let ms = |ns: u64| ns as f64 / 1e6;
        let d = &self.done;
        encode_table(
            path,
            &[
                ("request", ColumnData::U64(d.iter().map(|r| r.0).collect())),
                (
                    "model",
                    ColumnData::Str(d.iter().map(|r| models[r.1.model].clone()).collect()),
                ),
                (
                    "batch",
                    ColumnData::U64(d.iter().map(|r| u64::from(r.1.batch)).collect()),
                ),
                (
                    "instance",
                    ColumnData::Str(
                        d.iter()
                            .map(|r| r.1.instance.map_or(String::new(), |i| i.to_string()))
                            .collect(),
                    ),
                ),
                (
                    "arrival_ms",
                    ColumnData::F64(d.iter().map(|r| ms(r.1.arrival)).collect()),
                ),
                (
                    "start_ms",
                    ColumnData::OptF64(d.iter().map(|r| r.1.start.map(ms)).collect()),
                ),
                (
                    "end_ms",
                    ColumnData::F64(d.iter().map(|r| ms(r.2)).collect()),
                ),
                (
                    "latency_ms",
                    ColumnData::F64(d.iter().map(|r| ms(r.2 - r.1.arrival)).collect()),
                ),
                (
                    "outcome",
                    ColumnData::Str(d.iter().map(|r| r.3.to_string()).collect()),
                ),
            ],
        )
    }
}

impl Observer for RequestLog {
    fn enabled(&self) -> bool {
        true
    }
    fn observe(&mut self, event: Observed<'_>) {
        match event {
            Observed::Arrival {
                t,
                req,
                model,
                batch,
            } => {
                self.pending.insert(
                    req,
                    Pending {
                        model,
                        batch,
                        arrival: t,
                        instance: None,
                        start: None,
                    },
                );
            }
            Observed::Dispatch { req, instance, .. } => {
                if let Some(p) = self.pending.get_mut(&req) {
                    p.instance = Some(instance);
                }
            }
            Observed::Start { t, members, .. } => {
                for m in members {
                    if let Some(p) = self.pending.get_mut(m) {
                        p.start = Some(t);
                    }
                }
            }
            Observed::Finish { t, members, .. } => {
                for m in members {
                    if let Some(p) = self.pending.remove(m) {
                        self.done.push((*m, p, t, "completed"));
                    }
                }
            }
            Observed::Drop { t, req } => {
                if let Some(p) = self.pending.remove(&req) {
                    self.done.push((req, p, t, "dropped"));
                }
            }
        }
    }
}

/// Several observers as one.
pub struct Both<'a>(pub Vec<&'a mut dyn Observer>);

impl Observer for Both<'_> {
    fn enabled(&self) -> bool {
        self.0.iter().any(|o| o.enabled())
    }
    fn observe(&mut self, event: Observed<'_>) {
        for o in self.0.iter_mut() {
            o.observe(event);
        }
    }
}

/// A report's per-second series (model, second, arrived, completed, SLO met,
/// dropped) encoded as a table for `path` (CSV or Parquet by extension).
pub fn encode_series(path: &Path, report: &SimReport) -> Result<Vec<u8>> {
    let rows: Vec<(&str, &SeriesPoint)> = report
        .per_model
        .iter()
        .flat_map(|m| {
            m.time_series
                .iter()
                .flatten()
                .map(move |p| (m.model.as_str(), p))
        })
        .collect();
    encode_table(
        path,
        &[
            (
                "model",
                ColumnData::Str(rows.iter().map(|r| r.0.to_string()).collect()),
            ),
            (
                "second",
                ColumnData::U64(rows.iter().map(|r| r.1.second).collect()),
            ),
            (
                "arrived",
                ColumnData::U64(rows.iter().map(|r| r.1.arrived).collect()),
            ),
            (
                "completed",
                ColumnData::U64(rows.iter().map(|r| r.1.completed).collect()),
            ),
            (
                "slo_met",
                ColumnData::U64(rows.iter().map(|r| r.1.slo_met).collect()),
            ),
            (
                "dropped",
                ColumnData::U64(rows.iter().map(|r| r.1.dropped).collect()),
            ),
        ],
    )
}

#[cfg(test)]
mod tests {
    use migsched_core::{Event, TRACE_FORMAT, TraceHeader};

    use super::*;

    fn header() -> TraceHeader {
        TraceHeader {
            format: TRACE_FORMAT.to_string(),
            scheduler: "test".into(),
            parameters: Vec::new(),
            seed: Some(1),
            duration_ns: 10,
            instances: Vec::new(),
            models: Vec::new(),
            work_conserving: false,
            batching: None,
            drained: Some(true),
            warmup_ns: None,
            nodes: None,
        }
    }

    fn dir(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("migsched-observe-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_stream_writes_the_header_first_and_leaves_no_temporary_file() {
        let d = dir("finish");
        let path = d.join("t.jsonl");
        let events: Vec<TraceEvent> = (0..3)
            .map(|i| TraceEvent {
                t: i,
                event: Event::Drop { req: i },
            })
            .collect();
        write_trace(&path, &header(), &events).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[0].contains(TRACE_FORMAT), "{}", lines[0]);
        let back: TraceEvent = serde_json::from_str(lines[3]).unwrap();
        assert_eq!(back, events[2]);
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().collect();
        assert_eq!(left.len(), 1, "only the trace remains");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_stream_dropped_before_finish_leaves_nothing() {
        let d = dir("drop");
        let path = d.join("t.jsonl");
        let mut s = TraceStream::create(&path).unwrap();
        s.write(&TraceEvent {
            t: 0,
            event: Event::Drop { req: 0 },
        });
        drop(s);
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        let _ = std::fs::remove_dir_all(&d);
    }
}
