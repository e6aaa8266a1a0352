use axum::http::StatusCode;
use concerta_store::test_both_dbs;

use crate::{App, Auth};

test_both_dbs!(health_readiness_and_metrics, |db| async move {
    let app = App::new(db);
    app.assert_serving().await;
    let _ = app.get("/api/cities/some-id", &Auth::None).await;
    let metrics = app.raw(axum::http::Method::GET, "/metrics", &Auth::None, None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    // The body is Prometheus text, not JSON; fetch it raw.
    let req = axum::http::Request::builder().uri("/metrics").body(axum::body::Body::empty()).unwrap();
    let response = tower::ServiceExt::oneshot(concerta_server::router(app.state.clone()), req).await.unwrap();
    let text = String::from_utf8(axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap().to_vec()).unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("path=\"/healthz\""), "{text}");
    assert!(text.contains("path=\"/api/cities/{city}\""), "labels use the matched path: {text}");
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");

    // /readyz reports 503 once the database is gone.
    app.db().clone().close().await.unwrap();
    let ready = app.get("/readyz", &Auth::None).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.code(), "unavailable");
    assert_eq!(app.get("/healthz", &Auth::None).await.status, StatusCode::OK);
});
