//! LazyBatching's choice at a scheduling point: the least-progressed group that may catch up
//! with the group ahead of it, judged by the predicted slack of every request; otherwise the
//! most progressed group.
//!
//! Two predictions are compared, both from the node profile, assuming no further arrivals and
//! no further catch-up:
//!
//! - the **default plan**: groups run to completion one after another, most progressed first
//!   (ties older first), each at its own size. Group `q` finishes at `D_q = now + Σ` of the
//!   remaining time of `q` and of every group before it.
//! - the **catch-up plan** of a candidate `c` at node `k` with `b` members, whose nearest group
//!   ahead `h` is at node `k_h` with `b_h` members (`b + b_h ≤ max_batch`): `c` first runs nodes
//!   `k..k_h` alone (`T = R(k, b) − R(k_h, b)`), then `c ∪ h` replaces `h` in the default order
//!   and runs at the merged size `b + b_h`. Groups ahead of `h` finish `T` later; `c ∪ h`
//!   finishes at `C_h = start of h + T + R(k_h, b + b_h)`; groups after it shift by the change
//!   in the work before them.
//!
//! The predicted slack of a request is its deadline minus its predicted finish. **Slack rule:**
//! a catch-up is allowed only if every request whose slack is non-negative under the default
//! plan keeps a non-negative slack under the catch-up plan. A request already predicted to miss
//! (its deadline passed, or its group cannot finish in time even undelayed behind the groups
//! ahead) is beyond help: it still runs, but it does not veto, since no choice here saves it.
//!
//! Cost: the default plan and each group's smallest non-negative slack are computed once per
//! scheduling point (a binary search per group, deadlines being sorted), then each candidate
//! is judged in constant time plus the groups between it and its target.

use super::groups::Group;
use super::profile::NodeProfile;

/// What the lazy rule runs next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pick {
    /// Index of the group in default order.
    pub index: usize,
    /// Whether the group catches up with a more progressed one (rather than being the most
    /// progressed).
    pub catch_up: bool,
    /// The smallest predicted slack among the group's members under the plan that was chosen
    /// (the catch-up plan or the default plan), ns.
    pub slack_ns: i64,
}

/// Times as signed ns: slack can be negative. Simulated times stay far below 2^63 ns: a run
/// refuses SLOs and times beyond 2^58 ns and whole-model latencies beyond 2^40 ns, and stops
/// (with an error) at 2^21 requests in flight, so a default plan ends before 2^62 ns.
fn ns(t: u64) -> i64 {
    i64::try_from(t).expect("simulated time beyond 2^63 ns (a bug: the budgets keep it lower)")
}

/// Picks the next kernel among `groups` (non-empty, in default order) at `now`.
pub(crate) fn pick(groups: &[Group], now: u64, profile: &NodeProfile, max_batch: u32) -> Pick {
    assert!(!groups.is_empty(), "a scheduling point without groups");
    let n = groups.len();
    // Default plan: finish times and, per group, the smallest non-negative slack.
    let mut finish = Vec::with_capacity(n);
    let mut margin = Vec::with_capacity(n);
    let mut t = ns(now);
    for g in groups {
        t += ns(profile.remaining_ns(g.node, g.size()));
        finish.push(t);
        let first_hit = g.members.partition_point(|m| ns(m.deadline_ns) < t);
        margin.push(
            g.members
                .get(first_hit)
                .map_or(i64::MAX, |m| ns(m.deadline_ns) - t),
        );
    }
    let mut prefix_min = vec![i64::MAX; n + 1];
    for i in 0..n {
        prefix_min[i + 1] = prefix_min[i].min(margin[i]);
    }
    let mut suffix_min = vec![i64::MAX; n + 1];
    for i in (0..n).rev() {
        suffix_min[i] = suffix_min[i + 1].min(margin[i]);
    }
    let top_node = groups[0].node;
    let mut candidates: Vec<usize> = (0..n)
        .filter(|&j| groups[j].node < top_node && groups[j].size() < max_batch)
        .collect();
    candidates.sort_by_key(|&j| (groups[j].node, groups[j].seq));
    for j in candidates {
        let c = &groups[j];
        let (k, b) = (c.node, c.size());
        // The nearest group ahead: the last of those at a later node.
        let h = groups.partition_point(|q| q.node > k) - 1;
        let (kh, bh) = (groups[h].node, groups[h].size());
        if b + bh > max_batch {
            continue;
        }
        let catch_up = ns(profile.remaining_ns(k, b) - profile.remaining_ns(kh, b));
        let start_h = finish[h] - ns(profile.remaining_ns(kh, bh));
        let merged_finish = start_h + catch_up + ns(profile.remaining_ns(kh, b + bh));
        let shift_h = merged_finish - finish[h];
        let shift_after = merged_finish + (finish[j - 1] - finish[h]) - finish[j];
        let middle_min = margin[h + 1..j].iter().copied().min().unwrap_or(i64::MAX);
        let violated = prefix_min[h] < catch_up
            || margin[h] < shift_h
            || middle_min < shift_h
            || margin[j] < merged_finish - finish[j]
            || suffix_min[j + 1] < shift_after;
        if !violated {
            return Pick {
                index: j,
                catch_up: true,
                slack_ns: ns(c.first_deadline_ns()) - merged_finish,
            };
        }
    }
    Pick {
        index: 0,
        catch_up: false,
        slack_ns: ns(groups[0].first_deadline_ns()) - finish[0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lazy::groups::Member;
    use crate::lazy::profile::NodeCurve;

    /// Ten nodes of 100 ns at batch 1 and 110 ns at batch 2 (3: 120, 4: 130).
    fn profile() -> NodeProfile {
        let nodes: Vec<NodeCurve> = (0..10)
            .map(|i| NodeCurve {
                name: format!("n{i}"),
                latency_ns: vec![(1, 100.0), (2, 110.0)],
            })
            .collect();
        NodeProfile::from_curves(&nodes, 4).unwrap()
    }

    fn group(seq: u64, node: u32, members: &[(u64, u64)]) -> Group {
        Group {
            seq,
            node,
            members: members
                .iter()
                .map(|&(id, deadline_ns)| Member {
                    id,
                    arrival_ns: 0,
                    deadline_ns,
                })
                .collect(),
        }
    }

    #[test]
    fn a_newcomer_catches_up_while_the_slack_allows() {
        let p = profile();
        // In flight at node 5 (500 ns left alone); a newcomer at node 0.
        // Catch-up: 500 ns alone, then 5 nodes at batch 2: both finish at 1050.
        let groups = [group(0, 5, &[(0, 1050)]), group(1, 0, &[(1, 5000)])];
        assert_eq!(
            pick(&groups, 0, &p, 4),
            Pick {
                index: 1,
                catch_up: true,
                slack_ns: 5000 - 1050
            }
        );
        // One ns less for the request in flight, and it must run on.
        let groups = [group(0, 5, &[(0, 1049)]), group(1, 0, &[(1, 5000)])];
        assert_eq!(
            pick(&groups, 0, &p, 4),
            Pick {
                index: 0,
                catch_up: false,
                slack_ns: 1049 - 500
            }
        );
        // A max batch of 1 never merges.
        let groups = [group(0, 5, &[(0, 9999)]), group(1, 0, &[(1, 9999)])];
        assert!(!pick(&groups, 0, &p, 1).catch_up);
    }

    #[test]
    fn requests_predicted_to_miss_do_not_veto() {
        let p = profile();
        // The request in flight misses even undelayed (deadline 400 < 500): no veto.
        let groups = [group(0, 5, &[(0, 400)]), group(1, 0, &[(1, 5000)])];
        assert!(pick(&groups, 0, &p, 4).catch_up);
        // ...but a second member of its group that would still make it does.
        let groups = [
            group(0, 5, &[(0, 400), (2, 600)]),
            group(1, 0, &[(1, 5000)]),
        ];
        let no = pick(&groups, 0, &p, 4);
        assert!(!no.catch_up);
        // The newcomer itself: hopeless alone at the back, so it may catch up even though it
        // misses then too.
        let groups = [group(0, 5, &[(0, 5000)]), group(1, 0, &[(1, 900)])];
        assert_eq!(pick(&groups, 0, &p, 4).slack_ns, 900 - 1050);
    }

    #[test]
    fn the_least_progressed_eligible_group_runs() {
        let p = profile();
        // Three groups: at 8, at 4, at 0. The one at 0 would catch up with the one at 4; the
        // first (node 8, 200 ns left) has a tight deadline that the long catch-up breaks,
        // but the shorter catch-up of the group at 4 (to node 8: 400 ns) fits.
        let groups = [
            group(0, 8, &[(0, 750)]),
            group(1, 4, &[(1, 5000)]),
            group(2, 0, &[(2, 5000)]),
        ];
        // Group at 0 catching up to node 4 delays the first by 400 ns: 600 ≤ 750, allowed.
        assert_eq!(pick(&groups, 0, &p, 4).index, 2);
        let groups = [
            group(0, 8, &[(0, 599)]),
            group(1, 4, &[(1, 5000)]),
            group(2, 0, &[(2, 5000)]),
        ];
        // Now 400 ns of delay breaks it (200 + 400 > 599), and so does the group at 4's
        // catch-up (also 400 ns): the first runs.
        let p0 = pick(&groups, 0, &p, 4);
        assert_eq!((p0.index, p0.catch_up), (0, false));
        // A full group is neither a target nor a chaser: the group at 0 does not fit with the
        // full group at 4, which has no room for the one at 8 either; the first runs.
        let groups = [
            group(0, 8, &[(0, 5000)]),
            group(1, 4, &[(1, 5000), (3, 5000), (4, 5000), (5, 5000)]),
            group(2, 0, &[(2, 5000)]),
        ];
        let p1 = pick(&groups, 0, &p, 4);
        assert_eq!(
            (p1.index, p1.catch_up),
            (0, false),
            "the group at 4 is full"
        );
    }

    #[test]
    fn groups_behind_are_protected_too() {
        let p = profile();
        // The group behind the candidate at node 0 (older, full) is delayed when the newer one
        // at node 0 jumps ahead to merge.
        let full = [(1, 3000), (2, 3000), (3, 3000), (4, 3000)];
        let groups = [
            group(0, 5, &[(0, 5000)]),
            group(1, 0, &full),
            group(2, 0, &[(5, 5000)]),
        ];
        // Default: 500, then full (1300 at batch 4) → 1800, newcomer 2800. Catch-up: newcomer
        // 500 alone + 5 nodes at batch 2 → 1050, full then 2350 ≤ 3000: allowed.
        assert_eq!(pick(&groups, 0, &p, 4).index, 2);
        let full = [(1, 2300), (2, 2300), (3, 2300), (4, 2300)];
        let groups = [
            group(0, 5, &[(0, 5000)]),
            group(1, 0, &full),
            group(2, 0, &[(5, 5000)]),
        ];
        assert_eq!(pick(&groups, 0, &p, 4).index, 0);
    }
}
