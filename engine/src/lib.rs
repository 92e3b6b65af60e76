//! govflow's engine: the rules of intergovernmental working groups, as data-driven workflows over
//! a relational database. It knows nothing of HTTP or GraphQL; every area is a module of functions
//! that take an [`Engine`], an [`Actor`] and a parsed input and return a domain value or an
//! [`EngineError`].

pub mod actor;
pub mod amendments;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod diff;
pub mod documents;
pub mod engine;
pub mod error;
pub mod forums;
pub mod groups;
pub mod history;
pub mod member_states;
pub mod memberships;
pub mod outbox;
pub mod pagination;
pub mod recipients;
pub mod subjects;
pub mod templates;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod translations;
pub mod types;
pub mod users;
pub mod workflow;

pub use actor::{Acting, Actor};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ConfigSource;
pub use engine::{Engine, StartError};
pub use error::{EngineError, EngineResult};
pub use govflow_entities as entities;
