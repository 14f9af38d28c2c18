//! Argument types and value parsers shared by several commands.

use migsched_core::Driver;

/// `--before-r510`, shared by the layout commands.
#[derive(Debug, clap::Args, Clone, Copy)]
pub struct DriverArgs {
    /// Apply the rules of drivers before R510 (a 4g and a 3g instance cannot share a GPU)
    #[arg(long)]
    pub before_r510: bool,
}

impl DriverArgs {
    /// The driver rules asked for.
    pub fn driver(self) -> Driver {
        if self.before_r510 {
            Driver::BeforeR510
        } else {
            Driver::R510OrLater
        }
    }
}

/// A positive number from the command line.
pub fn positive(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err(format!("'{s}' is not a positive number")),
    }
}

/// A non-negative number from the command line.
pub fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!("'{s}' is not a non-negative number")),
    }
}

/// A fraction in (0, 1] from the command line.
pub fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x <= 1.0 => Ok(x),
        _ => Err(format!("'{s}' is not a fraction in (0, 1]")),
    }
}
