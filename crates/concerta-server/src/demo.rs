//! The demo city: areas, members with passwords, and a strategy from the seed template whose
//! sections hold rich text (headings, lists, bold) from `concerta_content::demo`, with a
//! named draft, a version approved by the mayor and later drafts.
//!
//! Loaded by `concerta demo` (any database) and by `concerta serve --demo` (only into a
//! database with no city yet, so a production database never gains demo accounts by a
//! flag). The accounts are listed in [`DEMO_ACCOUNTS`]; the login page shows them when the
//! server runs with `--demo`.

use anyhow::Context;
use std::collections::HashMap;

use automerge::Automerge;
use concerta_core::{Locale, Role, SectionId, SectionState, StrategyTemplate};
use concerta_store::{AuditActor, Database, NewArea, NewCity, NewMember, NewStrategy, NewUser, NewVersion, Strategy, VersionSection};
use serde::Serialize;

use crate::auth::hash_password;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "concerta-demo";
/// The demo city's IANA time zone.
pub const DEMO_TIMEZONE: &str = "America/Bogota";

/// The demo city's slug.
pub const DEMO_SLUG: &str = "demo";

/// One demo account, as the login page shows it.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct DemoAccount {
    /// The login.
    pub email: &'static str,
    /// The display name.
    pub name: &'static str,
    /// `coordinator`, `editor`, `observer`, `stakeholder`, or `network_admin`.
    pub role: &'static str,
    /// The government area of an editor, if any.
    pub area: Option<&'static str>,
    /// The password (all the same).
    pub password: &'static str,
}

const fn account(email: &'static str, name: &'static str, role: &'static str, area: Option<&'static str>) -> DemoAccount {
    DemoAccount { email, name, role, area, password: DEMO_PASSWORD }
}

/// The demo city's government areas, in order.
pub const DEMO_AREAS: [&str; 4] = ["Relaciones Internacionales", "Desarrollo Económico", "Cultura", "Ambiente"];

/// Every demo account, coordinator first.
pub const DEMO_ACCOUNTS: [DemoAccount; 6] = [
    account("ori@demo.concerta", "Oficina de Relaciones Internacionales", "coordinator", None),
    account("economia@demo.concerta", "Área de Economía", "editor", Some(DEMO_AREAS[1])),
    account("cultura@demo.concerta", "Área de Cultura", "editor", Some(DEMO_AREAS[2])),
    account("concejo@demo.concerta", "Concejo Municipal", "observer", None),
    account("universidad@demo.concerta", "Universidad", "stakeholder", None),
    account("admin@demo.concerta", "Network Admin", "network_admin", None),
];

/// What [`load`] found or did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// The demo city was created now.
    Created {
        /// How many sections its strategy has.
        sections: usize,
    },
    /// The demo city was there already; nothing changed.
    AlreadyThere,
}

/// Whether the demo city exists.
pub async fn is_loaded(db: &Database) -> anyhow::Result<bool> {
    Ok(db.list_cities().await?.iter().any(|c| c.slug == DEMO_SLUG))
}

/// Loads the demo city (areas, members with passwords, a strategy from the seed template with
/// each section assigned to an area). Running it twice reuses what is there.
pub async fn load(db: &Database) -> anyhow::Result<Loaded> {
    if is_loaded(db).await? {
        return Ok(Loaded::AlreadyThere);
    }
    let hash = hash_password(DEMO_PASSWORD.to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let city = db
        .create_city(NewCity { name: "Ciudad Demo".to_owned(), slug: DEMO_SLUG.to_owned(), locale: Locale::Es })
        .await
        .context("creating the demo city")?;
    // The demo's roundtable meets in Bogotá's time; the city keeps the same clock.
    let city = db.set_city_timezone(city.id, DEMO_TIMEZONE, AuditActor::System).await.context("setting the demo city's time zone")?;
    let mut areas = Vec::new();
    for name in DEMO_AREAS {
        areas.push(db.create_area(NewArea { city: city.id, name: name.to_owned() }).await?);
    }
    let area_named = |name: &str| areas.iter().find(|a| a.name == name).map(|a| a.id);
    for demo in DEMO_ACCOUNTS {
        let network_admin = demo.role == "network_admin";
        let user = match db.get_user_by_email(demo.email).await? {
            Some(user) => user,
            None => {
                db.create_user(NewUser {
                    email: demo.email.to_owned(),
                    name: demo.name.to_owned(),
                    password_hash: Some(hash.clone()),
                    network_admin,
                })
                .await?
            }
        };
        if network_admin {
            continue;
        }
        let role: Role = demo.role.parse().map_err(|e| anyhow::anyhow!("demo role {}: {e:?}", demo.role))?;
        let area = demo.area.and_then(area_named);
        db.create_member(NewMember { city: city.id, email: user.email, name: demo.name.to_owned(), role, area }, AuditActor::System)
            .await?;
    }
    // Sections hold rich text from their first change (made here, above the store).
    let sections = crate::content::template_sections_with(StrategyTemplate::Seed, city.locale, |key| {
        concerta_content::demo::body_for(concerta_content::demo::INITIAL, key).unwrap_or_default()
    });
    let mut docs: HashMap<SectionId, Automerge> = HashMap::new();
    let strategy = db
        .create_strategy(NewStrategy {
            city: city.id,
            title: "Estrategia de Acción Internacional 2030".to_owned(),
            template: StrategyTemplate::Seed,
            sections: sections.clone(),
        })
        .await?;
    for (section, new) in strategy.sections.iter().zip(&sections) {
        let mut doc = Automerge::new();
        doc.load_incremental(&new.first_change).context("reading a demo section's first change")?;
        docs.insert(section.id, doc);
        let area = match section.key.as_str() {
            "budget_share" | "operational_capacities" => Some(areas[1].id),
            "thematic_areas" | "consultation_communication" => Some(areas[2].id),
            _ => Some(areas[0].id),
        };
        db.set_section_area(section.id, area, AuditActor::System).await?;
    }

    // A first draft named, more text, a version approved by the mayor, and later drafts:
    // the outline shows what changed since the approval and the diff shows how.
    let ori = db
        .get_user_by_email(DEMO_ACCOUNTS[0].email)
        .await?
        .context("the demo coordinator exists")?;
    name_version(db, &strategy, &docs, "Primer borrador de la ORI", ori.id).await?;
    edit(db, &strategy, &mut docs, concerta_content::demo::BEFORE_APPROVAL).await?;
    let approved = name_version(db, &strategy, &docs, "Aprobada por el Alcalde", ori.id).await?;
    db.approve_version(approved, ori.id).await?;
    edit(db, &strategy, &mut docs, concerta_content::demo::AFTER_APPROVAL).await?;
    for section in &strategy.sections {
        let state = match section.key.as_str() {
            "political_will" | "budget_share" => SectionState::InReview,
            "evaluation_with_whom" | "evaluation_how" => SectionState::NotStarted,
            "actor_map" | "thematic_areas" | "internationalisation_objectives" => SectionState::Ready,
            _ => SectionState::Drafting,
        };
        db.set_section_state(section.id, state).await?;
    }
    load_evaluation(db, &strategy, &areas).await.context("loading the demo's indicator framework")?;
    load_roundtables(db, &city, &strategy, ori.id).await.context("loading the demo's roundtables")?;
    load_consultations(db, &strategy, &docs, approved).await.context("loading the demo's consultations")?;
    Ok(Loaded::Created { sections: strategy.sections.len() })
}

/// Names a version of the demo strategy at the documents' current heads.
async fn name_version(
    db: &Database,
    strategy: &Strategy,
    docs: &HashMap<SectionId, Automerge>,
    name: &str,
    by: concerta_core::UserId,
) -> anyhow::Result<concerta_core::VersionId> {
    let sections = strategy
        .sections
        .iter()
        .map(|s| VersionSection {
            section_id: s.id,
            doc_id: s.doc_id,
            heads: crate::content::hex_heads(&docs.get(&s.id).map(Automerge::get_heads).unwrap_or_default()),
        })
        .collect();
    let version = db
        .create_version(NewVersion { strategy: strategy.id, name: name.to_owned(), created_by: by, sections })
        .await
        .with_context(|| format!("naming the demo version {name}"))?;
    Ok(version.id)
}

/// Rewrites the bodies of the demo sections named in `texts`, each as one stored change (as
/// a client's edit is stored).
async fn edit(
    db: &Database,
    strategy: &Strategy,
    docs: &mut HashMap<SectionId, Automerge>,
    texts: &[(&str, &str)],
) -> anyhow::Result<()> {
    for section in &strategy.sections {
        let Some(blocks) = concerta_content::demo::body_for(texts, &section.key) else { continue };
        let doc = docs.get_mut(&section.id).context("a demo section's document")?;
        if let Some(change) = concerta_content::edit_section_change(doc, None, &blocks)? {
            db.append_doc_chunks("demo", &[(section.doc_id.to_string(), concerta_store::CHUNK_KIND_CHANGES, change.clone())])
                .await?;
            doc.load_incremental(&change).context("applying a demo edit")?;
        }
    }
    Ok(())
}

/// The demo's evaluation: the seed's framework and capacities, a few indicators with
/// baselines, targets and measurements (most accepted, one pending), four of them public,
/// so the demo city's public page (`/public/demo`) shows something.
/// The first few words of the first sentence-like line of a section's body: a passage to
/// anchor a demo comment on.
fn demo_passage(doc: &Automerge) -> Option<String> {
    let text = concerta_content::anchor::body_text(doc, None).ok()?;
    let line = text.lines().find(|l| l.split_whitespace().count() >= 8)?;
    Some(line.split_whitespace().skip(2).take(5).collect::<Vec<_>>().join(" "))
}

/// Two consultations: one closed on the approved version, answered (its report is on the
/// public page), and one open on the live draft with a stakeholder's passage comment
/// waiting for an answer.
async fn load_consultations(
    db: &Database,
    strategy: &Strategy,
    docs: &HashMap<SectionId, Automerge>,
    approved: concerta_core::VersionId,
) -> anyhow::Result<()> {
    use chrono::{Duration, Utc};
    use concerta_core::{Decision, Sector};
    use concerta_store::{NewComment, NewConsultation, NewInvitee, NewResponse};
    let coordinator = db.get_user_by_email(DEMO_ACCOUNTS[0].email).await?.context("the demo coordinator")?;
    let university = db.get_user_by_email(DEMO_ACCOUNTS[4].email).await?.context("the demo stakeholder")?;
    let chosen: Vec<&concerta_store::Section> = strategy
        .sections
        .iter()
        .filter(|s| matches!(s.key.as_str(), "political_will" | "thematic_areas" | "consultation_communication"))
        .collect();
    let invitee = || NewInvitee {
        email: university.email.clone(),
        name: university.name.clone(),
        organization: "Universidad Nacional".to_owned(),
        sector: Sector::Academia,
        actor: None,
        locale: None,
    };
    let now = Utc::now();
    let mut made = Vec::new();
    for (title, explanation, version, opens, closes) in [
        (
            "Consulta sobre la versión aprobada",
            "La ciudad pidió a los actores del territorio su opinión sobre la versión aprobada.",
            Some(approved),
            now - Duration::days(40),
            now - Duration::days(10),
        ),
        (
            "Consulta pública del borrador 2030",
            "Lea las secciones y comente el texto completo o un pasaje. Cada comentario recibirá una respuesta pública.",
            None,
            now - Duration::days(2),
            now + Duration::days(28),
        ),
    ] {
        let c = db
            .create_consultation(
                NewConsultation {
                    city: strategy.city_id,
                    strategy: strategy.id,
                    version,
                    title: title.to_owned(),
                    explanation: explanation.to_owned(),
                    opens_at: opens,
                    closes_at: closes,
                    sections: Some(chosen.iter().map(|s| s.id).collect()),
                },
                AuditActor::User(coordinator.id),
            )
            .await?;
        db.invite_to_consultation(c.id, vec![invitee()], AuditActor::User(coordinator.id), None).await?;
        made.push(c);
    }
    let Some(section) = chosen.first() else { return Ok(()) };
    let Some(doc) = docs.get(&section.id) else { return Ok(()) };
    let passage = demo_passage(doc);
    for (n, c) in made.iter().enumerate() {
        let anchor = passage.as_ref().and_then(|q| concerta_content::anchor::anchor_quote(doc, q, 0, None).ok());
        let comment = db
            .create_comment(NewComment {
                consultation: c.id,
                section: section.id,
                parent: None,
                author: university.id,
                author_name: university.name.clone(),
                organization: Some("Universidad Nacional".to_owned()),
                sector: Some(Sector::Academia),
                body: if n == 0 {
                    "Proponemos incluir a las universidades en la mesa de seguimiento de los compromisos.".to_owned()
                } else {
                    "¿Cómo se medirá este compromiso? Sugerimos un indicador con línea de base.".to_owned()
                },
                quote: anchor.as_ref().and(passage.clone()),
                anchor,
                suggestion: None,
                locale: Some(Locale::Es),
            })
            .await?;
        if n == 0 {
            db.respond_to_comment(
                comment.id,
                NewResponse {
                    decision: Decision::Accepted,
                    reason: "Las universidades se suman a la mesa de seguimiento.".to_owned(),
                    version: Some(approved),
                },
                coordinator.id,
                false,
            )
            .await?;
        }
    }
    Ok(())
}

async fn load_evaluation(db: &Database, strategy: &concerta_store::Strategy, areas: &[concerta_store::Area]) -> anyhow::Result<()> {
    use concerta_evaluation::{Point, ReviewState};
    use concerta_store::NewMeasurement;
    let date = |s: &str| -> anyhow::Result<chrono::NaiveDate> { Ok(s.parse()?) };
    let indicators = db.create_indicators_from_template(strategy.id, Locale::Es).await?;
    db.create_capacities_from_template(strategy.id, Locale::Es).await?;
    let coordinator = db.get_user_by_email(DEMO_ACCOUNTS[0].email).await?.context("the demo coordinator")?;
    let economy = db.get_user_by_email(DEMO_ACCOUNTS[1].email).await?.context("the demo economy editor")?;
    // (code, area index, baseline, target, public, measurements (date, value, accepted))
    let plan: [(&str, usize, (&str, f64), (&str, f64), bool, &[(&str, f64, bool)]); 5] = [
        ("ORI-1", 0, ("2023-01-01", 3.0), ("2027-01-01", 12.0), true, &[("2024-01-01", 5.0, true), ("2025-01-01", 8.0, true)]),
        ("ORI-2", 0, ("2023-01-01", 20.0), ("2027-01-01", 80.0), false, &[("2024-01-01", 28.0, true), ("2025-01-01", 31.0, true)]),
        ("GOB-4", 1, ("2023-01-01", 0.4), ("2027-01-01", 1.0), true, &[("2024-01-01", 0.45, true), ("2025-01-01", 0.5, false)]),
        ("TER-3", 2, ("2023-01-01", 40.0), ("2027-01-01", 120.0), true, &[("2024-01-01", 38.0, true)]),
        ("TER-4", 1, ("2023-01-01", 150.0), ("2027-01-01", 300.0), true, &[("2024-01-01", 190.0, true), ("2025-01-01", 260.0, true)]),
    ];
    for (code, area, (base_date, base), (target_date, target), public, measurements) in plan {
        let Some(indicator) = indicators.iter().find(|i| i.fields.code == code) else { continue };
        let mut fields = indicator.fields.clone();
        fields.area_id = areas.get(area).map(|a| a.id);
        fields.baseline = Some(Point::new(date(base_date)?, base));
        fields.target = Some(Point::new(date(target_date)?, target));
        fields.public = public;
        db.update_indicator(indicator.id, fields).await?;
        for (on, value, accepted) in measurements {
            let reporter = if area == 1 { economy.id } else { coordinator.id };
            let m = db
                .create_measurement(NewMeasurement {
                    indicator: indicator.id,
                    measured_on: date(on)?,
                    value: *value,
                    note: "Informe anual de la oficina".to_owned(),
                    link: None,
                    evidence: None,
                    reported_by: reporter,
                })
                .await?;
            if *accepted {
                db.review_measurement(m.id, ReviewState::Accepted, None, coordinator.id).await?;
            }
        }
    }
    Ok(())
}

/// Demo invitees are not real people: their roundtable writes queue no email.
struct NoEmail;

impl concerta_store::Mailer for NoEmail {
    fn compose(&self, _: &concerta_store::Roundtable, _: &concerta_store::Invitation, _: concerta_store::MailKind) -> Option<concerta_store::Mail> {
        None
    }
}

/// The actors registry, a roundtable held last month (closed, with agreements linked to
/// sections: they show beside those sections and on the public page) and one coming up in
/// two weeks with invitations and some answers.
async fn load_roundtables(
    db: &Database,
    city: &concerta_store::City,
    strategy: &Strategy,
    coordinator: concerta_core::UserId,
) -> anyhow::Result<()> {
    use concerta_core::{Rsvp, Sector};
    use concerta_roundtable::DetailsPatch;
    use concerta_store::{NewActor, NewAgreement, NewInvitation, NewRoundtable};
    let registry = [
        ("Universidad de la Ciudad", Sector::Academia, "relaciones@universidad.demo"),
        ("Cámara de Comercio", Sector::Business, "internacional@camara.demo"),
        ("Fundación Ciudad Abierta", Sector::CivilSociety, "contacto@ciudadabierta.demo"),
        ("Oficina regional de cooperación", Sector::InternationalOrganization, "oficina@cooperacion.demo"),
        ("Red de Ciudades del Sur", Sector::CityNetwork, "secretaria@redsur.demo"),
    ];
    let mut actors = Vec::new();
    for (name, sector, email) in registry {
        actors.push(
            db.create_actor(NewActor {
                city: city.id,
                name: name.to_owned(),
                sector,
                country: None,
                email: Some(email.to_owned()),
                website: None,
                locale: None,
            })
            .await?,
        );
    }
    let actor = AuditActor::User(coordinator);
    let day = |days: i64, hour: &str| (chrono::Utc::now() + chrono::Duration::days(days)).format(&format!("%Y-%m-%dT{hour}")).to_string();
    let details = |title: &str, days: i64| DetailsPatch {
        title: Some(title.to_owned()),
        purpose: Some("Convocar a las fuerzas vivas del territorio para acordar prioridades de la acción internacional.".to_owned()),
        agenda: Some("1. Bienvenida de la ORI\n2. Avances de la estrategia\n3. Prioridades temáticas\n4. Acuerdos".to_owned()),
        starts_at: Some(day(days, "10:00")),
        ends_at: Some(day(days, "12:00")),
        timezone: Some(DEMO_TIMEZONE.to_owned()),
        location: Some("Alcaldía, Salón de los Espejos".to_owned()),
        online_url: Some("https://meet.demo.concerta/mesa".to_owned()),
        capacity: Some(Some(40)),
        remind_before_minutes: None,
    };
    let invitee = |a: &concerta_store::Actor| NewInvitation {
        actor_id: Some(a.id),
        email: a.email.clone().unwrap_or_default(),
        name: a.name.clone(),
        organization: a.name.clone(),
        sector: Some(a.sector),
        locale: a.locale,
    };
    let new = |d: &DetailsPatch| -> anyhow::Result<NewRoundtable> {
        Ok(NewRoundtable {
            city: city.id,
            details: concerta_roundtable::validate_details(d).map_err(|e| anyhow::anyhow!("{e}"))?,
            minutes_doc: concerta_sync::DocumentId::random(),
            minutes_first_change: concerta_content::minutes::new_minutes_change(),
        })
    };

    // Held last month: everyone invited, most came, two agreements recorded.
    let held = db.create_roundtable(new(&details("Mesa multiactor de cooperación internacional", -30))?, actor).await?;
    let invited = db.create_invitations(held.id, actors.iter().map(invitee).collect(), actor, &NoEmail).await?;
    for (i, inv) in invited.iter().enumerate() {
        let answer = if i == 2 { Rsvp::Declined } else { Rsvp::Accepted };
        db.set_rsvp(held.id, inv.id, answer).await?;
    }
    let section = |key: &str| strategy.sections.iter().find(|s| s.key == key).map(|s| s.id);
    let agreements = vec![
        NewAgreement {
            section_id: section("thematic_areas"),
            text: "Priorizar cultura y economía creativa como ejes temáticos de la agenda internacional.".to_owned(),
        },
        NewAgreement {
            section_id: section("actor_map"),
            text: "La universidad y la cámara de comercio coordinan una mesa técnica trimestral.".to_owned(),
        },
    ];
    db.close_roundtable(held.id, agreements, actor, &NoEmail).await?;

    // Coming up in two weeks: academia, business and the network invited; civil society and
    // international organisations not yet (the balance warns of it).
    let next = db.create_roundtable(new(&details("Mesa de seguimiento de la estrategia 2030", 14))?, actor).await?;
    let chosen: Vec<NewInvitation> = [0, 1, 4].iter().map(|i| invitee(&actors[*i])).collect();
    let invited = db.create_invitations(next.id, chosen, actor, &NoEmail).await?;
    db.set_rsvp(next.id, invited[0].id, Rsvp::Accepted).await?;
    db.set_rsvp(next.id, invited[1].id, Rsvp::Tentative).await?;
    Ok(())
}
