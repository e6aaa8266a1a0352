//! The closed vocabularies of the evaluation stage, with their stable spellings (JSON, CSV,
//! the database).

use std::fmt;
use std::str::FromStr;

use concerta_core::{Locale, ParseEnumError};
use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident, $kind:literal { $($(#[$vdoc:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable text form (JSON, CSV, the database).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseEnumError {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}

text_enum!(
    /// The three levels of the seed's indicator table.
    Level, "level" {
        /// The International Relations Office (*Oficina de Relaciones Internacionales*).
        Office = "office",
        /// The local government as a whole.
        LocalGovernment = "local_government",
        /// The territory: the city and its people.
        Territory = "territory",
    }
);

text_enum!(
    /// Which way is progress.
    Direction, "direction" {
        /// More is better (people trained, investment).
        HigherIsBetter = "higher_is_better",
        /// Less is better (emissions, days to answer).
        LowerIsBetter = "lower_is_better",
    }
);

text_enum!(
    /// What kind of number a value is; values are checked against it.
    Unit, "unit" {
        /// A percentage, 0 to 100.
        Percent = "percent",
        /// A whole number of things, 0 or more.
        Count = "count",
        /// An amount of money, 0 or more (the currency goes in the unit label).
        Currency = "currency",
        /// Any number.
        Number = "number",
    }
);

text_enum!(
    /// How often an indicator is measured; measurements fall due at this pace from the
    /// baseline date.
    Frequency, "frequency" {
        /// Every month.
        Monthly = "monthly",
        /// Every three months.
        Quarterly = "quarterly",
        /// Every six months.
        Semiannual = "semiannual",
        /// Every year.
        Annual = "annual",
        /// Every two years.
        Biennial = "biennial",
    }
);

impl Frequency {
    /// The length of one period in months.
    pub fn months(self) -> u32 {
        match self {
            Frequency::Monthly => 1,
            Frequency::Quarterly => 3,
            Frequency::Semiannual => 6,
            Frequency::Annual => 12,
            Frequency::Biennial => 24,
        }
    }
}

text_enum!(
    /// The coordinator's review of a measurement.
    ReviewState, "review" {
        /// Reported, not reviewed yet (counts, shown as provisional).
        Pending = "pending",
        /// Accepted by the coordinator (shown on the public page).
        Accepted = "accepted",
        /// Returned to the reporter with a reason (does not count).
        Returned = "returned",
    }
);

text_enum!(
    /// An indicator's progress status, by the Open SDG method (see [`crate::status`]).
    Status, "status" {
        /// The latest value reached the target.
        TargetAchieved = "target_achieved",
        /// Growing at least 95% as fast as the target needs (or ≥ 1.5% a year without target).
        OnTrack = "on_track",
        /// Progress made, acceleration needed (60–95% of the growth needed; 0.5–1.5% a year).
        AccelerationNeeded = "acceleration_needed",
        /// Limited progress (0–60% of the growth needed; 0–0.5% a year).
        LimitedProgress = "limited_progress",
        /// Moving away from the target.
        Deterioration = "deterioration",
        /// Not enough data to tell (no baseline, no measurement after it, values of both signs).
        NoData = "no_data",
    }
);

text_enum!(
    /// The seed's three groups of capacities.
    CapacityGroup, "group" {
        /// Legal framework, incentives, monitoring infrastructure, knowledge management.
        Institutional = "institutional",
        /// Funding, alliances, programmes, advocacy, convening.
        Operational = "operational",
        /// Training and languages.
        Human = "human",
    }
);

text_enum!(
    /// Where a city stands on one capacity.
    CapacityState, "state" {
        /// Not there yet.
        NotStarted = "not_started",
        /// Being built.
        InProgress = "in_progress",
        /// In place.
        InPlace = "in_place",
    }
);

text_enum!(
    /// The kind of answer a baseline question takes.
    QuestionKind, "kind" {
        /// A level from 0 (absent) to 4 (consolidated).
        Scale = "scale",
        /// A percentage, 0 to 100.
        Percent = "percent",
        /// Any number, 0 or more.
        Number = "number",
    }
);

/// A text in the product's three languages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    /// Spanish.
    pub es: String,
    /// English.
    pub en: String,
    /// Portuguese.
    pub pt: String,
}

impl Text {
    /// A text from its three translations.
    pub fn new(es: &str, en: &str, pt: &str) -> Self {
        Self { es: es.to_owned(), en: en.to_owned(), pt: pt.to_owned() }
    }

    /// The text in `locale`.
    pub fn get(&self, locale: Locale) -> &str {
        match locale {
            Locale::Es => &self.es,
            Locale::En => &self.en,
            Locale::Pt => &self.pt,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        fn check<T: FromStr<Err = ParseEnumError> + Copy + PartialEq + fmt::Debug + fmt::Display>(all: &[T]) {
            for v in all {
                assert_eq!(v.to_string().parse::<T>().unwrap(), *v);
            }
        }
        check(Level::ALL);
        check(Direction::ALL);
        check(Unit::ALL);
        check(Frequency::ALL);
        check(ReviewState::ALL);
        check(Status::ALL);
        check(CapacityGroup::ALL);
        check(CapacityState::ALL);
        check(QuestionKind::ALL);
        let err = "sideways".parse::<Direction>().unwrap_err();
        assert_eq!(err.expected, "higher_is_better, lower_is_better");
    }
}
