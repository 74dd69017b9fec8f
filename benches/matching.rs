//! Ranking the citizens seeking housing against one vacant home: 10,000 seekers with varied
//! needs (dogs, cats, step-free access, rent limits, rooms, postcodes, release dates before and
//! after today), ranked again and again with the default rules; prints the median, p99 and worst
//! time of one ranking. Pure computation: no database, as `matching::rank` is called by the
//! candidates endpoint once the seekers are read. `cargo bench --bench matching [-- SEEKERS]`.

#[global_allocator]
static GLOBAL: indgang::alloc::Allocator = indgang::alloc::Allocator;

use indgang::matching::{Home, MatchRules, Needs, Seeker, rank};
use jiff::ToSpan;
use jiff::civil::date;
use std::time::{Duration, Instant};

const RUNS: usize = 200;

/// A small deterministic generator, so every run ranks the same citizens.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

fn main() {
    let wanted: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let today = date(2026, 11, 23);
    let home = Home {
        kind: "public_housing".to_owned(),
        rooms: 2,
        monthly_rent_dkk: 4850.0,
        dogs_allowed: true,
        cats_allowed: false,
        step_free: Some(false),
        postcode: Some("8000".to_owned()),
        available_from: date(2026, 12, 15),
        answer_deadline: date(2026, 12, 1),
    };
    let postcodes = ["8000", "8200", "8210", "8220", "8230", "8240", "8260", "8270"];
    let mut random = Lcg(17);
    let seekers: Vec<Seeker> = (0..wanted)
        .map(|i| {
            let pick = |r: &mut Lcg| postcodes[r.next(postcodes.len() as u64) as usize].to_owned();
            let needs = Needs {
                dog: random.next(3) == 0,
                cat: random.next(10) == 0,
                step_free: random.next(20) == 0,
                min_rooms: (random.next(2) == 0).then(|| 1 + random.next(3) as u32),
                max_rent_dkk: (random.next(2) == 0).then(|| 4000 + 100 * random.next(30) as u32),
                preferred_postcodes: (0..random.next(3)).map(|_| pick(&mut random)).collect(),
                avoided_postcodes: (0..random.next(2)).map(|_| pick(&mut random)).collect(),
            };
            let release = today + (random.next(240) as i64 - 60).days();
            Seeker {
                case_ref: format!("K-2026-{:06}", i + 1),
                release_date: (random.next(20) != 0).then_some(release),
                seeking_since: today - (random.next(365) as i64).days(),
                needs,
            }
        })
        .collect();
    let rules = MatchRules::defaults();

    let first = rank(&home, &seekers, today, &rules);
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            let ranking = rank(&home, &seekers, today, &rules);
            let took = started.elapsed();
            assert_eq!(ranking.candidates.len(), first.candidates.len());
            took
        })
        .collect();
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "ranked {wanted} seekers against one home {RUNS} times: {} candidates, {} excluded",
        first.candidates.len(),
        first.excluded.len()
    );
    println!(
        "one ranking: median {:.2} ms, p99 {:.2} ms, worst {:.2} ms (target: under 20 ms)",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3
    );
}
