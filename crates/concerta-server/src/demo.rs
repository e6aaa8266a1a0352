//! The demo city: areas, members with passwords, and a strategy from the seed template.
//!
//! Loaded by `concerta demo` (any database) and by `concerta serve --demo` (only into a
//! database with no city yet, so a production database never gains demo accounts by a
//! flag). The accounts are listed in [`DEMO_ACCOUNTS`]; the login page shows them when the
//! server runs with `--demo`.

use anyhow::Context;
use concerta_core::{Locale, Role, StrategyTemplate};
use concerta_store::{AuditActor, Database, NewArea, NewCity, NewMember, NewStrategy, NewUser};
use serde::Serialize;

use crate::auth::hash_password;

/// The password of every demo account.
pub const DEMO_PASSWORD: &str = "concerta-demo";
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
    let strategy = db
        .create_strategy(NewStrategy {
            city: city.id,
            title: "Estrategia de Acción Internacional 2030".to_owned(),
            template: StrategyTemplate::Seed,
        })
        .await?;
    for section in &strategy.sections {
        let area = match section.key.as_str() {
            "budget_share" | "operational_capacities" => Some(areas[1].id),
            "thematic_areas" | "consultation_communication" => Some(areas[2].id),
            _ => Some(areas[0].id),
        };
        db.set_section_area(section.id, area, AuditActor::System).await?;
    }
    Ok(Loaded::Created { sections: strategy.sections.len() })
}
