//! Router tests through `tower::ServiceExt::oneshot`, each on SQLite and (with
//! `DATABASE_URL_TEST`) Postgres.

mod actors;
mod auth;
mod comment_events;
mod consultations;
mod content;
mod errors;
mod evaluation;
mod health;
mod invitations;
mod locales;
mod roles;
mod roundtables;
mod security;
mod sync;
mod tenancy;
mod web;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use concerta_core::{AreaId, Role};
use concerta_server::{AppState, Config, auth::issue_api_token, router};
use concerta_store::{Area, AuditActor, City, Database, NewArea, NewCity, NewMember, NewUser, User};
use serde_json::Value;
use tower::ServiceExt;

/// How a test request authenticates.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Bearer(String),
    Cookie(String),
}

/// The server over a test database.
pub struct App {
    pub state: AppState,
    router: Router,
}

/// An answer: status, headers, JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The `error.code` of a JSON error body.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// The `id` field, parsed.
    pub fn id<T: std::str::FromStr>(&self) -> T
    where
        T::Err: std::fmt::Debug,
    {
        self.body["id"].as_str().expect("an id").parse().unwrap()
    }
}

impl App {
    pub fn new(db: Database) -> Self {
        Self::with_config(db, |_| {})
    }

    pub fn with_config(db: Database, tweak: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config::for_tests(std::env::temp_dir(), "unused://".to_owned());
        tweak(&mut config);
        let state = AppState::with_database(config, db);
        Self { router: router(state.clone()), state }
    }

    pub fn db(&self) -> &Database {
        &self.state.db
    }

    /// Sends a request with a JSON body (or none).
    pub async fn call(&self, method: Method, uri: &str, auth: &Auth, body: Option<Value>) -> Answer {
        let body = body.map(|b| b.to_string().into_bytes());
        self.raw(method, uri, auth, body.map(|b| ("application/json", b))).await
    }

    /// Sends a request with raw body bytes and content type.
    pub async fn raw(&self, method: Method, uri: &str, auth: &Auth, body: Option<(&str, Vec<u8>)>) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        match auth {
            Auth::None => {}
            Auth::Bearer(token) => req = req.header(header::AUTHORIZATION, format!("Bearer {token}")),
            Auth::Cookie(cookie) => req = req.header(header::COOKIE, cookie.as_str()),
        }
        let req = match body {
            Some((content_type, bytes)) => req.header(header::CONTENT_TYPE, content_type).body(Body::from(bytes)),
            None => req.body(Body::empty()),
        }
        .unwrap();
        self.send(req).await
    }

    /// Sends a request built by the test.
    pub async fn send(&self, req: Request<Body>) -> Answer {
        let response = self.router.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, headers, body }
    }

    /// A GET without credentials, its body as text.
    pub async fn text(&self, method: Method, uri: &str) -> String {
        let req = Request::builder().method(method).uri(uri).body(Body::empty()).unwrap();
        let response = self.router.clone().oneshot(req).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    pub async fn get(&self, uri: &str, auth: &Auth) -> Answer {
        self.call(Method::GET, uri, auth, None).await
    }

    pub async fn post(&self, uri: &str, auth: &Auth, body: Value) -> Answer {
        self.call(Method::POST, uri, auth, Some(body)).await
    }

    /// Asserts the server still answers a plain request correctly.
    pub async fn assert_serving(&self) {
        let health = self.get("/healthz", &Auth::None).await;
        assert_eq!(health.status, StatusCode::OK);
        let ready = self.get("/readyz", &Auth::None).await;
        assert_eq!(ready.status, StatusCode::OK);
    }
}

/// A user with an API token.
pub struct Person {
    pub user: User,
    pub auth: Auth,
}

/// Makes a user without password and an API token for them.
pub async fn person(db: &Database, email: &str, network_admin: bool) -> Person {
    let user = db
        .create_user(NewUser { email: email.to_owned(), name: email.to_owned(), password_hash: None, network_admin })
        .await
        .unwrap();
    let token = issue_api_token(db, &user).await.unwrap();
    Person { user, auth: Auth::Bearer(token) }
}

/// A city with two areas and one member of each role (the editor drafts for `areas[0]`).
pub struct CityFixture {
    pub city: City,
    pub areas: [Area; 2],
    pub coordinator: Person,
    pub editor: Person,
    pub observer: Person,
    pub stakeholder: Person,
}

impl CityFixture {
    pub async fn new(db: &Database, slug: &str) -> Self {
        let city = db
            .create_city(NewCity { name: format!("City {slug}"), slug: slug.to_owned(), locale: concerta_core::Locale::En })
            .await
            .unwrap();
        let area = |name: &str| NewArea { city: city.id, name: name.to_owned() };
        let areas = [db.create_area(area("Culture")).await.unwrap(), db.create_area(area("Economy")).await.unwrap()];
        let member = |role: Role, area: Option<AreaId>| {
            let city = city.id;
            let db = db.clone();
            let email = format!("{role}@{slug}.example.org");
            async move {
                let person = person(&db, &email, false).await;
                db.create_member(NewMember { city, email, name: "M".to_owned(), role, area }, AuditActor::System)
                    .await
                    .unwrap();
                person
            }
        };
        Self {
            coordinator: member(Role::Coordinator, None).await,
            editor: member(Role::Editor, Some(areas[0].id)).await,
            observer: member(Role::Observer, None).await,
            stakeholder: member(Role::Stakeholder, None).await,
            areas,
            city,
        }
    }

    pub fn url(&self, rest: &str) -> String {
        format!("/api/cities/{}{rest}", self.city.id)
    }
}
