//! Users: people with an e-mail address, unique compared case-insensitively. The administrator
//! creates them; `govflow admin create` bootstraps the first administrator.

use crate::kernel::actor::{Acting, Actor};
use crate::kernel::engine::Engine;
use crate::kernel::error::{EngineError, EngineResult};
use crate::kernel::history;
use crate::kernel::pagination::{Page, PageRequest, page_of};
use crate::types::{EmailAddress, MAX_NAME_CHARS, SingleLine};
use chrono::{DateTime, Utc};
use govflow_entities::{app_user, user_identity};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder,
};
use serde_json::json;
use uuid::Uuid;

/// A person who can sign in. Their e-mail address is private: see
/// [`crate::areas::people::memberships::email_readable`].
#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Actor> for User {
    /// The caller as a user, from what loading them read: no second statement.
    fn from(actor: &Actor) -> User {
        User {
            id: actor.user_id,
            email: actor.email.clone(),
            name: actor.name.clone(),
            is_admin: actor.is_admin,
            created_at: actor.created_at,
            updated_at: actor.updated_at,
        }
    }
}

impl From<app_user::Model> for User {
    fn from(row: app_user::Model) -> User {
        User {
            id: row.id,
            email: row.email,
            name: row.name,
            is_admin: row.is_admin,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub struct NewUser {
    pub email: String,
    pub name: String,
    pub is_admin: bool,
}

pub struct UserUpdate {
    pub email: Option<String>,
    pub name: Option<String>,
    pub is_admin: Option<bool>,
}

async fn email_taken<C: ConnectionTrait>(
    db: &C,
    email: &EmailAddress,
    except: Option<Uuid>,
) -> EngineResult<bool> {
    let mut query =
        app_user::Entity::find().filter(app_user::Column::EmailNormalized.eq(email.normalized()));
    if let Some(id) = except {
        query = query.filter(app_user::Column::Id.ne(id));
    }
    Ok(query.count(db).await? > 0)
}

async fn insert_user<C: ConnectionTrait>(
    db: &C,
    email: EmailAddress,
    name: String,
    is_admin: bool,
    now: DateTime<Utc>,
) -> EngineResult<app_user::Model> {
    if email_taken(db, &email, None).await? {
        return Err(EngineError::Conflict(format!(
            "a user with e-mail `{email}` already exists"
        )));
    }
    let row = app_user::Model {
        id: Uuid::now_v7(),
        email_normalized: email.normalized(),
        email: email.as_str().to_owned(),
        name,
        is_admin,
        created_at: now,
        updated_at: now,
    };
    app_user::Entity::insert(row.clone().into_active_model())
        .exec_without_returning(db)
        .await?;
    Ok(row)
}

pub async fn create_user(engine: &Engine, actor: &Actor, input: NewUser) -> EngineResult<User> {
    let email = EmailAddress::parse("email", &input.email)?;
    let name = SingleLine::parse("name", &input.name, MAX_NAME_CHARS)?.into_string();
    if !actor.is_admin {
        return Err(EngineError::Forbidden(
            "creating users needs the role admin".into(),
        ));
    }
    let txn = engine.begin_write().await?;
    let now = engine.now();
    let row = insert_user(&txn, email, name, input.is_admin, now).await?;
    record(&txn, Acting::User(actor), &row, "create_user", now).await?;
    txn.commit().await?;
    Ok(row.into())
}

/// Creates an administrator, or makes an existing user one; for the command line, which acts as
/// the engine itself.
pub async fn bootstrap_admin(engine: &Engine, email: &str, name: &str) -> EngineResult<User> {
    let email = EmailAddress::parse("email", email)?;
    let name = SingleLine::parse("name", name, MAX_NAME_CHARS)?.into_string();
    let txn = engine.begin_write().await?;
    let now = engine.now();
    let existing = app_user::Entity::find()
        .filter(app_user::Column::EmailNormalized.eq(email.normalized()))
        .one(&txn)
        .await?;
    let row = match existing {
        Some(user) => {
            let mut row = user.into_active_model();
            row.is_admin = Set(true);
            row.updated_at = Set(now);
            app_user::Entity::update(row).exec(&txn).await?
        }
        None => insert_user(&txn, email, name, true, now).await?,
    };
    record(
        &txn,
        Acting::System { on_behalf_of: None },
        &row,
        "bootstrap_admin",
        now,
    )
    .await?;
    txn.commit().await?;
    Ok(row.into())
}

pub async fn update_user(
    engine: &Engine,
    actor: &Actor,
    user_id: Uuid,
    update: UserUpdate,
) -> EngineResult<User> {
    let email = update
        .email
        .as_deref()
        .map(|email| EmailAddress::parse("email", email))
        .transpose()?;
    let name = SingleLine::parse_optional("name", update.name.as_deref(), MAX_NAME_CHARS)?;
    let txn = engine.begin_write().await?;
    let current = app_user::Entity::find_by_id(user_id)
        .one(&txn)
        .await?
        .ok_or_else(|| EngineError::not_found("user", user_id))?;
    let editing_self = actor.user_id == user_id;
    if !(actor.is_admin || editing_self && update.is_admin.is_none()) {
        return Err(EngineError::Forbidden(
            "editing another user, or anyone's admin flag, needs the role admin".into(),
        ));
    }
    if let Some(email) = &email
        && email_taken(&txn, email, Some(user_id)).await?
    {
        return Err(EngineError::Conflict(format!(
            "a user with e-mail `{email}` already exists"
        )));
    }
    let now = engine.now();
    let mut row = current.into_active_model();
    if let Some(email) = email {
        row.email_normalized = Set(email.normalized());
        row.email = Set(email.as_str().to_owned());
    }
    if let Some(name) = name {
        row.name = Set(name);
    }
    if let Some(is_admin) = update.is_admin {
        row.is_admin = Set(is_admin);
    }
    row.updated_at = Set(now);
    let updated = app_user::Entity::update(row).exec(&txn).await?;
    record(&txn, Acting::User(actor), &updated, "update_user", now).await?;
    txn.commit().await?;
    Ok(updated.into())
}

async fn record<C: ConnectionTrait>(
    db: &C,
    acting: Acting<'_>,
    row: &app_user::Model,
    operation: &str,
    at: DateTime<Utc>,
) -> EngineResult<()> {
    let detail = json!({ "email": row.email, "name": row.name, "isAdmin": row.is_admin });
    history::record_write(db, row.id, "user", operation, acting, detail, at).await?;
    Ok(())
}

pub async fn get_user(engine: &Engine, user_id: Uuid) -> EngineResult<User> {
    app_user::Entity::find_by_id(user_id)
        .one(engine.db())
        .await?
        .map(User::from)
        .ok_or_else(|| EngineError::not_found("user", user_id))
}

pub async fn find_by_email(engine: &Engine, email: &str) -> EngineResult<Option<User>> {
    let email = EmailAddress::parse("email", email)?;
    Ok(app_user::Entity::find()
        .filter(app_user::Column::EmailNormalized.eq(email.normalized()))
        .one(engine.db())
        .await?
        .map(User::from))
}

pub async fn by_ids(engine: &Engine, ids: &[Uuid]) -> EngineResult<Vec<User>> {
    Ok(app_user::Entity::find()
        .filter(app_user::Column::Id.is_in(ids.iter().copied()))
        .all(engine.db())
        .await?
        .into_iter()
        .map(User::from)
        .collect())
}

pub async fn list_users(
    engine: &Engine,
    actor: &Actor,
    page: PageRequest,
) -> EngineResult<Page<User>> {
    if !actor.is_admin {
        return Err(EngineError::Forbidden(
            "listing users needs the role admin".into(),
        ));
    }
    let query = app_user::Entity::find()
        .order_by_asc(app_user::Column::EmailNormalized)
        .order_by_asc(app_user::Column::Id);
    Ok(page_of(engine.db(), query, page).await?.map(User::from))
}

/// The user linked to an outside identity (issuer, subject), if any.
pub async fn by_identity(
    engine: &Engine,
    issuer: &str,
    subject: &str,
) -> EngineResult<Option<User>> {
    let Some(link) = user_identity::Entity::find()
        .filter(user_identity::Column::Issuer.eq(issuer))
        .filter(user_identity::Column::Subject.eq(subject))
        .one(engine.db())
        .await?
    else {
        return Ok(None);
    };
    Ok(app_user::Entity::find_by_id(link.user_id)
        .one(engine.db())
        .await?
        .map(User::from))
}

/// Links an outside identity to a user found by verified e-mail, on first sight only: a user who
/// already has an identity of this issuer is never linked to another one, so whoever controls an
/// address at the provider later cannot take the account over. Returns the user the identity is
/// linked to afterwards (another request may have linked it first), or `None` when the user
/// already holds a different identity of this issuer.
pub async fn link_identity_once(
    engine: &Engine,
    user_id: Uuid,
    issuer: &str,
    subject: &str,
) -> EngineResult<Option<Uuid>> {
    let txn = engine.begin_write().await?;
    let already = user_identity::Entity::find()
        .filter(user_identity::Column::UserId.eq(user_id))
        .filter(user_identity::Column::Issuer.eq(issuer))
        .one(&txn)
        .await?;
    if let Some(existing) = already {
        txn.commit().await?;
        return Ok((existing.subject == subject).then_some(user_id));
    }
    let row = user_identity::Model {
        id: Uuid::now_v7(),
        user_id,
        issuer: issuer.to_owned(),
        subject: subject.to_owned(),
        created_at: engine.now(),
    };
    user_identity::Entity::insert(row.into_active_model())
        .on_conflict_do_nothing_on([
            user_identity::Column::Issuer,
            user_identity::Column::Subject,
        ])
        .exec_without_returning(&txn)
        .await?;
    let linked = user_identity::Entity::find()
        .filter(user_identity::Column::Issuer.eq(issuer))
        .filter(user_identity::Column::Subject.eq(subject))
        .one(&txn)
        .await?
        .map(|link| link.user_id);
    txn.commit().await?;
    Ok(linked)
}
