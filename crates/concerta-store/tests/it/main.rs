//! Integration tests of the store, each on SQLite and (with `DATABASE_URL_TEST`) Postgres.

mod accounts;
mod cities;
mod security;
mod strategies;

use concerta_core::{Locale, Role};
use concerta_store::{City, Database, NewCity, NewMember, NewUser, User};

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
