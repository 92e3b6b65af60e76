//! A deadline on a subject (a group, document, instrument, meeting or task): its rule, its grace,
//! what meets it and who is reminded (DECISIONS §9). Not a workflow subject: `active` or
//! `cancelled`.

use sea_orm::entity::prelude::*;

#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deadline")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub forum_id: Uuid,
    pub group_id: Option<Uuid>,
    pub subject_id: Uuid,
    /// `group`, `document`, `instrument`, `meeting` or `task`.
    pub subject_kind: String,
    pub title: String,
    /// `at`, `cron`, `before_event` or `after_transition`.
    pub rule_kind: String,
    /// The rule's canonical text.
    pub rule: String,
    /// IANA zone name the rule is counted in (the subject's when the deadline was made).
    pub time_zone: String,
    pub grace_days: i32,
    /// For `after_transition` rules: the transition they count from (also in `rule`), kept
    /// apart so that a transition finds the deadlines it anchors with an index.
    pub after_transition: Option<String>,
    /// The transition (of the subject, or a subject it owns) that meets an occurrence.
    pub met_by: Option<String>,
    /// The transition taken on the subject when an occurrence is missed.
    pub on_missed: Option<String>,
    /// JSON list of `{offset, roles}`; none follows the configured default plan.
    pub reminder_plan: Option<String>,
    /// `active` or `cancelled`.
    pub state: String,
    /// For `after_transition`: the transition's effective instant, once taken.
    pub effective_at: Option<DateTimeUtc>,
    /// When the scheduler next materialises occurrences (none: nothing more to add for now).
    pub next_extend_at: Option<DateTimeUtc>,
    pub version: i32,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl ActiveModelBehavior for ActiveModel {}
