use concerta_core::{Locale, Role, Sector, permit, Action, Principal, Resource};
use concerta_store::{AuditActor, Error, MemberUpdate, NewActor, NewArea, NewCity, test_both_dbs};

use crate::{city, member, user};

test_both_dbs!(city_slugs_are_unique, |db| async move {
    let quito = city(&db, "quito").await;
    assert_eq!(db.get_city(quito.id).await.unwrap(), quito);
    let dup = db
        .create_city(NewCity { name: "Other".to_owned(), slug: "quito".to_owned(), locale: concerta_core::Locale::En })
        .await;
    assert!(matches!(dup, Err(Error::Conflict { ref field }) if field == "slug"), "{dup:?}");
    let lima = city(&db, "lima").await;
    let names: Vec<_> = db.list_cities().await.unwrap().into_iter().map(|c| c.slug).collect();
    assert_eq!(names, ["lima", "quito"]);
    assert!(matches!(db.get_city(concerta_core::CityId::new()).await, Err(Error::NotFound)));

    let ana = user(&db, "ana@example.org").await;
    db.create_member(member(&lima, "ana@example.org", Role::Observer), AuditActor::System).await.unwrap();
    let mine: Vec<_> = db.list_cities_of_user(ana.id).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(mine, [lima.id]);
});

test_both_dbs!(areas_are_unique_per_city, |db| async move {
    let quito = city(&db, "quito").await;
    let lima = city(&db, "lima").await;
    let culture = db.create_area(NewArea { city: quito.id, name: "Cultura".to_owned() }).await.unwrap();
    db.create_area(NewArea { city: lima.id, name: "Cultura".to_owned() }).await.unwrap();
    let dup = db.create_area(NewArea { city: quito.id, name: "Cultura".to_owned() }).await;
    assert!(matches!(dup, Err(Error::Conflict { ref field }) if field == "name"), "{dup:?}");
    assert_eq!(db.list_areas(quito.id).await.unwrap(), std::slice::from_ref(&culture));
    assert_eq!(db.get_area(quito.id, culture.id).await.unwrap(), culture);
    assert!(matches!(db.get_area(lima.id, culture.id).await, Err(Error::NotFound)));
    let unknown = db.create_area(NewArea { city: concerta_core::CityId::new(), name: "X".to_owned() }).await;
    assert!(matches!(unknown, Err(Error::NotFound)));
});

test_both_dbs!(members_are_scoped_to_their_city, |db| async move {
    let quito = city(&db, "quito").await;
    let lima = city(&db, "lima").await;
    let quito_culture = db.create_area(NewArea { city: quito.id, name: "Cultura".to_owned() }).await.unwrap();
    let lima_culture = db.create_area(NewArea { city: lima.id, name: "Cultura".to_owned() }).await.unwrap();

    // A new email creates a user without password.
    let mut new = member(&quito, "Editor@Quito.ec", Role::Editor);
    new.area = Some(quito_culture.id);
    let editor = db.create_member(new, AuditActor::System).await.unwrap();
    assert_eq!(editor.email, "editor@quito.ec");
    assert_eq!(editor.area_id, Some(quito_culture.id));
    let editor_user = db.get_user(editor.user_id).await.unwrap();
    assert!(!editor_user.has_password);

    // Editors need an area of this city.
    let no_area = db.create_member(member(&quito, "e2@quito.ec", Role::Editor), AuditActor::System).await;
    assert!(matches!(no_area, Err(Error::Invalid { ref field, .. }) if field == "area_id"), "{no_area:?}");
    let mut foreign = member(&quito, "e3@quito.ec", Role::Editor);
    foreign.area = Some(lima_culture.id);
    let foreign = db.create_member(foreign, AuditActor::System).await;
    assert!(matches!(foreign, Err(Error::Invalid { ref field, .. }) if field == "area_id"), "{foreign:?}");
    assert!(db.get_user_by_email("e3@quito.ec").await.unwrap().is_none(), "nothing was written");

    // The same user may be a member of another city, but only once per city.
    let in_lima = db.create_member(member(&lima, "editor@quito.ec", Role::Observer), AuditActor::System).await.unwrap();
    assert_eq!(in_lima.user_id, editor.user_id);
    let dup = db.create_member(member(&lima, "editor@quito.ec", Role::Coordinator), AuditActor::System).await;
    assert!(matches!(dup, Err(Error::Conflict { ref field }) if field == "email"), "{dup:?}");

    assert_eq!(db.list_members(quito.id).await.unwrap(), std::slice::from_ref(&editor));
    assert_eq!(db.get_member(quito.id, editor.id).await.unwrap(), editor);
    assert!(matches!(db.get_member(lima.id, editor.id).await, Err(Error::NotFound)));
    assert_eq!(db.list_memberships(editor.user_id).await.unwrap().len(), 2);
    let quito_membership = db.get_membership(quito.id, editor.user_id).await.unwrap().unwrap();
    assert!(permit(
        &Principal { network_admin: false, membership: Some(quito_membership.membership()) },
        Action::ViewMembers,
        &Resource::city(quito.id)
    ));

    // Updates obey the same rules, and only through the member's own city.
    let to_observer = MemberUpdate { role: Some(Role::Observer), area: Some(None) };
    assert!(matches!(db.update_member(lima.id, editor.id, to_observer.clone(), AuditActor::System).await, Err(Error::NotFound)));
    let bad = db.update_member(quito.id, editor.id, MemberUpdate { role: None, area: Some(None) }, AuditActor::System).await;
    assert!(matches!(bad, Err(Error::Invalid { .. })), "{bad:?}");
    let observer = db.update_member(quito.id, editor.id, to_observer, AuditActor::System).await.unwrap();
    assert_eq!((observer.role, observer.area_id), (Role::Observer, None));

    // Deleting goes through the city too.
    assert!(matches!(db.delete_member(lima.id, editor.id, AuditActor::System).await, Err(Error::NotFound)));
    db.delete_member(quito.id, editor.id, AuditActor::System).await.unwrap();
    assert!(db.get_membership(quito.id, editor.user_id).await.unwrap().is_none());
    assert!(matches!(db.delete_member(quito.id, editor.id, AuditActor::System).await, Err(Error::NotFound)));
});

test_both_dbs!(actors_registry, |db| async move {
    let quito = city(&db, "quito").await;
    let new = NewActor {
        city: quito.id,
        name: "Universidad Central".to_owned(),
        sector: Sector::Academia,
        country: Some("Ecuador".to_owned()),
        email: None,
        website: Some("https://uce.edu.ec".to_owned()),
        locale: Some(Locale::En),
    };
    let actor = db.create_actor(new.clone()).await.unwrap();
    assert_eq!(actor.sector, Sector::Academia);
    assert_eq!(actor.locale, Some(Locale::En), "the registry keeps the actor's language");
    let dup = db.create_actor(new).await;
    assert!(matches!(dup, Err(Error::Conflict { ref field }) if field == "name"), "{dup:?}");
    assert_eq!(db.list_actors(quito.id).await.unwrap(), [actor]);
    let lima = city(&db, "lima").await;
    assert!(db.list_actors(lima.id).await.unwrap().is_empty());
});
