//! Diffs as GraphQL types: the unified text, and hunks of lines with word-level segments.

use async_graphql::SimpleObject;
use govflow_engine::diff;

#[derive(SimpleObject)]
pub struct Diff {
    /// Unified diff text (`---`/`+++` headers, `@@` hunks); empty when the texts are equal.
    pub unified: String,
    pub inserted_lines: usize,
    pub deleted_lines: usize,
    pub hunks: Vec<DiffHunk>,
}

#[derive(SimpleObject)]
pub struct DiffHunk {
    pub old_start: usize,
    pub old_lines: usize,
    pub new_start: usize,
    pub new_lines: usize,
    pub lines: Vec<DiffLine>,
}

#[derive(SimpleObject)]
pub struct DiffLine {
    /// `equal`, `delete` or `insert`.
    pub op: String,
    pub old_number: Option<usize>,
    pub new_number: Option<usize>,
    pub text: String,
    /// The line in runs; `changed` marks the words that differ from the other side.
    pub segments: Vec<DiffSegment>,
}

#[derive(SimpleObject)]
pub struct DiffSegment {
    pub changed: bool,
    pub text: String,
}

impl From<diff::Diff> for Diff {
    fn from(value: diff::Diff) -> Self {
        Diff {
            unified: value.unified,
            inserted_lines: value.inserted_lines,
            deleted_lines: value.deleted_lines,
            hunks: value
                .hunks
                .into_iter()
                .map(|hunk| DiffHunk {
                    old_start: hunk.old_start,
                    old_lines: hunk.old_lines,
                    new_start: hunk.new_start,
                    new_lines: hunk.new_lines,
                    lines: hunk
                        .lines
                        .into_iter()
                        .map(|line| DiffLine {
                            op: line.op.as_str().to_owned(),
                            old_number: line.old_number,
                            new_number: line.new_number,
                            text: line.text,
                            segments: line
                                .segments
                                .into_iter()
                                .map(|segment| DiffSegment {
                                    changed: segment.changed,
                                    text: segment.text,
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}
