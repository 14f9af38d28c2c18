//! ParvaGPU's SLO scenarios (`SLO/SLO_latency.csv` and `SLO/SLO_req_rate.csv`) as lists of
//! (model, latency SLO, request rate).
//!
//! Both files have no header and one scenario per line; line n of one file and line n of the
//! other describe the same scenario. The columns are the models in alphabetical order of
//! ParvaGPU's profile file names (`bert`, `densenet121`, ..., `resnet101`, `resnet152`,
//! `resnet50`, ...: byte order, so `resnet50` comes after `resnet152`). A cell is a positive
//! number, milliseconds in the latency file and requests per second in the rate file, or
//! `N/A` when the model is absent from the scenario; both files must mark the same cells
//! `N/A`. Model names are normalized as the profile importer does
//! ([`parvagpu::model_name`](super::parvagpu::model_name)), so they match its rows.

use serde::Serialize;

use super::parvagpu::model_name;
use super::{ImportError, import_error, numbered_lines};

/// The latency file's name, as errors give it.
pub const LATENCY_FILE: &str = "SLO_latency.csv";
/// The request-rate file's name, as errors give it.
pub const RATE_FILE: &str = "SLO_req_rate.csv";
/// The cell of a model absent from a scenario.
pub const ABSENT: &str = "N/A";
/// How errors name the list of models passed in.
const MODEL_LIST: &str = "model list";

/// One scenario: the models served together, each with its SLO and load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scenario {
    /// 1-based position of the scenario (its line in both files, blank lines left out).
    pub number: usize,
    /// The models present, in column order.
    pub demands: Vec<Demand>,
}

/// One model of a scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Demand {
    /// Model name, lowercase, as the profile importer names it.
    pub model: String,
    /// Latency SLO in milliseconds.
    pub slo_ms: f64,
    /// Request rate in requests per second.
    pub rate_rps: f64,
}

/// One file's rows: (line, a value per model or `None` for `N/A`).
type Rows = Vec<(usize, Vec<Option<f64>>)>;

/// Imports the scenarios from the texts of `SLO_latency.csv` and `SLO_req_rate.csv`.
/// `models` are the profile file stems in ParvaGPU's column order (sorted, see the module
/// docs); a list out of order is an error, since it would silently give SLOs to the wrong
/// models. Errors name [`LATENCY_FILE`] or [`RATE_FILE`], the line and the column.
pub fn parse_scenarios<M: AsRef<str>>(
    latency_text: &str,
    rate_text: &str,
    models: &[M],
) -> Result<Vec<Scenario>, ImportError> {
    let list_err = |message: String| import_error(MODEL_LIST, None, None, message);
    let mut names = Vec::with_capacity(models.len());
    for (i, stem) in models.iter().map(AsRef::as_ref).enumerate() {
        let name = model_name(stem).ok_or_else(|| {
            list_err(format!(
                "'{stem}' is not a model name (letters, digits, - _ .)"
            ))
        })?;
        if names.contains(&name) {
            return Err(list_err(format!("'{name}' appears twice")));
        }
        if let Some(previous) = i.checked_sub(1).map(|p| models[p].as_ref()) {
            if previous > stem {
                return Err(list_err(format!(
                    "'{previous}' comes before '{stem}'; ParvaGPU's columns follow the \
                     profile file names in sorted order"
                )));
            }
        }
        names.push(name);
    }
    let latency = parse_file(LATENCY_FILE, latency_text, &names, "milliseconds")?;
    let rate = parse_file(RATE_FILE, rate_text, &names, "requests/s")?;
    if latency.len() != rate.len() {
        let (longer, rows, shorter, count) = if latency.len() > rate.len() {
            (LATENCY_FILE, &latency, RATE_FILE, rate.len())
        } else {
            (RATE_FILE, &rate, LATENCY_FILE, latency.len())
        };
        return Err(import_error(
            longer,
            Some(rows[count].0),
            None,
            format!(
                "scenario {} has no line in {shorter}, which has only {count}",
                count + 1
            ),
        ));
    }
    let mut scenarios = Vec::with_capacity(latency.len());
    for (i, ((latency_line, slos), (rate_line, rates))) in latency.iter().zip(&rate).enumerate() {
        let mut demands = Vec::new();
        for (c, name) in names.iter().enumerate() {
            let mismatch = |message: String| {
                import_error(
                    RATE_FILE,
                    Some(*rate_line),
                    Some((c, name)),
                    format!(
                        "{message}; both files must mark the same models {ABSENT} \
                         (scenario {})",
                        i + 1
                    ),
                )
            };
            match (slos[c], rates[c]) {
                (Some(slo_ms), Some(rate_rps)) => demands.push(Demand {
                    model: name.clone(),
                    slo_ms,
                    rate_rps,
                }),
                (None, None) => {}
                (Some(slo_ms), None) => {
                    return Err(mismatch(format!(
                        "{ABSENT}, but {LATENCY_FILE}:{latency_line} gives {slo_ms} ms"
                    )));
                }
                (None, Some(rate_rps)) => {
                    return Err(mismatch(format!(
                        "{rate_rps} requests/s, but {LATENCY_FILE}:{latency_line} has {ABSENT}"
                    )));
                }
            }
        }
        if demands.is_empty() {
            return Err(import_error(
                LATENCY_FILE,
                Some(*latency_line),
                None,
                format!(
                    "every model is {ABSENT}; a scenario needs at least one model (scenario {})",
                    i + 1
                ),
            ));
        }
        scenarios.push(Scenario {
            number: i + 1,
            demands,
        });
    }
    Ok(scenarios)
}

/// Reads one file: a positive number (in `unit`) or `N/A` per model on every line.
fn parse_file(
    origin: &str,
    text: &str,
    models: &[String],
    unit: &str,
) -> Result<Rows, ImportError> {
    let mut rows = Vec::new();
    for (lineno, line) in numbered_lines(text) {
        let cells = crate::profile_table::split_csv_line(line);
        if cells.len() != models.len() {
            return Err(import_error(
                origin,
                Some(lineno),
                None,
                format!(
                    "{} columns, but there are {} models ({})",
                    cells.len(),
                    models.len(),
                    models.join(", ")
                ),
            ));
        }
        let mut values = Vec::with_capacity(cells.len());
        for (c, cell) in cells.iter().map(|c| c.trim()).enumerate() {
            if cell == ABSENT {
                values.push(None);
                continue;
            }
            match cell.parse::<f64>() {
                Ok(x) if x.is_finite() && x > 0.0 => values.push(Some(x)),
                _ => {
                    return Err(import_error(
                        origin,
                        Some(lineno),
                        Some((c, &models[c])),
                        format!("'{cell}' is not a positive number of {unit} nor {ABSENT}"),
                    ));
                }
            }
        }
        rows.push((lineno, values));
    }
    if rows.is_empty() {
        return Err(import_error(
            origin,
            None,
            None,
            "the file is empty; expected one scenario per line",
        ));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODELS: [&str; 3] = ["bert", "resnet101", "resnet50"];
    const LATENCY: &str = "100,N/A,20.5\r\n50,60,70\r\n";
    const RATE: &str = "10,N/A,5\n1,2,3";

    fn scenarios(latency: &str, rate: &str) -> Result<Vec<Scenario>, String> {
        parse_scenarios(latency, rate, &MODELS).map_err(|e| e.to_string())
    }

    /// Each scenario as `model slo_ms rate_rps` items joined by `; `.
    fn summary(s: &[Scenario]) -> Vec<String> {
        s.iter()
            .map(|s| {
                let items: Vec<String> = s
                    .demands
                    .iter()
                    .map(|d| format!("{} {} {}", d.model, d.slo_ms, d.rate_rps))
                    .collect();
                format!("{}: {}", s.number, items.join("; "))
            })
            .collect()
    }

    #[test]
    fn present_models_pair_their_slo_and_rate() {
        let s = scenarios(LATENCY, RATE).unwrap();
        assert_eq!(
            summary(&s),
            [
                "1: bert 100 10; resnet50 20.5 5",
                "2: bert 50 1; resnet101 60 2; resnet50 70 3"
            ]
        );
    }

    #[test]
    fn model_names_are_normalized_like_the_profiles() {
        let s = parse_scenarios("1,2\n", "3,4\n", &["BERT", "VGG16"]).unwrap();
        assert_eq!(summary(&s), ["1: bert 1 3; vgg16 2 4"]);
    }

    #[test]
    fn files_that_disagree_are_errors() {
        assert_eq!(
            scenarios(LATENCY, "10,N/A,5\n").unwrap_err(),
            "SLO_latency.csv:2: scenario 2 has no line in SLO_req_rate.csv, which has only 1"
        );
        assert_eq!(
            scenarios(LATENCY, "10,N/A,5\n1,2,3\n\n4,5,6\n").unwrap_err(),
            "SLO_req_rate.csv:4: scenario 3 has no line in SLO_latency.csv, which has only 2"
        );
        assert_eq!(
            scenarios(LATENCY, "10,N/A,5\n1,N/A,3\n").unwrap_err(),
            "SLO_req_rate.csv:2: column 2 (resnet101): N/A, but SLO_latency.csv:2 gives 60 ms; \
             both files must mark the same models N/A (scenario 2)"
        );
        assert_eq!(
            scenarios(LATENCY, "10,7,5\n1,2,3\n").unwrap_err(),
            "SLO_req_rate.csv:1: column 2 (resnet101): 7 requests/s, but SLO_latency.csv:1 has N/A; \
             both files must mark the same models N/A (scenario 1)"
        );
    }

    #[test]
    fn malformed_cells_name_file_line_and_column() {
        let check = |latency: &str, rate: &str, expected: &str| {
            assert_eq!(scenarios(latency, rate).unwrap_err(), expected);
        };
        check(
            "100,N/A,abc\n",
            RATE,
            "SLO_latency.csv:1: column 3 (resnet50): 'abc' is not a positive number of milliseconds nor N/A",
        );
        check(
            LATENCY,
            "10,N/A,5\n1,0,3\n",
            "SLO_req_rate.csv:2: column 2 (resnet101): '0' is not a positive number of requests/s nor N/A",
        );
        check(
            "-1,N/A,2\n",
            RATE,
            "SLO_latency.csv:1: column 1 (bert): '-1' is not a positive number of milliseconds nor N/A",
        );
        check(
            "NaN,N/A,2\n",
            RATE,
            "SLO_latency.csv:1: column 1 (bert): 'NaN' is not a positive number of milliseconds nor N/A",
        );
        check(
            "n/a,N/A,2\n",
            RATE,
            "SLO_latency.csv:1: column 1 (bert): 'n/a' is not a positive number of milliseconds nor N/A",
        );
        check(
            "100,N/A\n",
            RATE,
            "SLO_latency.csv:1: 2 columns, but there are 3 models (bert, resnet101, resnet50)",
        );
        check(
            LATENCY,
            "10,N/A,5,1\n",
            "SLO_req_rate.csv:1: 4 columns, but there are 3 models (bert, resnet101, resnet50)",
        );
        check(
            "",
            RATE,
            "SLO_latency.csv: the file is empty; expected one scenario per line",
        );
        check(
            "N/A,N/A,N/A\n",
            "N/A,N/A,N/A\n",
            "SLO_latency.csv:1: every model is N/A; a scenario needs at least one model (scenario 1)",
        );
    }

    #[test]
    fn the_model_list_must_be_usable() {
        let check = |models: &[&str], expected: &str| {
            assert_eq!(
                parse_scenarios("1,2\n", "1,2\n", models)
                    .unwrap_err()
                    .to_string(),
                expected
            );
        };
        check(
            &["resnet50", "resnet101"],
            "model list: 'resnet50' comes before 'resnet101'; ParvaGPU's columns follow the \
             profile file names in sorted order",
        );
        check(&["bert", "bert"], "model list: 'bert' appears twice");
        check(
            &["bert", "my model"],
            "model list: 'my model' is not a model name (letters, digits, - _ .)",
        );
    }
}
