//! govflow's engine: the rules of intergovernmental working groups, as data-driven workflows over
//! a relational database. It knows nothing of HTTP or GraphQL; every area is a module of functions
//! that take an [`Engine`], an [`Actor`] and a parsed input and return a domain value or an
//! [`EngineError`].
//!
//! The folders are layers, each importing only those before it (docs/ARCHITECTURE.md):
//! [`kernel`] (the engine handle, database, errors, actors, history, paging), [`types`] (parsed
//! input), [`time`] (zones and calendars), [`notify`] (templates, recipients, the outbox),
//! [`workflow`] (definitions, the subject-kind registry, the executor) and [`areas`] (forums,
//! people, documents, meetings, groups, amendments, instruments, mailbox). The areas are re-exported here under their own names.

pub mod areas;
pub mod demo;
pub mod kernel;
#[cfg(test)]
mod layers;
pub mod notify;
pub mod registry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod time;
pub mod types;
pub mod workflow;

pub use areas::amendments;
pub use areas::deadlines;
pub use areas::documents::{self, diff, translations};
pub use areas::forums::{self, member_states};
pub use areas::groups::{self, proposals};
pub use areas::instruments;
pub use areas::mailbox;
pub use areas::meetings::{self, agenda, decisions};
pub use areas::people::{memberships, users};
pub use areas::reports::{self, trends};
pub use areas::tasks;
pub use kernel::{actor, clock, config, db, engine, error, events, history, pagination};
pub use notify::outbox;

pub use actor::{Acting, Actor};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ConfigSource;
pub use engine::{Engine, StartError};
pub use error::{EngineError, EngineResult};
pub use govflow_entities as entities;
