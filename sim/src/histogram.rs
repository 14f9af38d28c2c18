//! A streaming histogram of non-negative integer durations (ns) with bounded relative error:
//! log-linear buckets (64 sub-buckets per power of two, error below 1.6%), exact count, sum,
//! minimum and maximum. Memory is fixed; merging is exact.

use migsched_core::time::{Ns, ns_to_ms};
use serde::Serialize;

/// Sub-bucket bits: 2^6 = 64 linear buckets per power of two.
const SUB_BITS: u32 = 6;
const SUB: u64 = 1 << SUB_BITS;
/// Buckets cover 0 .. 2^64.
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// Counts of values in log-linear buckets.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }
}

fn bucket(v: u64) -> usize {
    if v < SUB {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - SUB_BITS;
    let sub = (v >> shift) & (SUB - 1);
    ((shift as u64 + 1) * SUB + sub) as usize
}

/// The smallest value of a bucket and its width.
fn bucket_range(b: usize) -> (u64, u64) {
    let b = b as u64;
    if b < SUB {
        return (b, 1);
    }
    let shift = b / SUB - 1;
    let sub = b % SUB;
    ((SUB + sub) << shift, 1 << shift)
}

/// Percentiles of a histogram, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest value (exact).
    pub max: f64,
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }
    /// Records one value.
    pub fn record(&mut self, v: u64) {
        self.counts[bucket(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }
    /// Adds another histogram's values.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }
    /// Mean (exact), or 0 for no values.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }
    /// Largest value (exact), 0 for none.
    pub fn max(&self) -> u64 {
        self.max
    }
    /// The value at quantile `q` in [0, 1] (bucket midpoint, clamped to the exact min and max;
    /// relative error under 1.6%), 0 for no values.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (lo, width) = bucket_range(b);
                return (lo + width / 2).clamp(self.min, self.max);
            }
        }
        self.max
    }
    /// The usual percentiles, converted from ns to ms.
    pub fn percentiles_ms(&self) -> Percentiles {
        let ms = |ns: u64| Ns(ns).ms();
        Percentiles {
            mean: ns_to_ms(self.mean()),
            p50: ms(self.quantile(0.50)),
            p90: ms(self.quantile(0.90)),
            p95: ms(self.quantile(0.95)),
            p99: ms(self.quantile(0.99)),
            p999: ms(self.quantile(0.999)),
            max: ms(self.max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_value_in_order() {
        let mut last = 0;
        for v in [
            0u64,
            1,
            63,
            64,
            65,
            127,
            128,
            1_000,
            1 << 20,
            123_456_789,
            u64::MAX / 3,
            u64::MAX,
        ] {
            let b = bucket(v);
            assert!(b >= last && b < BUCKETS, "{v}");
            let (lo, w) = bucket_range(b);
            assert!(lo <= v && v - lo < w, "{v} in [{lo}, {lo}+{w})");
            last = b;
        }
    }

    #[test]
    fn quantiles_are_within_the_bucket_error() {
        let mut h = Histogram::new();
        for v in 1..=100_000u64 {
            h.record(v * 1000);
        }
        for q in [0.5, 0.9, 0.99, 0.999] {
            let exact = q * 100_000.0 * 1000.0;
            let got = h.quantile(q) as f64;
            assert!(
                (got - exact).abs() / exact < 0.016,
                "q={q}: {got} vs {exact}"
            );
        }
        assert_eq!(h.max(), 100_000_000);
        assert!((h.mean() - 50_000_500.0).abs() < 1e-6);
        let mut other = Histogram::new();
        other.record(5);
        h.merge(&other);
        assert_eq!(h.count(), 100_001);
        assert_eq!(h.quantile(0.0), 5);
    }
}
