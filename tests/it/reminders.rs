//! A measurement that is due and missing gets one reminder, not one per node or per restart:
//! two `concerta serve` nodes on one Postgres look every second, one of them is killed and
//! started again, and the indicator still has exactly one reminder for its due date.

use std::time::{Duration, Instant};

use concerta_e2e::{Api, Server, Store, counter, setup_city};
use serde_json::{Value, json};

const FAST: &[(&str, &str)] = &[("CONCERTA_REMINDER_INTERVAL", "1")];

/// Polls until `server` has looked for due measurements `n` more times than `from`.
async fn runs_past(server: &Server, from: u64, n: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = counter(server, "concerta_reminder_runs_total").await;
        if now >= from + n {
            return now;
        }
        assert!(Instant::now() < deadline, "the reminder loop of {} did not run {n} times:\n{}", server.addr, server.log_tail(40));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn reminders(api: &Api, indicator: &str) -> Vec<Value> {
    api.get(&format!("/api/indicators/{indicator}")).await.expect(200)["reminders"].as_array().expect("reminders").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reminder_per_due_date_across_two_nodes_and_a_restart() {
    let Some(store) = Store::postgres() else {
        eprintln!("skipping Postgres: DATABASE_URL_TEST unset");
        return;
    };
    let node1 = Server::start_with_env(&store, FAST).await;
    let city = setup_city(&store, &node1).await;
    let mut node2 = Server::start_with_env(&store, FAST).await;
    let api1 = Api::bearer(&node1, &city.coordinator.token);
    let api2 = Api::bearer(&node2, &city.coordinator.token);
    // An annual indicator whose baseline is years ago: its latest due date has passed unmet.
    let indicator = api1
        .post(
            &format!("/api/strategies/{}/indicators", city.strategy_id),
            json!({
                "code": "R-1", "name": "Cooperation agreements", "level": "office", "unit": "count",
                "direction": "higher_is_better", "frequency": "annual", "area_id": city.area_a,
                "baseline_value": 2, "baseline_date": "2020-01-01", "target_value": 10, "target_date": "2040-01-01"
            }),
        )
        .await
        .expect(201);
    let id = indicator["id"].as_str().expect("indicator id").to_owned();
    let due = indicator["schedule"]["last_due"].as_str().expect("a due date has passed").to_owned();
    assert_eq!(indicator["schedule"]["missing"], true);

    // Both nodes look every second; one reminder appears, for the latest due date only.
    let deadline = Instant::now() + Duration::from_secs(60);
    while reminders(&api1, &id).await.is_empty() {
        assert!(Instant::now() < deadline, "no reminder within 60 s:\n{}", node1.log_tail(40));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (r1, r2) = (counter(&node1, "concerta_reminder_runs_total").await, counter(&node2, "concerta_reminder_runs_total").await);
    runs_past(&node1, r1, 3).await;
    runs_past(&node2, r2, 3).await;
    assert_eq!(reminders(&api2, &id).await, [json!(due)], "one reminder, for the latest due date");
    let written = counter(&node1, "concerta_measurement_reminders_total").await
        + counter(&node2, "concerta_measurement_reminders_total").await;
    assert_eq!(written, 1, "the two nodes wrote one reminder between them");

    // A node killed and started again looks once more at start: still one.
    node2.kill9().await;
    let node2 = Server::start_with_env(&store, FAST).await;
    runs_past(&node2, 0, 3).await;
    assert_eq!(reminders(&Api::bearer(&node2, &city.coordinator.token), &id).await, [json!(due)]);
    assert_eq!(counter(&node2, "concerta_measurement_reminders_total").await, 0, "the restarted node wrote none");

    // The area reports for the period: the next run finds nothing missing.
    let editor = Api::bearer(&node1, &city.editor_a.token);
    editor
        .post(&format!("/api/indicators/{id}/measurements"), json!({"measured_on": due, "value": 4}))
        .await
        .expect(201);
    let detail = api1.get(&format!("/api/indicators/{id}")).await.expect(200);
    assert_eq!(detail["schedule"]["missing"], false);
}
