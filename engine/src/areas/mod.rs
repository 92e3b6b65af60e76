//! The areas of the domain, one folder each. An area owns its tables, its rules and, for a
//! subject kind, the [`crate::workflow::SubjectKind`] that plugs it into the executor. Areas import
//! the layers below them and the areas listed before them here, never one listed after.

pub mod amendments;
pub mod deadlines;
pub mod documents;
pub mod forums;
pub mod groups;
pub mod instruments;
pub mod mailbox;
pub mod meetings;
pub mod people;
pub mod reports;
pub mod tasks;
