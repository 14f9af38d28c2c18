//! The text forms of arrival processes, query batches, service-time noise and rate profiles,
//! as a command line or a sweep spec writes them (`gamma:2`, `lognormal:0.3`, `steps:0=1,60=2`).
//!
//! An error message starts with the text it rejects, so a caller can put the option's name in
//! front (`--arrival` + message).

use std::str::FromStr;

use thiserror::Error;

use crate::gpulet::RateProfile;
use crate::{Arrival, Noise, QueryBatch};

/// A text that is not one of the forms a type accepts; the message says which forms are.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct SpecParseError(String);

fn err<T>(message: String) -> Result<T, SpecParseError> {
    Err(SpecParseError(message))
}

fn positive(s: &str, what: &str, p: &str) -> Result<f64, SpecParseError> {
    match p.parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => err(format!("{s}: {what} '{p}' is not a positive number")),
    }
}

impl FromStr for Arrival {
    type Err = SpecParseError;

    /// `poisson`, `gamma:CV` or `onoff:ON_S:OFF_S`.
    fn from_str(s: &str) -> Result<Arrival, SpecParseError> {
        let parts: Vec<&str> = s.split(':').collect();
        Ok(match parts.as_slice() {
            ["poisson"] => Arrival::Poisson,
            ["gamma", cv] => Arrival::Gamma {
                cv: positive(s, "CV", cv)?,
            },
            ["onoff", on, off] => Arrival::OnOff {
                on_s: positive(s, "ON_S", on)?,
                off_s: positive(s, "OFF_S", off)?,
            },
            _ => {
                return err(format!(
                    "'{s}' is not poisson, gamma:CV or onoff:ON_S:OFF_S"
                ));
            }
        })
        .and_then(|a| {
            a.validate()
                .map(|()| a)
                .or_else(|e| err(format!("{s}: {e}")))
        })
    }
}

impl FromStr for QueryBatch {
    type Err = SpecParseError;

    /// `one`, `fixed:B` or `lognormal:MU:SIGMA:MIN:MAX`.
    fn from_str(s: &str) -> Result<QueryBatch, SpecParseError> {
        let parts: Vec<&str> = s.split(':').collect();
        let int = |p: &str| -> Result<u32, SpecParseError> {
            match p.parse::<u32>() {
                Ok(b) if b >= 1 => Ok(b),
                _ => err(format!("{s}: '{p}' is not a batch ≥ 1")),
            }
        };
        let float = |p: &str| -> Result<f64, SpecParseError> {
            match p.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => err(format!("{s}: '{p}' is not a number")),
            }
        };
        Ok(match parts.as_slice() {
            ["one"] => QueryBatch::One,
            ["fixed", b] => QueryBatch::Fixed { batch: int(b)? },
            ["lognormal", mu, sigma, min, max] => {
                let (min, max) = (int(min)?, int(max)?);
                if min > max {
                    return err(format!("{s}: MIN {min} is above MAX {max}"));
                }
                QueryBatch::LogNormal {
                    mu: float(mu)?,
                    sigma: float(sigma)?.abs(),
                    min,
                    max,
                }
            }
            _ => {
                return err(format!(
                    "'{s}' is not one, fixed:B or lognormal:MU:SIGMA:MIN:MAX"
                ));
            }
        })
        .and_then(|q| {
            q.validate()
                .map(|()| q)
                .or_else(|e| err(format!("{s}: {e}")))
        })
    }
}

impl FromStr for Noise {
    type Err = SpecParseError;

    /// `none`, `exp` or `lognormal:CV`.
    fn from_str(s: &str) -> Result<Noise, SpecParseError> {
        Ok(match s.split(':').collect::<Vec<_>>().as_slice() {
            ["none"] => Noise::None,
            ["exp"] => Noise::Exponential,
            ["lognormal", cv] => match positive(s, "CV", cv)? {
                cv if cv > crate::workload::MAX_CV => {
                    let max = crate::workload::MAX_CV;
                    return err(format!(
                        "{s}: CV {} is above {max}",
                        crate::workload::num(cv)
                    ));
                }
                cv => Noise::LogNormal { cv },
            },
            _ => return err(format!("'{s}' is not none, exp or lognormal:CV")),
        })
    }
}

impl FromStr for RateProfile {
    type Err = SpecParseError;

    /// `constant`, `steps:T=F,T=F,...` (times increasing) or `diurnal:PERIOD_S:AMPLITUDE`.
    fn from_str(s: &str) -> Result<RateProfile, SpecParseError> {
        let num = |p: &str| -> Result<f64, SpecParseError> {
            match p.trim().parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
                _ => err(format!("{s}: '{p}' is not a non-negative number")),
            }
        };
        if s == "constant" {
            return Ok(RateProfile::Constant);
        }
        if let Some(rest) = s.strip_prefix("steps:") {
            let mut steps = Vec::new();
            for part in rest.split(',') {
                let Some((t, f)) = part.split_once('=') else {
                    return err(format!("{s}: step '{part}' is not T=FACTOR"));
                };
                steps.push((num(t)?, num(f)?));
            }
            if steps.windows(2).any(|w| w[0].0 >= w[1].0) {
                return err(format!("{s}: step times must increase"));
            }
            return Ok(RateProfile::Steps(steps));
        }
        if let Some(rest) = s.strip_prefix("diurnal:") {
            let Some((p, a)) = rest.split_once(':') else {
                return err(format!("{s}: expected diurnal:PERIOD_S:AMPLITUDE"));
            };
            let (period_s, amplitude) = (num(p)?, num(a)?);
            if period_s <= 0.0 || amplitude >= 1.0 {
                return err(format!(
                    "{s}: the period must be positive and the amplitude below 1"
                ));
            }
            return Ok(RateProfile::Diurnal {
                period_s,
                amplitude,
            });
        }
        err(format!(
            "'{s}' is not constant, steps:T=F,... or diurnal:PERIOD_S:AMPLITUDE"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_parse_and_say_what_is_wrong() {
        assert_eq!("poisson".parse::<Arrival>().unwrap(), Arrival::Poisson);
        assert_eq!(
            "gamma:2".parse::<Arrival>().unwrap(),
            Arrival::Gamma { cv: 2.0 }
        );
        assert_eq!(
            "onoff:1:0.5".parse::<Arrival>().unwrap(),
            Arrival::OnOff {
                on_s: 1.0,
                off_s: 0.5
            }
        );
        assert_eq!(
            "gamma:-1".parse::<Arrival>().unwrap_err().to_string(),
            "gamma:-1: CV '-1' is not a positive number"
        );
        assert_eq!(
            "burst".parse::<Arrival>().unwrap_err().to_string(),
            "'burst' is not poisson, gamma:CV or onoff:ON_S:OFF_S"
        );
    }

    #[test]
    fn batches_noise_and_rates_parse() {
        assert_eq!(
            "fixed:4".parse::<QueryBatch>().unwrap(),
            QueryBatch::Fixed { batch: 4 }
        );
        assert!("lognormal:1:0.5:8:2".parse::<QueryBatch>().is_err());
        assert!("fixed:0".parse::<QueryBatch>().is_err());
        assert_eq!("exp".parse::<Noise>().unwrap(), Noise::Exponential);
        assert_eq!(
            "lognormal:0.3".parse::<Noise>().unwrap(),
            Noise::LogNormal { cv: 0.3 }
        );
        assert_eq!(
            "steps:0=1,60=2".parse::<RateProfile>().unwrap(),
            RateProfile::Steps(vec![(0.0, 1.0), (60.0, 2.0)])
        );
        assert!("steps:60=1,0=2".parse::<RateProfile>().is_err());
        assert!("diurnal:100:1.5".parse::<RateProfile>().is_err());
        assert_eq!(
            "constant".parse::<RateProfile>().unwrap(),
            RateProfile::Constant
        );
    }
}
