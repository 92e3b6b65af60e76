//! The scheduler and the occurrence rules, driven through the engine with its clock moved by
//! the test: each reminder once, catch-up after downtime, meetings moving and cancelled, and the
//! repeating `after_transition` rule with its met-late and missed cases.

use super::scheduler::run_due;
use super::*;
use crate::areas::forums::{self, NewForum, SettingsPatch};
use crate::areas::groups::{NewGroup, create_group};
use crate::areas::meetings::{NewMeeting, move_meeting, schedule_meeting};
use crate::areas::people::memberships::{NewMembership, add_membership};
use crate::areas::people::users::{NewUser, create_user};
use crate::testing::TestEngine;
use crate::workflow::{self, TransitionRequest};
use govflow_entities::outbox_message;
use serde_json::json;

struct World {
    test: TestEngine,
    forum: Uuid,
    group: Uuid,
    coordinator: Actor,
    chair: Actor,
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn person(test: &TestEngine, email: &str, role: &str, group: Uuid) -> Actor {
    let user = create_user(
        &test.engine,
        &test.admin,
        NewUser {
            email: email.into(),
            name: email.split('@').next().unwrap().into(),
            is_admin: false,
        },
    )
    .await
    .unwrap();
    add_membership(
        &test.engine,
        &test.admin,
        NewMembership {
            user_id: user.id,
            role: role.into(),
            forum_id: None,
            group_id: Some(group),
            member_state_id: None,
        },
    )
    .await
    .unwrap();
    Actor::load(&test.engine, user.id).await.unwrap().unwrap()
}

async fn world_at(start: DateTime<Utc>, effective_at: Option<DateTime<Utc>>) -> World {
    let test = TestEngine::start().await;
    test.clock.set(start);
    let forum = forums::create_forum(
        &test.engine,
        &test.admin,
        NewForum {
            name: "Digital Nations".into(),
            // The group's own report deadline (reports area) watches another series, so that
            // the summits these tests move remind only through the deadlines they create.
            settings: SettingsPatch {
                summit_series: Some("Council of Ministers".into()),
                ..SettingsPatch::default()
            },
        },
    )
    .await
    .unwrap();
    let group = create_group(
        &test.engine,
        &test.admin,
        NewGroup {
            forum_id: forum.id,
            name: "Data Governance".into(),
            theme: "Cross-border data".into(),
            lead_member_state_id: None,
            time_zone: Some("Asia/Seoul".into()),
            effective_at,
            reason: None,
        },
    )
    .await
    .unwrap();
    let coordinator = person(&test, "coordinator@example.org", "coordinator", group.id).await;
    let chair = person(&test, "chair@example.org", "chair", group.id).await;
    World {
        forum: forum.id,
        group: group.id,
        test,
        coordinator,
        chair,
    }
}

async fn world() -> World {
    world_at(utc("2026-03-02T00:00:00Z"), None).await
}

impl World {
    fn engine(&self) -> &Engine {
        &self.test.engine
    }

    async fn deadline(&self, rule: &str, reminders: Option<&[(&str, &str)]>) -> Deadline {
        create_deadline(
            self.engine(),
            &self.coordinator,
            NewDeadline {
                subject_id: self.group,
                title: "Annual report".into(),
                rule: rule.into(),
                reminders: reminders.map(|steps| {
                    steps
                        .iter()
                        .map(|(offset, role)| StepText {
                            offset: (*offset).into(),
                            roles: vec![(*role).into()],
                        })
                        .collect()
                }),
                ..NewDeadline::default()
            },
        )
        .await
        .unwrap()
    }

    /// Moves the clock and lets the scheduler catch up (twice: the second pass must find
    /// nothing left to do).
    async fn at(&self, instant: &str) -> scheduler::TickReport {
        self.test.clock.set(utc(instant));
        let report = run_due(self.engine()).await.unwrap();
        let again = run_due(self.engine()).await.unwrap();
        assert_eq!(
            (again.reminders_sent, again.fell_due, again.missed),
            (0, 0, 0)
        );
        report
    }

    /// (recipient, reminder offset) of every reminder e-mail, in the order queued.
    async fn mails(&self) -> Vec<(String, String)> {
        let rows = outbox_message::Entity::find()
            .filter(outbox_message::Column::Template.eq(scheduler::TEMPLATE))
            .order_by_asc(outbox_message::Column::CreatedAt)
            .order_by_asc(outbox_message::Column::Id)
            .all(self.engine().db())
            .await
            .unwrap();
        let reminders = deadline_reminder::Entity::find()
            .all(self.engine().db())
            .await
            .unwrap();
        rows.into_iter()
            .map(|row| {
                let reminder_id: Uuid = row.dedup_key.split(':').nth(1).unwrap().parse().unwrap();
                let reminder = reminders.iter().find(|r| r.id == reminder_id).unwrap();
                (row.recipient_email, reminder.offset.clone())
            })
            .collect()
    }

    async fn occurrences(&self, deadline: Uuid) -> Vec<(String, DateTime<Utc>, String)> {
        deadline_occurrence::Entity::find()
            .filter(deadline_occurrence::Column::DeadlineId.eq(deadline))
            .order_by_asc(deadline_occurrence::Column::DueAt)
            .all(self.engine().db())
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.anchor, row.due_at, row.state))
            .collect()
    }

    async fn summit(&self, starts_at: &str) -> Uuid {
        schedule_meeting(
            self.engine(),
            &self.test.admin,
            NewMeeting {
                forum_id: self.forum,
                series: "Ministerial Summit".into(),
                number: None,
                title: None,
                place: None,
                time_zone: Some("Asia/Seoul".into()),
                starts_at: utc(starts_at),
                ends_at: utc(starts_at) + chrono::Duration::hours(8),
                reason: None,
            },
        )
        .await
        .unwrap()
        .id
    }
}

const COORDINATOR: &str = "coordinator@example.org";
const CHAIR: &str = "chair@example.org";

#[tokio::test]
async fn each_reminder_of_the_default_plan_goes_out_exactly_once() {
    let world = world().await;
    // 1 May 2026, 10:00 in Seoul (01:00 UTC); the plan reminds 30, 7 and 1 days before, on
    // the day, a day after, and the chair a week after.
    let deadline = world.deadline("at 2026-05-01T10:00", None).await;
    assert_eq!(deadline.time_zone.name(), "Asia/Seoul");
    assert_eq!(deadline.grace_days, DEFAULT_GRACE_DAYS);
    let mut expected: Vec<(String, String)> = Vec::new();
    for (instant, offset, to) in [
        ("2026-04-01T01:00:00Z", "-30d", COORDINATOR),
        ("2026-04-24T01:00:00Z", "-7d", COORDINATOR),
        ("2026-04-30T01:00:00Z", "-1d", COORDINATOR),
        ("2026-05-01T01:00:00Z", "0d", COORDINATOR),
        ("2026-05-02T01:00:00Z", "+1d", COORDINATOR),
        ("2026-05-08T01:00:00Z", "+7d", CHAIR),
    ] {
        // A minute early nothing goes; on the minute exactly this one does.
        world
            .at(&(utc(instant) - chrono::Duration::minutes(1)).to_rfc3339())
            .await;
        assert_eq!(world.mails().await, expected, "before {offset}");
        let report = world.at(instant).await;
        assert_eq!((report.reminders_sent, report.late), (1, 0), "{offset}");
        expected.push((to.into(), offset.into()));
        assert_eq!(world.mails().await, expected, "at {offset}");
    }
    let states = world.occurrences(deadline.id).await;
    assert_eq!(
        states,
        [(
            "2026-05-01T10:00".into(),
            utc("2026-05-01T01:00:00Z"),
            "due".into()
        )]
    );
    // Thirty days of grace, then missed, with a history row for each move.
    world.at("2026-05-31T01:00:00Z").await;
    assert_eq!(world.occurrences(deadline.id).await[0].2, "due");
    let report = world.at("2026-05-31T01:01:00Z").await;
    assert_eq!(report.missed, 1);
    assert_eq!(world.occurrences(deadline.id).await[0].2, "missed");
    let moves: Vec<String> = govflow_entities::history_entry::Entity::find()
        .filter(govflow_entities::history_entry::Column::SubjectId.eq(deadline.id))
        .order_by_asc(govflow_entities::history_entry::Column::At)
        .all(world.engine().db())
        .await
        .unwrap()
        .into_iter()
        .map(|entry| format!("{}:{}", entry.transition, entry.to_state))
        .collect();
    assert_eq!(moves, ["create:active", "fall_due:due", "miss:missed"]);
}

#[tokio::test]
async fn reminders_that_fell_due_while_stopped_go_out_once_marked_late() {
    let world = world().await;
    let deadline = world
        .deadline(
            "at 2026-03-20T09:00",
            Some(&[
                ("-3d", "coordinator"),
                ("-2d", "coordinator"),
                ("-1d", "chair"),
            ]),
        )
        .await;
    // Nothing runs from 2 March until the evening before the deadline.
    let report = world.at("2026-03-19T12:00:00Z").await;
    assert_eq!((report.reminders_sent, report.late), (3, 3));
    assert_eq!(
        world.mails().await,
        [
            (COORDINATOR.to_owned(), "-3d".to_owned()),
            (COORDINATOR.to_owned(), "-2d".to_owned()),
            (CHAIR.to_owned(), "-1d".to_owned()),
        ]
    );
    let occurrence = occurrence_ids(&world, deadline.id).await[0];
    let reminders = reminders_of(world.engine(), &[occurrence]).await.unwrap();
    let reminders = &reminders[&occurrence];
    assert_eq!(reminders.len(), 3);
    assert!(reminders.iter().all(|r| r.state == "sent" && r.late));
    // Restarted again later: nothing is sent twice.
    world.at("2026-03-19T13:00:00Z").await;
    assert_eq!(world.mails().await.len(), 3);
}

async fn occurrence_ids(world: &World, deadline: Uuid) -> Vec<Uuid> {
    deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.eq(deadline))
        .order_by_asc(deadline_occurrence::Column::DueAt)
        .all(world.engine().db())
        .await
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect()
}

#[tokio::test]
async fn a_moved_summit_moves_its_occurrence_and_unsent_reminders_only() {
    let world = world().await;
    // The 10th summit on 1 June 2026, 09:00 in Seoul.
    let summit = world.summit("2026-06-01T00:00:00Z").await;
    let deadline = world
        .deadline(
            "before_event \"Ministerial Summit\" 30d",
            Some(&[("-7d", "coordinator"), ("0d", "coordinator")]),
        )
        .await;
    assert_eq!(
        world.occurrences(deadline.id).await,
        [(
            summit.to_string(),
            utc("2026-05-02T00:00:00Z"),
            "scheduled".into()
        )]
    );
    world.at("2026-04-25T00:00:00Z").await;
    assert_eq!(
        world.mails().await,
        [(COORDINATOR.to_owned(), "-7d".to_owned())]
    );

    // A month later: the occurrence and its unsent reminder follow; the sent one is not resent.
    move_meeting(
        world.engine(),
        &world.test.admin,
        summit,
        utc("2026-07-01T00:00:00Z"),
        utc("2026-07-01T08:00:00Z"),
        Some("Venue change".into()),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        world.occurrences(deadline.id).await,
        [(
            summit.to_string(),
            utc("2026-06-01T00:00:00Z"),
            "scheduled".into()
        )]
    );
    world.at("2026-05-02T00:00:00Z").await;
    world.at("2026-05-25T00:00:00Z").await;
    assert_eq!(world.mails().await.len(), 1);
    world.at("2026-06-01T00:00:00Z").await;
    assert_eq!(
        world.mails().await,
        [
            (COORDINATOR.to_owned(), "-7d".to_owned()),
            (COORDINATOR.to_owned(), "0d".to_owned())
        ]
    );

    // Moved earlier, into the past of its reminder: the occurrence is due again at once... and
    // a cancelled summit cancels it; the next summit becomes the anchor.
    let next = world.summit("2027-06-01T00:00:00Z").await;
    workflow::transition(
        world.engine(),
        &world.test.admin,
        TransitionRequest {
            subject_id: summit,
            name: "cancel".into(),
            reason: Some("Typhoon".into()),
            expected_version: None,
            input: serde_json::Value::Null,
        },
    )
    .await
    .unwrap();
    let states = world.occurrences(deadline.id).await;
    assert_eq!(states.len(), 2);
    assert_eq!(states[0].0, summit.to_string());
    assert_eq!(states[0].2, "cancelled");
    assert_eq!(
        states[1],
        (
            next.to_string(),
            utc("2027-05-02T00:00:00Z"),
            "scheduled".into()
        )
    );
}

#[tokio::test]
async fn a_summit_moved_closer_sends_its_passed_reminders_at_once_marked_late() {
    let world = world().await;
    let summit = world.summit("2026-06-01T00:00:00Z").await;
    let deadline = world
        .deadline(
            "before_event \"Ministerial Summit\" 2d",
            Some(&[("-14d", "coordinator"), ("-7d", "chair")]),
        )
        .await;
    world.at("2026-04-01T00:00:00Z").await;
    assert!(world.mails().await.is_empty());
    move_meeting(
        world.engine(),
        &world.test.admin,
        summit,
        utc("2026-04-08T00:00:00Z"),
        utc("2026-04-08T08:00:00Z"),
        None,
        None,
    )
    .await
    .unwrap();
    // Due 6 April now: the 14-day reminder (23 March) is in the past and goes at once, late;
    // the 7-day one (30 March) too.
    let report = world.at("2026-04-01T00:01:00Z").await;
    assert_eq!((report.reminders_sent, report.late), (2, 2));
    assert_eq!(
        world.occurrences(deadline.id).await[0].1,
        utc("2026-04-06T00:00:00Z")
    );
}

#[tokio::test]
async fn the_oecd_rule_falls_due_three_years_after_adoption_then_every_three() {
    // Established (the Recommendation adopted) on 15 July 2014; the rule is set a week later.
    let adopted = utc("2014-07-15T01:00:00Z");
    let world = world_at(utc("2014-07-22T00:00:00Z"), Some(adopted)).await;
    let deadline = world
        .deadline(
            "after_transition establish 3y every 3y",
            Some(&[("-30d", "coordinator")]),
        )
        .await;
    assert_eq!(deadline.effective_at, Some(adopted));
    assert_eq!(
        world.occurrences(deadline.id).await,
        [("1".into(), utc("2017-07-15T01:00:00Z"), "scheduled".into())]
    );
    // Reported a month late: met late, and the next repeat is written in time for its reminder.
    world.at("2017-07-16T00:00:00Z").await;
    let first = occurrence_ids(&world, deadline.id).await[0];
    let met = mark_occurrence_met(
        world.engine(),
        &world.coordinator,
        first,
        Some("Report to Council C(2017)88".into()),
    )
    .await
    .unwrap();
    assert_eq!(met.state, "met_late");
    world.at("2020-06-14T00:00:00Z").await;
    assert_eq!(
        world.occurrences(deadline.id).await[1..],
        [("2".into(), utc("2020-07-15T01:00:00Z"), "scheduled".into())]
    );
    // The second report never comes: missed when the grace ends.
    world.at("2020-08-15T00:00:00Z").await;
    let states: Vec<String> = world
        .occurrences(deadline.id)
        .await
        .into_iter()
        .map(|(anchor, _, state)| format!("{anchor}:{state}"))
        .collect();
    assert_eq!(states, ["1:met_late", "2:missed"]);
    assert_eq!(world.mails().await.len(), 2);
    let _ = &world.chair;
}

#[tokio::test]
async fn only_the_coordinators_manage_and_outsiders_see_nothing() {
    let world = world().await;
    let refused = create_deadline(
        world.engine(),
        &world.chair,
        NewDeadline {
            subject_id: world.group,
            title: "Report".into(),
            rule: "cron 0 9 13 * 5".into(),
            ..NewDeadline::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), "FORBIDDEN");
    let deadline = world.deadline("cron 0 9 13 * 5", None).await;
    // Fridays at 09:00 in Seoul, and the 13th (13 March 2026 is a Friday, once), written a
    // month and two days ahead (the default plan's earliest reminder, and a margin).
    let dues = |rows: Vec<(String, DateTime<Utc>, String)>| -> Vec<String> {
        rows.into_iter().map(|(anchor, _, _)| anchor).collect()
    };
    assert_eq!(
        dues(world.occurrences(deadline.id).await),
        [
            "2026-03-06T09:00",
            "2026-03-13T09:00",
            "2026-03-20T09:00",
            "2026-03-27T09:00",
            "2026-04-03T09:00"
        ]
    );
    world.at("2026-03-15T00:00:00Z").await;
    let written = dues(world.occurrences(deadline.id).await);
    assert_eq!(
        written[written.len() - 3..],
        ["2026-04-03T09:00", "2026-04-10T09:00", "2026-04-13T09:00"]
    );
    let outsider = world.test.outsider().await;
    let read = get_deadline(world.engine(), &outsider, deadline.id)
        .await
        .unwrap();
    assert_eq!(read.id, deadline.id);
    let bad = create_deadline(
        world.engine(),
        &world.coordinator,
        NewDeadline {
            subject_id: world.group,
            title: "Report".into(),
            rule: "cron 0 0 9 13 * 5".into(),
            ..NewDeadline::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(bad.code(), "INVALID_INPUT");
    assert!(bad.to_string().contains("5 fields"), "{bad}");
    let _ = &world.chair;
}

fn take(subject_id: Uuid, name: &str, input: serde_json::Value) -> TransitionRequest {
    TransitionRequest {
        subject_id,
        name: name.into(),
        reason: Some("As agreed".into()),
        expected_version: None,
        input,
    }
}

#[tokio::test]
async fn a_postponed_summit_holds_its_reminders_until_it_has_dates_again() {
    let world = world().await;
    let summit = world.summit("2026-06-01T00:00:00Z").await;
    let deadline = world
        .deadline(
            "before_event \"Ministerial Summit\" 7d",
            Some(&[("-3d", "coordinator"), ("+1d", "coordinator")]),
        )
        .await;
    workflow::transition(
        world.engine(),
        &world.test.admin,
        take(summit, "postpone", json!(null)),
    )
    .await
    .unwrap();
    // Past the old dates: nothing falls due and nothing is sent while it waits.
    world.at("2026-06-10T00:00:00Z").await;
    assert!(world.mails().await.is_empty());
    let held = &world.occurrences(deadline.id).await[0];
    assert_eq!(held.2, "scheduled");
    let dates = json!({ "startsAt": "2026-09-01T00:00:00Z", "endsAt": "2026-09-01T08:00:00Z" });
    workflow::transition(
        world.engine(),
        &world.test.admin,
        take(summit, "reschedule", dates),
    )
    .await
    .unwrap();
    assert_eq!(
        world.occurrences(deadline.id).await,
        [(
            summit.to_string(),
            utc("2026-08-25T00:00:00Z"),
            "scheduled".into()
        )]
    );
    world.at("2026-08-22T00:00:00Z").await;
    assert_eq!(
        world.mails().await,
        [(COORDINATOR.to_owned(), "-3d".to_owned())]
    );
}

#[tokio::test]
async fn the_transition_a_deadline_waits_for_meets_it_and_a_refused_on_missed_is_logged() {
    let world = world().await;
    let summit = world.summit("2026-06-01T00:00:00Z").await;
    // The agenda must be settled by 25 May; starting the summit meets it (late, by then).
    let agenda = create_deadline(
        world.engine(),
        &world.test.admin,
        NewDeadline {
            subject_id: summit,
            title: "Agenda settled".into(),
            rule: "at 2026-05-25T09:00".into(),
            met_by: Some("start".into()),
            reminders: Some(Vec::new()),
            ..NewDeadline::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(agenda.group_id, None);
    world.at("2026-06-01T00:00:00Z").await;
    workflow::transition(
        world.engine(),
        &world.test.admin,
        take(summit, "start", json!(null)),
    )
    .await
    .unwrap();
    assert_eq!(world.occurrences(agenda.id).await[0].2, "met_late");

    // A deadline whose `onMissed` the engine may not take: the miss stands, the meeting stays.
    let report = create_deadline(
        world.engine(),
        &world.test.admin,
        NewDeadline {
            subject_id: summit,
            title: "Report circulated".into(),
            rule: "at 2026-06-02T09:00".into(),
            grace_days: Some(0),
            on_missed: Some("close".into()),
            reminders: Some(Vec::new()),
            ..NewDeadline::default()
        },
    )
    .await
    .unwrap();
    world.at("2026-06-03T00:00:00Z").await;
    assert_eq!(world.occurrences(report.id).await[0].2, "missed");
    let state = crate::workflow::subjects::state_of(world.engine().db(), summit)
        .await
        .unwrap();
    assert_eq!(state, "in_session");
    let refused = create_deadline(
        world.engine(),
        &world.test.admin,
        NewDeadline {
            subject_id: summit,
            title: "Report".into(),
            rule: "at 2026-07-02T09:00".into(),
            on_missed: Some("explode".into()),
            ..NewDeadline::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        refused.to_string().contains("no transition `explode`"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_changed_rule_retimes_what_waits_and_keeps_what_was_sent() {
    let world = world().await;
    let deadline = world
        .deadline(
            "at 2026-04-01T09:00",
            Some(&[("-20d", "coordinator"), ("-1d", "coordinator")]),
        )
        .await;
    world.at("2026-03-13T00:00:00Z").await;
    assert_eq!(world.mails().await.len(), 1);
    let stale = update_deadline(
        world.engine(),
        &world.coordinator,
        deadline.id,
        DeadlineChanges {
            rule: Some("at 2026-04-10T09:00".into()),
            expected_version: Some(7),
            ..DeadlineChanges::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(stale.code(), "STALE_STATE");
    let changed = update_deadline(
        world.engine(),
        &world.coordinator,
        deadline.id,
        DeadlineChanges {
            rule: Some("at 2026-04-10T09:00".into()),
            grace_days: Some(5),
            expected_version: Some(1),
            reason: Some("The Council moved the date".into()),
            ..DeadlineChanges::default()
        },
    )
    .await
    .unwrap();
    assert_eq!((changed.version, changed.grace_days), (2, 5));
    // The old occurrence had a reminder out: it is kept, cancelled; the new one has both
    // reminders ahead of it.
    let states: Vec<(String, String)> = world
        .occurrences(deadline.id)
        .await
        .into_iter()
        .map(|(anchor, _, state)| (anchor, state))
        .collect();
    assert_eq!(
        states,
        [
            ("2026-04-01T09:00".to_owned(), "cancelled".to_owned()),
            ("2026-04-10T09:00".to_owned(), "scheduled".to_owned())
        ]
    );
    world.at("2026-03-21T00:00:00Z").await;
    world.at("2026-04-09T00:00:00Z").await;
    let offsets: Vec<String> = world
        .mails()
        .await
        .into_iter()
        .map(|(_, offset)| offset)
        .collect();
    assert_eq!(offsets, ["-20d", "-20d", "-1d"]);
    // Back to the default plan: the waiting occurrence's unsent reminders follow it.
    let defaulted = update_deadline(
        world.engine(),
        &world.coordinator,
        deadline.id,
        DeadlineChanges {
            use_default_reminders: true,
            ..DeadlineChanges::default()
        },
    )
    .await
    .unwrap();
    assert!(defaulted.uses_default_reminders);
    assert_eq!(defaulted.reminders.len(), 6);
}

#[tokio::test]
async fn grace_never_runs_past_the_next_occurrence_even_after_a_change() {
    let world = world().await;
    let deadline = world.deadline("cron 0 9 * * mon", None).await;
    let graces = || async {
        deadline_occurrence::Entity::find()
            .filter(deadline_occurrence::Column::DeadlineId.eq(deadline.id))
            .order_by_asc(deadline_occurrence::Column::DueAt)
            .all(world.engine().db())
            .await
            .unwrap()
            .into_iter()
            .map(|row| (row.due_at, row.grace_until))
            .collect::<Vec<_>>()
    };
    let check = |rows: Vec<(DateTime<Utc>, DateTime<Utc>)>| {
        assert!(rows.len() > 2);
        for pair in rows.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "{rows:?}");
        }
    };
    check(graces().await);
    update_deadline(
        world.engine(),
        &world.coordinator,
        deadline.id,
        DeadlineChanges {
            grace_days: Some(40),
            ..DeadlineChanges::default()
        },
    )
    .await
    .unwrap();
    check(graces().await);
}
