//! Planning methods and objectives, as the exchange formats name them.
//!
//! A plan says which method made it. MIG methods choose layouts and instances
//! ([`MigMethod`]); gpulet methods split GPUs into MPS gpulets ([`GpuletMethod`]); plans
//! made elsewhere (by hand, by another system, by an importer) are [`Method::Imported`].
//! Each side has its own type, so a planner takes only the methods it answers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A method that plans MIG layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MigMethod {
    /// The HiGHS integer program over configuration counts.
    Ilp,
    /// The published PARIS partitioning algorithm.
    Paris,
    /// Every GPU split the same way (all 1g ... all 7g).
    Homogeneous,
    /// Best throughput per GPC per model, then first-fit packing (ParvaGPU-shaped).
    Greedy,
    /// Exhaustive search, for tiny instances (the tests' oracle).
    Brute,
}

impl MigMethod {
    /// Every MIG method, in the order tables list them.
    pub const ALL: [MigMethod; 5] = [
        MigMethod::Ilp,
        MigMethod::Paris,
        MigMethod::Homogeneous,
        MigMethod::Greedy,
        MigMethod::Brute,
    ];

    /// The command-line and file name.
    pub fn name(self) -> &'static str {
        match self {
            MigMethod::Ilp => "ilp",
            MigMethod::Paris => "paris",
            MigMethod::Homogeneous => "homogeneous",
            MigMethod::Greedy => "greedy",
            MigMethod::Brute => "brute",
        }
    }
}

/// A method that plans MPS gpulets (gpulet, Choi et al. ATC 2022, and its baselines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GpuletMethod {
    /// gpulet's elastic partitioning (MPS gpulets, time sharing, interference check).
    Gpulet,
    /// gpulet's elastic partitioning without the interference check.
    GpuletUnaware,
    /// The exact gpulet integer program (time sharing as occupancy).
    GpuletIlp,
    /// Time sharing only on whole GPUs (Nexus-style squishy bin packing).
    Timeshare,
}

impl GpuletMethod {
    /// Every gpulet method, in the order tables list them.
    pub const ALL: [GpuletMethod; 4] = [
        GpuletMethod::Gpulet,
        GpuletMethod::GpuletUnaware,
        GpuletMethod::GpuletIlp,
        GpuletMethod::Timeshare,
    ];

    /// The command-line and file name.
    pub fn name(self) -> &'static str {
        match self {
            GpuletMethod::Gpulet => "gpulet",
            GpuletMethod::GpuletUnaware => "gpulet-unaware",
            GpuletMethod::GpuletIlp => "gpulet-ilp",
            GpuletMethod::Timeshare => "timeshare",
        }
    }
}

/// The method that made a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// A MIG planner.
    Mig(MigMethod),
    /// A gpulet planner.
    Gpulet(GpuletMethod),
    /// Made outside migsched's planners: by hand, by another system, or read by an importer
    /// (ParvaGPU deployments, mig-parted configs).
    Imported,
}

impl Method {
    /// The name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Method::Mig(m) => m.name(),
            Method::Gpulet(m) => m.name(),
            Method::Imported => "imported",
        }
    }

    /// Every name [`FromStr`] accepts, for messages.
    pub fn names() -> Vec<&'static str> {
        MigMethod::ALL
            .iter()
            .map(|m| m.name())
            .chain(GpuletMethod::ALL.iter().map(|m| m.name()))
            .chain(["imported"])
            .collect()
    }
}

/// What to optimize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Objective {
    /// Fewest GPUs meeting every model's rate under its SLO rule.
    MinGpus,
    /// Cheapest GPUs (instance costs) meeting every model's rate.
    MinCost,
    /// Largest uniform load factor λ the available GPUs serve.
    MaxLoad,
    /// Fewest GPUs in the PARIS setting: queries carry their own batch sizes and are routed
    /// to profiles under a utilization cap.
    Paris,
}

impl Objective {
    /// Every objective.
    pub const ALL: [Objective; 4] = [
        Objective::MinGpus,
        Objective::MinCost,
        Objective::MaxLoad,
        Objective::Paris,
    ];

    /// The name in files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Objective::MinGpus => "min-gpus",
            Objective::MinCost => "min-cost",
            Objective::MaxLoad => "max-load",
            Objective::Paris => "paris",
        }
    }

    /// Whether a larger objective value is better.
    pub fn maximizes(self) -> bool {
        self == Objective::MaxLoad
    }
}

/// A name that is not a method or objective; the message lists the known ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{name}' (known: {known})")]
pub struct UnknownName {
    /// `method`, `MIG method`, `gpulet method` or `objective`.
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The known names, comma-separated.
    pub known: String,
}

fn lookup<T: Copy>(
    what: &'static str,
    name: &str,
    all: impl Iterator<Item = (T, &'static str)> + Clone,
) -> Result<T, UnknownName> {
    all.clone()
        .find(|(_, n)| *n == name)
        .map(|(t, _)| t)
        .ok_or_else(|| UnknownName {
            what,
            name: name.to_string(),
            known: all.map(|(_, n)| n).collect::<Vec<_>>().join(", "),
        })
}

impl FromStr for MigMethod {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(g) = lookup("x", s, GpuletMethod::ALL.iter().map(|m| (*m, m.name()))) {
            return Err(UnknownName {
                what: "MIG method",
                name: s.to_string(),
                known: format!(
                    "{}; '{}' plans MPS gpulets, not MIG layouts",
                    MigMethod::ALL.map(MigMethod::name).join(", "),
                    g.name()
                ),
            });
        }
        lookup(
            "MIG method",
            s,
            MigMethod::ALL.iter().map(|m| (*m, m.name())),
        )
    }
}

impl FromStr for GpuletMethod {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        lookup(
            "gpulet method",
            s,
            GpuletMethod::ALL.iter().map(|m| (*m, m.name())),
        )
    }
}

impl FromStr for Method {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let all = MigMethod::ALL
            .iter()
            .map(|m| (Method::Mig(*m), m.name()))
            .chain(
                GpuletMethod::ALL
                    .iter()
                    .map(|m| (Method::Gpulet(*m), m.name())),
            )
            .chain([(Method::Imported, "imported")]);
        lookup("method", s, all)
    }
}

impl FromStr for Objective {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        lookup(
            "objective",
            s,
            Objective::ALL.iter().map(|o| (*o, o.name())),
        )
    }
}

macro_rules! named {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
named!(MigMethod, GpuletMethod, Method, Objective);

impl From<MigMethod> for Method {
    fn from(m: MigMethod) -> Method {
        Method::Mig(m)
    }
}

impl From<GpuletMethod> for Method {
    fn from(m: GpuletMethod) -> Method {
        Method::Gpulet(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sides_do_not_mix() {
        for name in Method::names() {
            let m: Method = name.parse().unwrap();
            assert_eq!(m.name(), name);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<Method>(&json).unwrap(), m);
        }
        for o in Objective::ALL {
            assert_eq!(o.name().parse::<Objective>().unwrap(), o);
        }
        let e = "gpulet".parse::<MigMethod>().unwrap_err();
        assert!(e.to_string().contains("plans MPS gpulets"), "{e}");
        assert!("ilp".parse::<GpuletMethod>().is_err());
        let e = "hand".parse::<Method>().unwrap_err();
        assert!(e.to_string().contains("unknown method 'hand'"), "{e}");
        assert!(serde_json::from_str::<Objective>("\"min-gpu\"").is_err());
    }
}
