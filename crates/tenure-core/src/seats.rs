//! Named-seat trimming: when more users hold a seat than the license grants, the earliest
//! assigned keep theirs (ties by user id) and the rest are removed.
//!
//! Deterministic, so every workstation reading the same table trims the same way.

use chrono::{DateTime, Utc};

/// One user holding a named seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The user's id (login).
    pub user_id: String,
    /// When the seat was given.
    pub assigned_at: DateTime<Utc>,
}

/// The outcome of trimming.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Trimmed {
    /// Seats that stand, earliest first.
    pub kept: Vec<Assignment>,
    /// Seats removed, earliest first.
    pub removed: Vec<Assignment>,
}

/// Keeps at most `seats` assignments: the earliest assigned, ties by user id.
pub fn trim(assignments: &[Assignment], seats: u32) -> Trimmed {
    let mut sorted = assignments.to_vec();
    sorted.sort_by(|a, b| {
        a.assigned_at
            .cmp(&b.assigned_at)
            .then_with(|| a.user_id.cmp(&b.user_id))
    });
    // A user listed twice keeps only the earliest assignment.
    let mut seen = std::collections::BTreeSet::new();
    sorted.retain(|a| seen.insert(a.user_id.clone()));
    let keep = usize::try_from(seats)
        .unwrap_or(usize::MAX)
        .min(sorted.len());
    let removed = sorted.split_off(keep);
    Trimmed {
        kept: sorted,
        removed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn a(user: &str, secs: i64) -> Assignment {
        Assignment {
            user_id: user.into(),
            assigned_at: DateTime::from_timestamp(secs, 0).unwrap(),
        }
    }

    #[test]
    fn earliest_keep_their_seats() {
        let t = trim(&[a("eli", 5), a("ana", 1), a("dee", 4), a("bo", 2)], 2);
        let kept: Vec<_> = t.kept.iter().map(|x| x.user_id.as_str()).collect();
        let removed: Vec<_> = t.removed.iter().map(|x| x.user_id.as_str()).collect();
        assert_eq!(kept, ["ana", "bo"]);
        assert_eq!(removed, ["dee", "eli"]);
    }

    proptest! {
        #[test]
        fn never_more_than_seats_and_deterministic(
            raw in prop::collection::vec(("[a-e]{1,2}", 0i64..20), 0..30),
            seats in 0u32..12,
        ) {
            let list: Vec<_> = raw.iter().map(|(u, s)| a(u, *s)).collect();
            let t = trim(&list, seats);
            prop_assert!(t.kept.len() <= seats as usize);
            let mut reversed = list.clone();
            reversed.reverse();
            let again = trim(&reversed, seats);
            prop_assert_eq!(&again, &t);
            if let (Some(last_kept), Some(first_removed)) = (t.kept.last(), t.removed.first()) {
                prop_assert!((last_kept.assigned_at, &last_kept.user_id) <= (first_removed.assigned_at, &first_removed.user_id));
            }
        }
    }
}
