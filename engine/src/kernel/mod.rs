//! What every layer stands on: the [`engine::Engine`] handle, the database and its write
//! transactions, errors, who is acting, the history of every subject, paging and where the
//! configuration files come from. The kernel imports no other folder of the engine.

pub mod actor;
pub mod clock;
pub mod config;
pub mod db;
pub mod engine;
pub mod error;
pub mod events;
pub mod history;
pub mod metrics;
pub mod pagination;
