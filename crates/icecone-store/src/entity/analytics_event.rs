use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "analytics_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub day: String,
    pub hour: i16,
    pub pseudonym: Vec<u8>,
    pub event: String,
    pub generation_kind: Option<String>,
    pub provider: Option<String>,
    pub latency_ms: Option<i32>,
    pub right_kind: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
