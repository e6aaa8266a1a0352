//! Indicators, measurements, reminders, capacities and the baseline questionnaire.

use std::collections::HashMap;

use chrono::NaiveDate;
use concerta_core::{Locale, Role};
use concerta_evaluation::csv_io::{parse_indicators, parse_measurements};
use concerta_evaluation::{CapacityState, Direction, Frequency, Level, Point, ReviewState, Status, Unit};
use concerta_store::{
    CapacityUpdate, Database, Error, IndicatorFields, NewArea, NewMeasurement, NewMember, Viewer,
};

use crate::{city, user};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn fields(code: &str) -> IndicatorFields {
    IndicatorFields {
        code: code.to_owned(),
        name: format!("Indicator {code}"),
        level: Level::Office,
        definition: String::new(),
        method: String::new(),
        unit: Unit::Count,
        unit_label: "things".to_owned(),
        direction: Direction::HigherIsBetter,
        data_source: String::new(),
        frequency: Frequency::Annual,
        area_id: None,
        baseline: Some(Point::new(d("2024-01-01"), 10.0)),
        target: Some(Point::new(d("2030-01-01"), 40.0)),
        public: false,
        section_ids: vec![],
        sdg: vec!["17.17".to_owned()],
    }
}

async fn strategy(db: &Database, slug: &str) -> (concerta_store::City, concerta_store::Strategy) {
    let c = city(db, slug).await;
    let s = db.create_strategy(crate::seed_strategy(c.id, "Estrategia")).await.unwrap();
    (c, s)
}

concerta_store::test_both_dbs!(framework_from_the_template, |db: Database| async move {
    let (_, s) = strategy(&db, "quito").await;
    let made = db.create_indicators_from_template(s.id, Locale::Es).await.unwrap();
    assert_eq!(made.len(), 16);
    let listed = db.list_indicators(s.id).await.unwrap();
    assert_eq!(listed, made);
    let first = &listed[0];
    assert_eq!((first.fields.code.as_str(), first.fields.name.as_str()), ("ORI-1", "Compromisos de gestión"));
    let political_will = s.sections.iter().find(|x| x.key == "political_will").unwrap().id;
    assert_eq!(first.fields.section_ids, [political_will]);
    assert_eq!(first.fields.sdg, ["16.6"]);
    assert_eq!(listed.iter().filter(|i| i.fields.level == Level::Territory).count(), 8);
    // Twice is a conflict on the codes, and writes nothing.
    assert!(matches!(db.create_indicators_from_template(s.id, Locale::Es).await, Err(Error::Conflict { field }) if field == "code"));
    assert_eq!(db.list_indicators(s.id).await.unwrap().len(), 16);
});

concerta_store::test_both_dbs!(indicators_are_edited, |db: Database| async move {
    let (c, s) = strategy(&db, "lima").await;
    let (_, other) = strategy(&db, "asuncion").await;
    let area = db.create_area(NewArea { city: c.id, name: "Cultura".to_owned() }).await.unwrap();
    let mut f = fields("X-1");
    f.area_id = Some(area.id);
    f.section_ids = vec![s.sections[0].id, s.sections[1].id];
    let ind = db.create_indicator(s.id, f.clone()).await.unwrap();
    assert_eq!(ind.fields, f);
    assert!(matches!(db.create_indicator(s.id, fields("X-1")).await, Err(Error::Conflict { field }) if field == "code"));
    // Another strategy's section, another city's area: refused, naming the field.
    let mut bad = fields("X-2");
    bad.section_ids = vec![other.sections[0].id];
    assert!(matches!(db.create_indicator(s.id, bad).await, Err(Error::Invalid { field, .. }) if field == "section_ids"));
    let mut bad = fields("X-2");
    let foreign_area = db.create_area(NewArea { city: other.city_id, name: "Cultura".to_owned() }).await.unwrap();
    bad.area_id = Some(foreign_area.id);
    assert!(matches!(db.create_indicator(s.id, bad).await, Err(Error::Invalid { field, .. }) if field == "area_id"));

    let mut changed = f.clone();
    changed.name = "Renamed".to_owned();
    changed.public = true;
    changed.section_ids = vec![];
    changed.sdg = vec!["11".to_owned(), "11.3".to_owned()];
    let updated = db.update_indicator(ind.id, changed.clone()).await.unwrap();
    assert_eq!(updated.fields, changed);

    let who = user(&db, "ori@lima.example.org").await;
    let over = db.set_status_override(ind.id, Some((Status::OnTrack, "survey not yet published".to_owned())), who.id).await.unwrap();
    let o = over.status_override.unwrap();
    assert_eq!((o.status, o.reason.as_str(), o.by), (Status::OnTrack, "survey not yet published", Some(who.id)));
    assert!(db.set_status_override(ind.id, None, who.id).await.unwrap().status_override.is_none());
    let log = db.list_audit(Some(c.id), None, 10).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "indicator_status_set").count(), 2, "both in the audit log");

    db.delete_indicator(ind.id).await.unwrap();
    assert!(matches!(db.get_indicator(ind.id).await, Err(Error::NotFound)));
});

concerta_store::test_both_dbs!(measurements_with_evidence_and_review, |db: Database| async move {
    let (_, s) = strategy(&db, "rio").await;
    let ind = db.create_indicator(s.id, fields("M-1")).await.unwrap();
    let reporter = user(&db, "area@rio.example.org").await;
    let coordinator = user(&db, "ori@rio.example.org").await;
    let m = db
        .create_measurement(NewMeasurement {
            indicator: ind.id,
            measured_on: d("2025-01-01"),
            value: 14.0,
            note: "annual report".to_owned(),
            link: Some("https://example.org/report".to_owned()),
            evidence: Some(concerta_store::NewEvidence {
                filename: "report.pdf".to_owned(),
                content_type: "application/pdf".to_owned(),
                sha256: "00".repeat(32),
                data: b"%PDF-1.4 test".to_vec(),
            }),
            reported_by: reporter.id,
        })
        .await
        .unwrap();
    assert_eq!(m.review, ReviewState::Pending);
    assert_eq!(m.reporter_name.as_deref(), Some("Test User"));
    let e = m.evidence.clone().unwrap();
    assert_eq!((e.filename.as_str(), e.size), ("report.pdf", 13));
    let file = db.get_evidence(e.id).await.unwrap();
    assert_eq!(file.data, b"%PDF-1.4 test");

    // Returning needs a reason; accepting clears none.
    assert!(matches!(db.review_measurement(m.id, ReviewState::Returned, None, coordinator.id).await, Err(Error::Invalid { field, .. }) if field == "reason"));
    let returned = db.review_measurement(m.id, ReviewState::Returned, Some("wrong year".to_owned()), coordinator.id).await.unwrap();
    assert_eq!((returned.review, returned.review_reason.as_deref()), (ReviewState::Returned, Some("wrong year")));
    let accepted = db.review_measurement(m.id, ReviewState::Accepted, None, coordinator.id).await.unwrap();
    assert_eq!((accepted.review, accepted.review_reason.clone(), accepted.reviewed_by), (ReviewState::Accepted, None, Some(coordinator.id)));
    assert_eq!(db.list_measurements(ind.id).await.unwrap(), vec![accepted.clone()]);
    assert_eq!(db.list_strategy_measurements(s.id).await.unwrap(), vec![accepted]);

    db.delete_measurement(m.id).await.unwrap();
    assert!(matches!(db.get_evidence(e.id).await, Err(Error::NotFound)), "the evidence goes with it");
});

concerta_store::test_both_dbs!(csv_imports_are_all_or_nothing, |db: Database| async move {
    let (c, s) = strategy(&db, "montevideo").await;
    db.create_area(NewArea { city: c.id, name: "Relaciones Internacionales".to_owned() }).await.unwrap();
    let who = user(&db, "ori@montevideo.example.org").await;
    let good = "code,name,level,unit,direction,frequency,area,baseline_value,baseline_date,target_value,target_date,sections,sdg,public\n\
        ORI-1,Compromisos,office,count,higher_is_better,annual,relaciones internacionales,2,2024-01-01,6,2027-01-01,political_will,16.6,true\n\
        TER-1,Emisiones,territory,number,lower_is_better,annual,,100,2024-01-01,50,2030-01-01,,13,\n";
    let summary = db.import_indicators(s.id, parse_indicators(good.as_bytes()).unwrap(), who.id).await.unwrap();
    assert_eq!((summary.created, summary.updated), (2, 0));
    // A file whose third row names an unknown area imports nothing, the update of row 2 included.
    let bad = good.replace("Compromisos", "Compromisos firmados").replace(",,100,", ",Nadie,100,");
    let err = db.import_indicators(s.id, parse_indicators(bad.as_bytes()).unwrap(), who.id).await.unwrap_err();
    assert!(matches!(&err, Error::Row { row: 3, field, .. } if field == "area"), "{err:?}");
    let listed = db.list_indicators(s.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].fields.name, "Compromisos", "nothing of the broken file was written");
    // Re-importing updates by code.
    let summary = db.import_indicators(s.id, parse_indicators(good.replace("Emisiones", "Emisiones de CO2").as_bytes()).unwrap(), who.id).await.unwrap();
    assert_eq!((summary.created, summary.updated), (0, 2));

    let today = d("2026-06-01");
    let rows = parse_measurements(b"indicator_code,measured_on,value,note\nORI-1,2025-01-01,3,first\nTER-1,2025-01-01,90,\n").unwrap();
    assert_eq!(db.import_measurements(s.id, rows, who.id, today).await.unwrap().created, 2);
    // Row 3 is a count with decimals: nothing of the file is written.
    let rows = parse_measurements(b"indicator_code,measured_on,value\nTER-1,2026-01-01,80\nORI-1,2026-01-01,3.5\n").unwrap();
    let err = db.import_measurements(s.id, rows, who.id, today).await.unwrap_err();
    assert!(matches!(&err, Error::Row { row: 3, field, .. } if field == "value"), "{err:?}");
    let rows = parse_measurements(b"indicator_code,measured_on,value\nNOPE-1,2026-01-01,80\n").unwrap();
    let err = db.import_measurements(s.id, rows, who.id, today).await.unwrap_err();
    assert!(matches!(&err, Error::Row { row: 2, field, .. } if field == "indicator_code"), "{err:?}");
    let rows = parse_measurements(b"indicator_code,measured_on,value\nORI-1,2023-01-01,1\n").unwrap();
    let err = db.import_measurements(s.id, rows, who.id, today).await.unwrap_err();
    assert!(matches!(&err, Error::Row { row: 2, field, .. } if field == "measured_on"), "{err:?}");
    assert_eq!(db.list_strategy_measurements(s.id).await.unwrap().len(), 2);
});

concerta_store::test_both_dbs!(one_reminder_per_due_date, |db: Database| async move {
    let (c, s) = strategy(&db, "brasilia").await;
    let area = db.create_area(NewArea { city: c.id, name: "Economia".to_owned() }).await.unwrap();
    for (email, role, area) in [
        ("ori@brasilia.example.org", Role::Coordinator, None),
        ("eco@brasilia.example.org", Role::Editor, Some(area.id)),
    ] {
        db.create_member(NewMember { city: c.id, email: email.to_owned(), name: "M".to_owned(), role, area }, concerta_store::AuditActor::System)
            .await
            .unwrap();
    }
    let mut with_area = fields("R-1");
    with_area.area_id = Some(area.id);
    let a = db.create_indicator(s.id, with_area).await.unwrap();
    let b = db.create_indicator(s.id, fields("R-2")).await.unwrap();
    // The editor chose Portuguese; the coordinator chose nothing (the city's Spanish).
    let eco = db.get_user_by_email("eco@brasilia.example.org").await.unwrap().unwrap();
    assert_eq!(db.set_user_locale(eco.id, Some(Locale::Pt)).await.unwrap().locale, Some(Locale::Pt));
    // Before the first due date (2025-01-01) nothing is due.
    assert!(db.queue_measurement_reminders(d("2024-12-31")).await.unwrap().is_empty());
    let queued = db.queue_measurement_reminders(d("2025-01-02")).await.unwrap();
    let by_indicator: HashMap<_, _> = queued.iter().map(|q| (q.indicator_id, q)).collect();
    assert_eq!(queued.len(), 2);
    let mut languages: Vec<(String, Locale)> =
        db.list_city_outbox(c.id, 10).await.unwrap().into_iter().map(|m| (m.recipient_email, m.locale)).collect();
    languages.sort();
    assert_eq!(
        languages,
        [("eco@brasilia.example.org".to_owned(), Locale::Pt), ("ori@brasilia.example.org".to_owned(), Locale::Es)],
        "each reminder in its recipient's language, else the city's"
    );
    assert_eq!(by_indicator[&a.id].recipients, ["eco@brasilia.example.org"], "the area's editors");
    assert_eq!(by_indicator[&b.id].recipients, ["ori@brasilia.example.org"], "no area: the coordinators");
    assert_eq!(by_indicator[&a.id].due_on, d("2025-01-01"));
    // Again (another node, a restart, the next run): nothing more.
    assert!(db.queue_measurement_reminders(d("2025-01-02")).await.unwrap().is_empty());
    assert!(db.queue_measurement_reminders(d("2025-03-01")).await.unwrap().is_empty());
    // Concurrent runs write one reminder per indicator between them.
    let runs = (0..4).map(|_| {
        let db = db.clone();
        tokio::spawn(async move { db.queue_measurement_reminders(d("2026-01-05")).await.unwrap().len() })
    });
    let mut total = 0;
    for run in runs {
        total += run.await.unwrap();
    }
    assert_eq!(total, 2);
    assert_eq!(db.list_reminders(a.id).await.unwrap(), [d("2025-01-01"), d("2026-01-01")]);
    // A measurement in the period meets the due date.
    let who = db.get_user_by_email("eco@brasilia.example.org").await.unwrap().unwrap();
    db.create_measurement(NewMeasurement {
        indicator: a.id,
        measured_on: d("2026-12-01"),
        value: 12.0,
        note: String::new(),
        link: None,
        evidence: None,
        reported_by: who.id,
    })
    .await
    .unwrap();
    let queued = db.queue_measurement_reminders(d("2027-01-05")).await.unwrap();
    assert_eq!(queued.iter().map(|q| q.indicator_id).collect::<Vec<_>>(), [b.id]);
});

concerta_store::test_both_dbs!(capacities_checklist, |db: Database| async move {
    let (c, s) = strategy(&db, "havana").await;
    let made = db.create_capacities_from_template(s.id, Locale::En).await.unwrap();
    assert_eq!(made.len(), 13);
    assert!(matches!(db.create_capacities_from_template(s.id, Locale::En).await, Err(Error::Conflict { field }) if field == "key"));
    assert_eq!(db.list_capacities(s.id).await.unwrap(), made);
    let area = db.create_area(NewArea { city: c.id, name: "Planning".to_owned() }).await.unwrap();
    let who = user(&db, "ori@havana.example.org").await;
    let updated = db
        .update_capacity(
            made[0].id,
            CapacityUpdate { state: Some(CapacityState::InPlace), evidence: Some("Decree 12/2025".to_owned()), area: Some(Some(area.id)) },
            who.id,
        )
        .await
        .unwrap();
    assert_eq!((updated.state, updated.evidence.as_str(), updated.area_id, updated.updated_by), (CapacityState::InPlace, "Decree 12/2025", Some(area.id), Some(who.id)));
    assert_eq!(updated.name, "Legal framework and its updating");
});

concerta_store::test_both_dbs!(baseline_across_three_cities, |db: Database| async move {
    let cities = [city(&db, "quito").await, city(&db, "lima").await, city(&db, "madrid").await];
    let outsider = city(&db, "paris").await;
    let who = user(&db, "ori@network.example.org").await;
    let net = db.create_network("AL-LAs".to_owned(), "al-las".to_owned()).await.unwrap();
    for c in &cities {
        db.add_network_city(net.id, c.id).await.unwrap();
    }
    assert!(matches!(db.add_network_city(net.id, cities[0].id).await, Err(Error::Conflict { .. })));
    let q = db.create_questionnaire(net.id, "Pre-diagnóstico".to_owned(), "2026".to_owned(), None).await.unwrap();
    assert_eq!(q.questions.len(), 19);
    let answers = |level: f64| -> HashMap<String, f64> {
        q.questions
            .iter()
            .map(|x| (x.key.clone(), if x.kind == concerta_evaluation::QuestionKind::Percent { level * 0.5 } else { level }))
            .collect()
    };
    // Wrong answers name the question.
    let mut bad = answers(2.0);
    bad.insert("legal_framework".to_owned(), 7.0);
    assert!(matches!(db.submit_baseline(q.id, cities[0].id, bad, false, who.id).await, Err(Error::Invalid { field, .. }) if field == "answers.legal_framework"));
    let mut missing = answers(2.0);
    missing.remove("foreign_languages");
    assert!(matches!(db.submit_baseline(q.id, cities[0].id, missing, false, who.id).await, Err(Error::Invalid { field, .. }) if field == "answers.foreign_languages"));
    assert!(matches!(db.submit_baseline(q.id, outsider.id, answers(1.0), false, who.id).await, Err(Error::Invalid { field, .. }) if field == "city"));

    db.submit_baseline(q.id, cities[0].id, answers(1.0), false, who.id).await.unwrap();
    db.submit_baseline(q.id, cities[1].id, answers(2.0), false, who.id).await.unwrap();
    // With two answers the spread stays hidden.
    let cmp = db.baseline_comparison(q.id, "2026", Viewer::City(cities[0].id)).await.unwrap();
    assert_eq!((cmp.respondents, cmp.questions[0].spread), (2, None));
    db.submit_baseline(q.id, cities[2].id, answers(4.0), false, who.id).await.unwrap();
    // Amending the same period keeps one response.
    db.submit_baseline(q.id, cities[2].id, answers(4.0), false, who.id).await.unwrap();

    for (c, own) in cities.iter().zip([1.0, 2.0, 4.0]) {
        let cmp = db.baseline_comparison(q.id, "2026", Viewer::City(c.id)).await.unwrap();
        assert_eq!(cmp.respondents, 3);
        let first = &cmp.questions[0];
        let spread = first.spread.unwrap();
        assert_eq!((spread.median, spread.q1, spread.q3), (2.0, 1.5, 3.0));
        assert_eq!(first.own, Some(own));
        assert!(first.others.is_empty(), "nobody shared yet");
    }
    // Lima shares: Quito and Madrid see Lima's answers, Lima sees no one else's.
    db.set_baseline_shared(q.id, cities[1].id, "2026".to_owned(), true).await.unwrap();
    let quito = db.baseline_comparison(q.id, "2026", Viewer::City(cities[0].id)).await.unwrap();
    let seen: Vec<_> = quito.questions[0].others.iter().map(|o| (o.city_name.as_str(), o.value)).collect();
    assert_eq!(seen, [("City lima", 2.0)]);
    let lima = db.baseline_comparison(q.id, "2026", Viewer::City(cities[1].id)).await.unwrap();
    assert!(lima.questions[0].others.is_empty());
    assert_eq!(lima.own_shared, Some(true));
    let admin = db.baseline_comparison(q.id, "2026", Viewer::NetworkAdmin).await.unwrap();
    assert_eq!(admin.questions[0].others.len(), 3);
    // A new period starts empty; the old one stays.
    db.set_questionnaire_period(q.id, "2027".to_owned()).await.unwrap();
    assert_eq!(db.baseline_comparison(q.id, "2027", Viewer::City(cities[0].id)).await.unwrap().respondents, 0);
    assert_eq!(db.list_baseline_periods(q.id).await.unwrap(), ["2026"]);
});
