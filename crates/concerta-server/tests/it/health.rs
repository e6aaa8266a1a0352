use axum::http::StatusCode;
use concerta_store::test_both_dbs;

use crate::{App, Auth};

test_both_dbs!(health_readiness_and_metrics, |db| async move {
    let app = App::new(db);
    app.assert_serving().await;
    let _ = app.get("/api/cities/some-id", &Auth::None).await;
    // The body is Prometheus text, not JSON; fetch it raw, from a loopback client (the
    // default exposure: see `security::metrics_*` for the others).
    let mut req = axum::http::Request::builder().uri("/metrics").body(axum::body::Body::empty()).unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 50000))));
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

test_both_dbs!(serve_answers_on_a_real_socket_and_shuts_down_gracefully, with_url, |_db, url| async move {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // `serve` opens its own pool from the config's URL (migrations already applied: a no-op).
    let config = concerta_server::Config::for_tests(std::env::temp_dir(), url);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(concerta_server::serve(config, listener, async move {
        let _ = stopped.await;
    }));

    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("{\"status\":\"ok\"}"), "{response}");

    stop.send(()).unwrap();
    let outcome = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    assert!(matches!(outcome, Ok(Ok(Ok(())))), "serve returned cleanly after shutdown: {outcome:?}");
});
