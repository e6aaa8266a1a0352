//! The external actors registry: coordinators edit and remove entries; others may not; another
//! city's coordinator cannot even see them.

use axum::http::{Method, StatusCode};
use concerta_store::test_both_dbs;
use serde_json::json;

use crate::{App, CityFixture};

test_both_dbs!(coordinators_edit_and_remove_actors, |db| async move {
    let app = App::new(db.clone());
    let a = CityFixture::new(&db, "lima").await;
    let b = CityFixture::new(&db, "quito").await;
    let created = app
        .post(&a.url("/actors"), &a.coordinator.auth, json!({"name": "PUCP", "sector": "academia", "country": "Perú", "website": "https://pucp.edu.pe"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id: String = created.id();
    let url = a.url(&format!("/actors/{id}"));
    app.post(&a.url("/actors"), &a.coordinator.auth, json!({"name": "Cámara de Comercio", "sector": "business"})).await;

    // Partial edits: a field left out stays, null or blank clears, bad values name the field.
    let edited = app
        .call(Method::PATCH, &url, &a.coordinator.auth, Some(json!({"sector": "international_organization", "website": null, "email": "ri@pucp.edu.pe"})))
        .await;
    assert_eq!(edited.status, StatusCode::OK, "{:?}", edited.body);
    assert_eq!(edited.body["name"], "PUCP");
    assert_eq!(edited.body["country"], "Perú");
    assert_eq!(edited.body["sector"], "international_organization");
    assert_eq!(edited.body["website"], json!(null));
    assert_eq!(edited.body["email"], "ri@pucp.edu.pe");
    let bad = app.call(Method::PATCH, &url, &a.coordinator.auth, Some(json!({"website": "ftp://x"}))).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("website")));
    let taken = app.call(Method::PATCH, &url, &a.coordinator.auth, Some(json!({"name": "Cámara de Comercio"}))).await;
    assert_eq!(taken.status, StatusCode::CONFLICT);

    // Editors and observers read but may not change; another city's coordinator sees nothing.
    for who in [&a.editor.auth, &a.observer.auth] {
        assert_eq!(app.call(Method::PATCH, &url, who, Some(json!({"name": "X"}))).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.call(Method::DELETE, &url, who, None).await.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.call(Method::DELETE, &url, &b.coordinator.auth, None).await.status, StatusCode::NOT_FOUND);
    // An actor of city A addressed through city B's path is unknown there.
    let cross = b.url(&format!("/actors/{id}"));
    assert_eq!(app.call(Method::DELETE, &cross, &b.coordinator.auth, None).await.status, StatusCode::NOT_FOUND);

    assert_eq!(app.call(Method::DELETE, &url, &a.coordinator.auth, None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::DELETE, &url, &a.coordinator.auth, None).await.status, StatusCode::NOT_FOUND);
    let left = app.get(&a.url("/actors"), &a.coordinator.auth).await;
    assert_eq!(left.body.as_array().unwrap().len(), 1);
});
