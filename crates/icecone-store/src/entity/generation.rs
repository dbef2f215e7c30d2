use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "generations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub kind: String,
    pub status: String,
    pub provider: String,
    pub provider_job_id: Option<String>,
    pub prompt_sealed: Vec<u8>,
    pub text_sealed: Option<Vec<u8>>,
    pub media_sealed: Option<Vec<u8>>,
    pub media_type: Option<String>,
    pub error_code: Option<String>,
    pub tokens: i64,
    pub images: i64,
    pub video_seconds: i64,
    pub created_at: ChronoDateTimeUtc,
    pub completed_at: Option<ChronoDateTimeUtc>,
    pub input_sealed: Option<Vec<u8>>,
    pub remote_copy: Option<String>,
    pub duration_seconds: Option<i32>,
    pub redactions: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
