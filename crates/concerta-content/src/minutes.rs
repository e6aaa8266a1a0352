//! A roundtable's minutes document, co-edited live during the meeting: the root holds
//! `notes` (automerge text: what was said) and `agreements` (a list of maps, each with an
//! `id`, a `text` and the `section_id` of the strategy section it concerns, or null).
//! Made here, above the store, and read here when the meeting closes.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc, Value};

/// What the minutes say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Minutes {
    /// The notes, as plain text.
    pub notes: String,
    /// The agreements, in order.
    pub agreements: Vec<MinutesAgreement>,
}

/// One agreement of the minutes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MinutesAgreement {
    /// What was agreed.
    pub text: String,
    /// The section it links to (as written in the document; the server checks it).
    pub section_id: Option<String>,
}

/// The first change of a new minutes document: `notes` as empty text and `agreements` as
/// an empty list, so concurrent first edits never race to make them.
pub fn new_minutes_change() -> Vec<u8> {
    let mut doc = AutoCommit::new().with_actor(ActorId::random());
    doc.put_object(ROOT, "notes", ObjType::Text).expect("a fresh document accepts a root key");
    doc.put_object(ROOT, "agreements", ObjType::List).expect("a fresh document accepts a root key");
    doc.commit();
    doc.get_last_local_change().expect("a change was just committed").raw_bytes().to_vec()
}

fn string_at<D: ReadDoc>(doc: &D, obj: &automerge::ObjId, key: &str) -> Option<String> {
    match doc.get(obj, key).ok()?? {
        (Value::Scalar(s), _) => s.as_str().map(str::to_owned),
        (Value::Object(ObjType::Text), id) => doc.text(&id).ok(),
        _ => None,
    }
}

/// Reads the minutes; whatever does not have the expected shape reads as empty.
pub fn read_minutes<D: ReadDoc>(doc: &D) -> Minutes {
    let notes = match doc.get(ROOT, "notes").ok().flatten() {
        Some((Value::Object(ObjType::Text), id)) => doc.text(&id).unwrap_or_default(),
        _ => String::new(),
    };
    let mut agreements = Vec::new();
    if let Some((Value::Object(ObjType::List), list)) = doc.get(ROOT, "agreements").ok().flatten() {
        for i in 0..doc.length(&list) {
            let Some((Value::Object(ObjType::Map), item)) = doc.get(&list, i).ok().flatten() else { continue };
            let text = string_at(doc, &item, "text").unwrap_or_default().trim().to_owned();
            if text.is_empty() {
                continue;
            }
            let section_id = string_at(doc, &item, "section_id").filter(|s| !s.is_empty());
            agreements.push(MinutesAgreement { text, section_id });
        }
    }
    Minutes { notes, agreements }
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::Automerge;

    #[test]
    fn minutes_written_by_a_client_read_back() {
        let first = new_minutes_change();
        let mut doc = AutoCommit::load(&first).unwrap().with_actor(ActorId::random());
        assert_eq!(read_minutes(&doc), Minutes::default());
        let (_, notes) = doc.get(ROOT, "notes").unwrap().unwrap();
        doc.splice_text(&notes, 0, 0, "Se abre la mesa.").unwrap();
        let (_, list) = doc.get(ROOT, "agreements").unwrap().unwrap();
        let a = doc.insert_object(&list, 0, ObjType::Map).unwrap();
        doc.put(&a, "id", "a1").unwrap();
        doc.put(&a, "text", "Crear un fondo de cooperación").unwrap();
        doc.put(&a, "section_id", "0191aaaa-0000-7000-8000-000000000000").unwrap();
        let b = doc.insert_object(&list, 1, ObjType::Map).unwrap();
        let t = doc.put_object(&b, "text", ObjType::Text).unwrap();
        doc.splice_text(&t, 0, 0, "Reunirse en marzo").unwrap();
        doc.put(&b, "section_id", automerge::ScalarValue::Null).unwrap();
        let blank = doc.insert_object(&list, 2, ObjType::Map).unwrap();
        doc.put(&blank, "text", "  ").unwrap();
        let saved = Automerge::load(&doc.save()).unwrap();
        let m = read_minutes(&saved);
        assert_eq!(m.notes, "Se abre la mesa.");
        assert_eq!(
            m.agreements,
            [
                MinutesAgreement {
                    text: "Crear un fondo de cooperación".into(),
                    section_id: Some("0191aaaa-0000-7000-8000-000000000000".into())
                },
                MinutesAgreement { text: "Reunirse en marzo".into(), section_id: None },
            ]
        );
    }
}
