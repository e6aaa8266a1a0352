use concerta_core::{Stage, StrategyTemplate, seed_template};
use concerta_store::{AuditActor, CHUNK_KIND_CHANGES, Error, NewArea, NewStrategy, test_both_dbs};
use sea_orm::{ConnectionTrait, Statement};

use crate::{city, seed_strategy};

test_both_dbs!(seed_strategy_has_a_document_per_section, |db| async move {
    let quito = city(&db, "quito").await;
    let strategy = db
        .create_strategy(seed_strategy(quito.id, "Estrategia 2030"))
        .await
        .unwrap();
    let template = seed_template();
    assert_eq!(strategy.sections.len(), template.len());
    for (section, item) in strategy.sections.iter().zip(&template) {
        assert_eq!(section.key, item.key);
        assert_eq!(section.title, item.title_es, "the city's locale is es");
        assert_eq!(section.stage, item.stage);
        assert_eq!(section.city_id, quito.id);
        assert_eq!(section.state, concerta_core::SectionState::NotStarted);
    }
    assert_eq!(strategy.sections[0].stage, Stage::DesignPlanning);
    assert_eq!(db.get_strategy(strategy.id).await.unwrap(), strategy);
    assert_eq!(db.list_strategies(quito.id).await.unwrap(), std::slice::from_ref(&strategy));

    // Each section has its documents row and one change chunk the sync engine reads.
    let section = &strategy.sections[3];
    assert_eq!(db.get_section_by_document(section.doc_id).await.unwrap().as_ref(), Some(section));
    let rows = db.load_doc_rows(&section.doc_id.to_string()).await.unwrap().expect("the document exists");
    assert_eq!(rows.len(), 1);
    let (_, kind, data) = &rows[0];
    assert_eq!(*kind, CHUNK_KIND_CHANGES);
    let changes = concerta_sync::storage::split_changes(data).expect("an automerge change chunk");
    assert_eq!(changes.len(), 1);
    let context = db.get_doc_context(&section.doc_id.to_string()).await.unwrap().expect("known document");
    assert_eq!(context.city, quito.id);
    assert!(context.is_section);
    assert_eq!(db.get_doc_context(&concerta_sync::DocumentId::random().to_string()).await.unwrap(), None);
    let backend = db.backend();
    let documents = db
        .connection()
        .query_one_raw(Statement::from_string(backend, "SELECT COUNT(*) AS n FROM documents"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(documents.try_get::<i64>("", "n").unwrap(), template.len() as i64);
});

test_both_dbs!(blank_strategy_has_no_sections, |db| async move {
    let quito = city(&db, "quito").await;
    let strategy = db
        .create_strategy(NewStrategy { city: quito.id, title: "Vacía".to_owned(), template: StrategyTemplate::Blank, sections: Vec::new() })
        .await
        .unwrap();
    assert!(strategy.sections.is_empty());
    let unknown = db
        .create_strategy(seed_strategy(concerta_core::CityId::new(), "X"))
        .await;
    assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");
});

test_both_dbs!(section_areas_stay_in_their_city, |db| async move {
    let quito = city(&db, "quito").await;
    let lima = city(&db, "lima").await;
    let culture = db.create_area(NewArea { city: quito.id, name: "Cultura".to_owned() }).await.unwrap();
    let lima_area = db.create_area(NewArea { city: lima.id, name: "Cultura".to_owned() }).await.unwrap();
    let strategy = db
        .create_strategy(seed_strategy(quito.id, "E"))
        .await
        .unwrap();
    let section = &strategy.sections[0];
    let assigned = db.set_section_area(section.id, Some(culture.id), AuditActor::System).await.unwrap();
    assert_eq!(assigned.area_id, Some(culture.id));
    assert_eq!(db.get_section(section.id).await.unwrap().area_id, Some(culture.id));
    let foreign = db.set_section_area(section.id, Some(lima_area.id), AuditActor::System).await;
    assert!(matches!(foreign, Err(Error::Invalid { ref field, .. }) if field == "area_id"), "{foreign:?}");
    assert_eq!(db.set_section_area(section.id, None, AuditActor::System).await.unwrap().area_id, None);
    assert!(matches!(db.get_section(concerta_core::SectionId::new()).await, Err(Error::NotFound)));
});

test_both_dbs!(section_states_are_kept, |db| async move {
    let quito = city(&db, "quito").await;
    let strategy = db.create_strategy(seed_strategy(quito.id, "E")).await.unwrap();
    let section = &strategy.sections[2];
    let updated = db.set_section_state(section.id, concerta_core::SectionState::InReview).await.unwrap();
    assert_eq!(updated.state, concerta_core::SectionState::InReview);
    assert_eq!(db.get_strategy(strategy.id).await.unwrap().sections[2].state, concerta_core::SectionState::InReview);
    assert_eq!(db.get_strategy(strategy.id).await.unwrap().sections[1].state, concerta_core::SectionState::NotStarted);
    let unknown = db.set_section_state(concerta_core::SectionId::new(), concerta_core::SectionState::Ready).await;
    assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");
});
