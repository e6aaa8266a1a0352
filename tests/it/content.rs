//! Section content through the real binary and the official JS client: the demo's rich text
//! opens in `@automerge/prosemirror` exactly as written, and rich text a JS client writes
//! (`splitBlock`, `mark`) reaches versions, diffs and exports.

use concerta_e2e::{Api, Server, Store, both_backends, run_js};
use serde_json::{Value, json};

both_backends!(demo_text_opens_in_the_binding_and_client_rich_text_reaches_exports, rich_text);

fn section<'a>(strategy: &'a Value, key: &str) -> &'a Value {
    strategy["sections"].as_array().unwrap().iter().find(|s| s["key"] == key).unwrap_or_else(|| panic!("no section {key}"))
}

async fn rich_check(server: &Server, token: &str, doc_url: &str) -> Value {
    let scenario = json!({
        "url": server.sync_url(token),
        "doc": doc_url,
        "actions": [{"richCheck": {"path": ["body"]}}],
        "syncBeforeExit": false,
        "timeoutMs": 30000,
    });
    let mut client = concerta_e2e::Client::js("rich-check", &scenario);
    let rich = client.wait_for("the rich check", std::time::Duration::from_secs(40), |l| l["event"] == "rich").await;
    client.finish(std::time::Duration::from_secs(40)).await.ok();
    rich
}

fn pm_has(node: &Value, pred: &dyn Fn(&Value) -> bool) -> bool {
    pred(node) || node["content"].as_array().is_some_and(|c| c.iter().any(|n| pm_has(n, pred)))
}

async fn rich_text(store: Store) {
    store.cli(&["demo"]).await;
    let server = Server::start(&store).await;
    let token = store.token("ori@demo.concerta").await;
    let api = Api::bearer(&server, &token);
    let cities = api.get("/api/cities").await.expect(200);
    let city = cities.as_array().unwrap().iter().find(|c| c["slug"] == "demo").expect("the demo city").clone();
    let strategies = api.get(&format!("/api/cities/{}/strategies", city["id"].as_str().unwrap())).await.expect(200);
    let strategy = strategies[0].clone();
    let sid = strategy["id"].as_str().unwrap().to_owned();

    // The demo's text, written on the server, is what the browser editor shows, and opening
    // it there rewrites nothing.
    for key in ["political_will", "actor_map", "internationalisation_objectives"] {
        let rich = rich_check(&server, &token, section(&strategy, key)["doc_url"].as_str().unwrap()).await;
        assert_eq!(rich["roundTrip"], true, "{key}: {rich}");
        assert_eq!(rich["rewriteChanges"], false, "{key}: {rich}");
        let pm = &rich["pmDoc"];
        match key {
            "political_will" => {
                assert!(pm_has(pm, &|n| n["type"] == "heading" && n["attrs"]["level"] == 2), "{pm}");
                assert!(pm_has(pm, &|n| n["marks"].as_array().is_some_and(|m| m.iter().any(|m| m["type"] == "strong"))), "{pm}");
                assert!(pm_has(pm, &|n| n["type"] == "bullet_list"), "{pm}");
            }
            "actor_map" => {
                // A bullet list nested in a list item.
                assert!(
                    pm_has(pm, &|n| n["type"] == "list_item"
                        && n["content"].as_array().is_some_and(|c| c.iter().any(|m| m["type"] == "bullet_list"))),
                    "{pm}"
                );
            }
            _ => assert!(pm_has(pm, &|n| n["type"] == "ordered_list"), "{pm}"),
        }
    }

    // A JS client writes rich text into a section, the way the editor does.
    let target = section(&strategy, "evaluation_with_whom");
    let before = api.post(&format!("/api/strategies/{sid}/versions"), json!({"name": "Antes de la mesa"})).await.expect(201);
    let edit = json!({
        "url": server.sync_url(&token),
        "doc": target["doc_url"],
        "actions": [
            {"splice": {"path": ["body"], "index": 0, "text": "Actores clave"}},
            {"splitBlock": {"path": ["body"], "index": 0, "block": {"type": "heading", "attrs": {"level": 2}}}},
            {"splitBlock": {"path": ["body"], "index": 14, "block": {"type": "unordered-list-item"}}},
            {"splice": {"path": ["body"], "index": 15, "text": "Universidades y cámaras de comercio"}},
            {"mark": {"path": ["body"], "start": 15, "end": 28, "name": "strong"}},
            {"mark": {"path": ["body"], "start": 31, "end": 50, "name": "link",
                      "value": "{\"href\":\"https://example.org/camaras\",\"title\":null}", "expand": "none"}},
        ],
        "timeoutMs": 30000,
    });
    let out = run_js("rich-writer", &edit).await;
    let last = out.ok();
    assert_eq!(last["serverErrors"], json!([]), "the server's schema checks accept the binding's shape: {out}");

    // The stored text, as the API reads it: exports, diff, outline.
    let md = api.raw("GET", &format!("/api/strategies/{sid}/export?format=md"), None, None).await;
    assert_eq!(md.status, 200);
    assert!(md.text.contains("##### Actores clave\n"), "{}", md.text);
    assert!(md.text.contains("- **Universidades** y [cámaras de comercio](https://example.org/camaras)"), "{}", md.text);
    assert!(md.text.contains("Identificaremos a los actores clave"), "the earlier text stays: {}", md.text);
    let html = api.raw("GET", &format!("/api/strategies/{sid}/export?format=html"), None, None).await;
    assert!(html.text.contains("<h5>Actores clave</h5>"), "{}", html.text);
    assert!(
        html.text.contains("<li><strong>Universidades</strong> y <a href=\"https://example.org/camaras\">cámaras de comercio</a></li>"),
        "{}",
        html.text
    );
    let old = api
        .raw("GET", &format!("/api/strategies/{sid}/export?format=md&version={}", before["id"].as_str().unwrap()), None, None)
        .await;
    assert!(!old.text.contains("Actores clave\n"), "the version has the text before the edit");
    let diff = api
        .get(&format!("/api/sections/{}/diff?since={}", target["id"].as_str().unwrap(), before["id"].as_str().unwrap()))
        .await
        .expect(200);
    assert_eq!(diff["changed"], true);
    let inserted: String =
        diff["ops"].as_array().unwrap().iter().filter(|o| o["op"] == "insert").map(|o| o["text"].as_str().unwrap()).collect();
    assert!(inserted.contains("Actores clave") && inserted.contains("Universidades"), "{diff}");

    // And the binding reads the client's text back as it wrote it. (Writing it back would
    // change one thing: the binding stores a new link's title as null and, once read, as "".)
    let rich = rich_check(&server, &token, target["doc_url"].as_str().unwrap()).await;
    assert_eq!(rich["roundTrip"], true, "{rich}");
}
