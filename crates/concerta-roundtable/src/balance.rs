//! The sector balance of a roundtable: who is invited and who accepted, per sector, and which
//! sectors of the city's actors registry nobody at the table represents.

use concerta_core::{Rsvp, Sector};
use serde::Serialize;

/// One sector's row of the balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SectorRow {
    /// The sector.
    pub sector: Sector,
    /// Actors of this sector in the registry.
    pub in_registry: usize,
    /// Invitations to people of this sector.
    pub invited: usize,
    /// Of those, accepted.
    pub accepted: usize,
    /// Of those, tentative.
    pub tentative: usize,
    /// Of those, declined.
    pub declined: usize,
}

/// The whole balance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Balance {
    /// One row per sector that is in the registry or at the table, in the contract's order.
    pub sectors: Vec<SectorRow>,
    /// Sectors of the registry that no invitee represents (nobody invited, or all declined).
    pub unrepresented: Vec<Sector>,
}

/// Computes the balance from the registry's actors' sectors and the invitees' sectors and
/// answers (invitees without a sector are counted nowhere).
pub fn balance(registry: &[Sector], invitees: &[(Option<Sector>, Rsvp)]) -> Balance {
    let mut sectors = Vec::new();
    let mut unrepresented = Vec::new();
    for &sector in Sector::ALL {
        let in_registry = registry.iter().filter(|s| **s == sector).count();
        let answers: Vec<Rsvp> = invitees.iter().filter(|(s, _)| *s == Some(sector)).map(|(_, r)| *r).collect();
        let count = |r: Rsvp| answers.iter().filter(|a| **a == r).count();
        let row = SectorRow {
            sector,
            in_registry,
            invited: answers.len(),
            accepted: count(Rsvp::Accepted),
            tentative: count(Rsvp::Tentative),
            declined: count(Rsvp::Declined),
        };
        if in_registry > 0 && row.invited == row.declined {
            unrepresented.push(sector);
        }
        if in_registry > 0 || row.invited > 0 {
            sectors.push(row);
        }
    }
    Balance { sectors, unrepresented }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_sector_and_warns_of_the_missing() {
        let registry = [Sector::Academia, Sector::Academia, Sector::Business, Sector::CivilSociety];
        let invitees = [
            (Some(Sector::Academia), Rsvp::Accepted),
            (Some(Sector::Academia), Rsvp::Pending),
            (Some(Sector::CivilSociety), Rsvp::Declined),
            (Some(Sector::Government), Rsvp::Tentative),
            (None, Rsvp::Accepted),
        ];
        let b = balance(&registry, &invitees);
        let names: Vec<Sector> = b.sectors.iter().map(|r| r.sector).collect();
        assert_eq!(names, [Sector::Academia, Sector::Business, Sector::CivilSociety, Sector::Government]);
        assert_eq!(
            b.sectors[0],
            SectorRow { sector: Sector::Academia, in_registry: 2, invited: 2, accepted: 1, tentative: 0, declined: 0 }
        );
        assert_eq!(b.sectors[3].tentative, 1);
        assert_eq!(b.unrepresented, [Sector::Business, Sector::CivilSociety]);
    }
}
