//! The hard rules (which exclude) and the soft ones (which order), with their weights from
//! `[matching]`.

use super::reasons::{days, kroner};
use super::{Home, Seeker};
use crate::config::MatchingSettings;
use jiff::civil::Date;
use serde::Serialize;

/// A rule that rules a citizen out. Checked in this order; the first broken one is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HardRule {
    /// The citizen has a dog and the home allows none.
    Dog,
    /// The citizen has a cat and the home allows none.
    Cat,
    /// The citizen needs step-free access and the home does not say it has it.
    StepFree,
    /// The rent is above the citizen's limit.
    Rent,
    /// The citizen is released too long after the home is available (it would stand empty).
    Timing,
}

impl HardRule {
    pub const ALL: [HardRule; 5] = [
        HardRule::Dog,
        HardRule::Cat,
        HardRule::StepFree,
        HardRule::Rent,
        HardRule::Timing,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HardRule::Dog => "dog",
            HardRule::Cat => "cat",
            HardRule::StepFree => "step_free",
            HardRule::Rent => "rent",
            HardRule::Timing => "timing",
        }
    }

    pub fn parse(text: &str) -> Option<HardRule> {
        HardRule::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// The rules in force and the soft rules' weights, checked once at start.
#[derive(Debug, Clone, PartialEq)]
pub struct MatchRules {
    pub hard: Vec<HardRule>,
    pub max_days_before_release: i32,
    pub release_window_days: i32,
    pub waited_full_days: i32,
    pub rooms: f64,
    pub preferred_postcode: f64,
    pub avoided_postcode: f64,
    pub release_soon: f64,
    pub waited: f64,
}

impl MatchRules {
    /// Checks `[matching]`; an error names the key.
    pub fn from_settings(settings: &MatchingSettings) -> anyhow::Result<MatchRules> {
        let mut hard = Vec::new();
        for name in &settings.hard_rules {
            let rule = HardRule::parse(name).ok_or_else(|| {
                anyhow::anyhow!("matching.hard_rules: {name:?} is not a hard rule (dog, cat, step_free, rent, timing)")
            })?;
            if !hard.contains(&rule) {
                hard.push(rule);
            }
        }
        hard.sort();
        let days = |key: &str, value: u32| -> anyhow::Result<i32> {
            anyhow::ensure!((1..=3650).contains(&value), "matching.{key}: between 1 and 3650 days");
            Ok(value as i32)
        };
        let w = &settings.weights;
        for (key, value) in [
            ("rooms", w.rooms),
            ("preferred_postcode", w.preferred_postcode),
            ("avoided_postcode", w.avoided_postcode),
            ("release_soon", w.release_soon),
            ("waited", w.waited),
        ] {
            anyhow::ensure!(
                value.is_finite() && (0.0..=1000.0).contains(&value),
                "matching.weights.{key}: a number from 0 to 1000"
            );
        }
        Ok(MatchRules {
            hard,
            max_days_before_release: days("max_days_before_release", settings.max_days_before_release)?,
            release_window_days: days("release_window_days", settings.release_window_days)?,
            waited_full_days: days("waited_full_days", settings.waited_full_days)?,
            rooms: w.rooms,
            preferred_postcode: w.preferred_postcode,
            avoided_postcode: w.avoided_postcode,
            release_soon: w.release_soon,
            waited: w.waited,
        })
    }

    /// The embedded defaults (`src/defaults.toml`'s `[matching]`).
    pub fn defaults() -> MatchRules {
        let settings = crate::config::Settings::load_from(None, Vec::new()).expect("the embedded defaults load");
        MatchRules::from_settings(&settings.matching).expect("the embedded defaults are valid")
    }

    fn applies(&self, rule: HardRule) -> bool {
        self.hard.contains(&rule)
    }

    /// The seeker's score and reasons, or the first hard rule broken and why.
    pub(super) fn judge(
        &self,
        home: &Home,
        seeker: &Seeker,
        today: Date,
    ) -> Result<(f64, Vec<String>), (HardRule, String)> {
        let needs = &seeker.needs;
        let mut reasons = Vec::with_capacity(6);
        if needs.dog && self.applies(HardRule::Dog) {
            if !home.dogs_allowed {
                return Err((HardRule::Dog, "hund ikke tilladt".to_owned()));
            }
            reasons.push("hund tilladt".to_owned());
        }
        if needs.cat && self.applies(HardRule::Cat) {
            if !home.cats_allowed {
                return Err((HardRule::Cat, "kat ikke tilladt".to_owned()));
            }
            reasons.push("kat tilladt".to_owned());
        }
        if needs.step_free && self.applies(HardRule::StepFree) {
            match home.step_free {
                Some(true) => reasons.push("niveaufri adgang".to_owned()),
                Some(false) => return Err((HardRule::StepFree, "ikke niveaufri adgang".to_owned())),
                None => return Err((HardRule::StepFree, "niveaufri adgang ikke oplyst".to_owned())),
            }
        }
        if let (Some(limit), true) = (needs.max_rent_dkk, self.applies(HardRule::Rent)) {
            let (rent, max) = (kroner(home.monthly_rent_dkk), kroner(f64::from(limit)));
            if home.monthly_rent_dkk > f64::from(limit) {
                return Err((HardRule::Rent, format!("husleje {rent} > {max}")));
            }
            reasons.push(format!("husleje {rent} ≤ {max}"));
        }
        let release = seeker.release_date;
        let until_release = release.map(|r| day_span(today, r));
        if let (Some(r), true) = (release, self.applies(HardRule::Timing)) {
            let empty_for = day_span(home.available_from, r);
            if r > today && empty_for > self.max_days_before_release {
                return Err((
                    HardRule::Timing,
                    format!(
                        "løsladelse {} efter overtagelsesdatoen (højst {})",
                        days(empty_for),
                        days(self.max_days_before_release)
                    ),
                ));
            }
        }

        let mut score = 0.0;
        match until_release {
            Some(n) if n > 0 => {
                let closeness = 1.0 - f64::from(n.min(self.release_window_days)) / f64::from(self.release_window_days);
                score += self.release_soon * closeness;
                reasons.push(format!("løsladelse om {}", days(n)));
            }
            Some(0) => {
                score += self.release_soon;
                reasons.push("løsladelse i dag".to_owned());
            }
            Some(n) => {
                score += self.release_soon;
                reasons.push(format!("løsladt for {} siden uden bolig", days(-n)));
            }
            None => reasons.push("ingen løsladelsesdato".to_owned()),
        }
        if let Some(r) = release {
            let gap = day_span(r, home.available_from);
            if gap > 0 {
                reasons.push(format!("ledig {} efter løsladelsen", days(gap)));
            }
        }
        let waited = day_span(seeker.seeking_since, today).max(0);
        score += self.waited * f64::from(waited.min(self.waited_full_days)) / f64::from(self.waited_full_days);
        if waited > 0 {
            reasons.push(format!("søgt bolig i {}", days(waited)));
        }
        if let Some(min) = needs.min_rooms {
            if home.rooms >= min {
                score += self.rooms;
                reasons.push(format!("{} værelser, mindst {min} ønsket", home.rooms));
            } else {
                score -= self.rooms;
                reasons.push(format!("kun {} værelser, mindst {min} ønsket", home.rooms));
            }
        }
        if let Some(postcode) = &home.postcode {
            if needs.avoided_postcodes.contains(postcode) {
                score -= self.avoided_postcode;
                reasons.push(format!("postnummer {postcode} fravalgt"));
            } else if needs.preferred_postcodes.contains(postcode) {
                score += self.preferred_postcode;
                reasons.push(format!("postnummer {postcode} ønsket"));
            } else if !needs.preferred_postcodes.is_empty() {
                reasons.push(format!("postnummer {postcode} ikke blandt de ønskede"));
            }
        }
        Ok((score, reasons))
    }
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
fn day_span(from: Date, to: Date) -> i32 {
    from.until(to).map(|span| span.get_days()).unwrap_or(0)
}
