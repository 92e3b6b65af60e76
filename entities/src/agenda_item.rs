//! One proposal (a group or an instrument) on the agenda of a meeting, and the decision that
//! closed its vote.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "agenda_item")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub meeting_id: Uuid,
    pub subject_id: Uuid,
    /// `group` or `instrument`.
    pub subject_kind: String,
    /// 1-based place on the agenda.
    pub position: i32,
    /// `pending`, `decided`, `deferred` or `withdrawn`.
    pub status: String,
    /// `passed`, `failed` or `no_quorum`, once the vote closed.
    pub outcome: Option<String>,
    /// The forum's rule when the vote closed: `consensus` or `majority`.
    pub rule: Option<String>,
    pub quorum: Option<f64>,
    /// Member states with `isMember` when the vote closed.
    pub member_count: Option<i32>,
    pub in_favour: Option<i32>,
    pub against: Option<i32>,
    pub abstain: Option<i32>,
    pub objections: Option<i32>,
    pub decided_at: Option<DateTimeUtc>,
    pub decided_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
