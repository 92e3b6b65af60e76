//! Events one area raises inside its write transaction for other areas to react to in the same
//! transaction: a meeting moved, postponed, rescheduled or cancelled re-times whatever counts from
//! it (a deadline "30 days before the next summit") before anything commits, so no reader ever
//! sees the meeting moved and its dependants not. Subscribers are registered once, with the
//! subject kinds (`crate::registry`); an error from one rolls the whole write back.

use crate::kernel::engine::Engine;
use crate::kernel::error::EngineResult;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseTransaction;
use uuid::Uuid;

/// What happened to a meeting's dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeetingChangeKind {
    /// A new meeting of a series.
    Scheduled,
    /// A planned meeting's start and end changed (`moveMeeting`).
    Moved,
    /// Off the calendar until it is rescheduled.
    Postponed,
    /// A postponed meeting has dates again.
    Rescheduled,
    /// It will not take place.
    Cancelled,
}

/// A meeting whose dates changed, as it now is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingChange {
    pub kind: MeetingChangeKind,
    pub meeting_id: Uuid,
    pub forum_id: Uuid,
    pub series: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The start and end before the change.
    pub previous: (DateTime<Utc>, DateTime<Utc>),
}

/// A transition taken on an existing subject (creations are not published: nothing can count
/// from a subject before it exists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionTaken {
    pub subject_id: Uuid,
    pub subject_kind: String,
    pub transition: String,
    pub forum_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    pub at: DateTime<Utc>,
    /// Who took it, when a person did.
    pub by: Option<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    MeetingChanged(MeetingChange),
    TransitionTaken(TransitionTaken),
}

/// Something that reacts to events inside the transaction that raised them.
#[async_trait]
pub trait Subscriber: Send + Sync + 'static {
    async fn on_event(
        &self,
        engine: &Engine,
        txn: &DatabaseTransaction,
        event: &Event,
    ) -> EngineResult<()>;
}
