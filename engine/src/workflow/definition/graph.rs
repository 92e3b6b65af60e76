//! The checks on a definition's shape as a graph: every state must be
//! reachable, and every reachable state must still be able to finish.
//! They run after the file has been read, on the indices the reader resolved.

use std::ops::Range;

use super::StateDef;
use super::parse::{Checker, RawTransition};

impl Checker<'_> {
    /// Reachability from `initial` and creation targets, then, for the
    /// reached states, whether some terminal state can still be reached.
    pub(super) fn graph(
        &mut self,
        start: usize,
        states: &[StateDef],
        spans: &[Range<usize>],
        transitions: &[RawTransition],
    ) {
        let n = states.len();
        let mut forward = vec![Vec::new(); n];
        let mut backward = vec![Vec::new(); n];
        let mut seeds = vec![start];
        for t in transitions {
            let Some(to) = t.to_idx else { continue };
            if t.creation {
                seeds.push(to);
            }
            for &from in &t.from_idx {
                forward[from].push(to);
                backward[to].push(from);
            }
        }
        let reached = flood(n, seeds, &forward);
        let terminals = (0..n).filter(|&i| states[i].terminal).collect();
        let finishing = flood(n, terminals, &backward);
        for (i, state) in states.iter().enumerate() {
            if !reached[i] {
                self.at(
                    spans[i].clone(),
                    format!("state `{}` is unreachable", state.name),
                );
            } else if !state.terminal && !finishing[i] {
                self.at(
                    spans[i].clone(),
                    format!("state `{}` has no path to a terminal state", state.name),
                );
            }
        }
    }
}

/// Every node reachable from the seeds in `stack`; a stack rather than recursion, so a long
/// chain of states cannot overflow the thread's stack.
fn flood(n: usize, mut stack: Vec<usize>, edges: &[Vec<usize>]) -> Vec<bool> {
    let mut seen = vec![false; n];
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut seen[i], true) {
            stack.extend(edges[i].iter().copied());
        }
    }
    seen
}
