//! The layout commands: every legal layout of a GPU, and one layout checked or placed, with
//! its slice map and what could still be added.

use std::sync::Arc;

use anyhow::Result;
use migsched_core::{
    Driver, EnumerateOptions, GpuType, Layout, LayoutSpec, MAX_LAYOUTS, Placement, Violation,
    count_layouts, is_maximal_layout, place, try_enumerate_layouts,
};
use migsched_out::{Table, print_json};
use serde::Serialize;

use crate::Env;

/// `layouts`: which layouts to list.
#[derive(Debug, Clone)]
pub struct LayoutsQuery {
    /// GPU id or name.
    pub gpu: String,
    /// Only these profiles (all when empty).
    pub profiles: Vec<String>,
    /// Only maximal layouts.
    pub maximal: bool,
    /// Driver rules.
    pub driver: Driver,
    /// Print only the count.
    pub count: bool,
    /// Print JSON.
    pub json: bool,
}

/// `check-layout`: one layout in text form.
#[derive(Debug, Clone)]
pub struct LayoutCheckQuery {
    /// GPU id or name.
    pub gpu: String,
    /// Driver rules.
    pub driver: Driver,
    /// Print JSON.
    pub json: bool,
    /// The layout: `[Nx]PROFILE[@START]` items.
    pub layout: String,
}

#[derive(Serialize)]
struct LayoutsJson<'a> {
    gpu: &'a str,
    driver: Driver,
    profiles: Vec<&'a str>,
    maximal: bool,
    count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    layouts: Option<&'a [Layout]>,
}

/// Enumerates and prints the legal (or maximal) layouts of a GPU.
pub fn list_layouts(env: &Env, args: &LayoutsQuery) -> Result<()> {
    let gpu = env.gpu(&args.gpu)?;
    let profiles = if args.profiles.is_empty() {
        None
    } else {
        let mut ps = Vec::new();
        for name in &args.profiles {
            ps.push(gpu.profile_by_name(name)?);
        }
        Some(ps)
    };
    let driver = args.driver;
    let options = EnumerateOptions {
        profiles: profiles.clone(),
        driver,
        maximal: args.maximal,
    };
    let profile_names: Vec<&str> = match &profiles {
        Some(ps) => ps.iter().map(|&p| gpu.profile(p).name()).collect(),
        None => gpu.profiles().iter().map(|p| p.name()).collect(),
    };
    // Counting keeps no layout; listing keeps them all, so both stop at a budget (a custom GPU
    // of many one-slice starts has millions).
    let (count, layouts) = if args.count {
        (count_layouts(&gpu, &options, MAX_LAYOUTS)? as usize, None)
    } else {
        let all = try_enumerate_layouts(&gpu, &options, MAX_LAYOUTS)?;
        (all.len(), Some(all))
    };
    if args.json {
        print_json(&LayoutsJson {
            gpu: gpu.id(),
            driver,
            profiles: profile_names,
            maximal: args.maximal,
            count,
            layouts: layouts.as_deref(),
        })?;
        return Ok(());
    }
    let Some(layouts) = layouts else {
        outln!("{count}");
        return Ok(());
    };
    outln!(
        "{} {} layouts of {}, profiles {}, driver {}:",
        layouts.len(),
        if args.maximal { "maximal" } else { "legal" },
        gpu,
        if profiles.is_some() {
            profile_names.join(",")
        } else {
            "all".to_string()
        },
        driver_name(driver),
    );
    let map_header = format!("memory slices 0..{}", gpu.memory_slices() - 1);
    let mut t = Table::new(&[">#", "layout", ">GPCs", ">slices", ">SMs", &map_header]);
    for (i, l) in layouts.iter().enumerate() {
        t.row(vec![
            (i + 1).to_string(),
            l.text(),
            format!("{}/{}", l.compute_slices_used(), gpu.compute_slices()),
            format!("{}/{}", l.memory_mask().count_ones(), gpu.memory_slices()),
            l.sm_count().to_string(),
            slice_map(l),
        ]);
    }
    out!("{}", t.render());
    Ok(())
}

fn driver_name(d: Driver) -> &'static str {
    match d {
        Driver::R510OrLater => "R510+",
        Driver::BeforeR510 => "before R510",
    }
}

/// A picture of the memory slices: each instance as a bracket spanning its slices, four
/// characters per slice, free slices as ` .. `.
/// A layout drawn over the memory slices: `[3g      ][2g  ] .. [1g]`.
pub fn slice_map(layout: &Layout) -> String {
    let gpu = layout.gpu();
    let mut out = String::new();
    let mut slice = 0u8;
    let mut instances = layout.instances().peekable();
    while slice < gpu.memory_slices() {
        match instances.peek() {
            Some((pl, p)) if pl.start == slice => {
                let width = 4 * usize::from(p.memory_slices()) - 2;
                let label = format!("{}{}", p.class(), p.variant().suffix());
                out.push_str(&format!("[{label:<width$}]"));
                slice += p.memory_slices();
                instances.next();
            }
            _ => {
                out.push_str(" .. ");
                slice += 1;
            }
        }
    }
    out.trim_end().to_string()
}

#[derive(Serialize)]
struct ViolationJson<'a> {
    #[serde(flatten)]
    violation: &'a Violation,
    message: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum CheckJson<'a> {
    Legal {
        legal: bool,
        gpu: &'a str,
        driver: Driver,
        placed_by_search: bool,
        maximal: bool,
        can_add: Vec<String>,
        layout: &'a Layout,
    },
    Illegal {
        legal: bool,
        gpu: &'a str,
        driver: Driver,
        input: &'a str,
        violations: Vec<ViolationJson<'a>>,
    },
}

/// Checks (or places) one layout and prints why it is legal or not; `Ok(true)` when legal.
pub fn check_layout_text(env: &Env, args: &LayoutCheckQuery) -> Result<bool> {
    let gpu = env.gpu(&args.gpu)?;
    let driver = args.driver;
    let spec = LayoutSpec::parse(&gpu, &args.layout)?;
    let searched = !spec.unplaced.is_empty();
    let result = if searched {
        place(&gpu, &spec.pinned, &spec.unplaced, driver)
    } else {
        Layout::new(gpu.clone(), spec.pinned.clone(), driver)
    };
    match result {
        Ok(layout) => {
            let maximal = is_maximal_layout(&layout, None, driver);
            let can_add = addable(&gpu, &layout, driver);
            if args.json {
                print_json(&CheckJson::Legal {
                    legal: true,
                    gpu: gpu.id(),
                    driver,
                    placed_by_search: searched,
                    maximal,
                    can_add,
                    layout: &layout,
                })?;
            } else {
                outln!("legal on {gpu}: {layout}");
                outln!("  {}", slice_map(&layout));
                let memory_gib: f64 = layout.instances().map(|(_, p)| p.memory_gib()).sum();
                outln!(
                    "  {}/{} compute slices, {}/{} memory slices, {} SMs, {:.2} GiB",
                    layout.compute_slices_used(),
                    gpu.compute_slices(),
                    layout.memory_mask().count_ones(),
                    gpu.memory_slices(),
                    layout.sm_count(),
                    memory_gib
                );
                if searched {
                    outln!("  starts chosen by migsched's exhaustive placement search");
                }
                if maximal {
                    outln!("  maximal: no other instance fits");
                } else {
                    outln!("  room for one more of: {}", can_add.join(", "));
                }
            }
            Ok(true)
        }
        Err(illegal) => {
            if args.json {
                print_json(&CheckJson::Illegal {
                    legal: false,
                    gpu: gpu.id(),
                    driver,
                    input: &args.layout,
                    violations: illegal
                        .violations
                        .iter()
                        .map(|v| ViolationJson {
                            violation: v,
                            message: v.to_string(),
                        })
                        .collect(),
                })?;
            } else {
                let what = if searched {
                    "cannot be placed"
                } else {
                    "is illegal"
                };
                outln!("'{}' {what} on {gpu}:", args.layout.trim());
                for v in &illegal.violations {
                    outln!("  - {v}");
                }
            }
            Ok(false)
        }
    }
}

/// Profiles one more instance of which fits, each with its first free legal start.
fn addable(gpu: &Arc<GpuType>, layout: &Layout, driver: Driver) -> Vec<String> {
    gpu.profile_indices()
        .filter_map(|p| {
            let prof = gpu.profile(p);
            prof.starts()
                .iter()
                .find(|&&start| layout.can_add(Placement { profile: p, start }, driver))
                .map(|s| format!("{}@{s}", prof.name()))
        })
        .collect()
}
