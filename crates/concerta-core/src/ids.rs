//! Id newtypes: one type per kind of key, so a `CityId` can never be passed as an `AreaId`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new random id (UUID v7, so ids sort roughly by creation time).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn uuid(self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// A user account (a person; may be a member of several cities).
    UserId
);
id_type!(
    /// A city: the tenant. Everything else belongs to exactly one city.
    CityId
);
id_type!(
    /// A government area of a city (economy, culture…), responsible for sections.
    AreaId
);
id_type!(
    /// A membership: one user's role in one city.
    MemberId
);
id_type!(
    /// An external actor in a city's registry.
    ActorId
);
id_type!(
    /// A city's international action strategy.
    StrategyId
);
id_type!(
    /// One section of a strategy (backed by one automerge document).
    SectionId
);
id_type!(
    /// A named version of a strategy (every section's heads at one moment).
    VersionId
);
id_type!(
    /// A browser session (not its secret).
    SessionId
);
id_type!(
    /// An API token (not the token itself).
    ApiTokenId
);

id_type!(
    /// An indicator of a strategy's evaluation framework.
    IndicatorId
);
id_type!(
    /// A dated value reported for an indicator.
    MeasurementId
);
id_type!(
    /// A file uploaded as a measurement's evidence.
    EvidenceId
);
id_type!(
    /// One item of a strategy's capacities checklist.
    CapacityId
);
id_type!(
    /// A network of cities (AL-LAs, UCCI…) that runs a baseline questionnaire.
    NetworkId
);
id_type!(
    /// A network's baseline questionnaire (the seed's *pre-diagnóstico*).
    QuestionnaireId
);
id_type!(
    /// One question of a baseline questionnaire.
    QuestionId
);
id_type!(
    /// One city's answers to a baseline questionnaire for one period.
    BaselineResponseId
);
id_type!(
    /// A consultation: stakeholders comment on (part of) a strategy between two dates.
    ConsultationId
);
id_type!(
    /// A stakeholder's invitation to one consultation.
    ConsultationInviteeId
);
id_type!(
    /// A comment in a consultation (or a reply in its thread).
    CommentId
);

id_type!(
    /// A multi-actor roundtable (*mesa multi-actor*) convened by a city.
    RoundtableId
);
id_type!(
    /// One invitation of a roundtable (an invitee, their organisation, sector and answer).
    InvitationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text_and_json() {
        let id = CityId::new();
        assert_eq!(id.to_string().parse::<CityId>().unwrap(), id);
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<CityId>(&json).unwrap(), id);
        assert!("not-a-uuid".parse::<AreaId>().is_err());
    }
}
