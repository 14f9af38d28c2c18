//! First-fit packing of instances onto GPUs, shared by the heuristics: largest instances
//! first, each onto the first open GPU of its pool where the whole multiset still has a legal
//! placement (found again from scratch, so earlier instances may move), else onto a new GPU.

use migsched_core::{Driver, ProfileCounts, ProfileIndex, place};

use crate::problem::Problem;
use crate::solution::{GpuAssignment, InstanceService};

/// One instance to place: its pool, profile and service.
#[derive(Debug, Clone)]
pub struct Item {
    /// Index into the problem's pools.
    pub pool: usize,
    /// The profile.
    pub profile: ProfileIndex,
    /// What it serves.
    pub service: InstanceService,
}

/// An open GPU: its pool and the instances on it.
struct Open {
    pool: usize,
    items: Vec<Item>,
}

/// Packs items; `Err` names the pool that ran out of GPUs.
pub fn pack(
    problem: &Problem,
    mut items: Vec<Item>,
    driver: Driver,
) -> Result<Vec<GpuAssignment>, String> {
    items.sort_by(|a, b| {
        let pa = problem.pools[a.pool].gpu.profile(a.profile);
        let pb = problem.pools[b.pool].gpu.profile(b.profile);
        (
            a.pool,
            std::cmp::Reverse((pa.compute_slices(), pa.memory_slices())),
            a.profile,
            a.service.model,
        )
            .cmp(&(
                b.pool,
                std::cmp::Reverse((pb.compute_slices(), pb.memory_slices())),
                b.profile,
                b.service.model,
            ))
    });
    let mut open: Vec<Open> = Vec::new();
    for item in items {
        let pool = &problem.pools[item.pool];
        let prof = pool.gpu.profile(item.profile);
        let fits = |o: &Open| {
            // Totals first: a GPU without the compute or memory slices left is skipped
            // without a placement search.
            let compute: u32 = o
                .items
                .iter()
                .map(|i| u32::from(pool.gpu.profile(i.profile).compute_slices()))
                .sum();
            let memory: u32 = o
                .items
                .iter()
                .map(|i| u32::from(pool.gpu.profile(i.profile).memory_slices()))
                .sum();
            if compute + u32::from(prof.compute_slices()) > u32::from(pool.gpu.compute_slices())
                || memory + u32::from(prof.memory_slices()) > u32::from(pool.gpu.memory_slices())
            {
                return false;
            }
            let mut counts = counts_of(&o.items);
            counts.add(item.profile, 1);
            place(&pool.gpu, &[], &counts, driver).is_ok()
        };
        match open.iter_mut().find(|o| o.pool == item.pool && fits(o)) {
            Some(o) => o.items.push(item),
            None => {
                let used = open.iter().filter(|o| o.pool == item.pool).count() as u32;
                if used >= pool.count {
                    return Err(format!(
                        "needs more than the {} available {} GPUs",
                        pool.count,
                        pool.gpu.id()
                    ));
                }
                open.push(Open {
                    pool: item.pool,
                    items: vec![item],
                });
            }
        }
    }
    Ok(open
        .into_iter()
        .map(|o| assign(problem, o, driver))
        .collect())
}

fn counts_of(items: &[Item]) -> ProfileCounts {
    let mut c = ProfileCounts::new();
    for i in items {
        c.add(i.profile, 1);
    }
    c
}

/// The GPU's final layout, with each item on an instance of its profile.
fn assign(problem: &Problem, o: Open, driver: Driver) -> GpuAssignment {
    let gpu = &problem.pools[o.pool].gpu;
    let layout = place(gpu, &[], &counts_of(&o.items), driver)
        .unwrap_or_else(|e| panic!("packing kept only placeable GPUs, yet {e}"));
    let mut left = o.items;
    let serving = layout
        .placements()
        .iter()
        .map(|pl| {
            let i = left.iter().position(|it| it.profile == pl.profile);
            i.map(|i| left.remove(i).service)
        })
        .collect();
    GpuAssignment {
        pool: o.pool,
        layout,
        serving,
    }
}
