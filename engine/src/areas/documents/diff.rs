//! Diffs between two texts (document versions, or an amendment and its base), computed with
//! `similar`: a unified text for people, and structured hunks, with word-level changes inside
//! changed lines, for front-ends that render them side by side.
//!
//! A diff is CPU-bound and, between texts that differ everywhere, far from linear. So it never
//! runs on the async workers: [`diff_bounded`] runs it on the blocking pool, a few at a time (one
//! core stays free for everything else), and with a deadline after which `similar` gives a coarser
//! answer (whole blocks replaced) instead of the finest one.

use crate::kernel::error::{EngineError, EngineResult};
use similar::{ChangeTag, TextDiff};
use std::sync::LazyLock;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The longest one diff may search for the finest answer before it settles for a coarser one.
pub const MAX_DIFF_TIME: Duration = Duration::from_secs(2);

/// Diffs that may run at once: all cores but one, so that requests keep being answered.
static DIFF_SLOTS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    Semaphore::new(cores.saturating_sub(1).max(1))
});

/// Diffs two texts off the async workers, ending by `deadline` (and within [`MAX_DIFF_TIME`] of
/// starting) with the finest diff found by then.
pub async fn diff_bounded(
    old: String,
    new: String,
    old_label: String,
    new_label: String,
    deadline: Instant,
) -> EngineResult<Diff> {
    let _slot = DIFF_SLOTS
        .acquire()
        .await
        .map_err(|err| EngineError::Internal(format!("the diff slots are closed: {err}")))?;
    let deadline = deadline.min(Instant::now() + MAX_DIFF_TIME);
    tokio::task::spawn_blocking(move || {
        diff_until(&old, &new, &old_label, &new_label, Some(deadline))
    })
    .await
    .map_err(|err| EngineError::Internal(format!("a diff failed: {err}")))
}

/// How many unchanged lines surround each hunk.
const CONTEXT_LINES: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Equal,
    Delete,
    Insert,
}

impl Op {
    pub fn as_str(&self) -> &'static str {
        match self {
            Op::Equal => "equal",
            Op::Delete => "delete",
            Op::Insert => "insert",
        }
    }

    fn of(tag: ChangeTag) -> Op {
        match tag {
            ChangeTag::Equal => Op::Equal,
            ChangeTag::Delete => Op::Delete,
            ChangeTag::Insert => Op::Insert,
        }
    }
}

/// A run of a line that is changed (`emphasized`) or kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub changed: bool,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub op: Op,
    /// 1-based line numbers in the old and new text (absent on the side the line is not on).
    pub old_number: Option<usize>,
    pub new_number: Option<usize>,
    /// The line without its line break.
    pub text: String,
    /// The line cut into runs, marking the words that changed against its counterpart.
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hunk {
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
    pub lines: Vec<Line>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diff {
    pub unified: String,
    pub hunks: Vec<Hunk>,
    pub inserted_lines: usize,
    pub deleted_lines: usize,
}

fn strip_newline(text: &str) -> String {
    text.trim_end_matches(['\n', '\r']).to_owned()
}

/// Diffs `old` against `new`; the labels name the two sides in the unified text.
pub fn diff(old: &str, new: &str, old_label: &str, new_label: &str) -> Diff {
    diff_until(old, new, old_label, new_label, None)
}

fn diff_until(
    old: &str,
    new: &str,
    old_label: &str,
    new_label: &str,
    deadline: Option<Instant>,
) -> Diff {
    let mut config = TextDiff::configure();
    if let Some(deadline) = deadline {
        config.deadline(deadline);
    }
    let text_diff = config.diff_lines(old, new);
    let unified = text_diff
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(old_label, new_label)
        .to_string();
    let mut hunks = Vec::new();
    let mut inserted_lines = 0;
    let mut deleted_lines = 0;
    for group in text_diff.grouped_ops(CONTEXT_LINES) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        let mut lines = Vec::new();
        for op in &group {
            for change in text_diff.iter_inline_changes_deadline(op, deadline) {
                let op = Op::of(change.tag());
                match op {
                    Op::Insert => inserted_lines += 1,
                    Op::Delete => deleted_lines += 1,
                    Op::Equal => {}
                }
                let segments: Vec<Segment> = change
                    .iter_strings_lossy()
                    .map(|(changed, text)| Segment {
                        changed: changed && op != Op::Equal,
                        text: strip_newline(&text),
                    })
                    .filter(|segment| !segment.text.is_empty())
                    .collect();
                let text = segments
                    .iter()
                    .map(|segment| segment.text.as_str())
                    .collect();
                lines.push(Line {
                    op,
                    old_number: change.old_index().map(|index| index + 1),
                    new_number: change.new_index().map(|index| index + 1),
                    text,
                    segments,
                });
            }
        }
        hunks.push(Hunk {
            old_start: old_range.start + 1,
            old_lines: old_range.len(),
            new_start: new_range.start + 1,
            new_lines: new_range.len(),
            lines,
        });
    }
    Diff {
        unified,
        hunks,
        inserted_lines,
        deleted_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_have_no_hunks() {
        let result = diff("a\nb\n", "a\nb\n", "v1", "v2");
        assert!(result.hunks.is_empty());
        assert_eq!(result.unified, "");
    }

    #[test]
    fn a_changed_line_is_one_delete_and_one_insert_with_word_changes() {
        let old = "Purpose\nPublish an annual report.\nMeet yearly.\n";
        let new = "Purpose\nPublish an annual report before the Summit.\nMeet yearly.\n";
        let result = diff(old, new, "version 1", "version 2");
        assert_eq!(result.inserted_lines, 1);
        assert_eq!(result.deleted_lines, 1);
        assert!(result.unified.contains("--- version 1"));
        assert!(result.unified.contains("-Publish an annual report."));
        assert!(
            result
                .unified
                .contains("+Publish an annual report before the Summit.")
        );
        let hunk = &result.hunks[0];
        assert_eq!(
            (
                hunk.old_start,
                hunk.old_lines,
                hunk.new_start,
                hunk.new_lines
            ),
            (1, 3, 1, 3)
        );
        let inserted = hunk
            .lines
            .iter()
            .find(|line| line.op == Op::Insert)
            .unwrap();
        assert_eq!(inserted.new_number, Some(2));
        assert_eq!(inserted.old_number, None);
        let changed: String = inserted
            .segments
            .iter()
            .filter(|segment| segment.changed)
            .map(|segment| segment.text.as_str())
            .collect();
        assert!(changed.contains("before the Summit"), "{changed:?}");
        assert!(!changed.contains("Publish"), "{changed:?}");
    }

    #[test]
    fn distant_changes_make_separate_hunks() {
        let old: String = (1..=20).map(|n| format!("line {n}\n")).collect();
        let new = old
            .replace("line 2\n", "line two\n")
            .replace("line 19\n", "line nineteen\n");
        let result = diff(&old, &new, "a", "b");
        assert_eq!(result.hunks.len(), 2);
        assert_eq!(result.hunks[1].old_start, 16);
    }
}
