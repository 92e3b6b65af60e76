//! A small demo forum, so that a new user sees real-looking data at once: Digital Nations with a
//! few member states, its "Digital Governance" thematic group led by the Republic of Korea, and a
//! coordinator, a chair and two experts. Loading it twice changes nothing.

use crate::areas::forums::member_states::{self, NewMemberState};
use crate::areas::forums::{self, NewForum, SettingsPatch};
use crate::areas::groups::{self, NewGroup};
use crate::areas::people::memberships::{self, NewMembership};
use crate::areas::people::users::{self, NewUser, User};
use crate::kernel::actor::Actor;
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use chrono::TimeZone as _;
use govflow_entities::{app_user, forum};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

pub const DEMO_FORUM: &str = "Digital Nations";

/// The people of the demo, by e-mail, for printing their tokens.
pub const DEMO_USERS: [(&str, &str, &str); 5] = [
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
];

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

async fn create(engine: &Engine) -> EngineResult<()> {
    let (admin_email, admin_name, _) = DEMO_USERS[0];
    let admin_row = users::bootstrap_admin(engine, admin_email, admin_name).await?;
    let admin = Actor::load(engine, admin_row.id)
        .await?
        .ok_or_else(|| EngineError::Internal("the demo administrator vanished".into()))?;
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
    let mut korea = None;
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
        if code == "KOR" {
            korea = Some(state.id);
        }
    }
    let approved_at = chrono::Utc
        .with_ymd_and_hms(2022, 11, 10, 0, 0, 0)
        .single()
        .ok_or_else(|| EngineError::Internal("bad demo date".into()))?;
    let group = groups::create_group(
        engine,
        &admin,
        NewGroup {
            forum_id: forum.id,
            name: "Digital Governance".into(),
            theme: "Digital governance: research topics, activities and outcomes shared among \
                    member states, reported to each Ministerial Summit."
                .into(),
            lead_member_state_id: korea,
            time_zone: Some("Asia/Seoul".into()),
            effective_at: Some(approved_at),
            reason: Some(
                "Approved by the ministers at the 9th Ministerial Summit (Seoul, November 2022)"
                    .into(),
            ),
        },
    )
    .await?;
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
        let (forum_id, group_id) = if *role == "coordinator" {
            (Some(forum.id), None)
        } else {
            (None, Some(group.id))
        };
        memberships::add_membership(
            engine,
            &admin,
            NewMembership {
                user_id: user.id,
                role: (*role).into(),
                forum_id,
                group_id,
                member_state_id: None,
            },
        )
        .await?;
    }
    Ok(())
}
