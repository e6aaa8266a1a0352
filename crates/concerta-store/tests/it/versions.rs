use concerta_core::{StrategyId, VersionId};
use concerta_store::{Error, NewVersion, VersionSection, test_both_dbs};

use crate::{city, seed_strategy, user};

fn heads_of(strategy: &concerta_store::Strategy, tag: &str) -> Vec<VersionSection> {
    strategy
        .sections
        .iter()
        .enumerate()
        .map(|(i, s)| VersionSection {
            section_id: s.id,
            doc_id: s.doc_id,
            heads: if i % 2 == 0 { vec![format!("{tag}{i:02}aa"), format!("{tag}{i:02}bb")] } else { vec![format!("{tag}{i:02}")] },
        })
        .collect()
}

test_both_dbs!(versions_keep_every_sections_heads_newest_first, |db| async move {
    let quito = city(&db, "quito").await;
    let ori = user(&db, "ori@quito.example").await;
    let strategy = db.create_strategy(seed_strategy(quito.id, "E")).await.unwrap();
    let first = db
        .create_version(NewVersion {
            strategy: strategy.id,
            name: "Borrador para la mesa".to_owned(),
            created_by: ori.id,
            sections: heads_of(&strategy, "a"),
        })
        .await
        .unwrap();
    assert_eq!(first.strategy_id, strategy.id);
    assert_eq!(first.city_id, quito.id);
    assert_eq!(first.created_by.as_ref().map(|u| u.id), Some(ori.id));
    assert_eq!(first.created_by.as_ref().map(|u| u.name.as_str()), Some("Test User"));
    assert_eq!(first.approved_at, None);
    assert_eq!(first.sections, heads_of(&strategy, "a"), "every section, in the strategy's order");
    let second = db
        .create_version(NewVersion {
            strategy: strategy.id,
            name: "Aprobada por el Alcalde".to_owned(),
            created_by: ori.id,
            sections: heads_of(&strategy, "b"),
        })
        .await
        .unwrap();
    assert_eq!(db.get_version(first.id).await.unwrap(), first);
    let listed = db.list_versions(strategy.id).await.unwrap();
    assert_eq!(listed.iter().map(|v| v.id).collect::<Vec<_>>(), vec![second.id, first.id]);
    assert_eq!(db.list_versions(StrategyId::new()).await.unwrap(), Vec::new());

    // The same name twice in one strategy is a conflict on `name`.
    let again = db
        .create_version(NewVersion { strategy: strategy.id, name: "Borrador para la mesa".to_owned(), created_by: ori.id, sections: Vec::new() })
        .await;
    assert!(matches!(again, Err(Error::Conflict { ref field }) if field == "name"), "{again:?}");
    let unknown = db
        .create_version(NewVersion { strategy: StrategyId::new(), name: "x".to_owned(), created_by: ori.id, sections: Vec::new() })
        .await;
    assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");
    assert!(matches!(db.get_version(VersionId::new()).await, Err(Error::NotFound)));
});

test_both_dbs!(approval_is_recorded_once_and_the_last_approved_wins, |db| async move {
    let quito = city(&db, "quito").await;
    let ori = user(&db, "ori@quito.example").await;
    let mayor = user(&db, "mayor@quito.example").await;
    let strategy = db.create_strategy(seed_strategy(quito.id, "E")).await.unwrap();
    let new = |name: &str| NewVersion { strategy: strategy.id, name: name.to_owned(), created_by: ori.id, sections: heads_of(&strategy, "c") };
    let v1 = db.create_version(new("v1")).await.unwrap();
    let v2 = db.create_version(new("v2")).await.unwrap();
    assert_eq!(db.get_approved_version(strategy.id).await.unwrap(), None);

    let (approved, now) = db.approve_version(v2.id, mayor.id).await.unwrap();
    assert!(now);
    assert!(approved.approved_at.is_some());
    assert_eq!(approved.approved_by.as_ref().map(|u| u.id), Some(mayor.id));
    assert_eq!(db.get_approved_version(strategy.id).await.unwrap().map(|v| v.id), Some(v2.id));

    // Approving again changes nothing.
    let (again, now) = db.approve_version(v2.id, ori.id).await.unwrap();
    assert!(!now);
    assert_eq!(again, approved);

    // Approving an older version later makes it the approved one.
    db.approve_version(v1.id, mayor.id).await.unwrap();
    assert_eq!(db.get_approved_version(strategy.id).await.unwrap().map(|v| v.id), Some(v1.id));
    assert!(matches!(db.approve_version(VersionId::new(), mayor.id).await, Err(Error::NotFound)));
});

test_both_dbs!(doc_revisions_change_with_every_append, |db| async move {
    let quito = city(&db, "quito").await;
    let strategy = db.create_strategy(seed_strategy(quito.id, "E")).await.unwrap();
    let (a, b) = (strategy.sections[0].doc_id, strategy.sections[1].doc_id);
    let before = db.doc_revisions(&[a, b]).await.unwrap();
    assert_eq!(before.len(), 2);
    assert_eq!(before[&a].rows, 1);
    db.append_doc_chunks("test", &[(a.to_string(), 0, vec![1, 2, 3])]).await.unwrap();
    let after = db.doc_revisions(&[a, b]).await.unwrap();
    assert_eq!(after[&a].rows, 2);
    assert!(after[&a].last_row > before[&a].last_row);
    assert_eq!(after[&b], before[&b]);
    assert!(db.doc_revisions(&[]).await.unwrap().is_empty());
});
