//! Simulated time: whole nanoseconds, and the one place durations cross units.
//!
//! Files and reports speak milliseconds and seconds as `f64`; simulators and checkers count
//! integer nanoseconds. Every conversion goes through [`Ns`], with one rule: to nanoseconds,
//! round to the nearest (never truncate), clamp at 0 and at `u64::MAX`, NaN as 0; from
//! nanoseconds, exact division.

use std::fmt;

/// A duration or a time since the start of a run, in whole nanoseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ns(pub u64);

impl Ns {
    /// Zero.
    pub const ZERO: Ns = Ns(0);

    /// From milliseconds, rounded to the nearest nanosecond.
    pub fn from_ms(ms: f64) -> Ns {
        Ns::from_f64(ms * 1e6)
    }

    /// From seconds, rounded to the nearest nanosecond.
    pub fn from_s(s: f64) -> Ns {
        Ns::from_f64(s * 1e9)
    }

    /// From microseconds, rounded to the nearest nanosecond.
    pub fn from_us(us: f64) -> Ns {
        Ns::from_f64(us * 1e3)
    }

    /// From a number of nanoseconds as a float, rounded, clamped to `0..=u64::MAX`.
    pub fn from_f64(ns: f64) -> Ns {
        if ns.is_nan() || ns <= 0.0 {
            Ns(0)
        } else if ns >= u64::MAX as f64 {
            Ns(u64::MAX)
        } else {
            Ns(ns.round() as u64)
        }
    }

    /// In milliseconds.
    pub fn ms(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// In seconds.
    pub fn s(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The nanoseconds.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Nanoseconds (a float, e.g. a mean) in milliseconds.
pub fn ns_to_ms(ns: f64) -> f64 {
    ns / 1e6
}

impl fmt::Display for Ns {
    /// Milliseconds with nanosecond precision, trailing zeros dropped (`2.1015 ms`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ms, frac) = (self.0 / 1_000_000, self.0 % 1_000_000);
        if frac == 0 {
            write!(f, "{ms} ms")
        } else {
            let digits = format!("{frac:06}");
            write!(f, "{ms}.{} ms", digits.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_and_clamp() {
        assert_eq!(Ns::from_ms(2.1015), Ns(2_101_500));
        assert_eq!(Ns::from_ms(0.0000006), Ns(1));
        assert_eq!(Ns::from_ms(0.0000004), Ns(0));
        assert_eq!(Ns::from_s(1.5), Ns(1_500_000_000));
        assert_eq!(Ns::from_us(2.5), Ns(2500));
        assert_eq!(Ns::from_us(0.0015), Ns(2));
        assert_eq!(Ns::from_ms(-3.0), Ns(0));
        assert_eq!(Ns::from_ms(f64::NAN), Ns(0));
        assert_eq!(Ns::from_s(1e300), Ns(u64::MAX));
        assert_eq!(Ns(2_500_000).ms(), 2.5);
        assert_eq!(Ns(2_500_000_000).s(), 2.5);
        assert_eq!(Ns(2_101_500).to_string(), "2.1015 ms");
        assert_eq!(Ns(3_000_000).to_string(), "3 ms");
    }
}
