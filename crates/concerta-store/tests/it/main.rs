//! Integration tests of the store, each on SQLite and (with `DATABASE_URL_TEST`) Postgres.

mod accounts;
mod cities;
mod security;
mod evaluation;
mod invitations;
mod outbox;
mod strategies;
mod versions;

use concerta_core::{CityId, Locale, Role, StrategyTemplate, seed_template};
use concerta_store::{City, Database, NewCity, NewMember, NewSection, NewStrategy, NewUser, User};

/// Makes a city with `slug`.
pub async fn city(db: &Database, slug: &str) -> City {
    db.create_city(NewCity { name: format!("City {slug}"), slug: slug.to_owned(), locale: Locale::Es })
        .await
        .expect("city is created")
}

/// Makes a user with a password hash.
pub async fn user(db: &Database, email: &str) -> User {
    db.create_user(NewUser {
        email: email.to_owned(),
        name: "Test User".to_owned(),
        password_hash: Some("$argon2id$fake".to_owned()),
        network_admin: false,
    })
    .await
    .expect("user is created")
}

/// A `NewMember` of `city` without area.
pub fn member(city: &City, email: &str, role: Role) -> NewMember {
    NewMember { city: city.id, email: email.to_owned(), name: "Member".to_owned(), role, area: None }
}

/// A `NewStrategy` of `city` from the seed template, its sections' first changes made as
/// the server makes them (titles in Spanish, empty bodies).
pub fn seed_strategy(city: CityId, title: &str) -> NewStrategy {
    let sections = seed_template()
        .iter()
        .map(|item| NewSection {
            key: item.key.to_owned(),
            title: item.title(Locale::Es).to_owned(),
            stage: item.stage,
            position: item.position as i32,
            doc_id: concerta_sync::DocumentId::random(),
            first_change: concerta_content::new_section_change(item.title(Locale::Es), &[]),
        })
        .collect();
    NewStrategy { city, title: title.to_owned(), template: StrategyTemplate::Seed, sections }
}
