use super::*;
use jiff::civil::date;

fn home() -> Home {
    Home {
        kind: "public_housing".to_owned(),
        rooms: 2,
        monthly_rent_dkk: 4850.0,
        dogs_allowed: true,
        cats_allowed: false,
        step_free: Some(false),
        postcode: Some("8000".to_owned()),
        available_from: date(2027, 3, 1),
        answer_deadline: date(2027, 2, 15),
    }
}

const TODAY: Date = date(2027, 2, 10);

fn seeker_at(case_ref: &str, release: Option<Date>, needs: Needs) -> Seeker {
    Seeker {
        case_ref: case_ref.to_owned(),
        release_date: release,
        seeking_since: date(2027, 1, 1),
        needs,
    }
}

fn one(home: &Home, seeker: Seeker) -> Result<Candidate, Excluded> {
    let ranking = rank(home, &[seeker], TODAY, &MatchRules::defaults());
    match (ranking.candidates.first(), ranking.excluded.first()) {
        (Some(c), None) => Ok(c.clone()),
        (None, Some(e)) => Err(e.clone()),
        other => panic!("one seeker, one answer: {other:?}"),
    }
}

fn soon() -> Option<Date> {
    Some(date(2027, 2, 22))
}

#[test]
fn a_dog_needs_a_home_that_allows_dogs() {
    let needs = Needs {
        dog: true,
        ..Needs::default()
    };
    let kept = one(&home(), seeker_at("K-2027-000001", soon(), needs.clone())).unwrap();
    assert_eq!(kept.reasons[0], "hund tilladt");
    let no_dogs = Home {
        dogs_allowed: false,
        ..home()
    };
    let out = one(&no_dogs, seeker_at("K-2027-000001", soon(), needs)).unwrap_err();
    assert_eq!((out.rule, out.reason.as_str()), (HardRule::Dog, "hund ikke tilladt"));
    // No dog, no rule: a home without dogs suits a citizen without one.
    assert!(one(&no_dogs, seeker_at("K-2027-000002", soon(), Needs::default())).is_ok());
}

#[test]
fn a_cat_needs_a_home_that_allows_cats() {
    let needs = Needs {
        cat: true,
        ..Needs::default()
    };
    let out = one(&home(), seeker_at("K-2027-000001", soon(), needs.clone())).unwrap_err();
    assert_eq!((out.rule, out.reason.as_str()), (HardRule::Cat, "kat ikke tilladt"));
    let cats = Home {
        cats_allowed: true,
        ..home()
    };
    assert_eq!(
        one(&cats, seeker_at("K-2027-000001", soon(), needs)).unwrap().reasons[0],
        "kat tilladt"
    );
}

#[test]
fn step_free_access_must_be_stated_when_needed() {
    let needs = Needs {
        step_free: true,
        ..Needs::default()
    };
    let out = one(&home(), seeker_at("K-2027-000001", soon(), needs.clone())).unwrap_err();
    assert_eq!(
        (out.rule, out.reason.as_str()),
        (HardRule::StepFree, "ikke niveaufri adgang")
    );
    let unsaid = Home {
        step_free: None,
        ..home()
    };
    let out = one(&unsaid, seeker_at("K-2027-000001", soon(), needs.clone())).unwrap_err();
    assert_eq!(out.reason, "niveaufri adgang ikke oplyst");
    let level = Home {
        step_free: Some(true),
        ..home()
    };
    assert_eq!(
        one(&level, seeker_at("K-2027-000001", soon(), needs)).unwrap().reasons[0],
        "niveaufri adgang"
    );
}

#[test]
fn the_rent_must_be_within_the_limit_and_the_reason_says_it_in_kroner() {
    let within = Needs {
        max_rent_dkk: Some(5200),
        ..Needs::default()
    };
    let kept = one(&home(), seeker_at("K-2027-000001", soon(), within)).unwrap();
    assert_eq!(kept.reasons[0], "husleje 4.850 kr. ≤ 5.200 kr.");
    let tight = Needs {
        max_rent_dkk: Some(4800),
        ..Needs::default()
    };
    let out = one(&home(), seeker_at("K-2027-000001", soon(), tight)).unwrap_err();
    assert_eq!(
        (out.rule, out.reason.as_str()),
        (HardRule::Rent, "husleje 4.850 kr. > 4.800 kr.")
    );
    let exact = Needs {
        max_rent_dkk: Some(4850),
        ..Needs::default()
    };
    assert!(
        one(&home(), seeker_at("K-2027-000001", soon(), exact)).is_ok(),
        "at the limit is within it"
    );
}

#[test]
fn a_home_free_long_before_the_release_is_excluded_but_not_for_the_released() {
    // Available 1 March; released 15 April is 45 days later, over the default 30.
    let out = one(
        &home(),
        seeker_at("K-2027-000001", Some(date(2027, 4, 15)), Needs::default()),
    )
    .unwrap_err();
    assert_eq!(out.rule, HardRule::Timing);
    assert_eq!(
        out.reason,
        "løsladelse 45 dage efter overtagelsesdatoen (højst 30 dage)"
    );
    assert!(
        one(
            &home(),
            seeker_at("K-2027-000002", Some(date(2027, 3, 31)), Needs::default())
        )
        .is_ok()
    );
    let released = one(
        &home(),
        seeker_at("K-2027-000003", Some(date(2027, 1, 20)), Needs::default()),
    )
    .unwrap();
    assert_eq!(released.reasons[0], "løsladt for 21 dage siden uden bolig");
}

#[test]
fn a_hard_rule_switched_off_excludes_nobody() {
    let mut rules = MatchRules::defaults();
    rules.hard.retain(|r| *r != HardRule::Dog);
    let no_dogs = Home {
        dogs_allowed: false,
        ..home()
    };
    let needs = Needs {
        dog: true,
        ..Needs::default()
    };
    let ranking = rank(&no_dogs, &[seeker_at("K-2027-000001", soon(), needs)], TODAY, &rules);
    assert_eq!(ranking.candidates.len(), 1);
    assert!(!ranking.candidates[0].reasons.iter().any(|r| r.contains("hund")));
}

#[test]
fn the_released_come_first_then_the_soonest_release_then_the_longest_wait() {
    let seekers = [
        seeker_at("K-2027-000001", Some(date(2027, 3, 20)), Needs::default()),
        seeker_at("K-2027-000002", Some(date(2027, 2, 12)), Needs::default()),
        seeker_at("K-2027-000003", Some(date(2027, 2, 1)), Needs::default()),
        Seeker {
            seeking_since: date(2026, 10, 1),
            ..seeker_at("K-2027-000004", Some(date(2027, 3, 20)), Needs::default())
        },
    ];
    let ranking = rank(&home(), &seekers, TODAY, &MatchRules::defaults());
    let order: Vec<&str> = ranking.candidates.iter().map(|c| c.case_ref.as_str()).collect();
    assert_eq!(
        order,
        ["K-2027-000003", "K-2027-000002", "K-2027-000004", "K-2027-000001"]
    );
    assert_eq!(
        ranking.candidates.iter().map(|c| c.rank).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(
        ranking.candidates[1]
            .reasons
            .contains(&"løsladelse om 2 dage".to_owned())
    );
    assert!(
        ranking.candidates[2]
            .reasons
            .contains(&"søgt bolig i 132 dage".to_owned())
    );
}

#[test]
fn rooms_and_postcodes_order_without_excluding() {
    let fits = Needs {
        min_rooms: Some(2),
        preferred_postcodes: vec!["8000".to_owned()],
        ..Needs::default()
    };
    let avoids = Needs {
        min_rooms: Some(3),
        avoided_postcodes: vec!["8000".to_owned()],
        ..Needs::default()
    };
    let seekers = [
        seeker_at("K-2027-000001", soon(), avoids),
        seeker_at("K-2027-000002", soon(), fits),
    ];
    let ranking = rank(&home(), &seekers, TODAY, &MatchRules::defaults());
    assert!(ranking.excluded.is_empty());
    let best = &ranking.candidates[0];
    assert_eq!(best.case_ref, "K-2027-000002");
    assert!(best.reasons.contains(&"2 værelser, mindst 2 ønsket".to_owned()));
    assert!(best.reasons.contains(&"postnummer 8000 ønsket".to_owned()));
    let last = &ranking.candidates[1];
    assert!(last.reasons.contains(&"kun 2 værelser, mindst 3 ønsket".to_owned()));
    assert!(last.reasons.contains(&"postnummer 8000 fravalgt".to_owned()));
    assert!(best.score > last.score);
}

#[test]
fn the_order_does_not_depend_on_the_input_order() {
    let mut seekers: Vec<Seeker> = (1..=20)
        .map(|i| seeker_at(&format!("K-2027-{i:06}"), Some(date(2027, 2, 20)), Needs::default()))
        .collect();
    let first = rank(&home(), &seekers, TODAY, &MatchRules::defaults());
    seekers.reverse();
    assert_eq!(rank(&home(), &seekers, TODAY, &MatchRules::defaults()), first);
    assert_eq!(first.candidates[0].case_ref, "K-2027-000001");
}

#[test]
fn danish_numbers_and_days() {
    assert_eq!(kroner(4850.0), "4.850 kr.");
    assert_eq!(kroner(12345678.5), "12.345.678,50 kr.");
    assert_eq!(kroner(0.0), "0 kr.");
    assert_eq!(kroner(999.0), "999 kr.");
    assert_eq!(days(1), "1 dag");
    assert_eq!(days(12), "12 dage");
}

#[test]
fn the_settings_are_checked_and_name_their_key() {
    let mut settings = crate::config::Settings::load_from(None, Vec::new()).unwrap().matching;
    settings.hard_rules.push("parking".to_owned());
    let error = MatchRules::from_settings(&settings).unwrap_err().to_string();
    assert!(error.starts_with("matching.hard_rules: \"parking\""), "{error}");
    let mut settings = crate::config::Settings::load_from(None, Vec::new()).unwrap().matching;
    settings.weights.waited = f64::NAN;
    let error = MatchRules::from_settings(&settings).unwrap_err().to_string();
    assert!(error.starts_with("matching.weights.waited"), "{error}");
}

#[test]
fn a_home_comes_from_the_offer_summary() {
    let summary = serde_json::json!({
        "offer_type": "offer", "dwelling.kind": "skaev_bolig", "dwelling.rooms": 1,
        "dwelling.monthly_rent_dkk": 3900.5, "dwelling.dogs_allowed": true, "dwelling.cats_allowed": false,
        "dwelling.address.postcode": "2700", "available_from": "2027-03-01", "answer_deadline": "2027-02-15"
    });
    let home = Home::from_summary(&summary).unwrap();
    assert_eq!(
        (home.rooms, home.step_free, home.postcode.as_deref()),
        (1, None, Some("2700"))
    );
    assert!(Home::from_summary(&serde_json::json!({ "offer_type": "withdrawal" })).is_none());
}

fn row(needs: Option<Needs>, notices: Vec<serde_json::Value>, housing: Option<&str>) -> crate::store::SeekerRow {
    crate::store::SeekerRow {
        case_ref: crate::domain::CaseRef::parse("K-2026-000007").unwrap(),
        needs_recorded_at: needs.as_ref().map(|_| "2027-01-05T10:00:00Z".parse().unwrap()),
        needs,
        notices: notices
            .into_iter()
            .map(|s| ("2026-12-01T10:00:00Z".parse().unwrap(), s))
            .collect(),
        housing_deadline: housing.map(str::to_owned),
    }
}

#[test]
fn a_release_notice_needing_housing_without_a_home_marks_a_seeker() {
    let seeking = serde_json::json!({ "notice_type": "initial", "needs_housing": true,
        "housing_at_release": "none", "release.expected_date": "2027-02-22" });
    let found = super::seeker(&row(None, vec![seeking.clone()], Some("open"))).unwrap();
    assert_eq!((found.release_date, found.seeking_since), (soon(), date(2026, 12, 1)));
    assert_eq!(found.needs, Needs::default());
    // A missed housing deadline is a citizen released without housing: still seeking.
    assert!(super::seeker(&row(None, vec![seeking.clone()], Some("missed"))).is_some());
    // A home found, or the notice cancelled: no longer.
    assert!(super::seeker(&row(None, vec![seeking.clone()], Some("met"))).is_none());
    assert!(super::seeker(&row(None, vec![seeking.clone()], Some("cancelled"))).is_none());
    // A home at release, or housing not among the needs: not seeking, unless needs are recorded.
    let housed = serde_json::json!({ "needs_housing": true, "housing_at_release": "public_housing" });
    assert!(super::seeker(&row(None, vec![seeking.clone(), housed.clone()], Some("open"))).is_none());
    let other = serde_json::json!({ "needs_housing": false, "housing_at_release": "unknown" });
    assert!(super::seeker(&row(None, vec![other], None)).is_none());
    let recorded = Needs {
        dog: true,
        ..Needs::default()
    };
    let found = super::seeker(&row(Some(recorded), vec![housed], Some("open"))).unwrap();
    assert!(found.needs.dog);
    assert_eq!(found.seeking_since, date(2027, 1, 5));
}
