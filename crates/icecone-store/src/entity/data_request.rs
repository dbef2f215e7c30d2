use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "data_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub kind: String,
    pub status: String,
    pub received_at: ChronoDateTimeUtc,
    pub due_at: ChronoDateTimeUtc,
    pub extended_due_at: Option<ChronoDateTimeUtc>,
    pub extension_reason_sealed: Option<Vec<u8>>,
    pub completed_at: Option<ChronoDateTimeUtc>,
    pub download_digest: Option<Vec<u8>>,
    pub download_expires_at: Option<ChronoDateTimeUtc>,
    pub download_used_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
