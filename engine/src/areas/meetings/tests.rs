//! Meetings on a real database: the events their date changes raise reach a subscriber inside
//! the writer's transaction, so a subscriber's error undoes the move.

use super::*;
use crate::areas::forums::{self, NewForum, SettingsPatch};
use crate::kernel::events::Subscriber;
use crate::testing::TestEngine;
use crate::workflow::{self, TransitionRequest};
use async_trait::async_trait;
use chrono::TimeZone as _;
use std::sync::{Arc, Mutex};

/// Records the events it is told about; refuses a move to a Sunday, to show that its error is the
/// writer's.
#[derive(Default)]
struct Recorder(Mutex<Vec<MeetingChange>>);

#[async_trait]
impl Subscriber for Recorder {
    async fn on_event(
        &self,
        _engine: &Engine,
        txn: &DatabaseTransaction,
        event: &Event,
    ) -> EngineResult<()> {
        let Event::MeetingChanged(change) = event else {
            return Ok(());
        };
        // The subscriber reads the meeting as the transaction has it: already moved.
        let (row, _) = row_and_instance(txn, change.meeting_id).await?;
        assert_eq!(row.starts_at, change.starts_at);
        if chrono::Datelike::weekday(&change.starts_at) == chrono::Weekday::Sun {
            return Err(EngineError::invalid("startsAt", "no meetings on Sundays"));
        }
        self.0.lock().unwrap().push(change.clone());
        Ok(())
    }
}

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0).unwrap()
}

#[tokio::test]
async fn date_changes_reach_subscribers_in_the_same_transaction() {
    let recorder = Arc::new(Recorder::default());
    let kinds = crate::registry::registered()
        .unwrap()
        .subscribe(recorder.clone());
    let test = TestEngine::start_with(kinds, crate::kernel::config::ConfigSource::BuiltIn).await;
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
    let meeting = schedule_meeting(
        &test.engine,
        &test.admin,
        NewMeeting {
            forum_id: forum.id,
            series: "Ministerial Summit".into(),
            number: Some(9),
            title: None,
            place: Some("Seoul".into()),
            time_zone: Some("Asia/Seoul".into()),
            starts_at: at(16, 0),
            ends_at: at(17, 9),
            reason: None,
        },
    )
    .await
    .unwrap();
    assert_eq!(meeting.title, "9th Ministerial Summit");

    move_meeting(
        &test.engine,
        &test.admin,
        meeting.id,
        at(23, 0),
        at(24, 9),
        None,
        None,
    )
    .await
    .unwrap();
    // 2026-11-22 is a Sunday: the subscriber refuses, and the move is undone whole.
    let refused = move_meeting(
        &test.engine,
        &test.admin,
        meeting.id,
        at(22, 0),
        at(22, 9),
        None,
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), "INVALID_INPUT");
    let now = get_meeting(&test.engine, meeting.id).await.unwrap();
    assert_eq!((now.starts_at, now.workflow.version), (at(23, 0), 2));

    let take = |name: &str, input: serde_json::Value| TransitionRequest {
        subject_id: meeting.id,
        name: name.into(),
        reason: Some("Typhoon".into()),
        expected_version: None,
        input,
    };
    workflow::transition(&test.engine, &test.admin, take("postpone", json!(null)))
        .await
        .unwrap();
    let dates = json!({ "startsAt": at(30, 0).to_rfc3339(), "endsAt": at(30, 9).to_rfc3339() });
    workflow::transition(&test.engine, &test.admin, take("reschedule", dates))
        .await
        .unwrap();
    workflow::transition(&test.engine, &test.admin, take("cancel", json!(null)))
        .await
        .unwrap();

    let seen: Vec<(MeetingChangeKind, DateTime<Utc>, DateTime<Utc>)> = recorder
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|change| (change.kind, change.previous.0, change.starts_at))
        .collect();
    assert_eq!(
        seen,
        vec![
            (MeetingChangeKind::Scheduled, at(16, 0), at(16, 0)),
            (MeetingChangeKind::Moved, at(16, 0), at(23, 0)),
            (MeetingChangeKind::Postponed, at(23, 0), at(23, 0)),
            (MeetingChangeKind::Rescheduled, at(23, 0), at(30, 0)),
            (MeetingChangeKind::Cancelled, at(30, 0), at(30, 0)),
        ]
    );
}
