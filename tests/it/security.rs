//! Issue 16 through the real binary: `concerta audit verify` on a real log, and after a row is
//! altered by hand in the database.

use concerta_e2e::{Server, Store, both_backends, setup_city};

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
