//! The closed vocabularies of the domain, with the spellings `CONTRACT.md` fixes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A string that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} `{value}`; expected one of: {expected}")]
pub struct ParseEnumError {
    /// What was being parsed (`role`, `sector`…).
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
    /// The accepted spellings, comma-separated.
    pub expected: String,
}

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

            /// The stable text form (used in JSON and in the database).
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
    /// A member's role in one city (see `DOMAIN.md`, "Who uses it").
    Role, "role" {
        /// The International Relations Office: owns the strategy, manages members.
        Coordinator = "coordinator",
        /// A government area: co-drafts the sections its area is responsible for.
        Editor = "editor",
        /// An external actor: takes part in consultations and roundtables.
        Stakeholder = "stakeholder",
        /// Reads; never writes.
        Observer = "observer",
    }
);

text_enum!(
    /// The sector of an external actor (the territory's "fuerzas vivas").
    Sector, "sector" {
        /// Universities and research.
        Academia = "academia",
        /// Companies and business associations.
        Business = "business",
        /// Civil society organisations.
        CivilSociety = "civil_society",
        /// International organisations.
        InternationalOrganization = "international_organization",
        /// Other cities and city networks.
        CityNetwork = "city_network",
        /// Government bodies outside the city government.
        Government = "government",
        /// Anything else.
        Other = "other",
    }
);

text_enum!(
    /// The three stages of a strategy, from the seed framework.
    Stage, "stage" {
        /// Design and planning (*diseño y planeación*).
        DesignPlanning = "design_planning",
        /// Implementation (*implementación*).
        Implementation = "implementation",
        /// Evaluation (*evaluación*).
        Evaluation = "evaluation",
    }
);

text_enum!(
    /// Where the drafting of a section stands (set by whoever may write it).
    SectionState, "state" {
        /// Nobody has started it.
        NotStarted = "not_started",
        /// Being written.
        Drafting = "drafting",
        /// Written, waiting for review.
        InReview = "in_review",
        /// Done for now.
        Ready = "ready",
    }
);

text_enum!(
    /// The language a city's interface and emails default to.
    Locale, "locale" {
        /// Spanish.
        Es = "es",
        /// English.
        En = "en",
        /// Portuguese.
        Pt = "pt",
    }
);

text_enum!(
    /// The city's decision on a consultation comment.
    Decision, "decision" {
        /// Taken up as suggested.
        Accepted = "accepted",
        /// Taken up in part.
        Partly = "partly",
        /// Not taken up (the reason says why).
        Rejected = "rejected",
        /// Acknowledged; nothing to change.
        Noted = "noted",
    }
);

text_enum!(
    /// What a new strategy starts from.
    StrategyTemplate, "template" {
        /// The seed framework's sections ([`crate::seed_template`]).
        Seed = "seed",
        /// No sections.
        Blank = "blank",
    }
);

text_enum!(
    /// An invitee's answer to a roundtable invitation (RFC 5546's PARTSTAT, in our words).
    Rsvp, "rsvp" {
        /// Not answered yet.
        Pending = "pending",
        /// Will attend.
        Accepted = "accepted",
        /// Will not attend.
        Declined = "declined",
        /// Might attend.
        Tentative = "tentative",
    }
);

text_enum!(
    /// What an audit log entry records. Writes worth auditing append one entry, in the same
    /// transaction as the write, through the store's audit API.
    AuditAction, "audit action" {
        /// A member was added to a city.
        MemberAdded = "member_added",
        /// A city's settings changed (its time zone).
        CityChanged = "city_changed",
        /// A member was removed from a city.
        MemberRemoved = "member_removed",
        /// A member's role or government area changed.
        MemberChanged = "member_changed",
        /// A section's responsible government area changed.
        SectionAreaChanged = "section_area_changed",
        /// A named version of a strategy was approved.
        VersionApproved = "version_approved",
        /// A strategy, a version or a report was exported.
        Exported = "exported",
        /// An API token was issued.
        TokenIssued = "token_issued",
        /// An API token was revoked.
        TokenRevoked = "token_revoked",
        /// A login failed (wrong password or unknown account).
        LoginFailed = "login_failed",
        /// Login attempts for an account or from an address began to be refused by
        /// throttling (one entry per run of refusals).
        LoginThrottled = "login_throttled",
        /// Browser sessions were ended (by their user, or by a password change).
        SessionsEnded = "sessions_ended",
        /// A user changed their password.
        PasswordChanged = "password_changed",
        /// An indicator's status was set by hand (with a reason), or given back to the rule.
        IndicatorStatusSet = "indicator_status_set",
        /// A measurement was accepted or returned.
        MeasurementReviewed = "measurement_reviewed",
        /// Indicators or measurements were imported from a file.
        Imported = "imported",
        /// A roundtable was convened.
        RoundtableCreated = "roundtable_created",
        /// A roundtable's details or time changed.
        RoundtableChanged = "roundtable_changed",
        /// A roundtable was cancelled.
        RoundtableCancelled = "roundtable_cancelled",
        /// People were invited to a roundtable (or an invitation was sent again).
        RoundtableInvited = "roundtable_invited",
        /// A roundtable was closed and its minutes sent.
        RoundtableClosed = "roundtable_closed",
        /// A consultation was opened.
        ConsultationOpened = "consultation_opened",
        /// Stakeholders were invited to a consultation.
        StakeholdersInvited = "stakeholders_invited",
        /// A consultation comment got the city's response (or a changed one).
        CommentAnswered = "comment_answered",
        /// A consultation comment was hidden (kept, shown as hidden).
        CommentHidden = "comment_hidden",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), *role);
            assert_eq!(serde_json::to_string(role).unwrap(), format!("\"{role}\""));
        }
        for sector in Sector::ALL {
            assert_eq!(sector.as_str().parse::<Sector>().unwrap(), *sector);
        }
        for stage in Stage::ALL {
            assert_eq!(stage.as_str().parse::<Stage>().unwrap(), *stage);
        }
        for locale in Locale::ALL {
            assert_eq!(locale.as_str().parse::<Locale>().unwrap(), *locale);
        }
        let states: Vec<_> = SectionState::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(states, ["not_started", "drafting", "in_review", "ready"]);
        for state in SectionState::ALL {
            assert_eq!(state.as_str().parse::<SectionState>().unwrap(), *state);
        }
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), *action);
        }
    }

    #[test]
    fn contract_spellings() {
        let sectors: Vec<_> = Sector::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            sectors,
            [
                "academia",
                "business",
                "civil_society",
                "international_organization",
                "city_network",
                "government",
                "other"
            ]
        );
        assert_eq!(
            serde_json::from_str::<Sector>("\"civil_society\"").unwrap(),
            Sector::CivilSociety
        );
        let err = "admin".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("coordinator, editor, stakeholder, observer"));
    }
}
