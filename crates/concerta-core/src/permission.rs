//! The permission function: who may do what to which city's resource.
//!
//! Invariant: a membership only counts for resources of its own city. That check happens here,
//! once, so no handler can forget it.

use crate::{AreaId, CityId, Role};

/// Who is asking: a user as seen from one city.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    /// Whether the user administers the whole network (all cities' administration).
    pub network_admin: bool,
    /// The user's membership in the resource's city, if any. A membership of another city
    /// may be passed; [`permit`] ignores it.
    pub membership: Option<Membership>,
}

/// A user's role in one city.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Membership {
    /// The city this membership belongs to.
    pub city: CityId,
    /// The role held there.
    pub role: Role,
    /// For editors: the government area they draft for.
    pub area: Option<AreaId>,
}

/// What is being touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    /// The city the resource belongs to.
    pub city: CityId,
    /// For a section: its responsible government area, if assigned.
    pub area: Option<AreaId>,
    /// For a consultation: whether the principal was invited to it.
    pub invited: bool,
}

impl Resource {
    /// A city-level resource (the city itself, its areas, members, actors, strategies).
    pub fn city(city: CityId) -> Self {
        Self { city, area: None, invited: false }
    }

    /// A section of `city` whose responsible area is `area`.
    pub fn section(city: CityId, area: Option<AreaId>) -> Self {
        Self { city, area, invited: false }
    }

    /// A consultation of `city` (or a comment in it, on a section whose responsible area is
    /// `area`); `invited` says whether the principal was invited to it.
    pub fn consultation(city: CityId, area: Option<AreaId>, invited: bool) -> Self {
        Self { city, area, invited }
    }
}

/// Everything a principal may ask to do to a city's resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// See the city itself (name, slug, locale).
    ViewCity,
    /// Create and rename government areas.
    ManageAreas,
    /// Change the city's settings (its time zone).
    ManageCity,
    /// List the city's members.
    ViewMembers,
    /// Add, change and remove members.
    ManageMembers,
    /// Read the external actors registry.
    ViewActors,
    /// Add to and edit the external actors registry.
    ManageActors,
    /// Create a strategy.
    CreateStrategy,
    /// See a strategy and its sections' metadata.
    ViewStrategy,
    /// Assign sections to areas, make named versions.
    ManageStrategy,
    /// Read a section's content (its document).
    ReadSection,
    /// Change a section's content (its document).
    WriteSection,
    /// Set a section's drafting state (`not_started` … `ready`): whoever may write it.
    SetSectionState,
    /// Name a version of a strategy (recording every section's heads).
    CreateVersion,
    /// Mark a version approved (the seed's political will).
    ApproveVersion,
    /// Export a strategy or a version as Markdown or HTML (reads every section).
    ExportStrategy,
    /// Read the city's audit log.
    ViewAudit,
    /// See the evaluation framework: indicators, measurements, capacities, the baseline
    /// questionnaire's results for the city.
    ViewEvaluation,
    /// Create, edit and delete indicators; override a status; import indicators.
    ManageIndicators,
    /// Report a measurement of an indicator whose responsible area is the resource's area.
    ReportMeasurement,
    /// Accept or return a reported measurement.
    ReviewMeasurement,
    /// Update a capacity (state, evidence) whose responsible area is the resource's area.
    UpdateCapacity,
    /// Answer the baseline questionnaire for the city and choose whether to share it.
    AnswerBaseline,
    /// See the city's roundtables, their invitations, answers and minutes.
    ViewRoundtables,
    /// Convene a roundtable: create, change, cancel and close it, invite and resend.
    ConveneRoundtable,
    /// Co-edit a roundtable's live minutes.
    WriteMinutes,
    /// Open a consultation, invite stakeholders to it, hide abusive comments.
    ManageConsultation,
    /// See a consultation and its comments: the city's staff, and the stakeholders invited to
    /// it ([`Resource::invited`]).
    ViewConsultation,
    /// Comment on a consultation (or reply in a thread): the stakeholders invited to it, and
    /// the city's coordinators and editors (their replies are the city's).
    CommentOnConsultation,
    /// Give the city's response to a comment on a section: coordinators, and editors of the
    /// section's area.
    RespondToComment,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: &'static [Action] = &[
        Action::ViewCity,
        Action::ManageAreas,
        Action::ManageCity,
        Action::ViewMembers,
        Action::ManageMembers,
        Action::ViewActors,
        Action::ManageActors,
        Action::CreateStrategy,
        Action::ViewStrategy,
        Action::ManageStrategy,
        Action::ReadSection,
        Action::WriteSection,
        Action::SetSectionState,
        Action::CreateVersion,
        Action::ApproveVersion,
        Action::ExportStrategy,
        Action::ViewAudit,
        Action::ViewEvaluation,
        Action::ManageIndicators,
        Action::ReportMeasurement,
        Action::ReviewMeasurement,
        Action::UpdateCapacity,
        Action::AnswerBaseline,
        Action::ViewRoundtables,
        Action::ConveneRoundtable,
        Action::WriteMinutes,
        Action::ManageConsultation,
        Action::ViewConsultation,
        Action::CommentOnConsultation,
        Action::RespondToComment,
    ];

    /// Whether this is administration a network admin may do on any city (everything except
    /// a section's content and what speaks for it: its state, versions, approvals and
    /// exports belong to the city).
    fn is_administration(self) -> bool {
        !matches!(
            self,
            Action::ReadSection
                | Action::WriteSection
                | Action::SetSectionState
                | Action::CreateVersion
                | Action::ApproveVersion
                | Action::ExportStrategy
                | Action::WriteMinutes
                | Action::ManageConsultation
                | Action::ViewConsultation
                | Action::CommentOnConsultation
                | Action::RespondToComment
        )
    }
}

/// Whether `principal` may do `action` to `resource`.
///
/// - A membership counts only when its city is the resource's city.
/// - Coordinator: everything. Observer: view the city, members, actors, strategies, the
///   evaluation, read sections and export them. Editor: the same, plus writing a section
///   whose responsible area is the editor's own and setting its state, reporting a
///   measurement or updating a capacity of that area, and co-editing roundtable minutes.
///   Stakeholder: view the city only (they answer roundtables through their RSVP link).
///   Convening roundtables is the coordinator's (and a network admin's, as administration).
///   Naming and approving versions is the coordinator's alone.
/// - Consultations: coordinators manage them and answer every comment; editors see them,
///   reply, and answer comments on their area's sections; observers see them; a stakeholder
///   sees and comments on only those they were invited to.
/// - A network admin may do all administration on every city, but not read or write section
///   content unless a membership grants it, nor speak for the city in a consultation.
pub fn permit(principal: &Principal, action: Action, resource: &Resource) -> bool {
    if principal.network_admin && action.is_administration() {
        return true;
    }
    let Some(membership) = principal.membership.filter(|m| m.city == resource.city) else {
        return false;
    };
    use Action::*;
    match membership.role {
        Role::Coordinator => true,
        Role::Observer => matches!(
            action,
            ViewCity | ViewMembers | ViewActors | ViewStrategy | ReadSection | ExportStrategy | ViewEvaluation | ViewConsultation
            | ViewRoundtables
        ),
        Role::Editor => match action {
            ViewCity | ViewMembers | ViewActors | ViewStrategy | ReadSection | ExportStrategy | ViewEvaluation
            | ViewConsultation | CommentOnConsultation | ViewRoundtables | WriteMinutes => true,
            WriteSection | SetSectionState | ReportMeasurement | UpdateCapacity | RespondToComment => {
                resource.area.is_some() && resource.area == membership.area
            }
            _ => false,
        },
        Role::Stakeholder => match action {
            ViewCity => true,
            ViewConsultation | CommentOnConsultation => resource.invited,
            _ => false,
        },
    }
}

/// Whether `principal` may create a new city (network admins only).
pub fn may_create_city(principal: &Principal) -> bool {
    principal.network_admin
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    /// The kinds of principal the table has a column for.
    #[derive(Clone, Copy)]
    enum Who {
        Role(Role),
        NetworkAdmin,
        NetworkAdminAndObserver,
        Nobody,
    }

    fn principal(who: Who, city: CityId, area: AreaId) -> Principal {
        let member = |role| Membership { city, role, area: (role == Role::Editor).then_some(area) };
        match who {
            Who::Role(role) => Principal { network_admin: false, membership: Some(member(role)) },
            Who::NetworkAdmin => Principal { network_admin: true, membership: None },
            Who::NetworkAdminAndObserver => Principal {
                network_admin: true,
                membership: Some(member(Role::Observer)),
            },
            Who::Nobody => Principal { network_admin: false, membership: None },
        }
    }

    // Columns: action, coordinator, editor (section of own area), editor (section of another
    // area), editor (section without area), stakeholder, observer, network admin,
    // network admin who is also an observer, no membership.
    #[rustfmt::skip]
    const TABLE: &[(Action, [bool; 9])] = &[
        //               coord  ed-own ed-oth ed-none stake  obs    netadm na+obs nobody
        (ViewCity,       [true, true,  true,  true,   true,  true,  true,  true,  false]),
        (ManageAreas,    [true, false, false, false,  false, false, true,  true,  false]),
        (ManageCity,     [true, false, false, false,  false, false, true,  true,  false]),
        (ViewMembers,    [true, true,  true,  true,   false, true,  true,  true,  false]),
        (ManageMembers,  [true, false, false, false,  false, false, true,  true,  false]),
        (ViewActors,     [true, true,  true,  true,   false, true,  true,  true,  false]),
        (ManageActors,   [true, false, false, false,  false, false, true,  true,  false]),
        (CreateStrategy, [true, false, false, false,  false, false, true,  true,  false]),
        (ViewStrategy,   [true, true,  true,  true,   false, true,  true,  true,  false]),
        (ManageStrategy, [true, false, false, false,  false, false, true,  true,  false]),
        (ReadSection,    [true, true,  true,  true,   false, true,  false, true,  false]),
        (WriteSection,   [true, true,  false, false,  false, false, false, false, false]),
        (SetSectionState,[true, true,  false, false,  false, false, false, false, false]),
        (CreateVersion,  [true, false, false, false,  false, false, false, false, false]),
        (ApproveVersion, [true, false, false, false,  false, false, false, false, false]),
        (ExportStrategy, [true, true,  true,  true,   false, true,  false, true,  false]),
        (ViewAudit,      [true, false, false, false,  false, false, true,  true,  false]),
        (ViewEvaluation, [true, true,  true,  true,   false, true,  true,  true,  false]),
        (ManageIndicators, [true, false, false, false, false, false, true, true,  false]),
        (ReportMeasurement, [true, true, false, false, false, false, true, true,  false]),
        (ReviewMeasurement, [true, false, false, false, false, false, true, true,  false]),
        (UpdateCapacity, [true, true,  false, false,  false, false, true,  true,  false]),
        (AnswerBaseline, [true, false, false, false,  false, false, true,  true,  false]),
        (ViewRoundtables, [true, true, true,  true,   false, true,  true,  true,  false]),
        (ConveneRoundtable, [true, false, false, false, false, false, true, true,  false]),
        (WriteMinutes,   [true, true,  true,  true,   false, false, false, false, false]),
        (ManageConsultation, [true, false, false, false, false, false, false, false, false]),
        (ViewConsultation, [true, true, true,  true,   false, true,  false, true,  false]),
        (CommentOnConsultation, [true, true, true, true, false, false, false, false, false]),
        (RespondToComment, [true, true, false, false,  false, false, false, false, false]),
    ];

    #[test]
    fn every_role_and_action() {
        assert_eq!(TABLE.len(), Action::ALL.len(), "the table lists every action");
        let city = CityId::new();
        let own_area = AreaId::new();
        let other_area = AreaId::new();
        for (action, expected) in TABLE {
            let cases: [(Who, Option<AreaId>); 9] = [
                (Who::Role(Role::Coordinator), Some(own_area)),
                (Who::Role(Role::Editor), Some(own_area)),
                (Who::Role(Role::Editor), Some(other_area)),
                (Who::Role(Role::Editor), None),
                (Who::Role(Role::Stakeholder), Some(own_area)),
                (Who::Role(Role::Observer), Some(own_area)),
                (Who::NetworkAdmin, Some(own_area)),
                (Who::NetworkAdminAndObserver, Some(own_area)),
                (Who::Nobody, Some(own_area)),
            ];
            for (column, ((who, section_area), want)) in cases.iter().zip(expected).enumerate() {
                let p = principal(*who, city, own_area);
                let r = Resource { city, area: *section_area, invited: false };
                assert_eq!(permit(&p, *action, &r), *want, "{action:?}, column {column}");
            }
        }
    }

    #[test]
    fn a_membership_of_city_a_grants_nothing_on_city_b() {
        let city_a = CityId::new();
        let city_b = CityId::new();
        let area_a = AreaId::new();
        for role in Role::ALL {
            let p = Principal {
                network_admin: false,
                membership: Some(Membership { city: city_a, role: *role, area: Some(area_a) }),
            };
            for action in Action::ALL {
                // Even a resource carrying the same area id must not be reachable.
                for area in [None, Some(area_a), Some(AreaId::new())] {
                    let r = Resource { city: city_b, area, invited: true };
                    assert!(!permit(&p, *action, &r), "{role:?} of A did {action:?} on B");
                }
            }
        }
    }

    #[test]
    fn stakeholders_see_and_comment_only_where_invited() {
        let city = CityId::new();
        let stakeholder = Principal {
            network_admin: false,
            membership: Some(Membership { city, role: Role::Stakeholder, area: None }),
        };
        for (invited, want) in [(false, false), (true, true)] {
            let r = Resource::consultation(city, None, invited);
            assert_eq!(permit(&stakeholder, ViewConsultation, &r), want);
            assert_eq!(permit(&stakeholder, CommentOnConsultation, &r), want);
            assert!(!permit(&stakeholder, RespondToComment, &r));
            assert!(!permit(&stakeholder, ManageConsultation, &r));
            assert!(!permit(&stakeholder, ReadSection, &r), "an invitation is not a licence to the live draft");
        }
        // Being invited changes nothing for the other roles.
        let observer = Principal {
            network_admin: false,
            membership: Some(Membership { city, role: Role::Observer, area: None }),
        };
        assert!(!permit(&observer, CommentOnConsultation, &Resource::consultation(city, None, true)));
    }

    #[test]
    fn only_network_admins_create_cities() {
        let member = Membership { city: CityId::new(), role: Role::Coordinator, area: None };
        assert!(may_create_city(&Principal { network_admin: true, membership: None }));
        assert!(!may_create_city(&Principal { network_admin: false, membership: Some(member) }));
    }
}
