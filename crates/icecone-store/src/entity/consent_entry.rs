use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consent_ledger")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub account_id: Uuid,
    pub kind: String,
    pub purpose: Option<String>,
    pub granted: bool,
    pub policy_version: String,
    pub source: String,
    pub created_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
