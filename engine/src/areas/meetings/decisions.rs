//! The member states' ballots on an agenda item and the decision that closes its vote.
//!
//! While the meeting is in session, each member state with `isMember` casts one ballot through its
//! representative, changeable until the vote closes. `close_vote` (a forum coordinator) counts
//! them under the forum's rule and quorum (DECISIONS §11) and, as `system` on the coordinator's
//! behalf, takes the proposal's transitions the decision calls for (`approve` then `activate`,
//! `adopt`, or `reject`), all in one transaction. The agenda item's row is locked first by both,
//! so no ballot slips in between the count and the close.

use super::agenda::AgendaItem;
use crate::areas::forums::ForumSettings;
use crate::kernel::actor::{Acting, Actor, SubjectScope};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history::{self, NewEntry};
use crate::kernel::pagination::by_parent;
use crate::types::DecisionRule;
use crate::workflow::executor::{
    TransitionRequest, check_expected_version, parse_reason, take_transition,
};
use crate::workflow::guards::refuse;
use crate::workflow::subjects;
use chrono::{DateTime, Utc};
use govflow_entities::{agenda_item, ballot, forum, member_state, workflow_instance};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// What a member state says on a proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BallotChoice {
    InFavour,
    Against,
    Abstain,
    Object,
}

impl BallotChoice {
    pub fn parse(field: &str, raw: &str) -> EngineResult<BallotChoice> {
        match raw.trim() {
            "in_favour" => Ok(BallotChoice::InFavour),
            "against" => Ok(BallotChoice::Against),
            "abstain" => Ok(BallotChoice::Abstain),
            "object" => Ok(BallotChoice::Object),
            other => Err(EngineError::invalid(
                field,
                format!("`{other}` is not one of in_favour, against, abstain, object"),
            )),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            BallotChoice::InFavour => "in_favour",
            BallotChoice::Against => "against",
            BallotChoice::Abstain => "abstain",
            BallotChoice::Object => "object",
        }
    }
}

/// A member state's ballot.
#[derive(Debug, Clone)]
pub struct Ballot {
    pub id: Uuid,
    pub agenda_item_id: Uuid,
    pub member_state_id: Uuid,
    pub choice: String,
    /// The representative who cast it (or last changed it).
    pub cast_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<ballot::Model> for Ballot {
    fn from(row: ballot::Model) -> Ballot {
        Ballot {
            id: row.id,
            agenda_item_id: row.agenda_item_id,
            member_state_id: row.member_state_id,
            choice: row.choice,
            cast_by: row.cast_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct NewBallot {
    pub agenda_item_id: Uuid,
    pub member_state_id: Uuid,
    pub choice: String,
}

/// The count of a vote and what it means under a rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tally {
    pub member_count: i32,
    pub in_favour: i32,
    pub against: i32,
    pub abstain: i32,
    pub objections: i32,
}

impl Tally {
    pub fn of(member_count: i32, choices: impl IntoIterator<Item = BallotChoice>) -> Tally {
        let mut tally = Tally {
            member_count,
            in_favour: 0,
            against: 0,
            abstain: 0,
            objections: 0,
        };
        for choice in choices {
            match choice {
                BallotChoice::InFavour => tally.in_favour += 1,
                BallotChoice::Against => tally.against += 1,
                BallotChoice::Abstain => tally.abstain += 1,
                BallotChoice::Object => tally.objections += 1,
            }
        }
        tally
    }

    pub fn ballots(&self) -> i32 {
        self.in_favour + self.against + self.abstain + self.objections
    }

    /// Quorum: ballots ≥ `quorum` × member states, under both rules. Consensus passes with
    /// quorum, no objection and at least one in favour; majority with quorum and more in favour
    /// than against and objecting together.
    pub fn outcome(&self, rule: DecisionRule, quorum: f64) -> &'static str {
        // Compared in integers where the quorum allows, so that 0.5 × 4 = 2 is met by 2 ballots
        // whatever the float rounding.
        let needed = (quorum * f64::from(self.member_count) - 1e-9)
            .ceil()
            .max(0.0);
        if f64::from(self.ballots()) < needed {
            return "no_quorum";
        }
        let passed = match rule {
            DecisionRule::Consensus => self.objections == 0 && self.in_favour >= 1,
            DecisionRule::Majority => self.in_favour > self.against + self.objections,
        };
        if passed { "passed" } else { "failed" }
    }
}

/// The item locked for the rest of the transaction, with its meeting and the meeting's state.
async fn locked_item(
    txn: &DatabaseTransaction,
    item_id: Uuid,
) -> EngineResult<(
    agenda_item::Model,
    govflow_entities::meeting::Model,
    workflow_instance::Model,
)> {
    let item = agenda_item::Entity::find_by_id(item_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or_else(|| EngineError::not_found("agenda item", item_id))?;
    let (meeting, instance) = super::row_and_instance(txn, item.meeting_id).await?;
    Ok((item, meeting, instance))
}

/// Refuses a ballot or a close when the vote is not open: the meeting must be in session and the
/// item still undecided.
fn vote_open(item: &agenda_item::Model, meeting: &workflow_instance::Model) -> EngineResult<()> {
    if meeting.state != "in_session" {
        return Err(refuse(
            "vote_open",
            format!(
                "votes are taken while the meeting is in session; it is `{}`",
                meeting.state
            ),
        ));
    }
    if item.status != "pending" {
        return Err(refuse(
            "vote_open",
            format!(
                "the vote on this agenda item is closed (the item is `{}`)",
                item.status
            ),
        ));
    }
    Ok(())
}

/// Appends a row about the vote to the meeting's history (it keeps its state and version:
/// ballots are rows of their own).
async fn record_on_meeting(
    txn: &DatabaseTransaction,
    meeting: &workflow_instance::Model,
    operation: &str,
    acting: Acting<'_>,
    reason: Option<&str>,
    detail: serde_json::Value,
    at: DateTime<Utc>,
) -> EngineResult<()> {
    history::append(
        txn,
        NewEntry {
            subject_id: meeting.subject_id,
            subject_kind: "meeting",
            transition: operation,
            from_state: &meeting.state,
            to_state: &meeting.state,
            acting,
            reason,
            definition_hash: Some(&meeting.definition_hash),
            detail: Some(detail),
            at,
        },
    )
    .await?;
    Ok(())
}

/// Casts (or changes) a member state's ballot. Checks: the choice parses; the item exists; the
/// state exists in the meeting's forum; the caller represents it (FORBIDDEN) and it is a member
/// (FORBIDDEN); the vote is open (GUARD_FAILED `vote_open`).
pub async fn cast_ballot(engine: &Engine, actor: &Actor, input: NewBallot) -> EngineResult<Ballot> {
    let choice = BallotChoice::parse("choice", &input.choice)?;
    let txn = engine.begin_write().await?;
    let (item, meeting, instance) = locked_item(&txn, input.agenda_item_id).await?;
    let state = member_state::Entity::find_by_id(input.member_state_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("member state", input.member_state_id))?;
    if state.forum_id != meeting.forum_id {
        return Err(EngineError::invalid(
            "memberStateId",
            "names a member state of another forum",
        ));
    }
    let scope = SubjectScope {
        forum_id: Some(state.forum_id),
        member_state_id: Some(state.id),
        ..SubjectScope::default()
    };
    if !actor.holds("representative", &scope) {
        return Err(EngineError::Forbidden(format!(
            "casting the ballot of {} needs the role representative of {}",
            state.name, state.name
        )));
    }
    if !state.is_member {
        return Err(EngineError::Forbidden(format!(
            "{} is not a member of the forum: only member states vote",
            state.name
        )));
    }
    vote_open(&item, &instance)?;
    let now = engine.now();
    let existing = ballot::Entity::find()
        .filter(ballot::Column::AgendaItemId.eq(item.id))
        .filter(ballot::Column::MemberStateId.eq(state.id))
        .one(&txn)
        .await?;
    let row = match existing {
        Some(existing) => {
            let mut row = existing.into_active_model();
            row.choice = Set(choice.as_str().to_owned());
            row.cast_by = Set(actor.user_id);
            row.updated_at = Set(now);
            ballot::Entity::update(row).exec(&txn).await?
        }
        None => {
            let row = ballot::Model {
                id: Uuid::now_v7(),
                agenda_item_id: item.id,
                member_state_id: state.id,
                choice: choice.as_str().to_owned(),
                cast_by: actor.user_id,
                created_at: now,
                updated_at: now,
            };
            ballot::Entity::insert(row.clone().into_active_model())
                .exec_without_returning(&txn)
                .await?;
            row
        }
    };
    record_on_meeting(
        &txn,
        &instance,
        "cast_vote",
        Acting::User(actor),
        None,
        // The choice stays out of the history, which anyone may read: ballots show only once
        // the vote has closed.
        json!({
            "agendaItemId": item.id.to_string(),
            "memberStateId": state.id.to_string(),
        }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

/// Closes the vote on an agenda item: records the tally and the outcome under the forum's rule,
/// then, as `system` on the coordinator's behalf, takes what the outcome calls for on the
/// proposal. `expected_version` is the proposal's.
pub async fn close_vote(
    engine: &Engine,
    actor: &Actor,
    item_id: Uuid,
    reason: Option<String>,
    expected_version: Option<i32>,
) -> EngineResult<AgendaItem> {
    let reason = parse_reason(reason.as_deref())?;
    let txn = engine.begin_write().await?;
    let (item, meeting, meeting_instance) = locked_item(&txn, item_id).await?;
    if !actor.holds("forum_coordinator", &super::meeting_scope(&meeting)) {
        return Err(EngineError::Forbidden(
            "closing a vote needs the role forum_coordinator".into(),
        ));
    }
    let proposal = subjects::instance_of(&txn, item.subject_id).await?;
    check_expected_version(&proposal, expected_version)?;
    vote_open(&item, &meeting_instance)?;
    let forum = forum::Entity::find_by_id(meeting.forum_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", meeting.forum_id))?;
    let settings = ForumSettings::of(&forum);
    let (tally, members) = count(&txn, &item, forum.id).await?;
    let outcome = tally.outcome(settings.decision_rule, settings.quorum);
    let now = engine.now();
    let mut row = item.clone().into_active_model();
    row.status = Set("decided".into());
    row.outcome = Set(Some(outcome.to_owned()));
    row.rule = Set(Some(settings.decision_rule.as_str().to_owned()));
    row.quorum = Set(Some(settings.quorum));
    row.member_count = Set(Some(members));
    row.in_favour = Set(Some(tally.in_favour));
    row.against = Set(Some(tally.against));
    row.abstain = Set(Some(tally.abstain));
    row.objections = Set(Some(tally.objections));
    row.decided_at = Set(Some(now));
    row.decided_by = Set(Some(actor.user_id));
    row.updated_at = Set(now);
    let decided = agenda_item::Entity::update(row).exec(&txn).await?;
    record_on_meeting(
        &txn,
        &meeting_instance,
        "close_vote",
        Acting::User(actor),
        reason.as_deref(),
        json!({
            "agendaItemId": item.id.to_string(),
            "subjectId": item.subject_id.to_string(),
            "outcome": outcome,
            "rule": settings.decision_rule.as_str(),
            "quorum": settings.quorum,
            "memberCount": members,
            "inFavour": tally.in_favour,
            "against": tally.against,
            "abstain": tally.abstain,
            "objections": tally.objections,
        }),
        now,
    )
    .await?;
    let system = Acting::System {
        on_behalf_of: Some(actor.user_id),
    };
    for name in consequences(engine, &txn, &proposal, outcome).await? {
        let request = TransitionRequest {
            subject_id: item.subject_id,
            name: name.to_owned(),
            reason: reason.clone(),
            expected_version: None,
            input: serde_json::Value::Null,
        };
        take_transition(engine, &txn, system, &request).await?;
    }
    txn.commit().await?;
    Ok(decided.into())
}

/// The transitions a decision calls for on the proposal, by what its definition offers: a group
/// is approved then activated, an instrument adopted; a failed proposal is rejected; without
/// quorum nothing moves and the proposal stays on the agenda.
async fn consequences(
    engine: &Engine,
    txn: &DatabaseTransaction,
    proposal: &workflow_instance::Model,
    outcome: &str,
) -> EngineResult<Vec<&'static str>> {
    let definition = engine
        .definition_by_hash(txn, &proposal.definition_hash)
        .await?;
    let has = |name: &str| definition.transition(name).is_some();
    Ok(match outcome {
        "passed" if has("approve") => {
            let mut names = vec!["approve"];
            if has("activate") {
                names.push("activate");
            }
            names
        }
        "passed" if has("adopt") => vec!["adopt"],
        "failed" if has("reject") => vec!["reject"],
        _ => Vec::new(),
    })
}

/// The ballots of the item's member states that are members now, and how many members the forum
/// has.
async fn count<C: ConnectionTrait>(
    db: &C,
    item: &agenda_item::Model,
    forum_id: Uuid,
) -> EngineResult<(Tally, i32)> {
    let members: Vec<Uuid> = member_state::Entity::find()
        .select_only()
        .column(member_state::Column::Id)
        .filter(member_state::Column::ForumId.eq(forum_id))
        .filter(member_state::Column::IsMember.eq(true))
        .into_tuple()
        .all(db)
        .await?;
    let member_count = i32::try_from(members.len()).unwrap_or(i32::MAX);
    let choices = ballot::Entity::find()
        .filter(ballot::Column::AgendaItemId.eq(item.id))
        .filter(ballot::Column::MemberStateId.is_in(members))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|row| BallotChoice::parse("choice", &row.choice).ok());
    Ok((Tally::of(member_count, choices), member_count))
}

/// How many ballots each of many items has (for DataLoader).
pub async fn ballot_counts(engine: &Engine, item_ids: &[Uuid]) -> EngineResult<HashMap<Uuid, i64>> {
    let rows: Vec<(Uuid, i64)> = ballot::Entity::find()
        .select_only()
        .column(ballot::Column::AgendaItemId)
        .column_as(ballot::Column::Id.count(), "ballots")
        .filter(ballot::Column::AgendaItemId.is_in(item_ids.iter().copied()))
        .group_by(ballot::Column::AgendaItemId)
        .into_tuple()
        .all(engine.db())
        .await?;
    Ok(rows.into_iter().collect())
}

/// The ballots of each of many items, by member state (for DataLoader): at most one per member
/// state of the forum.
pub async fn ballots_of(
    engine: &Engine,
    item_ids: &[Uuid],
) -> EngineResult<HashMap<Uuid, Vec<Ballot>>> {
    let rows = ballot::Entity::find()
        .filter(ballot::Column::AgendaItemId.is_in(item_ids.iter().copied()))
        .order_by_asc(ballot::Column::CreatedAt)
        .order_by_asc(ballot::Column::Id)
        .all(engine.db())
        .await?;
    Ok(by_parent(rows, |row| row.agenda_item_id, Into::into))
}

#[cfg(test)]
mod tests {
    use super::*;
    use BallotChoice::*;

    #[test]
    fn the_rules_read_a_tally_as_decisions_says() {
        // (members, ballots, rule, quorum, outcome)
        let cases: &[(i32, &[BallotChoice], DecisionRule, f64, &str)] = &[
            (
                4,
                &[InFavour, InFavour, InFavour, Abstain],
                DecisionRule::Consensus,
                0.5,
                "passed",
            ),
            (
                4,
                &[InFavour, InFavour, Object],
                DecisionRule::Consensus,
                0.5,
                "failed",
            ),
            (
                4,
                &[Abstain, Abstain],
                DecisionRule::Consensus,
                0.5,
                "failed",
            ),
            (
                4,
                &[InFavour, InFavour, Against, Abstain],
                DecisionRule::Majority,
                0.5,
                "passed",
            ),
            (
                4,
                &[InFavour, Against, Object],
                DecisionRule::Majority,
                0.5,
                "failed",
            ),
            (4, &[InFavour], DecisionRule::Majority, 0.5, "no_quorum"),
            (
                4,
                &[InFavour, InFavour],
                DecisionRule::Consensus,
                0.5,
                "passed",
            ),
            (3, &[InFavour], DecisionRule::Consensus, 0.5, "no_quorum"),
            (
                3,
                &[InFavour, InFavour],
                DecisionRule::Consensus,
                0.5,
                "passed",
            ),
            (
                10,
                &[InFavour; 6],
                DecisionRule::Consensus,
                2.0 / 3.0,
                "no_quorum",
            ),
            (
                10,
                &[InFavour; 7],
                DecisionRule::Consensus,
                2.0 / 3.0,
                "passed",
            ),
            (0, &[], DecisionRule::Consensus, 0.5, "failed"),
        ];
        for (members, ballots, rule, quorum, expected) in cases {
            let tally = Tally::of(*members, ballots.iter().copied());
            assert_eq!(
                tally.outcome(*rule, *quorum),
                *expected,
                "{members} members, {ballots:?} under {rule:?} with quorum {quorum}"
            );
        }
    }
}
