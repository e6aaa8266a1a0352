//! The evaluation stage: indicators (with the sections they measure and their SDG links),
//! measurements with evidence files and reviews, reminders of due measurements, the
//! capacities checklist, and the baseline questionnaire across networks of cities.

use sea_orm_migration::prelude::*;

use crate::unique_name;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Cities {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Areas {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Strategies {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sections {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Indicators {
    Table,
    Id,
    CityId,
    StrategyId,
    Key,
    Code,
    Name,
    Level,
    Definition,
    Method,
    Unit,
    UnitLabel,
    Direction,
    DataSource,
    Frequency,
    AreaId,
    BaselineValue,
    BaselineDate,
    TargetValue,
    TargetDate,
    Public,
    Position,
    StatusOverride,
    OverrideReason,
    OverrideBy,
    OverrideAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum IndicatorSections {
    Table,
    IndicatorId,
    SectionId,
}

#[derive(DeriveIden, Clone, Copy)]
enum IndicatorSdg {
    Table,
    IndicatorId,
    Code,
}

#[derive(DeriveIden, Clone, Copy)]
enum EvidenceFiles {
    Table,
    Id,
    CityId,
    Filename,
    ContentType,
    Size,
    Sha256,
    Data,
    UploadedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Measurements {
    Table,
    Id,
    IndicatorId,
    CityId,
    MeasuredOn,
    Value,
    Note,
    Link,
    EvidenceId,
    ReportedBy,
    ReportedAt,
    Review,
    ReviewReason,
    ReviewedBy,
    ReviewedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum MeasurementReminders {
    Table,
    Id,
    IndicatorId,
    DueOn,
    Recipients,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Capacities {
    Table,
    Id,
    CityId,
    StrategyId,
    Key,
    CapacityGroup,
    Name,
    State,
    Evidence,
    AreaId,
    Position,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Networks {
    Table,
    Id,
    Name,
    Slug,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum NetworkCities {
    Table,
    NetworkId,
    CityId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Questionnaires {
    Table,
    Id,
    NetworkId,
    Title,
    Period,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum BaselineQuestions {
    Table,
    Id,
    QuestionnaireId,
    Key,
    Position,
    GroupText,
    Text,
    Kind,
}

#[derive(DeriveIden, Clone, Copy)]
enum BaselineResponses {
    Table,
    Id,
    QuestionnaireId,
    CityId,
    Period,
    Shared,
    SubmittedBy,
    SubmittedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum BaselineAnswers {
    Table,
    ResponseId,
    QuestionId,
    Value,
}

fn uuid_pk<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().primary_key().to_owned()
}

fn ts<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from_table, from_col).to(to_table, to_col).on_delete(on_delete).to_owned()
}

async fn unique<T: IntoIden, C: IntoIden + Clone>(
    manager: &SchemaManager<'_>,
    table: T,
    table_name: &str,
    cols: &[C],
    field: &str,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(unique_name(table_name, field)).table(table).unique();
    for col in cols {
        stmt.col(col.clone());
    }
    manager.create_index(stmt.to_owned()).await
}

async fn index<T: IntoIden, C: IntoIden + Clone>(manager: &SchemaManager<'_>, table: T, name: &str, cols: &[C]) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(col.clone());
    }
    manager.create_index(stmt.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};

        manager
            .create_table(
                Table::create()
                    .table(Indicators::Table)
                    .col(uuid_pk(Indicators::Id))
                    .col(ColumnDef::new(Indicators::CityId).uuid().not_null())
                    .col(ColumnDef::new(Indicators::StrategyId).uuid().not_null())
                    .col(ColumnDef::new(Indicators::Key).string().not_null())
                    .col(ColumnDef::new(Indicators::Code).string().not_null())
                    .col(ColumnDef::new(Indicators::Name).string().not_null())
                    .col(ColumnDef::new(Indicators::Level).string().not_null())
                    .col(ColumnDef::new(Indicators::Definition).text().not_null())
                    .col(ColumnDef::new(Indicators::Method).text().not_null())
                    .col(ColumnDef::new(Indicators::Unit).string().not_null())
                    .col(ColumnDef::new(Indicators::UnitLabel).string().not_null())
                    .col(ColumnDef::new(Indicators::Direction).string().not_null())
                    .col(ColumnDef::new(Indicators::DataSource).text().not_null())
                    .col(ColumnDef::new(Indicators::Frequency).string().not_null())
                    .col(ColumnDef::new(Indicators::AreaId).uuid().null())
                    .col(ColumnDef::new(Indicators::BaselineValue).double().null())
                    .col(ColumnDef::new(Indicators::BaselineDate).date().null())
                    .col(ColumnDef::new(Indicators::TargetValue).double().null())
                    .col(ColumnDef::new(Indicators::TargetDate).date().null())
                    .col(ColumnDef::new(Indicators::Public).boolean().not_null().default(false))
                    .col(ColumnDef::new(Indicators::Position).integer().not_null())
                    .col(ColumnDef::new(Indicators::StatusOverride).string().null())
                    .col(ColumnDef::new(Indicators::OverrideReason).text().null())
                    .col(ColumnDef::new(Indicators::OverrideBy).uuid().null())
                    .col(ColumnDef::new(Indicators::OverrideAt).timestamp_with_time_zone().null())
                    .col(ts(Indicators::CreatedAt))
                    .col(ts(Indicators::UpdatedAt))
                    .foreign_key(&mut fk(Indicators::Table, Indicators::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(Indicators::Table, Indicators::StrategyId, Strategies::Table, Strategies::Id, Cascade))
                    .foreign_key(&mut fk(Indicators::Table, Indicators::AreaId, Areas::Table, Areas::Id, SetNull))
                    .foreign_key(&mut fk(Indicators::Table, Indicators::OverrideBy, Users::Table, Users::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        unique(manager, Indicators::Table, "indicators", &[Indicators::StrategyId, Indicators::Code], "code").await?;
        index(manager, Indicators::Table, "ix__indicators__city_id", &[Indicators::CityId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(IndicatorSections::Table)
                    .col(ColumnDef::new(IndicatorSections::IndicatorId).uuid().not_null())
                    .col(ColumnDef::new(IndicatorSections::SectionId).uuid().not_null())
                    .primary_key(Index::create().col(IndicatorSections::IndicatorId).col(IndicatorSections::SectionId))
                    .foreign_key(&mut fk(IndicatorSections::Table, IndicatorSections::IndicatorId, Indicators::Table, Indicators::Id, Cascade))
                    .foreign_key(&mut fk(IndicatorSections::Table, IndicatorSections::SectionId, Sections::Table, Sections::Id, Cascade))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(IndicatorSdg::Table)
                    .col(ColumnDef::new(IndicatorSdg::IndicatorId).uuid().not_null())
                    .col(ColumnDef::new(IndicatorSdg::Code).string().not_null())
                    .primary_key(Index::create().col(IndicatorSdg::IndicatorId).col(IndicatorSdg::Code))
                    .foreign_key(&mut fk(IndicatorSdg::Table, IndicatorSdg::IndicatorId, Indicators::Table, Indicators::Id, Cascade))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(EvidenceFiles::Table)
                    .col(uuid_pk(EvidenceFiles::Id))
                    .col(ColumnDef::new(EvidenceFiles::CityId).uuid().not_null())
                    .col(ColumnDef::new(EvidenceFiles::Filename).string().not_null())
                    .col(ColumnDef::new(EvidenceFiles::ContentType).string().not_null())
                    .col(ColumnDef::new(EvidenceFiles::Size).big_integer().not_null())
                    .col(ColumnDef::new(EvidenceFiles::Sha256).string().not_null())
                    .col(ColumnDef::new(EvidenceFiles::Data).blob().not_null())
                    .col(ColumnDef::new(EvidenceFiles::UploadedBy).uuid().null())
                    .col(ts(EvidenceFiles::CreatedAt))
                    .foreign_key(&mut fk(EvidenceFiles::Table, EvidenceFiles::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(EvidenceFiles::Table, EvidenceFiles::UploadedBy, Users::Table, Users::Id, SetNull))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Measurements::Table)
                    .col(uuid_pk(Measurements::Id))
                    .col(ColumnDef::new(Measurements::IndicatorId).uuid().not_null())
                    .col(ColumnDef::new(Measurements::CityId).uuid().not_null())
                    .col(ColumnDef::new(Measurements::MeasuredOn).date().not_null())
                    .col(ColumnDef::new(Measurements::Value).double().not_null())
                    .col(ColumnDef::new(Measurements::Note).text().not_null())
                    .col(ColumnDef::new(Measurements::Link).string().null())
                    .col(ColumnDef::new(Measurements::EvidenceId).uuid().null())
                    .col(ColumnDef::new(Measurements::ReportedBy).uuid().null())
                    .col(ts(Measurements::ReportedAt))
                    .col(ColumnDef::new(Measurements::Review).string().not_null())
                    .col(ColumnDef::new(Measurements::ReviewReason).text().null())
                    .col(ColumnDef::new(Measurements::ReviewedBy).uuid().null())
                    .col(ColumnDef::new(Measurements::ReviewedAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut fk(Measurements::Table, Measurements::IndicatorId, Indicators::Table, Indicators::Id, Cascade))
                    .foreign_key(&mut fk(Measurements::Table, Measurements::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(Measurements::Table, Measurements::EvidenceId, EvidenceFiles::Table, EvidenceFiles::Id, SetNull))
                    .foreign_key(&mut fk(Measurements::Table, Measurements::ReportedBy, Users::Table, Users::Id, SetNull))
                    .foreign_key(&mut fk(Measurements::Table, Measurements::ReviewedBy, Users::Table, Users::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        index(manager, Measurements::Table, "ix__measurements__indicator_id", &[Measurements::IndicatorId, Measurements::MeasuredOn]).await?;

        // One reminder per indicator and due date, ever: the unique index is what keeps
        // several nodes (and restarts) from sending it twice.
        manager
            .create_table(
                Table::create()
                    .table(MeasurementReminders::Table)
                    .col(uuid_pk(MeasurementReminders::Id))
                    .col(ColumnDef::new(MeasurementReminders::IndicatorId).uuid().not_null())
                    .col(ColumnDef::new(MeasurementReminders::DueOn).date().not_null())
                    .col(ColumnDef::new(MeasurementReminders::Recipients).integer().not_null())
                    .col(ts(MeasurementReminders::CreatedAt))
                    .foreign_key(&mut fk(MeasurementReminders::Table, MeasurementReminders::IndicatorId, Indicators::Table, Indicators::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            MeasurementReminders::Table,
            "measurement_reminders",
            &[MeasurementReminders::IndicatorId, MeasurementReminders::DueOn],
            "due_on",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(Capacities::Table)
                    .col(uuid_pk(Capacities::Id))
                    .col(ColumnDef::new(Capacities::CityId).uuid().not_null())
                    .col(ColumnDef::new(Capacities::StrategyId).uuid().not_null())
                    .col(ColumnDef::new(Capacities::Key).string().not_null())
                    .col(ColumnDef::new(Capacities::CapacityGroup).string().not_null())
                    .col(ColumnDef::new(Capacities::Name).string().not_null())
                    .col(ColumnDef::new(Capacities::State).string().not_null())
                    .col(ColumnDef::new(Capacities::Evidence).text().not_null())
                    .col(ColumnDef::new(Capacities::AreaId).uuid().null())
                    .col(ColumnDef::new(Capacities::Position).integer().not_null())
                    .col(ColumnDef::new(Capacities::UpdatedBy).uuid().null())
                    .col(ts(Capacities::UpdatedAt))
                    .foreign_key(&mut fk(Capacities::Table, Capacities::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(Capacities::Table, Capacities::StrategyId, Strategies::Table, Strategies::Id, Cascade))
                    .foreign_key(&mut fk(Capacities::Table, Capacities::AreaId, Areas::Table, Areas::Id, SetNull))
                    .foreign_key(&mut fk(Capacities::Table, Capacities::UpdatedBy, Users::Table, Users::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        unique(manager, Capacities::Table, "capacities", &[Capacities::StrategyId, Capacities::Key], "key").await?;

        manager
            .create_table(
                Table::create()
                    .table(Networks::Table)
                    .col(uuid_pk(Networks::Id))
                    .col(ColumnDef::new(Networks::Name).string().not_null())
                    .col(ColumnDef::new(Networks::Slug).string().not_null())
                    .col(ts(Networks::CreatedAt))
                    .to_owned(),
            )
            .await?;
        unique(manager, Networks::Table, "networks", &[Networks::Slug], "slug").await?;

        manager
            .create_table(
                Table::create()
                    .table(NetworkCities::Table)
                    .col(ColumnDef::new(NetworkCities::NetworkId).uuid().not_null())
                    .col(ColumnDef::new(NetworkCities::CityId).uuid().not_null())
                    .col(ts(NetworkCities::CreatedAt))
                    .primary_key(Index::create().col(NetworkCities::NetworkId).col(NetworkCities::CityId))
                    .foreign_key(&mut fk(NetworkCities::Table, NetworkCities::NetworkId, Networks::Table, Networks::Id, Cascade))
                    .foreign_key(&mut fk(NetworkCities::Table, NetworkCities::CityId, Cities::Table, Cities::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        index(manager, NetworkCities::Table, "ix__network_cities__city_id", &[NetworkCities::CityId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Questionnaires::Table)
                    .col(uuid_pk(Questionnaires::Id))
                    .col(ColumnDef::new(Questionnaires::NetworkId).uuid().not_null())
                    .col(ColumnDef::new(Questionnaires::Title).string().not_null())
                    .col(ColumnDef::new(Questionnaires::Period).string().not_null())
                    .col(ts(Questionnaires::CreatedAt))
                    .foreign_key(&mut fk(Questionnaires::Table, Questionnaires::NetworkId, Networks::Table, Networks::Id, Cascade))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(BaselineQuestions::Table)
                    .col(uuid_pk(BaselineQuestions::Id))
                    .col(ColumnDef::new(BaselineQuestions::QuestionnaireId).uuid().not_null())
                    .col(ColumnDef::new(BaselineQuestions::Key).string().not_null())
                    .col(ColumnDef::new(BaselineQuestions::Position).integer().not_null())
                    .col(ColumnDef::new(BaselineQuestions::GroupText).text().not_null())
                    .col(ColumnDef::new(BaselineQuestions::Text).text().not_null())
                    .col(ColumnDef::new(BaselineQuestions::Kind).string().not_null())
                    .foreign_key(&mut fk(BaselineQuestions::Table, BaselineQuestions::QuestionnaireId, Questionnaires::Table, Questionnaires::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        unique(manager, BaselineQuestions::Table, "baseline_questions", &[BaselineQuestions::QuestionnaireId, BaselineQuestions::Key], "key").await?;

        // One response per city and period: the unique index makes "once a period" hold.
        manager
            .create_table(
                Table::create()
                    .table(BaselineResponses::Table)
                    .col(uuid_pk(BaselineResponses::Id))
                    .col(ColumnDef::new(BaselineResponses::QuestionnaireId).uuid().not_null())
                    .col(ColumnDef::new(BaselineResponses::CityId).uuid().not_null())
                    .col(ColumnDef::new(BaselineResponses::Period).string().not_null())
                    .col(ColumnDef::new(BaselineResponses::Shared).boolean().not_null().default(false))
                    .col(ColumnDef::new(BaselineResponses::SubmittedBy).uuid().null())
                    .col(ts(BaselineResponses::SubmittedAt))
                    .col(ts(BaselineResponses::UpdatedAt))
                    .foreign_key(&mut fk(BaselineResponses::Table, BaselineResponses::QuestionnaireId, Questionnaires::Table, Questionnaires::Id, Cascade))
                    .foreign_key(&mut fk(BaselineResponses::Table, BaselineResponses::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(BaselineResponses::Table, BaselineResponses::SubmittedBy, Users::Table, Users::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            BaselineResponses::Table,
            "baseline_responses",
            &[BaselineResponses::QuestionnaireId, BaselineResponses::CityId, BaselineResponses::Period],
            "period",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(BaselineAnswers::Table)
                    .col(ColumnDef::new(BaselineAnswers::ResponseId).uuid().not_null())
                    .col(ColumnDef::new(BaselineAnswers::QuestionId).uuid().not_null())
                    .col(ColumnDef::new(BaselineAnswers::Value).double().not_null())
                    .primary_key(Index::create().col(BaselineAnswers::ResponseId).col(BaselineAnswers::QuestionId))
                    .foreign_key(&mut fk(BaselineAnswers::Table, BaselineAnswers::ResponseId, BaselineResponses::Table, BaselineResponses::Id, Cascade))
                    .foreign_key(&mut fk(BaselineAnswers::Table, BaselineAnswers::QuestionId, BaselineQuestions::Table, BaselineQuestions::Id, Cascade))
                    .to_owned(),
            )
            .await?;

        Ok(())
    }
}
