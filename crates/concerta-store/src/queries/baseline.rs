//! The baseline questionnaire (the seed's *pre-diagnóstico*) across networks of cities.
//!
//! A network administrator makes a network of member cities and a questionnaire for it (by
//! default the seed's capacities and support factors), and opens one period at a time.
//! Each member city answers once per period (the unique index on
//! `(questionnaire, city, period)` makes it so; answering again the same period amends the
//! answer) and chooses whether other cities may see its raw answers.
//!
//! What a city sees ([`Database::baseline_comparison`]): per question, the network's median
//! and quartiles (once at least three cities answered, so no one's answer can be inferred),
//! its own answer, and the raw answers of the cities that chose to share. A network
//! administrator sees every city's answers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use concerta_core::{BaselineResponseId, CityId, NetworkId, QuestionId, QuestionnaireId, UserId};
use concerta_evaluation::stats::{Spread, spread};
use concerta_evaluation::{QuestionKind, Text};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::error::{conflict_on, parse_stored};
use crate::tables::{baseline_answer, baseline_question, baseline_response, city, network, network_city, questionnaire};
use crate::{Database, Error, Result};

/// A network of cities.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Network {
    /// Its id.
    pub id: NetworkId,
    /// Its name (AL-LAs, UCCI…).
    pub name: String,
    /// URL slug, unique.
    pub slug: String,
    /// Member cities.
    pub city_ids: Vec<CityId>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A question of a questionnaire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Question {
    /// Its id.
    pub id: QuestionId,
    /// Stable key (the template's, or one chosen by the administrator).
    pub key: String,
    /// Its place.
    pub position: i32,
    /// The heading it is listed under.
    pub group: Text,
    /// The question.
    pub text: Text,
    /// Its kind of answer.
    pub kind: QuestionKind,
}

/// A question to add (already validated).
#[derive(Clone, Debug)]
pub struct NewQuestion {
    /// Stable key, unique in the questionnaire.
    pub key: String,
    /// Heading.
    pub group: Text,
    /// The question.
    pub text: Text,
    /// Kind of answer.
    pub kind: QuestionKind,
}

/// A network's baseline questionnaire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Questionnaire {
    /// Its id.
    pub id: QuestionnaireId,
    /// The network.
    pub network_id: NetworkId,
    /// Title.
    pub title: String,
    /// The period open for answers (`2026`, `2026-H1`).
    pub period: String,
    /// Its questions in order.
    pub questions: Vec<Question>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// One city's answers for one period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BaselineResponse {
    /// Its id.
    pub id: BaselineResponseId,
    /// The city.
    pub city_id: CityId,
    /// The period.
    pub period: String,
    /// Whether other cities may see the raw answers.
    pub shared: bool,
    /// The answers, by question.
    pub answers: HashMap<QuestionId, f64>,
    /// First submitted.
    pub submitted_at: DateTime<Utc>,
    /// Last amended.
    pub updated_at: DateTime<Utc>,
}

/// Another city's raw answer, visible because that city shared it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SharedAnswer {
    /// The city.
    pub city_id: CityId,
    /// Its name.
    pub city_name: String,
    /// The answer.
    pub value: f64,
}

/// One question as a city compares itself.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QuestionComparison {
    /// The question.
    pub question: Question,
    /// The network's spread, once enough cities answered.
    pub spread: Option<Spread>,
    /// The viewing city's own answer.
    pub own: Option<f64>,
    /// Other cities' raw answers that may be seen.
    pub others: Vec<SharedAnswer>,
}

/// Who looks at a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// A member city: its own answers, the spread, and what others shared.
    City(CityId),
    /// The network's administrator: every answer.
    NetworkAdmin,
}

/// The comparison of one period.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Comparison {
    /// The period.
    pub period: String,
    /// How many cities answered.
    pub respondents: usize,
    /// Whether the viewing city answered and shares.
    pub own_shared: Option<bool>,
    /// Per question.
    pub questions: Vec<QuestionComparison>,
}

async fn network_from(conn: &impl ConnectionTrait, m: network::Model) -> Result<Network> {
    let city_ids = network_city::Entity::find()
        .filter(network_city::Column::NetworkId.eq(m.id))
        .order_by_asc(network_city::Column::CreatedAt)
        .all(conn)
        .await?
        .into_iter()
        .map(|c| CityId::from(c.city_id))
        .collect();
    Ok(Network { id: m.id.into(), name: m.name, slug: m.slug, city_ids, created_at: m.created_at })
}

fn text_from(what: &str, json: &str) -> Result<Text> {
    serde_json::from_str(json).map_err(|_| Error::Internal(format!("stored {what} is not valid")))
}

fn question_from(m: baseline_question::Model) -> Result<Question> {
    Ok(Question {
        id: m.id.into(),
        key: m.key,
        position: m.position,
        group: text_from("question group", &m.group_text)?,
        text: text_from("question text", &m.text)?,
        kind: parse_stored("question kind", &m.kind)?,
    })
}

async fn questionnaire_from(conn: &impl ConnectionTrait, m: questionnaire::Model) -> Result<Questionnaire> {
    let questions = baseline_question::Entity::find()
        .filter(baseline_question::Column::QuestionnaireId.eq(m.id))
        .order_by_asc(baseline_question::Column::Position)
        .all(conn)
        .await?
        .into_iter()
        .map(question_from)
        .collect::<Result<_>>()?;
    Ok(Questionnaire { id: m.id.into(), network_id: m.network_id.into(), title: m.title, period: m.period, questions, created_at: m.created_at })
}

async fn responses(conn: &impl ConnectionTrait, q: QuestionnaireId, period: &str) -> Result<Vec<BaselineResponse>> {
    let rows = baseline_response::Entity::find()
        .filter(baseline_response::Column::QuestionnaireId.eq(q.uuid()))
        .filter(baseline_response::Column::Period.eq(period))
        .order_by_asc(baseline_response::Column::SubmittedAt)
        .all(conn)
        .await?;
    let ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.id).collect();
    let mut answers: HashMap<uuid::Uuid, HashMap<QuestionId, f64>> = HashMap::new();
    for chunk in ids.chunks(500) {
        for a in baseline_answer::Entity::find().filter(baseline_answer::Column::ResponseId.is_in(chunk.to_vec())).all(conn).await? {
            answers.entry(a.response_id).or_default().insert(a.question_id.into(), a.value);
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| BaselineResponse {
            id: r.id.into(),
            city_id: r.city_id.into(),
            answers: answers.remove(&r.id).unwrap_or_default(),
            period: r.period,
            shared: r.shared,
            submitted_at: r.submitted_at,
            updated_at: r.updated_at,
        })
        .collect())
}

impl Database {
    /// Makes a network. [`Error::Conflict`] on `slug`.
    #[tracing::instrument(skip_all)]
    pub async fn create_network(&self, name: String, slug: String) -> Result<Network> {
        let model = network::ActiveModel {
            id: Set(NetworkId::new().uuid()),
            name: Set(name),
            slug: Set(slug),
            created_at: Set(crate::now()),
        }
        .insert(&self.conn)
        .await
        .map_err(conflict_on("slug"))?;
        network_from(&self.conn, model).await
    }

    /// The network `id`.
    #[tracing::instrument(skip_all)]
    pub async fn get_network(&self, id: NetworkId) -> Result<Network> {
        let m = network::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?;
        network_from(&self.conn, m).await
    }

    /// Every network, by name.
    #[tracing::instrument(skip_all)]
    pub async fn list_networks(&self) -> Result<Vec<Network>> {
        let mut out = Vec::new();
        for m in network::Entity::find().order_by_asc(network::Column::Name).all(&self.conn).await? {
            out.push(network_from(&self.conn, m).await?);
        }
        Ok(out)
    }

    /// The networks `city` belongs to.
    #[tracing::instrument(skip_all)]
    pub async fn list_city_networks(&self, city: CityId) -> Result<Vec<Network>> {
        let ids: Vec<uuid::Uuid> = network_city::Entity::find()
            .filter(network_city::Column::CityId.eq(city.uuid()))
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|r| r.network_id)
            .collect();
        let mut out = Vec::new();
        for m in network::Entity::find().filter(network::Column::Id.is_in(ids)).order_by_asc(network::Column::Name).all(&self.conn).await? {
            out.push(network_from(&self.conn, m).await?);
        }
        Ok(out)
    }

    /// Adds `city` to network `id`. [`Error::Conflict`] on `city_id` when it is a member.
    #[tracing::instrument(skip_all)]
    pub async fn add_network_city(&self, id: NetworkId, city_id: CityId) -> Result<Network> {
        self.transaction(|tx| async move {
            let found = network::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            city::Entity::find_by_id(city_id.uuid())
                .one(&*tx)
                .await?
                .ok_or_else(|| Error::invalid("city_id", "is not a city"))?;
            network_city::ActiveModel { network_id: Set(id.uuid()), city_id: Set(city_id.uuid()), created_at: Set(crate::now()) }
                .insert(&*tx)
                .await
                .map_err(|e| match e.sql_err() {
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::Conflict { field: "city_id".to_owned() },
                    _ => Error::Database(e),
                })?;
            network_from(&*tx, found).await
        })
        .await
    }

    /// Makes a questionnaire for network `id`, open for `period`, with `questions` (the
    /// seed's default when `None`). [`Error::Conflict`] on `key` for a repeated key.
    #[tracing::instrument(skip_all)]
    pub async fn create_questionnaire(
        &self,
        id: NetworkId,
        title: String,
        period: String,
        questions: Option<Vec<NewQuestion>>,
    ) -> Result<Questionnaire> {
        let questions = questions.unwrap_or_else(|| {
            concerta_evaluation::template::questions()
                .into_iter()
                .map(|q| NewQuestion { key: q.key.to_owned(), group: q.group, text: q.text, kind: q.kind })
                .collect()
        });
        let (title, period, questions) = (&title, &period, &questions);
        self.transaction(|tx| async move {
            network::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let model = questionnaire::ActiveModel {
                id: Set(QuestionnaireId::new().uuid()),
                network_id: Set(id.uuid()),
                title: Set(title.clone()),
                period: Set(period.clone()),
                created_at: Set(crate::now()),
            }
            .insert(&*tx)
            .await?;
            for (position, q) in questions.iter().enumerate() {
                let json = |t: &Text| serde_json::to_string(t).map_err(|e| Error::Internal(e.to_string()));
                baseline_question::ActiveModel {
                    id: Set(QuestionId::new().uuid()),
                    questionnaire_id: Set(model.id),
                    key: Set(q.key.clone()),
                    position: Set(position as i32),
                    group_text: Set(json(&q.group)?),
                    text: Set(json(&q.text)?),
                    kind: Set(q.kind.as_str().to_owned()),
                }
                .insert(&*tx)
                .await
                .map_err(conflict_on("key"))?;
            }
            questionnaire_from(&*tx, model).await
        })
        .await
    }

    /// The questionnaire `id` with its questions.
    #[tracing::instrument(skip_all)]
    pub async fn get_questionnaire(&self, id: QuestionnaireId) -> Result<Questionnaire> {
        let m = questionnaire::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?;
        questionnaire_from(&self.conn, m).await
    }

    /// The questionnaires of network `id`, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_questionnaires(&self, id: NetworkId) -> Result<Vec<Questionnaire>> {
        let mut out = Vec::new();
        for m in questionnaire::Entity::find()
            .filter(questionnaire::Column::NetworkId.eq(id.uuid()))
            .order_by_asc(questionnaire::Column::CreatedAt)
            .all(&self.conn)
            .await?
        {
            out.push(questionnaire_from(&self.conn, m).await?);
        }
        Ok(out)
    }

    /// Opens `period` for answers (answers of earlier periods stay).
    #[tracing::instrument(skip_all)]
    pub async fn set_questionnaire_period(&self, id: QuestionnaireId, period: String) -> Result<Questionnaire> {
        let period = &period;
        self.transaction(|tx| async move {
            let found = questionnaire::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let mut model: questionnaire::ActiveModel = found.into();
            model.period = Set(period.clone());
            let model = model.update(&*tx).await?;
            questionnaire_from(&*tx, model).await
        })
        .await
    }

    /// Records `city`'s answers for the questionnaire's open period (amending them when the
    /// city already answered this period) and whether it shares them. Every question must be
    /// answered; values are checked against the question's kind ([`Error::Invalid`] on
    /// `answers.<key>`). [`Error::Invalid`] on `city` when the city is not in the network.
    #[tracing::instrument(skip_all)]
    pub async fn submit_baseline(
        &self,
        id: QuestionnaireId,
        city: CityId,
        answers: HashMap<String, f64>,
        shared: bool,
        by: UserId,
    ) -> Result<BaselineResponse> {
        let answers = &answers;
        self.transaction(|tx| async move {
            let found = questionnaire::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let member = network_city::Entity::find_by_id((found.network_id, city.uuid())).one(&*tx).await?;
            if member.is_none() {
                return Err(Error::invalid("city", "is not a member of this network"));
            }
            let q = questionnaire_from(&*tx, found.clone()).await?;
            for key in answers.keys() {
                if !q.questions.iter().any(|x| &x.key == key) {
                    return Err(Error::invalid(format!("answers.{key}").as_str(), "is not a question of this questionnaire"));
                }
            }
            let mut values = Vec::new();
            for question in &q.questions {
                let field = format!("answers.{}", question.key);
                let value = *answers.get(&question.key).ok_or_else(|| Error::invalid(&field, "is required"))?;
                concerta_evaluation::validate::check_answer(&field, question.kind, value)
                    .map_err(|e| Error::Invalid { field: e.field, message: e.message })?;
                values.push((question.id, value));
            }
            let now = crate::now();
            let existing = baseline_response::Entity::find()
                .filter(baseline_response::Column::QuestionnaireId.eq(id.uuid()))
                .filter(baseline_response::Column::CityId.eq(city.uuid()))
                .filter(baseline_response::Column::Period.eq(found.period.clone()))
                .one(&*tx)
                .await?;
            let response = match existing {
                Some(r) => {
                    let mut model: baseline_response::ActiveModel = r.into();
                    model.shared = Set(shared);
                    model.submitted_by = Set(Some(by.uuid()));
                    model.updated_at = Set(now);
                    model.update(&*tx).await?
                }
                None => baseline_response::ActiveModel {
                    id: Set(BaselineResponseId::new().uuid()),
                    questionnaire_id: Set(id.uuid()),
                    city_id: Set(city.uuid()),
                    period: Set(found.period.clone()),
                    shared: Set(shared),
                    submitted_by: Set(Some(by.uuid())),
                    submitted_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&*tx)
                .await
                .map_err(conflict_on("period"))?,
            };
            baseline_answer::Entity::delete_many().filter(baseline_answer::Column::ResponseId.eq(response.id)).exec(&*tx).await?;
            baseline_answer::Entity::insert_many(values.iter().map(|(q, v)| baseline_answer::ActiveModel {
                response_id: Set(response.id),
                question_id: Set(q.uuid()),
                value: Set(*v),
            }))
            .exec_without_returning(&*tx)
            .await?;
            Ok(BaselineResponse {
                id: response.id.into(),
                city_id: city,
                period: response.period,
                shared: response.shared,
                answers: values.into_iter().collect(),
                submitted_at: response.submitted_at,
                updated_at: response.updated_at,
            })
        })
        .await
    }

    /// Changes whether `city` shares its answers of `period`. [`Error::NotFound`] when it
    /// has none.
    #[tracing::instrument(skip_all)]
    pub async fn set_baseline_shared(&self, id: QuestionnaireId, city: CityId, period: String, shared: bool) -> Result<()> {
        let found = baseline_response::Entity::find()
            .filter(baseline_response::Column::QuestionnaireId.eq(id.uuid()))
            .filter(baseline_response::Column::CityId.eq(city.uuid()))
            .filter(baseline_response::Column::Period.eq(period))
            .one(&self.conn)
            .await?
            .ok_or(Error::NotFound)?;
        let mut model: baseline_response::ActiveModel = found.into();
        model.shared = Set(shared);
        model.updated_at = Set(crate::now());
        model.update(&self.conn).await?;
        Ok(())
    }

    /// The comparison of `period` as `viewer` may see it (see the module docs).
    #[tracing::instrument(skip_all)]
    pub async fn baseline_comparison(&self, id: QuestionnaireId, period: &str, viewer: Viewer) -> Result<Comparison> {
        let q = self.get_questionnaire(id).await?;
        let all = responses(&self.conn, id, period).await?;
        let city_ids: Vec<uuid::Uuid> = all.iter().map(|r| r.city_id.uuid()).collect();
        let names: HashMap<uuid::Uuid, String> =
            city::Entity::find().filter(city::Column::Id.is_in(city_ids)).all(&self.conn).await?.into_iter().map(|c| (c.id, c.name)).collect();
        let own = match viewer {
            Viewer::City(c) => all.iter().find(|r| r.city_id == c),
            Viewer::NetworkAdmin => None,
        };
        let questions = q
            .questions
            .into_iter()
            .map(|question| {
                let values: Vec<f64> = all.iter().filter_map(|r| r.answers.get(&question.id).copied()).collect();
                let others = all
                    .iter()
                    .filter(|r| match viewer {
                        Viewer::City(c) => r.city_id != c && r.shared,
                        Viewer::NetworkAdmin => true,
                    })
                    .filter_map(|r| {
                        Some(SharedAnswer {
                            city_id: r.city_id,
                            city_name: names.get(&r.city_id.uuid()).cloned().unwrap_or_default(),
                            value: *r.answers.get(&question.id)?,
                        })
                    })
                    .collect();
                QuestionComparison {
                    spread: spread(&values),
                    own: own.and_then(|r| r.answers.get(&question.id).copied()),
                    others,
                    question,
                }
            })
            .collect();
        Ok(Comparison { period: period.to_owned(), respondents: all.len(), own_shared: own.map(|r| r.shared), questions })
    }

    /// The periods answered of questionnaire `id`, in the order they were first answered.
    #[tracing::instrument(skip_all)]
    pub async fn list_baseline_periods(&self, id: QuestionnaireId) -> Result<Vec<String>> {
        let mut periods: Vec<String> = Vec::new();
        for r in baseline_response::Entity::find()
            .filter(baseline_response::Column::QuestionnaireId.eq(id.uuid()))
            .order_by_asc(baseline_response::Column::SubmittedAt)
            .all(&self.conn)
            .await?
        {
            if !periods.contains(&r.period) {
                periods.push(r.period);
            }
        }
        Ok(periods)
    }
}
