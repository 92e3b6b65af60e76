//! Forums and their settings. A forum is the organisation (Digital Nations, a UN committee): it
//! owns member states, groups and the rules they run under.

pub mod member_states;
mod zones;

pub use zones::{Zones, with_instances_in_zones};

use crate::kernel::actor::Acting;
use crate::kernel::actor::{Actor, SubjectScope};
use crate::kernel::db::update_if_unchanged;
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history;
use crate::kernel::pagination::{Page, PageRequest, page_of};
use crate::types::{DecisionRule, LanguageTag, MAX_NAME_CHARS, SingleLine, TimeZone};
use chrono::{DateTime, Utc};
use govflow_entities::forum;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    sea_query::Expr,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

/// A forum's settings, stored as JSON; every field has the default `DECISIONS.md` gives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ForumSettings {
    pub time_zone: String,
    pub official_languages: Vec<String>,
    pub decision_rule: DecisionRule,
    pub quorum: f64,
    pub claim_limit: i32,
    pub claim_lease_days: i32,
    pub min_consultation_days: i32,
    pub report_lead_days: i32,
    pub summit_series: String,
    pub max_document_bytes: i64,
}

impl Default for ForumSettings {
    fn default() -> Self {
        ForumSettings {
            time_zone: "UTC".into(),
            official_languages: vec!["en".into()],
            decision_rule: DecisionRule::Consensus,
            quorum: 0.5,
            claim_limit: 3,
            claim_lease_days: 30,
            min_consultation_days: 14,
            report_lead_days: 30,
            summit_series: "Ministerial Summit".into(),
            max_document_bytes: 1024 * 1024,
        }
    }
}

/// Changes to a forum's settings; absent fields keep their value. It reads from the same JSON
/// shape as [`ForumSettings`] (camelCase), so a caller can pass any object with those keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SettingsPatch {
    pub time_zone: Option<String>,
    pub official_languages: Option<Vec<String>>,
    pub decision_rule: Option<String>,
    pub quorum: Option<f64>,
    pub claim_limit: Option<i32>,
    pub claim_lease_days: Option<i32>,
    pub min_consultation_days: Option<i32>,
    pub report_lead_days: Option<i32>,
    pub summit_series: Option<String>,
    pub max_document_bytes: Option<i64>,
}

fn in_range<T: PartialOrd + std::fmt::Display + Copy>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> EngineResult<T> {
    if value < min || value > max {
        Err(EngineError::invalid(
            field,
            format!("{value} is outside {min}..={max}"),
        ))
    } else {
        Ok(value)
    }
}

impl ForumSettings {
    /// Applies a patch, parsing every field; on any error nothing changes.
    pub fn patched(&self, patch: &SettingsPatch) -> EngineResult<ForumSettings> {
        let mut next = self.clone();
        if let Some(zone) = &patch.time_zone {
            next.time_zone = TimeZone::parse("settings.timeZone", zone)?
                .name()
                .to_owned();
        }
        if let Some(languages) = &patch.official_languages {
            if languages.is_empty() {
                return Err(EngineError::invalid(
                    "settings.officialLanguages",
                    "needs at least one language",
                ));
            }
            next.official_languages = languages
                .iter()
                .map(|tag| {
                    LanguageTag::parse("settings.officialLanguages", tag)
                        .map(|tag| tag.as_str().to_owned())
                })
                .collect::<EngineResult<_>>()?;
        }
        if let Some(rule) = &patch.decision_rule {
            next.decision_rule = DecisionRule::parse("settings.decisionRule", rule)?;
        }
        if let Some(quorum) = patch.quorum {
            if !quorum.is_finite() {
                return Err(EngineError::invalid("settings.quorum", "must be a number"));
            }
            next.quorum = in_range("settings.quorum", quorum, 0.0, 1.0)?;
        }
        if let Some(limit) = patch.claim_limit {
            next.claim_limit = in_range("settings.claimLimit", limit, 1, 1000)?;
        }
        if let Some(days) = patch.claim_lease_days {
            next.claim_lease_days = in_range("settings.claimLeaseDays", days, 1, 3650)?;
        }
        if let Some(days) = patch.min_consultation_days {
            next.min_consultation_days = in_range("settings.minConsultationDays", days, 0, 365)?;
        }
        if let Some(days) = patch.report_lead_days {
            next.report_lead_days = in_range("settings.reportLeadDays", days, 0, 365)?;
        }
        if let Some(series) = &patch.summit_series {
            let series =
                SingleLine::parse("settings.summitSeries", series, MAX_NAME_CHARS)?.into_string();
            // Deadline rules quote the series (`before_event "Ministerial Summit" 30d`).
            if series.contains('"') {
                return Err(EngineError::invalid(
                    "settings.summitSeries",
                    "may not contain a double quote",
                ));
            }
            next.summit_series = series;
        }
        if let Some(bytes) = patch.max_document_bytes {
            next.max_document_bytes =
                in_range("settings.maxDocumentBytes", bytes, 1024, 64 * 1024 * 1024)?;
        }
        Ok(next)
    }

    pub fn of(row: &forum::Model) -> ForumSettings {
        ForumSettings::stored(row.id, &row.settings)
    }

    /// The settings as a forum row stores them (JSON).
    pub fn stored(forum_id: Uuid, json: &str) -> ForumSettings {
        // Settings are only ever written by `patched`, so a row that does not parse is a bug;
        // showing the defaults keeps the forum readable while the log says what is wrong.
        serde_json::from_str(json).unwrap_or_else(|err| {
            tracing::error!(forum = %forum_id, "stored forum settings do not parse: {err}");
            ForumSettings::default()
        })
    }

    pub fn zone(&self) -> TimeZone {
        TimeZone::parse("timeZone", &self.time_zone).unwrap_or_else(|_| TimeZone::utc())
    }
}

/// A forum with its settings parsed.
#[derive(Debug, Clone)]
pub struct Forum {
    pub id: Uuid,
    pub name: String,
    pub settings: ForumSettings,
    /// The optimistic-lock counter of `update_forum`.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<forum::Model> for Forum {
    fn from(row: forum::Model) -> Forum {
        let settings = ForumSettings::of(&row);
        Forum {
            id: row.id,
            name: row.name,
            settings,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct NewForum {
    pub name: String,
    pub settings: SettingsPatch,
}

pub struct ForumUpdate {
    pub name: Option<String>,
    pub settings: Option<SettingsPatch>,
}

pub fn forum_scope(forum_id: Uuid) -> SubjectScope {
    SubjectScope {
        forum_id: Some(forum_id),
        ..SubjectScope::default()
    }
}

async fn name_taken<C: ConnectionTrait>(
    db: &C,
    name: &str,
    except: Option<Uuid>,
) -> EngineResult<bool> {
    let mut query = forum::Entity::find().filter(forum::Column::Name.eq(name));
    if let Some(id) = except {
        query = query.filter(forum::Column::Id.ne(id));
    }
    Ok(query.count(db).await? > 0)
}

pub async fn create_forum(engine: &Engine, actor: &Actor, input: NewForum) -> EngineResult<Forum> {
    let name = SingleLine::parse("name", &input.name, MAX_NAME_CHARS)?.into_string();
    let settings = ForumSettings::default().patched(&input.settings)?;
    if !actor.is_admin {
        return Err(EngineError::Forbidden(
            "creating a forum needs the role admin".into(),
        ));
    }
    let txn = engine.begin_write().await?;
    if name_taken(&txn, &name, None).await? {
        return Err(EngineError::Conflict(format!(
            "a forum named `{name}` already exists"
        )));
    }
    let now = engine.now();
    let row = forum::Model {
        id: Uuid::now_v7(),
        name,
        settings: serde_json::to_string(&settings)
            .map_err(|err| EngineError::Internal(err.to_string()))?,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    forum::Entity::insert(forum::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await?;
    history::record_write(
        &txn,
        row.id,
        "forum",
        "create_forum",
        Acting::User(actor),
        json!({ "name": row.name }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

pub async fn update_forum(
    engine: &Engine,
    actor: &Actor,
    forum_id: Uuid,
    update: ForumUpdate,
    expected_version: Option<i32>,
) -> EngineResult<Forum> {
    let name = SingleLine::parse_optional("name", update.name.as_deref(), MAX_NAME_CHARS)?;
    let txn = engine.begin_write().await?;
    let current = get_forum_in(&txn, forum_id).await?;
    if !actor.holds("forum_coordinator", &forum_scope(forum_id)) {
        return Err(EngineError::Forbidden(
            "editing a forum needs the role admin or forum_coordinator".into(),
        ));
    }
    if let Some(expected) = expected_version
        && expected != current.version
    {
        return Err(EngineError::StaleState(format!(
            "the forum is at version {}, not {expected}: reload it and try again",
            current.version
        )));
    }
    let settings = match &update.settings {
        Some(patch) => ForumSettings::of(&current).patched(patch)?,
        None => ForumSettings::of(&current),
    };
    let name = name.unwrap_or_else(|| current.name.clone());
    if name_taken(&txn, &name, Some(forum_id)).await? {
        return Err(EngineError::Conflict(format!(
            "a forum named `{name}` already exists"
        )));
    }
    let now = engine.now();
    let settings_json =
        serde_json::to_string(&settings).map_err(|err| EngineError::Internal(err.to_string()))?;
    let update = forum::Entity::update_many()
        .col_expr(forum::Column::Name, Expr::value(name.clone()))
        .col_expr(forum::Column::Settings, Expr::value(settings_json.clone()))
        .col_expr(forum::Column::UpdatedAt, Expr::value(now));
    let moved = update_if_unchanged(
        &txn,
        update,
        (forum::Column::Id, forum_id),
        (forum::Column::Version, current.version),
    )
    .await?;
    if !moved {
        return Err(EngineError::StaleState(
            "another writer changed the forum first: reload it and try again".into(),
        ));
    }
    history::record_write(
        &txn,
        forum_id,
        "forum",
        "update_forum",
        Acting::User(actor),
        json!({ "name": name, "settings": settings }),
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(Forum {
        name,
        settings,
        version: current.version + 1,
        updated_at: now,
        ..Forum::from(current)
    })
}

async fn get_forum_in<C: ConnectionTrait>(db: &C, forum_id: Uuid) -> EngineResult<forum::Model> {
    forum::Entity::find_by_id(forum_id)
        .one(db)
        .await?
        .ok_or_else(|| EngineError::not_found("forum", forum_id))
}

pub async fn get_forum(engine: &Engine, forum_id: Uuid) -> EngineResult<Forum> {
    Ok(get_forum_in(engine.db(), forum_id).await?.into())
}

pub async fn list_forums(engine: &Engine, page: PageRequest) -> EngineResult<Page<Forum>> {
    let query = forum::Entity::find()
        .order_by_asc(forum::Column::Name)
        .order_by_asc(forum::Column::Id);
    Ok(page_of(engine.db(), query, page).await?.map(Forum::from))
}

pub async fn forums_by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<Forum>> {
    Ok(forum::Entity::find()
        .filter(forum::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?
        .into_iter()
        .map(Forum::from)
        .collect())
}
