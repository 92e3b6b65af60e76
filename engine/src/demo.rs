//! A small demo forum, so that a new user sees real-looking data at once: Digital Nations with a
//! few member states and the seed-000 path already taken: Korea's representative proposed the
//! "Digital Governance" group, the 9th Ministerial Summit (Seoul, November 2022) approved it, and
//! it is active under its terms of reference with its chair and two experts. Estonia's proposal
//! of a "Data Governance" group waits on the agenda of the next summit. The active group has a
//! work plan (an open task, one an expert claimed, one delivered and accepted) and its annual
//! report falls due 30 days before the next summit. Loading it twice changes nothing.

use crate::areas::forums::member_states::{self, NewMemberState};
use crate::areas::forums::{self, NewForum, SettingsPatch};
use crate::areas::groups::proposals::{self, NewProposal};
use crate::areas::meetings::{self, NewMeeting, agenda, decisions};
use crate::areas::people::memberships::{self, NewMembership};
use crate::areas::people::users::{self, NewUser, User};
use crate::areas::reports::{self, NewReport, ReportUpdate};
use crate::areas::tasks::{self, NewTask, NewTopic};
use crate::kernel::actor::Actor;
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::workflow::{self, TransitionRequest};
use chrono::{DateTime, Datelike, TimeZone as _, Utc};
use govflow_entities::{app_user, forum};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::HashMap;
use uuid::Uuid;

pub const DEMO_FORUM: &str = "Digital Nations";

/// The people of the demo, by e-mail, for printing their tokens.
pub const DEMO_USERS: [(&str, &str, &str); 8] = [
    ("admin@govflow.example", "Demo Administrator", "admin"),
    (
        "coordinator@digitalnations.example",
        "Secretariat Coordinator",
        "coordinator",
    ),
    (
        "chair@digitalnations.example",
        "Group Chair (Korea)",
        "chair",
    ),
    (
        "expert.ee@digitalnations.example",
        "Expert (Estonia)",
        "expert",
    ),
    (
        "expert.uy@digitalnations.example",
        "Expert (Uruguay)",
        "expert",
    ),
    (
        "rep.kr@digitalnations.example",
        "Representative (Korea)",
        "representative",
    ),
    (
        "rep.ee@digitalnations.example",
        "Representative (Estonia)",
        "representative",
    ),
    (
        "rep.uy@digitalnations.example",
        "Representative (Uruguay)",
        "representative",
    ),
];

/// The member state each demo representative speaks for, by e-mail.
const REPRESENTS: [(&str, &str); 3] = [
    ("rep.kr@digitalnations.example", "KOR"),
    ("rep.ee@digitalnations.example", "EST"),
    ("rep.uy@digitalnations.example", "URY"),
];

const TERMS_OF_REFERENCE: &str = "# Terms of reference of the Digital Governance group\n\n\
## Mandate\n\nThe group studies how member states govern their digital public services.\n\n\
## Activities\n\nThe group agrees an annual work plan of research topics, activities and \
outcomes, and publishes an annual report before each Ministerial Summit.\n";

/// Loads the demo; returns the demo users (existing ones included).
pub async fn load(engine: &Engine) -> EngineResult<Vec<User>> {
    let existing = forum::Entity::find()
        .filter(forum::Column::Name.eq(DEMO_FORUM))
        .one(engine.db())
        .await?;
    if existing.is_none() {
        create(engine).await?;
    }
    let emails: Vec<String> = DEMO_USERS
        .iter()
        .map(|(email, _, _)| email.to_string())
        .collect();
    Ok(app_user::Entity::find()
        .filter(app_user::Column::EmailNormalized.is_in(emails))
        .all(engine.db())
        .await?
        .into_iter()
        .map(User::from)
        .collect())
}

fn instant(year: i32, month: u32, day: u32, hour: u32) -> EngineResult<DateTime<Utc>> {
    Utc.with_ymd_and_hms(year, month, day, hour, 0, 0)
        .single()
        .ok_or_else(|| EngineError::Internal("bad demo date".into()))
}

async fn actor(engine: &Engine, user_id: Uuid) -> EngineResult<Actor> {
    Actor::load(engine, user_id)
        .await?
        .ok_or_else(|| EngineError::Internal("a demo user vanished".into()))
}

async fn take(engine: &Engine, actor: &Actor, subject_id: Uuid, name: &str) -> EngineResult<()> {
    take_with(engine, actor, subject_id, name, serde_json::Value::Null).await
}

async fn take_with(
    engine: &Engine,
    actor: &Actor,
    subject_id: Uuid,
    name: &str,
    input: serde_json::Value,
) -> EngineResult<()> {
    let request = TransitionRequest {
        subject_id,
        name: name.into(),
        reason: None,
        expected_version: None,
        input,
    };
    workflow::transition(engine, actor, request).await?;
    Ok(())
}

async fn create(engine: &Engine) -> EngineResult<()> {
    let (admin_email, admin_name, _) = DEMO_USERS[0];
    let admin_row = users::bootstrap_admin(engine, admin_email, admin_name).await?;
    let admin = actor(engine, admin_row.id).await?;
    let forum = forums::create_forum(
        engine,
        &admin,
        NewForum {
            name: DEMO_FORUM.into(),
            settings: SettingsPatch {
                time_zone: Some("Asia/Seoul".into()),
                official_languages: Some(vec!["en".into()]),
                ..SettingsPatch::default()
            },
        },
    )
    .await?;
    let mut states: HashMap<&str, Uuid> = HashMap::new();
    for (name, code) in [
        ("Republic of Korea", "KOR"),
        ("Estonia", "EST"),
        ("Uruguay", "URY"),
        ("Canada", "CAN"),
        ("Portugal", "PRT"),
        ("United Kingdom", "GBR"),
    ] {
        let state = member_states::create_member_state(
            engine,
            &admin,
            NewMemberState {
                forum_id: forum.id,
                name: name.into(),
                code: code.into(),
                is_member: true,
            },
        )
        .await?;
        states.insert(code, state.id);
    }
    let state = |code: &str| {
        states
            .get(code)
            .copied()
            .ok_or_else(|| EngineError::Internal(format!("no demo member state {code}")))
    };
    let mut people: HashMap<&str, Uuid> = HashMap::new();
    for (email, name, role) in &DEMO_USERS[1..] {
        let user = users::create_user(
            engine,
            &admin,
            NewUser {
                email: (*email).into(),
                name: (*name).into(),
                is_admin: false,
            },
        )
        .await?;
        people.insert(email, user.id);
        let member_state = REPRESENTS
            .iter()
            .find(|(rep, _)| rep == email)
            .map(|(_, code)| state(code))
            .transpose()?;
        let forum_id = (*role == "coordinator").then_some(forum.id);
        if forum_id.is_some() || member_state.is_some() {
            memberships::add_membership(
                engine,
                &admin,
                NewMembership {
                    user_id: user.id,
                    role: (*role).into(),
                    forum_id,
                    group_id: None,
                    member_state_id: member_state,
                },
            )
            .await?;
        }
    }
    let person = |email: &str| {
        people
            .get(email)
            .copied()
            .ok_or_else(|| EngineError::Internal(format!("no demo user {email}")))
    };
    let coordinator = actor(engine, person("coordinator@digitalnations.example")?).await?;
    let korea = actor(engine, person("rep.kr@digitalnations.example")?).await?;
    let estonia = actor(engine, person("rep.ee@digitalnations.example")?).await?;
    let uruguay = actor(engine, person("rep.uy@digitalnations.example")?).await?;

    // Seed 000: Korea proposes the group, and the 9th Ministerial Summit approves it.
    let group = proposals::propose_group(
        engine,
        &korea,
        NewProposal {
            lead_member_state_id: state("KOR")?,
            name: "Digital Governance".into(),
            theme: "Digital governance: research topics, activities and outcomes shared among \
                    member states, reported to each Ministerial Summit."
                .into(),
            proposed_chair_id: Some(person("chair@digitalnations.example")?),
            co_sponsor_ids: vec![state("EST")?, state("URY")?],
            terms_of_reference: TERMS_OF_REFERENCE.into(),
            time_zone: Some("Asia/Seoul".into()),
            reason: None,
        },
    )
    .await?;
    take(engine, &korea, group.id, "submit").await?;
    let summit = meetings::schedule_meeting(
        engine,
        &coordinator,
        NewMeeting {
            forum_id: forum.id,
            series: "Ministerial Summit".into(),
            number: Some(9),
            title: None,
            place: Some("Seoul".into()),
            time_zone: Some("Asia/Seoul".into()),
            starts_at: instant(2022, 11, 21, 0)?,
            ends_at: instant(2022, 11, 22, 9)?,
            reason: None,
        },
    )
    .await?;
    let item = place(engine, &coordinator, group.id, summit.id).await?;
    take(engine, &coordinator, summit.id, "start").await?;
    for (representative, code) in [(&korea, "KOR"), (&estonia, "EST"), (&uruguay, "URY")] {
        decisions::cast_ballot(
            engine,
            representative,
            decisions::NewBallot {
                agenda_item_id: item,
                member_state_id: state(code)?,
                choice: "in_favour".into(),
            },
        )
        .await?;
    }
    decisions::close_vote(engine, &coordinator, item, None, None).await?;
    take(engine, &coordinator, summit.id, "close").await?;
    for email in [
        "expert.ee@digitalnations.example",
        "expert.uy@digitalnations.example",
    ] {
        memberships::add_membership(
            engine,
            &admin,
            NewMembership {
                user_id: person(email)?,
                role: "expert".into(),
                forum_id: None,
                group_id: Some(group.id),
                member_state_id: None,
            },
        )
        .await?;
    }

    // The work plan of seed 000: research topics, the tasks experts take on, the outcomes.
    let chair = actor(engine, person("chair@digitalnations.example")?).await?;
    let estonian_expert = actor(engine, person("expert.ee@digitalnations.example")?).await?;
    let uruguayan_expert = actor(engine, person("expert.uy@digitalnations.example")?).await?;
    let mut topics = Vec::new();
    for title in [
        "Digital government transformation",
        "Public services online",
    ] {
        let topic = NewTopic {
            group_id: group.id,
            title: title.into(),
        };
        topics.push(tasks::create_topic(engine, &chair, topic).await?.id);
    }
    let mut made = Vec::new();
    for (topic, title) in [
        (topics[0], "Survey of national digital identity schemes"),
        (topics[1], "Comparative study of e-procurement (KONEPS)"),
        (topics[1], "Case study: Hometax, the electronic tax system"),
    ] {
        let task = NewTask {
            group_id: group.id,
            topic_id: Some(topic),
            title: title.into(),
            description: None,
            due: None,
            reason: None,
        };
        made.push(tasks::create_task(engine, &chair, task).await?.id);
    }
    take(engine, &estonian_expert, made[1], "claim").await?;
    take(engine, &uruguayan_expert, made[2], "claim").await?;
    let delivered = serde_json::json!({
        "text": "Hometax lets residents file and pay taxes online; its lessons for member states."
    });
    take_with(engine, &uruguayan_expert, made[2], "submit", delivered).await?;
    take(engine, &chair, made[2], "accept").await?;

    // Seed 000: "publish an annual report ... before the Ministerial Summit". Activation gave the
    // group its report deadline (30 days before the next summit, once that is scheduled); a first
    // report covers the group's first hour, and is published at once.
    let report = reports::draft_report(
        engine,
        &chair,
        NewReport {
            group_id: group.id,
            period_end: Some(engine.now() + chrono::Duration::hours(1)),
            reason: None,
        },
    )
    .await?;
    let written = format!(
        "{}\nMember states can reuse the Hometax case study when they move tax filing online.\n",
        report
            .draft
            .replace(reports::draft::IMPLICATIONS_PLACEHOLDER, "")
    );
    let update = ReportUpdate {
        draft: written,
        ..ReportUpdate::default()
    };
    reports::update_report(engine, &chair, report.id, update).await?;
    take(engine, &chair, report.id, "submit").await?;
    take(engine, &coordinator, report.id, "publish").await?;

    // Estonia's proposal waits on the agenda of the next summit, next November.
    let next_year = engine.now().year() + 1;
    let next = meetings::schedule_meeting(
        engine,
        &coordinator,
        NewMeeting {
            forum_id: forum.id,
            series: "Ministerial Summit".into(),
            number: None,
            title: None,
            place: Some("Tallinn".into()),
            time_zone: Some("Europe/Tallinn".into()),
            starts_at: instant(next_year, 11, 16, 7)?,
            ends_at: instant(next_year, 11, 17, 16)?,
            reason: None,
        },
    )
    .await?;
    let proposal = proposals::propose_group(
        engine,
        &estonia,
        NewProposal {
            lead_member_state_id: state("EST")?,
            name: "Data Governance".into(),
            theme: "Data governance: sharing and protecting public-sector data across borders."
                .into(),
            proposed_chair_id: Some(person("expert.ee@digitalnations.example")?),
            co_sponsor_ids: vec![state("KOR")?],
            terms_of_reference: "# Terms of reference of the Data Governance group\n\nThe group \
                                 compares how member states share public-sector data.\n"
                .into(),
            time_zone: Some("Europe/Tallinn".into()),
            reason: None,
        },
    )
    .await?;
    take(engine, &estonia, proposal.id, "submit").await?;
    place(engine, &coordinator, proposal.id, next.id).await?;
    Ok(())
}

/// Places a proposal on a meeting's agenda; returns its agenda item.
async fn place(
    engine: &Engine,
    coordinator: &Actor,
    proposal: Uuid,
    meeting: Uuid,
) -> EngineResult<Uuid> {
    let request = TransitionRequest {
        subject_id: proposal,
        name: "place_on_agenda".into(),
        reason: None,
        expected_version: None,
        input: serde_json::json!({ "meetingId": meeting.to_string() }),
    };
    workflow::transition(engine, coordinator, request).await?;
    agenda::items_of_meetings(engine, &[meeting])
        .await?
        .remove(&meeting)
        .and_then(|items| items.into_iter().find(|item| item.subject_id == proposal))
        .map(|item| item.id)
        .ok_or_else(|| EngineError::Internal("the demo proposal is not on the agenda".into()))
}
