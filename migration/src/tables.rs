//! The building blocks the migrations write their tables and indexes with: a table keyed by a UUID
//! `id`, its `created_at`/`updated_at` instants, foreign keys, indexes named after their table and
//! columns, and dropping them again.
//!
//! They only shorten what the migrations say; the statements they build are exactly those the
//! migrations spelled out before, since released migrations must produce the same schema on every
//! database (SQLite and PostgreSQL alike).

use sea_orm_migration::{prelude::*, schema::*};

/// A table being defined: sea-query's statement, the table's name (which its foreign keys start
/// from) and the indexes to create on it once it exists.
pub(crate) struct NewTable {
    name: &'static str,
    statement: TableCreateStatement,
    /// Each index's columns and whether it is unique, in the order they are created.
    indexes: Vec<(&'static [&'static str], bool)>,
}

impl NewTable {
    /// A table whose primary key is the UUID column `id`.
    pub(crate) fn with_uuid_id(name: &'static str) -> Self {
        Self::keyed_by(name, pk_uuid("id"))
    }

    /// A table whose first column is `key`, its primary key.
    pub(crate) fn keyed_by(name: &'static str, key: impl IntoColumnDef) -> Self {
        let mut statement = Table::create();
        statement.table(name).col(key);
        Self {
            name,
            statement,
            indexes: Vec::new(),
        }
    }

    /// Adds a column after those already defined.
    pub(crate) fn col(mut self, column: impl IntoColumnDef) -> Self {
        self.statement.col(column);
        self
    }

    /// Adds the required instant `created_at`.
    pub(crate) fn created_at(self) -> Self {
        self.col(timestamp_with_time_zone("created_at"))
    }

    /// Adds the required instants `created_at` and `updated_at`.
    pub(crate) fn timestamps(self) -> Self {
        self.created_at()
            .col(timestamp_with_time_zone("updated_at"))
    }

    /// Adds a foreign key from this table's `column` to `target_column` of `target`.
    pub(crate) fn references(
        mut self,
        column: &'static str,
        target: &'static str,
        target_column: &'static str,
    ) -> Self {
        self.statement.foreign_key(
            ForeignKey::create()
                .from(self.name, column)
                .to(target, target_column),
        );
        self
    }

    /// Adds a unique index on `columns`, created with the table.
    pub(crate) fn unique_index(mut self, columns: &'static [&'static str]) -> Self {
        self.indexes.push((columns, true));
        self
    }

    /// Adds a (non-unique) index on `columns`, created with the table.
    pub(crate) fn index(mut self, columns: &'static [&'static str]) -> Self {
        self.indexes.push((columns, false));
        self
    }

    /// Creates the table, then its indexes in the order they were added.
    pub(crate) async fn create(self, manager: &SchemaManager<'_>) -> Result<(), DbErr> {
        manager.create_table(self.statement).await?;
        for (columns, unique) in self.indexes {
            create_index(manager, self.name, columns, unique).await?;
        }
        Ok(())
    }
}

/// Creates a (non-unique) index on `columns` of an existing table.
pub(crate) async fn plain_index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    columns: &[&'static str],
) -> Result<(), DbErr> {
    create_index(manager, table, columns, false).await
}

/// Creates a (unique) index named `ix_<table>_<columns>`.
async fn create_index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    columns: &[&'static str],
    unique: bool,
) -> Result<(), DbErr> {
    let mut index = Index::create();
    index
        .name(format!("ix_{}_{}", table, columns.join("_")))
        .table(table);
    for column in columns {
        index.col(*column);
    }
    if unique {
        index.unique();
    }
    manager.create_index(index.to_owned()).await
}

/// Drops the index `name` of `table`.
pub(crate) async fn drop_index(
    manager: &SchemaManager<'_>,
    table: &'static str,
    name: &str,
) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(table).to_owned())
        .await
}

/// Creates the tables (each with its indexes) in the order given (those that others refer to
/// first).
pub(crate) async fn create_tables(
    manager: &SchemaManager<'_>,
    tables: impl IntoIterator<Item = NewTable>,
) -> Result<(), DbErr> {
    for table in tables {
        table.create(manager).await?;
    }
    Ok(())
}

/// Drops the tables in the order given (those that refer to others first).
pub(crate) async fn drop_tables(
    manager: &SchemaManager<'_>,
    tables: &[&'static str],
) -> Result<(), DbErr> {
    for table in tables {
        manager
            .drop_table(Table::drop().table(*table).to_owned())
            .await?;
    }
    Ok(())
}
