//! gpulet interference coefficients: show the sets, fit one to a lab's co-location
//! measurements, and synthesize the samples the shipped sets come from.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use migsched_out::{Table, print_json, read_text, write_atomic};
use migsched_perf::gpulet::DEFAULT_SIZES;
use migsched_perf::gpulet::interference::{
    Coefficients, Contention, SYNTHETIC_BATCHES, SYNTHETIC_MODELS, builtin, fit, parse,
    samples_from_csv, samples_to_csv, sets_to_toml, synthetic_samples,
};
use serde::Serialize;

use crate::Env;

/// `interference fit`.
#[derive(Debug, Clone)]
pub struct FitQuery {
    /// Co-location measurements (CSV).
    pub samples: PathBuf,
    /// The GPU type they were taken on.
    pub gpu: String,
    /// Where the numbers come from.
    pub source: Option<String>,
    /// Where the fitted set goes.
    pub output: Option<PathBuf>,
    /// Print JSON.
    pub json: bool,
}

/// Prints coefficient sets: the shipped ones, or a file's, for one GPU type or all.
pub fn show_sets(env: &Env, file: Option<&Path>, gpu: Option<&str>, json: bool) -> Result<()> {
    let mut sets = match file {
        None => builtin(),
        Some(p) => {
            let text = read_text(p, "interference coefficients")?;
            parse(&text, &p.display().to_string()).map_err(anyhow::Error::msg)?
        }
    };
    if let Some(g) = gpu {
        env.catalog.gpu(g)?;
        sets.retain(|s| s.gpu == g);
        if sets.is_empty() {
            bail!("no coefficient set for GPU '{g}'");
        }
    }
    if json {
        print_json(&sets)?;
        return Ok(());
    }
    let mut t = Table::new(&[
        "gpu",
        "c0 l2 self",
        "c1 l2 other",
        "c2 dram self",
        "c3 dram other",
        "c4",
        "source",
    ]);
    for s in &sets {
        let mut row = vec![s.gpu.clone()];
        row.extend(s.c.iter().map(|c| format!("{c:.5}")));
        row.push(s.source.clone());
        t.row(row);
    }
    outln!("{}", t.render().trim_end());
    Ok(())
}

#[derive(Serialize)]
struct FitJson<'a> {
    set: &'a Coefficients,
    samples: usize,
    rmse: f64,
    max_abs_residual: f64,
    output: Option<String>,
}

/// Fits a coefficient set to co-location measurements, prints it with its residuals and
/// writes it when asked.
pub fn fit_set(env: &Env, args: &FitQuery) -> Result<()> {
    let gpu = env.catalog.gpu(&args.gpu)?;
    let origin = args.samples.display().to_string();
    let text = read_text(&args.samples, "co-location samples")?;
    let samples = samples_from_csv(&text, &origin).map_err(anyhow::Error::msg)?;
    let Some(f) = fit(&samples) else {
        bail!(
            "{origin}: {} sample(s) do not determine the five coefficients (need at least five \
             whose utilizations vary independently)",
            samples.len()
        );
    };
    if let Some(c) = f.c.iter().find(|c| !c.is_finite()) {
        bail!(
            "{origin}: the least-squares fit gives a coefficient of {c}; the samples do not \
             determine the coefficients (check for constant or degenerate columns)"
        );
    }
    let set = Coefficients {
        gpu: gpu.id().to_string(),
        source: args
            .source
            .clone()
            .unwrap_or_else(|| format!("least-squares fit of {} samples in {origin}", f.samples)),
        c: f.c,
    };
    let max_abs_residual = samples
        .iter()
        .map(|s| (set.predict(&s.me, &s.other) - s.slowdown).abs())
        .fold(0.0, f64::max);
    if let Some(out) = &args.output {
        write_atomic(out, &sets_to_toml(std::slice::from_ref(&set)))?;
    }
    if args.json {
        let j = FitJson {
            set: &set,
            samples: f.samples,
            rmse: f.rmse,
            max_abs_residual,
            output: args.output.as_ref().map(|p| p.display().to_string()),
        };
        print_json(&j)?;
        return Ok(());
    }
    let mut t = Table::new(&["coefficient", "value"]);
    for (name, c) in [
        "c0 l2 self",
        "c1 l2 other",
        "c2 dram self",
        "c3 dram other",
        "c4 constant",
    ]
    .iter()
    .zip(set.c)
    {
        t.row(vec![name.to_string(), format!("{c:.5}")]);
    }
    let mut out = format!("{} on {}: {} samples\n", origin, set.gpu, f.samples);
    out.push_str(&t.render());
    out.push_str(&format!(
        "slowdown residual: rmse {:.4}, largest {:.4}\n",
        f.rmse, max_abs_residual
    ));
    if let Some(p) = &args.output {
        out.push_str(&format!("wrote {}\n", p.display()));
    }
    outln!("{}", out.trim_end());
    Ok(())
}

/// Writes synthetic co-location samples of a GPU type (the data the shipped sets come from).
pub fn synthesize(env: &Env, gpu: &str, contention: Contention, output: &Path) -> Result<()> {
    let gpu = env.catalog.gpu(gpu)?;
    let samples = synthetic_samples(gpu, &contention)
        .with_context(|| format!("synthetic co-location on {}", gpu.id()))?;
    write_atomic(output, &samples_to_csv(&samples))?;
    outln!(
        "wrote {} synthetic samples ({} models x batches {:?}, sizes {:?}) to {}",
        samples.len(),
        SYNTHETIC_MODELS.len(),
        SYNTHETIC_BATCHES,
        DEFAULT_SIZES,
        output.display()
    );
    Ok(())
}
