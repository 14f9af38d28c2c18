//! The requests on one instance as groups: requests at the same node that run their kernels
//! together. Arrivals join the newest group at node 0 while it has room; a group that finishes
//! a kernel lands on the next node and merges with the group there. Groups never split.
//!
//! **Invariant:** the list is in default order (node descending, then creation ascending);
//! every group has 1 to `max_batch` members sorted by request id (so by arrival and deadline);
//! at every node past 0 there is at most one group; at node 0 only the newest group may have
//! room.

use std::cmp::Reverse;
use std::collections::VecDeque;

/// A request in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    /// Request id, in arrival order.
    pub id: u64,
    /// Arrival time, ns.
    pub arrival_ns: u64,
    /// Arrival plus the SLO, ns.
    pub deadline_ns: u64,
}

/// Requests at the same node that run their kernels together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    /// Creation order: the tie-break among groups at one node (older first).
    pub seq: u64,
    /// The next node its members run.
    pub node: u32,
    /// Sorted by id.
    pub members: Vec<Member>,
}

impl Group {
    /// Members, which is the batch of its next kernel.
    pub fn size(&self) -> u32 {
        self.members.len() as u32
    }

    /// The earliest deadline among its members, ns.
    pub fn first_deadline_ns(&self) -> u64 {
        self.members[0].deadline_ns
    }

    fn key(&self) -> (Reverse<u32>, u64) {
        (Reverse(self.node), self.seq)
    }
}

/// The groups waiting for their next kernel (the running group is held apart).
#[derive(Debug)]
pub(crate) struct Groups {
    /// A deque: serial and graph batching take from the front and land there, arrivals join
    /// at the back, so a long backlog costs O(1) per kernel.
    list: VecDeque<Group>,
    next_seq: u64,
    max_batch: u32,
}

impl Groups {
    /// No groups; groups hold at most `max_batch` members.
    pub fn new(max_batch: u32) -> Groups {
        Groups {
            list: VecDeque::new(),
            next_seq: 0,
            max_batch,
        }
    }

    /// The groups in default order: most progressed first, ties older first.
    pub fn list(&mut self) -> &[Group] {
        self.list.make_contiguous()
    }

    /// The most progressed group (ties older).
    pub fn front(&self) -> Option<&Group> {
        self.list.front()
    }

    /// Whether no group waits.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// A request arrives at node 0: it joins the newest group there if that has room, else it
    /// starts a group of its own.
    pub fn arrive(&mut self, m: Member) {
        match self.list.back_mut() {
            Some(g) if g.node == 0 && g.size() < self.max_batch => {
                debug_assert!(g.members.last().is_none_or(|l| l.id < m.id));
                g.members.push(m);
            }
            _ => {
                self.list.push_back(Group {
                    seq: self.next_seq,
                    node: 0,
                    members: vec![m],
                });
                self.next_seq += 1;
            }
        }
    }

    /// Removes group `i` to run its next kernel.
    pub fn take(&mut self, i: usize) -> Group {
        self.list.remove(i).expect("a group index in range")
    }

    /// A group that ran a kernel comes back at its next node (already advanced, past 0): it
    /// merges into the group at that node (keeping that group's place), or takes its place in
    /// the order.
    ///
    /// # Panics
    /// When the merged group would exceed the max batch: the scheduler let a group catch up
    /// with one it does not fit with.
    pub fn land(&mut self, g: Group) {
        assert!(g.node > 0, "a group landed on node 0");
        let at = self.list.partition_point(|q| q.node > g.node);
        match self.list.get_mut(at) {
            Some(q) if q.node == g.node => {
                assert!(
                    q.size() + g.size() <= self.max_batch,
                    "groups of {} and {} merged at node {} beyond the max batch {}",
                    q.size(),
                    g.size(),
                    g.node,
                    self.max_batch
                );
                let mut merged = Vec::with_capacity(q.members.len() + g.members.len());
                let (mut a, mut b) = (q.members.iter().peekable(), g.members.iter().peekable());
                while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
                    if x.id < y.id {
                        merged.push(*a.next().expect("peeked"));
                    } else {
                        merged.push(*b.next().expect("peeked"));
                    }
                }
                merged.extend(a);
                merged.extend(b);
                q.members = merged;
            }
            _ => {
                let key = g.key();
                let at = self.list.partition_point(|q| q.key() < key);
                self.list.insert(at, g);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: u64) -> Member {
        Member {
            id,
            arrival_ns: id,
            deadline_ns: id + 100,
        }
    }

    fn shape(g: &mut Groups) -> Vec<(u32, Vec<u64>)> {
        g.list()
            .iter()
            .map(|g| (g.node, g.members.iter().map(|m| m.id).collect()))
            .collect()
    }

    #[test]
    fn arrivals_fill_the_newest_group_and_landings_merge() {
        let mut g = Groups::new(3);
        for id in 0..4 {
            g.arrive(m(id));
        }
        assert_eq!(shape(&mut g), [(0, vec![0, 1, 2]), (0, vec![3])]);
        // The full group runs node 0; an arrival meanwhile joins the other.
        let mut a = g.take(0);
        g.arrive(m(4));
        a.node = 1;
        g.land(a);
        assert_eq!(shape(&mut g), [(1, vec![0, 1, 2]), (0, vec![3, 4])]);
        let mut b = g.take(1);
        b.node = 1;
        let mut c = g.take(0);
        c.node = 2;
        g.land(c);
        g.land(b);
        assert_eq!(shape(&mut g), [(2, vec![0, 1, 2]), (1, vec![3, 4])]);
        // A newer single catches up with {3, 4} and merges in id order.
        g.arrive(m(5));
        let mut d = g.take(2);
        d.node = 1;
        g.land(d);
        assert_eq!(shape(&mut g), [(2, vec![0, 1, 2]), (1, vec![3, 4, 5])]);
    }

    #[test]
    #[should_panic(expected = "beyond the max batch")]
    fn merging_beyond_the_max_batch_is_a_bug() {
        let mut g = Groups::new(2);
        for id in 0..3 {
            g.arrive(m(id));
        }
        let mut a = g.take(0);
        a.node = 1;
        g.land(a);
        let mut b = g.take(1);
        b.node = 1;
        g.land(b);
    }
}
