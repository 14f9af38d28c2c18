//! `migsched layouts` and `migsched check-layout`.

use anyhow::Result;
use clap::Args;
use migsched_lab::layouts::{LayoutCheckQuery, LayoutsQuery, check_layout_text, list_layouts};

use super::args::DriverArgs;
use super::{Env, Outcome};

pub const LAYOUTS_EXAMPLES: &str = "\
Examples:
  migsched layouts --gpu a100-40gb --maximal
  migsched layouts --gpu a100-40gb --maximal --profiles 1g.5gb,2g.10gb,3g.20gb,4g.20gb,7g.40gb --count
  migsched layouts --gpu h100-80gb --profiles 1g.10gb,3g.40gb --json";

pub const CHECK_EXAMPLES: &str = "\
LAYOUT is comma-separated items [Nx]PROFILE[@START], or `empty`:
  3g.40gb@0,2g.20gb@4,1g.10gb@6   a placed layout: checked as given
  3g.40gb,2g.20gb,2x1g.10gb       profile counts: migsched searches for a legal placement
  3g.40gb@4,2x2g.20gb             a mix: the pinned instances stay, the others are placed

Exit codes: 0 legal (the placed layout is printed); 1 illegal or unplaceable (every reason is
printed); 2 unusable input (unknown GPU or profile, malformed text).

Examples:
  migsched check-layout --gpu a100-80gb 3g.40gb@0,2g.20gb@4,1g.10gb@6
  migsched check-layout --gpu a100-40gb --before-r510 4g.20gb,3g.20gb
  migsched check-layout --gpu h100-80gb 2x1g.10gb,2g.20gb,4g.40gb --json";

#[derive(Debug, Args)]
pub struct LayoutsArgs {
    /// GPU id or name (see `migsched gpus`)
    #[arg(long)]
    gpu: String,
    /// Only these profiles (comma-separated); maximality is relative to them
    #[arg(long, value_delimiter = ',', value_name = "P,...")]
    profiles: Vec<String>,
    /// Only maximal layouts: nothing more fits
    #[arg(long)]
    maximal: bool,
    #[command(flatten)]
    driver: DriverArgs,
    /// Print only how many layouts there are
    #[arg(long)]
    count: bool,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// GPU id or name (see `migsched gpus`)
    #[arg(long)]
    gpu: String,
    #[command(flatten)]
    driver: DriverArgs,
    /// Print JSON instead of text
    #[arg(long)]
    json: bool,
    /// The layout: text form, profile counts, or a mix (see below)
    layout: String,
}

pub fn run_layouts(env: &Env, a: LayoutsArgs) -> Result<Outcome> {
    list_layouts(
        env,
        &LayoutsQuery {
            gpu: a.gpu,
            profiles: a.profiles,
            maximal: a.maximal,
            driver: a.driver.driver(),
            count: a.count,
            json: a.json,
        },
    )?;
    Ok(Outcome::Yes)
}

pub fn run_check(env: &Env, a: CheckArgs) -> Result<Outcome> {
    let legal = check_layout_text(
        env,
        &LayoutCheckQuery {
            gpu: a.gpu,
            driver: a.driver.driver(),
            json: a.json,
            layout: a.layout,
        },
    )?;
    Ok(Outcome::from_ok(legal))
}
