//! The housing report: per municipality and month (Copenhagen) of the offer, the vacant homes
//! offered, how many were answered, answered in time, answered naming a citizen (matched), how
//! many of those citizens accepted the home, and the median days from offer to answer
//! (docs/matching.md#the-housing-report). Case references are not in it, nor anyone's data.

use super::{Rows, median, number};
use crate::domain::{Kommunekode, copenhagen_date};
use crate::store::VacantHomeRow;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HousingLine {
    pub municipality: String,
    pub name: String,
    /// `YYYY-MM`, the month the home was first offered.
    pub month: String,
    /// Vacant homes offered.
    pub offered: usize,
    /// Answered, naming a citizen or none.
    pub answered: usize,
    /// Answered by the deadline to answer (the offer's `answer_deadline`).
    pub answered_in_time: usize,
    /// Answered naming a citizen among the candidates.
    pub matched: usize,
    /// Of those, the citizen's housing deadline met by an accepted housing offer.
    pub accepted: usize,
    /// The median of the days from the offer to the answer (whole days, of the homes answered).
    pub median_days_to_answer: Option<f64>,
}

/// The lines, by municipality and month.
pub fn lines(homes: &[VacantHomeRow]) -> Vec<HousingLine> {
    let mut grouped: BTreeMap<(String, String), (HousingLine, Vec<i64>)> = BTreeMap::new();
    for home in homes {
        let date = copenhagen_date(home.offered_at);
        let month = format!("{:04}-{:02}", date.year(), date.month());
        let (line, days) = grouped
            .entry((home.municipality.clone(), month.clone()))
            .or_insert_with(|| {
                (
                    HousingLine {
                        municipality: home.municipality.clone(),
                        name: Kommunekode::parse(&home.municipality)
                            .map(|k| k.name().to_owned())
                            .unwrap_or_default(),
                        month,
                        offered: 0,
                        answered: 0,
                        answered_in_time: 0,
                        matched: 0,
                        accepted: 0,
                        median_days_to_answer: None,
                    },
                    Vec::new(),
                )
            });
        line.offered += 1;
        if let Some(at) = home.answered_at {
            line.answered += 1;
            if home.answer_due.is_none_or(|due| at <= due) {
                line.answered_in_time += 1;
            }
            days.push(at.duration_since(home.offered_at).as_hours() / 24);
        }
        if home.candidate_named {
            line.matched += 1;
        }
        if home.accepted {
            line.accepted += 1;
        }
    }
    grouped
        .into_values()
        .map(|(mut line, mut days)| {
            line.median_days_to_answer = median(&mut days);
            line
        })
        .collect()
}

pub fn rows(lines: &[HousingLine]) -> Rows {
    Rows {
        headers: vec![
            "municipality",
            "name",
            "month",
            "offered",
            "answered",
            "answered_in_time",
            "matched",
            "accepted",
            "median_days_to_answer",
        ],
        rows: lines
            .iter()
            .map(|l| {
                vec![
                    l.municipality.clone(),
                    l.name.clone(),
                    l.month.clone(),
                    l.offered.to_string(),
                    l.answered.to_string(),
                    l.answered_in_time.to_string(),
                    l.matched.to_string(),
                    l.accepted.to_string(),
                    number(l.median_days_to_answer),
                ]
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home(offered: &str, due: &str, answered: Option<&str>, named: bool, accepted: bool) -> VacantHomeRow {
        VacantHomeRow {
            municipality: "751".to_owned(),
            offered_at: offered.parse().unwrap(),
            answer_due: Some(due.parse().unwrap()),
            answered_at: answered.map(|a| a.parse().unwrap()),
            candidate_named: named,
            accepted,
        }
    }

    #[test]
    fn homes_are_counted_in_the_month_of_their_offer_with_answers_in_time_and_accepted() {
        let homes = [
            home(
                "2026-11-02T09:00:00Z",
                "2026-11-10T14:00:00Z",
                Some("2026-11-05T09:00:00Z"),
                true,
                true,
            ),
            home(
                "2026-11-20T09:00:00Z",
                "2026-11-25T14:00:00Z",
                Some("2026-11-27T09:00:00Z"),
                false,
                false,
            ),
            home("2026-11-30T23:30:00Z", "2026-12-10T14:00:00Z", None, false, false),
        ];
        let found = lines(&homes);
        assert_eq!(found.len(), 2, "the last was offered on 1 December in Copenhagen");
        let november = &found[0];
        assert_eq!((november.month.as_str(), november.name.as_str()), ("2026-11", "Aarhus"));
        assert_eq!(
            (
                november.offered,
                november.answered,
                november.answered_in_time,
                november.matched,
                november.accepted
            ),
            (2, 2, 1, 1, 1)
        );
        assert_eq!(november.median_days_to_answer, Some(5.0));
        assert_eq!(
            (found[1].month.as_str(), found[1].offered, found[1].answered),
            ("2026-12", 1, 0)
        );
        assert_eq!(found[1].median_days_to_answer, None);
    }
}
