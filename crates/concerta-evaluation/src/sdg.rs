//! The Sustainable Development Goals and their targets, shipped with the product
//! (`data/sdg.json`): the 17 goals and 169 targets of the 2030 Agenda (UN General Assembly
//! resolution A/RES/70/1) in Spanish, English and Portuguese: English and Spanish as the
//! United Nations publishes them, Portuguese (goals and targets) as the United Nations in Brazil
//! publishes them (the official Portuguese translation of the 2030 Agenda).
//!
//! Indicators link to targets by code (`11.3`, `17.17`) or to a whole goal by its number
//! (`11`).

use std::sync::OnceLock;

use concerta_core::Locale;
use serde::{Deserialize, Serialize};

const DATA: &str = include_str!("../data/sdg.json");

/// A goal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    /// 1 to 17.
    pub number: u8,
    /// The short name ("Sustainable cities and communities").
    pub short: Localized,
    /// The full title.
    pub title: Localized,
}

/// A target of a goal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `11.3`, `17.a`…
    pub code: String,
    /// Its text.
    pub title: Localized,
}

impl Target {
    /// The goal it belongs to.
    pub fn goal(&self) -> u8 {
        self.code.split('.').next().and_then(|g| g.parse().ok()).unwrap_or(0)
    }
}

/// A text in the languages the source has. Every goal and target has Portuguese; the field stays
/// optional so that a text without it falls back to Spanish rather than failing to load.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    /// English.
    pub en: String,
    /// Spanish.
    pub es: String,
    /// Portuguese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pt: Option<String>,
}

impl Localized {
    /// The text in `locale` (Portuguese, if ever missing, falls back to Spanish).
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::En => &self.en,
            Locale::Es => &self.es,
            Locale::Pt => self.pt.as_deref().unwrap_or(&self.es),
        }
    }
}

/// The whole catalogue.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Catalogue {
    /// Where the texts come from.
    pub source: String,
    /// The 17 goals, in order.
    pub goals: Vec<Goal>,
    /// The 169 targets, in order.
    pub targets: Vec<Target>,
}

/// The catalogue, parsed once.
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| serde_json::from_str(DATA).expect("data/sdg.json is valid (checked by the tests)"))
}

/// The goal `number`, if it exists.
pub fn goal(number: u8) -> Option<&'static Goal> {
    catalogue().goals.iter().find(|g| g.number == number)
}

/// The target `code`, if it exists.
pub fn target(code: &str) -> Option<&'static Target> {
    catalogue().targets.iter().find(|t| t.code == code)
}

/// Whether `code` names a goal (`11`) or a target (`11.3`).
pub fn is_known(code: &str) -> bool {
    match code.parse::<u8>() {
        Ok(n) => goal(n).is_some(),
        Err(_) => target(code).is_some(),
    }
}

/// The goal a code belongs to (`11.3` → 11, `11` → 11).
pub fn goal_of(code: &str) -> Option<u8> {
    code.split('.').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_agenda() {
        let c = catalogue();
        assert_eq!(c.goals.len(), 17);
        assert_eq!(c.targets.len(), 169);
        for (i, g) in c.goals.iter().enumerate() {
            assert_eq!(g.number as usize, i + 1);
            for locale in Locale::ALL {
                assert!(!g.short.get(*locale).is_empty(), "goal {} short in {locale}", g.number);
                assert!(!g.title.get(*locale).is_empty(), "goal {} title in {locale}", g.number);
            }
            assert!(g.title.pt.is_some(), "goals are in Portuguese too");
            let targets = c.targets.iter().filter(|t| t.goal() == g.number).count();
            assert!(targets >= 5, "goal {} has {targets} targets", g.number);
        }
        for t in &c.targets {
            assert!(!t.title.en.is_empty() && !t.title.es.is_empty(), "{}", t.code);
            let pt = t.title.pt.as_deref().unwrap_or_default();
            assert!(!pt.trim().is_empty(), "target {} is in Portuguese too", t.code);
            assert_ne!(pt, t.title.es, "target {} in Portuguese is not the Spanish text", t.code);
            assert_eq!(t.title.get(Locale::Pt), pt);
        }
        assert_eq!(goal(11).unwrap().short.en, "Sustainable cities and communities");
        assert!(target("11.3").unwrap().title.en.starts_with("By 2030, enhance inclusive and sustainable urbanization"));
        assert!(target("17.17").unwrap().title.es.contains("alianzas"));
        assert!(target("11.3").unwrap().title.get(Locale::Pt).starts_with("Até 2030, aumentar a urbanização inclusiva e sustentável"));
        assert!(target("1.1").unwrap().title.get(Locale::Pt).contains("US$ 1,90 por dia"));
        assert!(target("14.c").unwrap().title.get(Locale::Pt).ends_with("parágrafo 158 do “Futuro Que Queremos”"));
        let fallback = Localized { en: "x".into(), es: "y".into(), pt: None };
        assert_eq!(fallback.get(Locale::Pt), "y");
        assert!(is_known("17.17") && is_known("11") && is_known("11.a"));
        assert!(!is_known("18") && !is_known("11.99") && !is_known("") && !is_known("0"));
        assert_eq!(goal_of("11.a"), Some(11));
    }
}
