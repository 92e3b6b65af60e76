//! Relay-style connections over the engine's offset pages. Cursors are offsets; `first` is
//! bounded so that no query can ask for an unbounded page.

use crate::graphql::errors::coded;
use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{OutputType, SimpleObject};
use govflow_engine::pagination::{MAX_PAGE, Page, PageRequest};

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
        Some(cursor) => cursor.parse::<u64>().map(|after| after + 1).map_err(|_| {
            coded(
                "INVALID_INPUT",
                format!("invalid `after`: `{cursor}` is not a cursor"),
            )
        })?,
    };
    Ok(PageRequest::new(offset, limit))
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
