//! Profile tables for an instance: the files it names (relative to it), read here, or
//! migsched's analytic tables generated for its GPU types and models by
//! [`migsched_perf::source`].

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use migsched_core::{Instance, ProfileSource, ProfileTable};
use migsched_perf::source::{SourceError, analytic_for_instance};

use crate::Env;
use crate::tables::read_profile_tables;

/// The profile table an instance asks for.
pub fn for_instance(env: &Env, instance: &Instance, path: &Path) -> Result<ProfileTable> {
    match &instance.profiles {
        ProfileSource::Files { files } => {
            let base = path.parent().unwrap_or(Path::new(""));
            let paths: Vec<_> = files.iter().map(|f| base.join(f)).collect();
            read_profile_tables(&env.catalog, &paths)
                .with_context(|| format!("{}: profiles.files", path.display()))
        }
        ProfileSource::Analytic => {
            analytic_for_instance(&env.catalog, instance).map_err(|e| match e {
                // The instance's model list is at fault: name the file.
                SourceError::NotInZoo { .. } => anyhow!("{}: {e}", path.display()),
                e => e.into(),
            })
        }
    }
}
