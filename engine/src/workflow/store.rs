//! The active definition set lives in the database, so that every instance sharing it runs the same
//! workflows. A fresh database takes the set `serve` loads; after that `govflow workflows apply`
//! switches sets, and a server whose folder differs from the active set warns and runs the active
//! one. Definitions that are no longer active stay stored: subjects started under them keep
//! running under them. A server that meets a version it has not loaded (one applied after it
//! started) reads it from here by hash.

use crate::kernel::db::begin_write;
use crate::kernel::error::{EngineError, EngineResult};
use crate::workflow::{Definition, DefinitionError, Definitions, Vocabulary};
use govflow_entities::workflow_definition;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QuerySelect, sea_query::Expr,
};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Makes sure the database has an active set (storing `loaded` if it has none) and returns the set
/// the engine must run: the active one, plus the retired versions that instances may still use.
pub async fn activate_on_start(
    db: &DatabaseConnection,
    loaded: Definitions,
    vocabulary: &Vocabulary,
) -> EngineResult<Definitions> {
    let txn = begin_write(db).await?;
    let active = workflow_definition::Entity::find()
        .filter(workflow_definition::Column::Active.eq(true))
        .all(&txn)
        .await?;
    if active.is_empty() {
        store_set(&txn, &loaded).await?;
        txn.commit().await?;
    } else {
        txn.commit().await?;
        let active_hashes: BTreeSet<&str> = active.iter().map(|row| row.hash.as_str()).collect();
        let loaded_hashes: BTreeSet<&str> = loaded.iter().map(|def| def.hash.as_str()).collect();
        if active_hashes != loaded_hashes {
            tracing::warn!(
                "the workflow definitions in the config folder differ from the set active in the \
                 database; running the active set (use `govflow workflows apply` to switch)"
            );
        }
    }
    stored_set(db, vocabulary).await
}

/// What `apply` changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    pub added: Vec<String>,
    pub retired: Vec<String>,
    pub unchanged: Vec<String>,
}

/// Makes `set` the active set, in one transaction.
pub async fn apply(db: &DatabaseConnection, set: &Definitions) -> EngineResult<ApplyReport> {
    let txn = begin_write(db).await?;
    let active = workflow_definition::Entity::find()
        .filter(workflow_definition::Column::Active.eq(true))
        .all(&txn)
        .await?;
    let new_hashes: BTreeSet<String> = set.iter().map(|def| def.hash.clone()).collect();
    let mut report = ApplyReport {
        added: Vec::new(),
        retired: Vec::new(),
        unchanged: Vec::new(),
    };
    for row in &active {
        if new_hashes.contains(&row.hash) {
            report.unchanged.push(row.name.clone());
        } else {
            report
                .retired
                .push(format!("{} ({})", row.name, short(&row.hash)));
        }
    }
    let old_hashes: BTreeSet<&str> = active.iter().map(|row| row.hash.as_str()).collect();
    for def in set.iter() {
        if !old_hashes.contains(def.hash.as_str()) {
            report
                .added
                .push(format!("{} ({})", def.name, short(&def.hash)));
        }
    }
    workflow_definition::Entity::update_many()
        .col_expr(workflow_definition::Column::Active, Expr::value(false))
        .filter(workflow_definition::Column::Active.eq(true))
        .exec(&txn)
        .await?;
    store_set(&txn, set).await?;
    txn.commit().await?;
    Ok(report)
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// Stores every definition of the set (if not stored yet) and marks it active.
async fn store_set<C: ConnectionTrait>(db: &C, set: &Definitions) -> EngineResult<()> {
    let now = chrono::Utc::now();
    for def in set.iter() {
        let stored = workflow_definition::Entity::find_by_id(def.hash.clone())
            .one(db)
            .await?;
        if stored.is_some() {
            workflow_definition::Entity::update_many()
                .col_expr(workflow_definition::Column::Active, Expr::value(true))
                .filter(workflow_definition::Column::Hash.eq(def.hash.clone()))
                .exec(db)
                .await?;
        } else {
            let row = workflow_definition::ActiveModel {
                hash: Set(def.hash.clone()),
                name: Set(def.name.clone()),
                subject_kind: Set(def.subject.clone()),
                file_name: Set(file_name(&def.file)),
                source: Set(def.source.clone()),
                active: Set(true),
                created_at: Set(now),
            };
            // Two servers starting on one fresh database may both store the set.
            workflow_definition::Entity::insert(row)
                .on_conflict_do_nothing_on([workflow_definition::Column::Hash])
                .exec_without_returning(db)
                .await?;
        }
    }
    Ok(())
}

fn file_name(path: &str) -> String {
    std::path::Path::new(path)
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_owned())
}

/// The hash of the active definition for subjects of `subject_kind`: one statement on an index.
pub async fn active_hash<C: ConnectionTrait>(
    db: &C,
    subject_kind: &str,
) -> EngineResult<Option<String>> {
    Ok(workflow_definition::Entity::find()
        .select_only()
        .column(workflow_definition::Column::Hash)
        .filter(workflow_definition::Column::SubjectKind.eq(subject_kind))
        .filter(workflow_definition::Column::Active.eq(true))
        .into_tuple::<String>()
        .one(db)
        .await?)
}

/// The hashes of the whole active set.
pub async fn active_hashes<C: ConnectionTrait>(db: &C) -> EngineResult<BTreeSet<String>> {
    Ok(workflow_definition::Entity::find()
        .select_only()
        .column(workflow_definition::Column::Hash)
        .filter(workflow_definition::Column::Active.eq(true))
        .into_tuple::<String>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Reads one stored definition by hash and parses it with `vocabulary`.
pub async fn load_by_hash<C: ConnectionTrait>(
    db: &C,
    hash: &str,
    vocabulary: &Vocabulary,
) -> EngineResult<Definition> {
    let row = workflow_definition::Entity::find_by_id(hash.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| {
            EngineError::Internal(format!(
                "workflow definition {} is not stored in the database",
                short(hash)
            ))
        })?;
    Definition::parse(&row.file_name, &row.source, vocabulary).map_err(|errors| {
        EngineError::Internal(format!(
            "stored workflow definition {} ({}) does not load on this server: {}",
            row.name,
            short(hash),
            joined(&errors)
        ))
    })
}

fn joined(errors: &[DefinitionError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Parses every stored definition: the active ones by name, the others by hash only.
pub async fn stored_set<C: ConnectionTrait>(
    db: &C,
    vocabulary: &Vocabulary,
) -> EngineResult<Definitions> {
    let rows = workflow_definition::Entity::find().all(db).await?;
    let (active, retired): (Vec<_>, Vec<_>) = rows.into_iter().partition(|row| row.active);
    let sources: Vec<(String, String)> = active
        .into_iter()
        .map(|row| (row.file_name, row.source))
        .collect();
    let mut set = Definitions::from_sources(&sources, vocabulary).map_err(|errors| {
        EngineError::Internal(format!(
            "the active workflow definitions stored in the database do not load: {}",
            joined(&errors)
        ))
    })?;
    for row in retired {
        // An old version that no longer loads can still be read by its instances' history, but
        // cannot run: it is left out, and its instances report it when used.
        match Definition::parse(&row.file_name, &row.source, vocabulary) {
            Ok(def) => set.insert_retired(Arc::new(def)),
            Err(errors) => tracing::warn!(
                "retired definition {} ({}) no longer loads: {}",
                row.name,
                short(&row.hash),
                errors.first().map(ToString::to_string).unwrap_or_default()
            ),
        }
    }
    Ok(set)
}
