//! Offset pages for the Relay-style connections of the API: the API turns cursors into a
//! [`PageRequest`], the engine answers with a [`Page`] that knows whether more follow. Pages are
//! cut in SQL: [`page_of`] for one list, [`pages_per_parent`] for the children of many parents.

use crate::kernel::error::EngineResult;
use sea_orm::sea_query::{Asterisk, Expr, ExprTrait, Order, Query, WindowStatement};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, ModelTrait, PaginatorTrait,
    QueryFilter, QuerySelect, QueryTrait, Select,
};
use std::collections::HashMap;
use std::future::Future;
use uuid::Uuid;

/// The largest page a caller may ask for.
pub const MAX_PAGE: u64 = 100;
pub const DEFAULT_PAGE: u64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub offset: u64,
    pub limit: u64,
}

impl PageRequest {
    pub fn new(offset: u64, limit: Option<u64>) -> PageRequest {
        PageRequest {
            offset,
            limit: limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE),
        }
    }

    pub fn all() -> PageRequest {
        PageRequest {
            offset: 0,
            limit: u64::MAX / 2,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub offset: u64,
    pub total: u64,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, request: PageRequest, total: u64) -> Page<T> {
        Page {
            items,
            offset: request.offset,
            total,
        }
    }

    /// Pages a list already in memory (children loaded in one batch for many parents).
    pub fn of_slice(all: &[T], request: PageRequest) -> Page<T>
    where
        T: Clone,
    {
        let start = usize::try_from(request.offset)
            .unwrap_or(usize::MAX)
            .min(all.len());
        let len = usize::try_from(request.limit).unwrap_or(usize::MAX);
        let end = start.saturating_add(len).min(all.len());
        Page {
            items: all[start..end].to_vec(),
            offset: request.offset,
            total: all.len() as u64,
        }
    }

    pub fn has_next(&self) -> bool {
        self.offset + (self.items.len() as u64) < self.total
    }

    pub fn has_previous(&self) -> bool {
        self.offset > 0
    }
}

/// One page of a list and its length: the page's rows and the count, in two statements. `query`
/// carries the filters and the order (ending with a unique column, so pages never overlap).
pub async fn page_of<E, C>(
    db: &C,
    query: Select<E>,
    request: PageRequest,
) -> EngineResult<Page<E::Model>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let total = query.clone().count(db).await?;
    let items = query
        .offset(request.offset)
        .limit(request.limit)
        .all(db)
        .await?;
    Ok(Page::new(items, request, total))
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            offset: self.offset,
            total: self.total,
        }
    }
}

/// Rows of many parents' short child lists, grouped by parent in the order they came (for
/// DataLoader); `child` turns each row into what the list holds.
pub fn by_parent<R, T>(
    rows: Vec<R>,
    parent: impl Fn(&R) -> Uuid,
    child: impl Fn(R) -> T,
) -> HashMap<Uuid, Vec<T>> {
    let mut lists: HashMap<Uuid, Vec<T>> = HashMap::new();
    for row in rows {
        lists.entry(parent(&row)).or_default().push(child(row));
    }
    lists
}

/// One page of the children of each of many parents (the history of a page of subjects, the
/// groups of a page of forums), in two statements whatever the number of parents or children:
/// the rows are numbered per parent in SQL (`ROW_NUMBER() OVER (PARTITION BY parent ...)`) and
/// only the requested window is read, so a parent with a long list costs no more than a short
/// one. `query` carries the filters (no order); `order` is the children's order, ending with a
/// unique column. Every requested parent has a page, empty when it has no children.
pub async fn pages_per_parent<E, C>(
    db: &C,
    query: Select<E>,
    parent: E::Column,
    parents: &[Uuid],
    order: &[E::Column],
    request: PageRequest,
) -> EngineResult<HashMap<Uuid, Page<E::Model>>>
where
    E: EntityTrait,
    E::Model: FromQueryResult + Send + Sync,
    C: ConnectionTrait,
{
    let filtered = query.filter(parent.is_in(parents.to_vec()));
    let mut window = WindowStatement::partition_by((E::default(), parent));
    for column in order {
        window.order_by((E::default(), *column), Order::Asc);
    }
    let mut numbered = filtered.clone().into_query();
    numbered.expr_window_as(Expr::cust("ROW_NUMBER()"), window, POSITION);
    let first = i64::try_from(request.offset).unwrap_or(i64::MAX);
    let last = i64::try_from(request.offset.saturating_add(request.limit)).unwrap_or(i64::MAX);
    let mut window_rows = Query::select();
    window_rows
        .column(Asterisk)
        .from_subquery(numbered, "numbered")
        .and_where(Expr::col(POSITION).gt(first))
        .and_where(Expr::col(POSITION).lte(last))
        .order_by(POSITION, Order::Asc);
    let statement = db.get_database_backend().build(&window_rows);
    let rows = E::find().from_raw_sql(statement).all(db).await?;

    let totals: Vec<(Uuid, i64)> = filtered
        .select_only()
        .column(parent)
        .column_as(Expr::col((E::default(), parent)).count(), "total")
        .group_by(parent)
        .into_tuple()
        .all(db)
        .await?;

    let mut pages: HashMap<Uuid, Page<E::Model>> = parents
        .iter()
        .map(|id| (*id, Page::new(Vec::new(), request, 0)))
        .collect();
    for (id, total) in totals {
        if let Some(page) = pages.get_mut(&id) {
            page.total = u64::try_from(total).unwrap_or(0);
        }
    }
    for row in rows {
        let id = match row.get(parent) {
            sea_orm::Value::Uuid(Some(id)) => id,
            _ => continue,
        };
        if let Some(page) = pages.get_mut(&id) {
            page.items.push(row);
        }
    }
    Ok(pages)
}

/// Pages of rows made into pages of domain values, in one batch for all the pages: `load` makes
/// values of every row at once (their workflow state, their zones), and `value_id` says which row
/// a value came from. Each page keeps its order and its total.
pub async fn load_pages<R, T, Fut>(
    pages: HashMap<Uuid, Page<R>>,
    row_id: impl Fn(&R) -> Uuid,
    value_id: impl Fn(&T) -> Uuid,
    load: impl FnOnce(Vec<R>) -> Fut,
) -> EngineResult<HashMap<Uuid, Page<T>>>
where
    R: Clone,
    Fut: Future<Output = EngineResult<Vec<T>>>,
{
    let rows = pages
        .values()
        .flat_map(|page| page.items.iter().cloned())
        .collect();
    let mut values: HashMap<Uuid, T> = load(rows)
        .await?
        .into_iter()
        .map(|value| (value_id(&value), value))
        .collect();
    Ok(pages
        .into_iter()
        .map(|(parent, page)| {
            let Page {
                items,
                offset,
                total,
            } = page.map(|row| values.remove(&row_id(&row)));
            let items = items.into_iter().flatten().collect();
            (
                parent,
                Page {
                    items,
                    offset,
                    total,
                },
            )
        })
        .collect())
}

/// The column the window query numbers each parent's children in.
const POSITION: &str = "page_position";
