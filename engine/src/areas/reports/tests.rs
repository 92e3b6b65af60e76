//! Which deadline occurrence a published report meets: the one that closes its period, never
//! another (not the oldest due one), and none for a report whose period was given by hand.

use super::*;
use crate::areas::forums::{self, NewForum, SettingsPatch};
use crate::areas::groups::{NewGroup, create_group};
use crate::areas::meetings::{NewMeeting, schedule_meeting};
use crate::testing::TestEngine;
use crate::workflow::{self, TransitionRequest};
use chrono::Duration;

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn take(test: &TestEngine, subject_id: Uuid, name: &str) {
    let request = TransitionRequest {
        subject_id,
        name: name.into(),
        reason: None,
        expected_version: None,
        input: serde_json::Value::Null,
    };
    workflow::transition(&test.engine, &test.admin, request)
        .await
        .unwrap();
}

/// Drafts, writes the implications, submits and publishes a report; returns it.
async fn publish(
    test: &TestEngine,
    group: Uuid,
    period_end: Option<DateTime<Utc>>,
) -> AnnualReport {
    let new = NewReport {
        group_id: group,
        period_end,
        reason: None,
    };
    let report = draft_report(&test.engine, &test.admin, new).await.unwrap();
    assert!(report.draft.contains(draft::IMPLICATIONS_PLACEHOLDER));
    let written = format!("{}\nOwn words on what it means.\n", report.draft);
    let update = ReportUpdate {
        draft: written,
        ..ReportUpdate::default()
    };
    update_report(&test.engine, &test.admin, report.id, update)
        .await
        .unwrap();
    take(test, report.id, "submit").await;
    take(test, report.id, "publish").await;
    get_report(&test.engine, &test.admin, report.id)
        .await
        .unwrap()
}

/// The (due instant, state) of the occurrences of the group's report deadline.
async fn states(test: &TestEngine, group: Uuid) -> Vec<(DateTime<Utc>, String)> {
    let report = deadline::Entity::find()
        .filter(deadline::Column::SubjectId.eq(group))
        .filter(deadline::Column::MetBy.eq(PUBLISH))
        .one(test.engine.db())
        .await
        .unwrap()
        .expect("the group's report deadline");
    deadline_occurrence::Entity::find()
        .filter(deadline_occurrence::Column::DeadlineId.eq(report.id))
        .order_by_asc(deadline_occurrence::Column::DueAt)
        .all(test.engine.db())
        .await
        .unwrap()
        .into_iter()
        .map(|row| (row.due_at, row.state))
        .collect()
}

#[tokio::test]
async fn a_report_meets_the_occurrence_closing_its_period_and_a_hand_given_period_meets_none() {
    let test = TestEngine::start().await;
    test.clock.set(utc("2027-01-04T00:00:00Z"));
    let forum = forums::create_forum(
        &test.engine,
        &test.admin,
        NewForum {
            name: "Digital Nations".into(),
            settings: SettingsPatch::default(),
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
            effective_at: None,
            reason: None,
        },
    )
    .await
    .unwrap();
    // No summit yet: nothing to close a period, unless it is given.
    let refused = draft_report(
        &test.engine,
        &test.admin,
        NewReport {
            group_id: group.id,
            period_end: None,
            reason: None,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, EngineError::InvalidInput { ref field, .. } if field == "periodEnd"));
    let summit = utc("2027-06-01T00:00:00Z");
    schedule_meeting(
        &test.engine,
        &test.admin,
        NewMeeting {
            forum_id: forum.id,
            series: "Ministerial Summit".into(),
            number: None,
            title: None,
            place: None,
            time_zone: None,
            starts_at: summit,
            ends_at: summit + Duration::hours(8),
            reason: None,
        },
    )
    .await
    .unwrap();
    let due = summit - Duration::days(30);
    assert_eq!(states(&test, group.id).await, [(due, "scheduled".into())]);

    // A report whose period ends by hand meets nothing, even with an occurrence open.
    let early = publish(&test, group.id, Some(utc("2027-01-05T00:00:00Z"))).await;
    assert_eq!((early.year, early.occurrence_id), (2027, None));
    assert_eq!(states(&test, group.id).await, [(due, "scheduled".into())]);

    // The next report's period starts there and ends at the occurrence's due instant; its year
    // is taken, so it is refused for 2027 ...
    test.clock.set(utc("2027-01-06T00:00:00Z"));
    let taken = draft_report(
        &test.engine,
        &test.admin,
        NewReport {
            group_id: group.id,
            period_end: None,
            reason: None,
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(taken, EngineError::Conflict(_)), "{taken:?}");
    // ... but a group's first report meets its occurrence, and only that one.
    let other = create_group(
        &test.engine,
        &test.admin,
        NewGroup {
            forum_id: forum.id,
            name: "Open Data".into(),
            theme: "Data published by governments".into(),
            lead_member_state_id: None,
            time_zone: Some("Asia/Seoul".into()),
            effective_at: None,
            reason: None,
        },
    )
    .await
    .unwrap();
    let report = publish(&test, other.id, None).await;
    assert_eq!(report.period_end, due);
    assert_eq!(report.period_start, utc("2027-01-06T00:00:00Z"));
    assert_eq!(states(&test, other.id).await, [(due, "met".into())]);
    assert_eq!(states(&test, group.id).await, [(due, "scheduled".into())]);
}
