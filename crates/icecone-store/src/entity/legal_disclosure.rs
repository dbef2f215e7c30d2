use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "legal_disclosures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub authority_name_sealed: Vec<u8>,
    pub authority_type: String,
    pub legal_basis_sealed: Vec<u8>,
    pub reference_sealed: Vec<u8>,
    pub categories: String,
    pub confidential_until: Option<ChronoDateTimeUtc>,
    pub confidentiality_reference_sealed: Option<Vec<u8>>,
    pub status: String,
    pub recorded_by: Uuid,
    pub recorded_at: ChronoDateTimeUtc,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<ChronoDateTimeUtc>,
    pub refusal_reason_sealed: Option<Vec<u8>>,
    pub notice_queued_at: Option<ChronoDateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
