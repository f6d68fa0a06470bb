//! Identifiers. Inside crewcall they are integers; outside they are opaque strings with a prefix that names
//! the kind of object (`wrk_1f`), so an id of one kind is never mistaken for another.

use std::fmt;
use std::str::FromStr;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(u64);

        impl $name {
            /// The prefix of this id's external form.
            pub const PREFIX: &'static str = $prefix;

            /// Wraps a raw number; ids are handed out by the store, never made up by clients.
            pub const fn new(raw: u64) -> Self {
                Self(raw)
            }

            /// The raw number, for storage and dense tables.
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{:x}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = ();

            /// Parses the external form; anything else (another kind's prefix included) is rejected.
            fn from_str(s: &str) -> Result<Self, ()> {
                let rest = s.strip_prefix($prefix).and_then(|r| r.strip_prefix('_')).ok_or(())?;
                if rest.is_empty() || rest.len() > 16 || !rest.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
                    return Err(());
                }
                u64::from_str_radix(rest, 16).map(Self).map_err(|_| ())
            }
        }
    };
}

id_type!(
    /// A staffing agency (or an organizer that runs its own crews): the tenant.
    AgencyId, "agc");
id_type!(
    /// A worker of one agency.
    WorkerId, "wrk");
id_type!(
    /// An order posted by an agency.
    OrderId, "ord");
id_type!(
    /// An offer of a shift or a standby slot to one worker.
    OfferId, "ofr");
id_type!(
    /// A talent pool: an agency's named list of workers.
    PoolId, "pol");
id_type!(
    /// An on-call standby pool: the floaters held for an agency's pooled orders of one area, block of the day
    /// and skill signature.
    StandbyPoolId, "spl");
id_type!(
    /// A worker's assignment to a role of an order.
    AssignmentId, "asg");
id_type!(
    /// A review opened by a poor rating.
    ReviewId, "rev");
id_type!(
    /// A series of orders: one order repeated on several days.
    SeriesId, "ser");
id_type!(
    /// The timesheet of a completed shift.
    TimesheetId, "tms");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_external_form() {
        let id = WorkerId::new(0x1f);
        assert_eq!(id.to_string(), "wrk_1f");
        assert_eq!("wrk_1f".parse::<WorkerId>(), Ok(id));
    }

    #[test]
    fn an_id_of_another_kind_does_not_parse() {
        assert!("ord_1f".parse::<WorkerId>().is_err());
        assert!("wrk_".parse::<WorkerId>().is_err());
        assert!("wrk_XYZ".parse::<WorkerId>().is_err());
        assert!("wrk_1F".parse::<WorkerId>().is_err());
    }
}
