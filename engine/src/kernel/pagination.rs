//! Offset pages for the Relay-style connections of the API: the API turns cursors into a
//! [`PageRequest`], the engine answers with a [`Page`] that knows whether more follow.

/// The largest page a caller may ask for.
pub const MAX_PAGE: u64 = 100;
pub const DEFAULT_PAGE: u64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
