//! Replies to messages to the data protection officer.
//!
//! - `privacy_ticket_events`: a ticket's history — received, answered (with the reply,
//!   sealed as the ticket is: under the sender's data key when they were signed in, else
//!   under the system key), closed — with when and, for the DPO's steps, the staff
//!   member's account id (a bare reference, kept for accountability, never shown to the
//!   sender). Every existing ticket gets its `RECEIVED` entry, whose id is the ticket's.
//! - `notification_outbox.account_id` becomes nullable, and two columns are added: a
//!   notification goes either to an account (its address read with the account's key at
//!   delivery, as before) or — a reply to a message sent without an account — to
//!   `recipient_sealed`, an address sealed under the system key, found for the erasure of
//!   the person it belongs to by `recipient_index` (the address's blind index, as accounts
//!   and the suppression list compute it). The outbox still holds no address in clear.
//!
//! SQLite cannot drop a column's `NOT NULL`, so there the outbox is rebuilt from its own
//! stored definition (every column, whoever added it, is kept), with its indexes; the whole
//! migration is one transaction. PostgreSQL alters the column in place.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub(crate) struct Migration;

#[derive(DeriveIden)]
enum PrivacyTickets {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum PrivacyTicketEvents {
    Table,
    Id,
    TicketId,
    At,
    Kind,
    StaffId,
    ReplySealed,
}

#[derive(DeriveIden)]
enum NotificationOutbox {
    Table,
    RecipientSealed,
    RecipientIndex,
}

const EVENTS_INDEX: &str = "idx_privacy_ticket_events_ticket";
const RECIPIENT_INDEX: &str = "idx_notification_outbox_recipient";
const OUTBOX: &str = "notification_outbox";
const REBUILT: &str = "notification_outbox_rebuilt";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// SQLite's rebuild drops the old outbox: it must not stop half way.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PrivacyTicketEvents::Table)
                    .col(
                        ColumnDef::new(PrivacyTicketEvents::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(PrivacyTicketEvents::TicketId)
                            .uuid()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PrivacyTicketEvents::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(PrivacyTicketEvents::Kind)
                            .string_len(16)
                            .not_null(),
                    )
                    .col(ColumnDef::new(PrivacyTicketEvents::StaffId).uuid())
                    .col(ColumnDef::new(PrivacyTicketEvents::ReplySealed).blob())
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_privacy_ticket_events_ticket")
                            .from(PrivacyTicketEvents::Table, PrivacyTicketEvents::TicketId)
                            .to(PrivacyTickets::Table, PrivacyTickets::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(EVENTS_INDEX)
                    .table(PrivacyTicketEvents::Table)
                    .col(PrivacyTicketEvents::TicketId)
                    .col(PrivacyTicketEvents::At)
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO privacy_ticket_events (id, ticket_id, at, kind) \
                 SELECT id, id, received_at, 'RECEIVED' FROM privacy_tickets",
            )
            .await?;

        match manager.get_database_backend() {
            DbBackend::Sqlite => rebuild_outbox_on_sqlite(manager, AccountColumn::Nullable).await?,
            _ => {
                manager
                    .get_connection()
                    .execute_unprepared(
                        "ALTER TABLE notification_outbox ALTER COLUMN account_id DROP NOT NULL",
                    )
                    .await?;
            }
        }
        for column in [
            ColumnDef::new(NotificationOutbox::RecipientSealed)
                .blob()
                .to_owned(),
            ColumnDef::new(NotificationOutbox::RecipientIndex)
                .blob()
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(NotificationOutbox::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name(RECIPIENT_INDEX)
                    .table(NotificationOutbox::Table)
                    .col(NotificationOutbox::RecipientIndex)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(RECIPIENT_INDEX)
                    .table(NotificationOutbox::Table)
                    .to_owned(),
            )
            .await?;
        let connection = manager.get_connection();
        connection
            .execute_unprepared("DELETE FROM notification_outbox WHERE account_id IS NULL")
            .await?;
        for column in [
            NotificationOutbox::RecipientIndex,
            NotificationOutbox::RecipientSealed,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(NotificationOutbox::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        match manager.get_database_backend() {
            DbBackend::Sqlite => rebuild_outbox_on_sqlite(manager, AccountColumn::Required).await?,
            _ => {
                connection
                    .execute_unprepared(
                        "ALTER TABLE notification_outbox ALTER COLUMN account_id SET NOT NULL",
                    )
                    .await?;
            }
        }
        manager
            .drop_table(Table::drop().table(PrivacyTicketEvents::Table).to_owned())
            .await
    }
}

/// Whether the outbox's `account_id` may be `NULL`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AccountColumn {
    Nullable,
    Required,
}

/// SQLite: a copy of the outbox made from its stored definition with `account_id`'s
/// `NOT NULL` dropped (or restored), filled from the old table, which is dropped and
/// replaced; its indexes are made again from their stored definitions.
async fn rebuild_outbox_on_sqlite(
    manager: &SchemaManager<'_>,
    account: AccountColumn,
) -> Result<(), DbErr> {
    let connection = manager.get_connection();
    let definition = connection
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = '{OUTBOX}'"),
        ))
        .await?
        .ok_or_else(|| DbErr::Migration(format!("{OUTBOX} has no stored definition")))?
        .try_get::<String>("", "sql")?;
    let indexes: Vec<String> = connection
        .query_all_raw(Statement::from_string(
            DbBackend::Sqlite,
            format!(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = '{OUTBOX}' \
                 AND sql IS NOT NULL"
            ),
        ))
        .await?
        .into_iter()
        .map(|row| row.try_get::<String>("", "sql"))
        .collect::<Result<_, _>>()?;
    let rebuilt = outbox_definition(&definition, account)
        .ok_or_else(|| DbErr::Migration(format!("{OUTBOX}'s definition was not understood")))?;
    for statement in [
        rebuilt,
        format!("INSERT INTO {REBUILT} SELECT * FROM {OUTBOX}"),
        format!("DROP TABLE {OUTBOX}"),
        format!("ALTER TABLE {REBUILT} RENAME TO {OUTBOX}"),
    ] {
        connection.execute_unprepared(&statement).await?;
    }
    for index in indexes {
        connection.execute_unprepared(&index).await?;
    }
    Ok(())
}

/// The stored `CREATE TABLE` of the outbox, renamed to [`REBUILT`], its `account_id` column
/// made nullable or required. `None` when the text has not the expected shape.
fn outbox_definition(definition: &str, account: AccountColumn) -> Option<String> {
    let name_end = definition.find('(')?;
    let (head, columns) = definition.split_at(name_end);
    if !head.contains(OUTBOX) {
        return None;
    }
    let start = columns.find("\"account_id\"")?;
    let end = start + columns[start..].find(',')?;
    let column = &columns[start..end];
    let column = match account {
        AccountColumn::Nullable => column.replacen(" NOT NULL", "", 1),
        AccountColumn::Required if column.contains("NOT NULL") => column.to_owned(),
        AccountColumn::Required => format!("{column} NOT NULL"),
    };
    Some(format!(
        "CREATE TABLE \"{REBUILT}\" {}{column}{}",
        &columns[..start],
        &columns[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outbox_definition_loses_and_regains_its_account_constraint_only() {
        let stored = "CREATE TABLE \"notification_outbox\" ( \"id\" uuid_text NOT NULL PRIMARY KEY, \
                      \"account_id\" uuid_text NOT NULL, \"kind\" varchar(32) NOT NULL, \
                      FOREIGN KEY (\"account_id\") REFERENCES \"accounts\" (\"id\") )";
        let nullable = outbox_definition(stored, AccountColumn::Nullable).expect("understood");
        assert_eq!(
            nullable,
            "CREATE TABLE \"notification_outbox_rebuilt\" ( \"id\" uuid_text NOT NULL PRIMARY KEY, \
             \"account_id\" uuid_text, \"kind\" varchar(32) NOT NULL, \
             FOREIGN KEY (\"account_id\") REFERENCES \"accounts\" (\"id\") )"
        );
        let required =
            outbox_definition(&nullable.replace(REBUILT, OUTBOX), AccountColumn::Required)
                .expect("understood");
        assert_eq!(required, stored.replace(OUTBOX, REBUILT));
        assert_eq!(
            outbox_definition("CREATE TABLE \"other\" (\"id\")", AccountColumn::Nullable),
            None
        );
    }
}
