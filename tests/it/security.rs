//! Issue 16 through the real binary: `concerta audit verify` on a real log, and after a row is
//! altered by hand in the database; ended credentials (revoked, expired, logged out) refused
//! at once and cut on live connections; no secret in a debug log; `/metrics` on a public bind.

use std::time::{Duration, Instant};

use concerta_e2e::concerta_sync::wire::WireMessage;
use concerta_e2e::{Api, City, Peer, Recv, Server, Store, both_backends, load_doc, setup_city, upgrade_status};
use serde_json::json;

both_backends!(audit_verify_passes_on_a_real_log_and_names_an_entry_altered_by_hand, audit_verify);

async fn audit_verify(store: Store) {
    let server = Server::start(&store).await;
    // A real log: the city's members, section areas, tokens issued by the CLI.
    let city = setup_city(&store, &server).await;
    drop(server);

    let whole = store.cli_output(&["audit", "verify"]).await;
    let stdout = String::from_utf8_lossy(&whole.stdout);
    assert!(whole.status.success(), "verify failed on an untouched log:\n{stdout}\n{}", String::from_utf8_lossy(&whole.stderr));
    let chain = format!("city:{}", city.id);
    assert!(stdout.contains(&format!("ok {chain} entries=")), "{stdout}");
    assert!(stdout.contains("ok instance entries="), "{stdout}");

    // Someone makes it look as if entry 3 of the city's chain recorded a removal.
    store.sql(&format!("UPDATE audit_entries SET action = 'member_removed' WHERE chain = '{chain}' AND seq = 3"));
    let broken = store.cli_output(&["audit", "verify"]).await;
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(!broken.status.success(), "verify passed a tampered log:\n{stderr}");
    assert!(stderr.contains(&format!("chain {chain} entry 3")), "the broken entry is named: {stderr}");

    // Put back, it verifies; a deleted entry is named as missing.
    store.sql(&format!("UPDATE audit_entries SET action = 'member_added' WHERE chain = '{chain}' AND seq = 3"));
    assert!(store.cli_output(&["audit", "verify"]).await.status.success());
    store.sql("DELETE FROM audit_entries WHERE chain = 'instance' AND seq = 2");
    let gap = store.cli_output(&["audit", "verify"]).await;
    let stderr = String::from_utf8_lossy(&gap.stderr);
    assert!(!gap.status.success());
    assert!(stderr.contains("chain instance entry 2") && stderr.contains("missing"), "{stderr}");
}

both_backends!(ended_credentials_are_refused_at_once_and_cut_live_connections, credentials_end);

/// Waits (deadline `within`) until the server closes `peer`'s connection; the messages it got
/// before, and how long it took.
async fn until_closed(peer: &mut Peer, within: Duration) -> (Vec<WireMessage>, Duration) {
    let started = Instant::now();
    let mut got = Vec::new();
    loop {
        let left = within.saturating_sub(started.elapsed());
        match peer.recv(left).await {
            Recv::Msg(msg) => got.push(msg),
            Recv::Closed(_) => return (got, started.elapsed()),
            Recv::Timeout => panic!("the connection is still open after {within:?}; it got {got:?}"),
        }
    }
}

/// Opens `/sync` with these headers (or the token in the query) and loads section A once.
async fn live_peer(server: &Server, city: &City, query_token: Option<&str>, headers: &[(&str, &str)]) -> Peer {
    let url = match query_token {
        Some(token) => server.sync_url(token),
        None => format!("ws://{}/sync", server.addr),
    };
    let mut peer = Peer::connect_with(&url, headers).await.expect("the credential opens /sync");
    load_doc(&mut peer, city.section_a.doc_id, Duration::from_secs(20)).await.expect("section A loads");
    peer
}

/// Issue 16, through the real binary with `RUST_LOG=debug`: a token revoked through the API
/// (and through the CLI), a token that expires and a session that ends are
/// refused on REST and `/sync` from then on, and their live sync connections are cut; no log
/// line holds a token, a session cookie or a password.
async fn credentials_end(store: Store) {
    let server = Server::start_with_env(&store, &[("RUST_LOG", "debug")]).await;
    let city = setup_city(&store, &server).await;
    let editor = Api::bearer(&server, &city.editor_a.token);
    let mut secrets = vec![city.editor_a.token.clone(), city.coordinator.token.clone(), concerta_e2e::PASSWORD.to_owned()];

    // Two tokens of the editor's: one to revoke, one that expires in a few seconds.
    let laptop = editor.post("/api/tokens", json!({"name": "laptop"})).await.expect(201);
    let laptop_secret = laptop["token"].as_str().expect("the secret, once").to_owned();
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(6);
    let short = editor.post("/api/tokens", json!({"name": "short", "expires_at": expires_at.to_rfc3339()})).await.expect(201);
    let short_secret = short["token"].as_str().expect("the secret, once").to_owned();
    secrets.extend([laptop_secret.clone(), short_secret.clone()]);
    let authorization = |secret: &str| format!("Bearer {secret}");

    // A browser session of an editor with a password (the fixture's members have none).
    store.create_user("pat@e2e.test", "Pat", false).await;
    let pat = city.add_member(&store, &server, "pat@e2e.test", "editor", Some(&city.area_a)).await;
    secrets.push(pat.token);
    let browser = Api::browser(&server);
    let login = browser.post("/api/auth/login", json!({"email": "pat@e2e.test", "password": concerta_e2e::PASSWORD})).await;
    assert_eq!(login.status, 200, "{}", login.text);
    let cookie = login
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("concerta_session="))
        .and_then(|c| c.split(';').next())
        .expect("the login sets the session cookie")
        .to_owned();
    secrets.push(cookie.clone());
    let session_cookie = format!("concerta_session={cookie}");

    let mut by_query = live_peer(&server, &city, Some(&laptop_secret), &[]).await;
    let mut by_header = live_peer(&server, &city, None, &[("authorization", &authorization(&short_secret))]).await;
    let origin = server.url("");
    let mut by_cookie = live_peer(&server, &city, None, &[("cookie", &session_cookie), ("origin", &origin)]).await;
    Api::bearer(&server, &laptop_secret).get("/api/me").await.expect(200);

    // Revoked through the API: the live connection is cut; REST and /sync refuse it at once.
    editor.delete(&format!("/api/tokens/{}", laptop["id"].as_str().expect("an id"))).await.expect(204);
    Api::bearer(&server, &laptop_secret).get("/api/me").await.expect_error(401, "unauthorized");
    assert_eq!(upgrade_status(&server.sync_url(&laptop_secret), &[]).await, 401);
    // Within a second (the bound; it takes milliseconds).
    let (before, took) = until_closed(&mut by_query, Duration::from_secs(1)).await;
    assert!(
        before.iter().any(|m| matches!(m, WireMessage::Error { message } if message.contains("revoked"))),
        "the cut connection is told why: {before:?}"
    );
    eprintln!("revoked token: live connection closed {took:?} after the DELETE answered");

    // Expired: the live connection is cut at the expiry, and then it is refused everywhere.
    let (_, took) = until_closed(&mut by_header, Duration::from_secs(30)).await;
    eprintln!("expiring token: live connection closed {took:?} after the revocation test");
    assert!(chrono::Utc::now() >= expires_at, "the connection was cut before its token expired");
    Api::bearer(&server, &short_secret).get("/api/me").await.expect_error(401, "unauthorized");
    let sync = format!("ws://{}/sync", server.addr);
    assert_eq!(upgrade_status(&sync, &[("authorization", &authorization(&short_secret))]).await, 401);

    // The session ends (logout): its live connection is cut, its cookie refused.
    let logout = browser.post("/api/auth/logout", json!({})).await;
    assert_eq!(logout.status, 204, "{}", logout.text);
    let (_, took) = until_closed(&mut by_cookie, Duration::from_secs(15)).await;
    eprintln!("ended session: live connection closed {took:?} after the logout answered");
    assert_eq!(upgrade_status(&sync, &[("cookie", &session_cookie), ("origin", &origin)]).await, 401);

    // Revoked with the CLI: refused at once; the running server hears of it and cuts the live
    // connection too (Postgres: NOTIFY; SQLite: a notice row it polls twice a second).
    let cli_token = store.token(&city.editor_a.email).await;
    secrets.push(cli_token.clone());
    let mut by_cli_token = live_peer(&server, &city, Some(&cli_token), &[]).await;
    let listed = store.cli(&["admin", "tokens", "--email", &city.editor_a.email]).await;
    // Listed newest first, under a header line.
    let newest = listed.lines().nth(1).expect("a listed token");
    let id = newest.split('\t').next().expect("an id column").to_owned();
    let revoked = store.cli_output(&["admin", "revoke-token", "--email", &city.editor_a.email, "--id", &id]).await;
    assert!(revoked.status.success(), "{}", String::from_utf8_lossy(&revoked.stderr));
    assert_eq!(upgrade_status(&server.sync_url(&cli_token), &[]).await, 401);
        let (_, took) = until_closed(&mut by_cli_token, Duration::from_secs(15)).await;
    eprintln!("token revoked by the CLI: live connection closed {took:?} after the command ended");

    // Nothing secret in the whole debug log, which did log the requests made with them.
    let log = server.log();
    assert!(log.iter().any(|l| l.contains("DEBUG")), "the server did not log at debug level");
    assert!(log.iter().any(|l| l.contains("/sync")), "the /sync requests are not in the log");
    for line in &log {
        for secret in &secrets {
            assert!(!line.contains(secret.as_str()), "a secret in the log: {line}");
        }
    }
}

both_backends!(metrics_are_not_reachable_on_a_public_bind_unless_configured, metrics_on_a_public_bind);

/// This machine's address on its default route (not loopback), found without sending
/// anything: a UDP socket "connected" to a documentation address only picks a route.
fn public_address() -> Option<std::net::IpAddr> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("198.51.100.1:9").ok()?;
    Some(socket.local_addr().ok()?.ip()).filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
}

/// Issue 16: a server bound to `0.0.0.0` (as in the Dockerfile) answers `/metrics` to
/// loopback clients only; with `CONCERTA_METRICS_TOKEN` set, only to requests bearing it.
async fn metrics_on_a_public_bind(store: Store) {
    let Some(public) = public_address() else {
        eprintln!("skipping the public-address test: this machine has no non-loopback route");
        return;
    };
    let status = |url: String, bearer: Option<&'static str>| async move {
        let mut req = reqwest::Client::new().get(url).timeout(Duration::from_secs(10));
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("/metrics answers").status().as_u16()
    };

    let server = Server::start_on(&store, "0.0.0.0:0", &[]).await;
    let port = server.addr.port();
    assert_eq!(status(format!("http://127.0.0.1:{port}/metrics"), None).await, 200, "loopback reads the metrics");
    assert_eq!(status(format!("http://{public}:{port}/healthz"), None).await, 200, "the public address reaches the server");
    assert_eq!(status(format!("http://{public}:{port}/metrics"), None).await, 404, "a public client must not read the metrics");
    drop(server);

    let server = Server::start_on(&store, "0.0.0.0:0", &[("CONCERTA_METRICS_TOKEN", "a-metrics-token-for-the-test")]).await;
    let port = server.addr.port();
    assert_eq!(status(format!("http://{public}:{port}/metrics"), None).await, 401);
    assert_eq!(status(format!("http://{public}:{port}/metrics"), Some("a wrong token")).await, 401);
    assert_eq!(status(format!("http://{public}:{port}/metrics"), Some("a-metrics-token-for-the-test")).await, 200);
}
