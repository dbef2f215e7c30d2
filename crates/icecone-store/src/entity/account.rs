use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "accounts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub subject_id: Uuid,
    pub email_sealed: Vec<u8>,
    pub email_index: Vec<u8>,
    pub display_name_sealed: Option<Vec<u8>>,
    pub password_hash: String,
    pub policy_version: String,
    pub kind: String,
    pub suspended_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    pub password_changed_at: ChronoDateTimeUtc,
    pub email_verified_at: Option<ChronoDateTimeUtc>,
    pub plan: String,
    pub policy_notified_version: String,
    pub subprocessors_notified_version: i32,
    pub minimize_prompts: bool,
    pub history_version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
