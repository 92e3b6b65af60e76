//! Relay-style connections over the engine's offset pages. Cursors are offsets; `first` is
//! bounded so that no query can ask for an unbounded page, and every list field's complexity is
//! its page size times what each item asks for ([`page_cost`]), so that lists nested in lists
//! are refused before they run instead of multiplying.

use crate::graphql::errors::coded;
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{OutputType, SimpleObject};
use govflow_engine::pagination::{DEFAULT_PAGE, MAX_PAGE, Page, PageRequest};

#[derive(SimpleObject)]
pub struct TotalCount {
    pub total_count: u64,
}

pub type Conn<T> = Connection<usize, T, TotalCount, EmptyFields>;

pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
) -> async_graphql::Result<PageRequest> {
    let limit = match first {
        None => None,
        Some(first) if first >= 1 && (first as u64) <= MAX_PAGE => Some(first as u64),
        Some(first) => {
            return Err(coded(
                "INVALID_INPUT",
                format!("invalid `first`: {first} is outside 1..={MAX_PAGE}"),
            ));
        }
    };
    let offset = match after {
        None => 0,
        Some(cursor) => parse_cursor(&cursor).ok_or_else(|| {
            let shown: String = cursor.chars().take(40).collect();
            coded(
                "INVALID_INPUT",
                format!("invalid `after`: `{shown}` is not a cursor of this list"),
            )
        })?,
    };
    Ok(PageRequest::new(offset, limit))
}

/// The offset after a cursor: cursors are the positions this API hands out, which never exceed
/// what a database offset and a GraphQL `Int` hold, so anything else is refused rather than
/// overflowing.
fn parse_cursor(cursor: &str) -> Option<u64> {
    let position = cursor.parse::<u64>().ok()?;
    if position < MAX_CURSOR {
        Some(position + 1)
    } else {
        None
    }
}

/// The largest position a cursor may name.
const MAX_CURSOR: u64 = i32::MAX as u64;

/// A ceiling for one field's complexity, far above any limit, so that sums over a whole query
/// cannot overflow.
const MAX_COST: usize = 1 << 40;

/// The complexity of a list field: the most items it may return times the complexity of what
/// the query asks of each item (`child_complexity`), plus one for the field itself.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    let size = match first {
        Some(first) if first >= 1 => u64::try_from(first).unwrap_or(MAX_PAGE).min(MAX_PAGE),
        Some(_) => MAX_PAGE,
        None => DEFAULT_PAGE,
    };
    usize::try_from(size)
        .unwrap_or(usize::MAX)
        .saturating_mul(child_complexity.max(1))
        .saturating_add(1)
        .min(MAX_COST)
}

/// A page of a child list that a loader brought whole for many parents.
pub fn child_connection<U: Clone, T: OutputType>(
    all: &[U],
    first: Option<i32>,
    after: Option<String>,
    node: impl Fn(U) -> T,
) -> async_graphql::Result<Conn<T>> {
    let request = page_request(first, after)?;
    Ok(connection(Page::of_slice(all, request), node))
}

pub fn connection<U, T: OutputType>(page: Page<U>, node: impl Fn(U) -> T) -> Conn<T> {
    let has_previous = page.has_previous();
    let has_next = page.has_next();
    let offset = page.offset as usize;
    let mut connection = Connection::with_additional_fields(
        has_previous,
        has_next,
        TotalCount {
            total_count: page.total,
        },
    );
    connection.edges.extend(
        page.items
            .into_iter()
            .enumerate()
            .map(|(index, item)| Edge::new(offset + index, node(item))),
    );
    connection
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(err: &async_graphql::Error) -> String {
        err.extensions
            .as_ref()
            .and_then(|extensions| extensions.get("code"))
            .map(|value| value.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn absurd_cursors_are_invalid_input() {
        for cursor in [
            "9223372036854775807",
            "18446744073709551615",
            "18446744073709551616",
            "-1",
            "",
            "2147483647",
            "abc",
            "1e3",
        ] {
            let err = page_request(Some(5), Some(cursor.into())).expect_err(cursor);
            assert_eq!(code(&err), "\"INVALID_INPUT\"", "{cursor}");
            assert!(err.message.contains("`after`"), "{}", err.message);
        }
        let page = page_request(Some(5), Some("2147483646".into())).unwrap();
        assert_eq!(page.offset, 2_147_483_647);
    }

    proptest! {
        #[test]
        fn any_cursor_is_a_page_or_invalid_input(cursor in any::<String>(), first in any::<i32>()) {
            match page_request(Some(first), Some(cursor.clone())) {
                Ok(page) => {
                    prop_assert!(page.offset >= 1 && page.offset <= MAX_CURSOR);
                    prop_assert!(page.limit >= 1 && page.limit <= MAX_PAGE);
                    prop_assert_eq!(cursor.parse::<u64>().ok(), Some(page.offset - 1));
                }
                Err(err) => prop_assert_eq!(code(&err), "\"INVALID_INPUT\""),
            }
        }

        #[test]
        fn numeric_cursors_never_overflow(position in any::<u64>()) {
            let result = page_request(None, Some(position.to_string()));
            prop_assert_eq!(result.is_ok(), position < MAX_CURSOR);
        }
    }
}
