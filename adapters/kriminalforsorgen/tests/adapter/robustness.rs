//! Arbitrary bytes, mutated samples and markup soup never make the adapter panic, each input is
//! answered quickly, faults always carry a position, and whatever is accepted round-trips.
//! Plus the limits, one by one, on inputs built to hit them.

use crate::common::{files, read};
use indgang_kriminalforsorgen::{MAX_DEPTH, MAX_FAULTS, MAX_INPUT_BYTES, from_canonical, to_canonical};
use proptest::prelude::*;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Generous for a debug build on a busy machine; a real answer takes well under a millisecond.
const PER_INPUT: Duration = Duration::from_millis(750);

fn samples() -> &'static [Vec<u8>] {
    static SAMPLES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        ["samples/valid", "samples/invalid", "samples/invalid-rules"]
            .into_iter()
            .flat_map(|dir| files(dir, "xml"))
            .map(|path| read(&path))
            .collect()
    })
}

/// Runs the adapter on one input and checks everything that must hold whatever the input.
fn check(input: &[u8]) {
    let start = Instant::now();
    let result = to_canonical(input);
    let elapsed = start.elapsed();
    assert!(elapsed < PER_INPUT, "{} bytes took {elapsed:?}", input.len());
    match result {
        Err(faults) => {
            assert!(!faults.is_empty());
            assert!(faults.len() <= MAX_FAULTS + 1, "{} faults", faults.len());
            assert!(faults.iter().all(|f| f.line > 0 && f.column > 0), "{faults:?}");
        }
        Ok(message) => {
            let xml = from_canonical(&message).expect("an accepted message can be written as XML");
            assert_eq!(to_canonical(xml.as_bytes()).expect("and read back"), message);
        }
    }
}

/// Pieces of markup that are likely to reach deep into the parser when spliced into a sample.
const SNIPPETS: &[&str] = &[
    "<",
    ">",
    "</",
    "/>",
    "&",
    ";",
    "&amp;",
    "&#",
    "&#x",
    "&#xE6;",
    "&#0;",
    "]]>",
    "<![CDATA[",
    "<!--",
    "-->",
    "<?",
    "?>",
    "<!DOCTYPE a [<!ENTITY e \"x\">]>",
    "&e;",
    "xmlns=\"\"",
    "xmlns:k=\"urn:x\"",
    "k:",
    "=\"",
    "\"",
    "'",
    " ",
    "\r\n",
    "\u{0}",
    "\u{c3}",
    "æøå",
    "<Behov>housing</Behov>",
    "<Samtykke>given</Samtykke>",
    "<Bemaerkninger>",
    "</Bemaerkninger>",
    "<Afsender>",
    "</Borger>",
    "<?xml version=\"1.0\"?>",
    "encoding=\"ISO-8859-1\"",
    "xsi:nil=\"true\"",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Insert { at: usize, byte: u8 },
    Splice { at: usize, snippet: usize },
    Delete { at: usize, len: usize },
    Duplicate { at: usize, len: usize },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        (any::<usize>(), 0..SNIPPETS.len()).prop_map(|(at, snippet)| Mutation::Splice { at, snippet }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 1usize..256).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let place = |at: usize, len: usize| if len == 0 { 0 } else { at % (len + 1) };
    match *mutation {
        Mutation::Flip { at, bit } if !bytes.is_empty() => {
            let at = at % bytes.len();
            bytes[at] ^= 1 << bit;
        }
        Mutation::Flip { .. } => {}
        Mutation::Insert { at, byte } => bytes.insert(place(at, bytes.len()), byte),
        Mutation::Splice { at, snippet } => {
            let at = place(at, bytes.len());
            bytes.splice(at..at, SNIPPETS[snippet].bytes());
        }
        Mutation::Delete { at, len } => {
            let at = place(at, bytes.len());
            let end = (at + len).min(bytes.len());
            bytes.drain(at..end);
        }
        Mutation::Duplicate { at, len } => {
            let at = place(at, bytes.len());
            let end = (at + len).min(bytes.len());
            let copy = bytes[at..end].to_vec();
            bytes.splice(end..end, copy);
        }
        Mutation::Truncate { at } => bytes.truncate(place(at, bytes.len())),
    }
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(2048))]

    #[test]
    fn arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&input);
    }

    #[test]
    fn mutated_samples(sample in any::<prop::sample::Index>(), mutations in proptest::collection::vec(mutation(), 1..6)) {
        let samples = samples();
        let mut bytes = samples[sample.index(samples.len())].clone();
        for mutation in &mutations {
            apply(&mut bytes, mutation);
        }
        check(&bytes);
    }

    #[test]
    fn markup_soup(pieces in proptest::collection::vec(0..SNIPPETS.len(), 0..200)) {
        let mut input = String::from("<Loesladelsesmeddelelse xmlns=\"urn:indgang:kriminalforsorgen:loesladelse:1\">");
        for piece in pieces {
            input.push_str(SNIPPETS[piece]);
        }
        check(input.as_bytes());
    }
}

/// Text XML 1.0 can carry, with plenty of the characters that need escaping or normalising.
fn xml_text(max: usize) -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just('&'),
        Just('<'),
        Just('>'),
        Just('\r'),
        Just('\n'),
        Just('\t'),
        Just(']'),
        Just(' ')
    ];
    let character = prop_oneof![3 => any::<char>(), 1 => special];
    proptest::collection::vec(character, 1..max).prop_map(|chars| {
        chars
            .into_iter()
            .map(|c| {
                if matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..) {
                    c
                } else {
                    '?'
                }
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(config(512))]

    /// Free text of any kind survives the trip JSON → XML → JSON unchanged.
    #[test]
    fn free_text_round_trips(notes in xml_text(300), name in xml_text(200), place in xml_text(200)) {
        let mut message = crate::common::read_json("../../schemas/examples/release-notice/valid/initial-parole.json");
        message["notes"] = notes.into();
        message["citizen"]["name"] = name.chars().take(200).collect::<String>().into();
        message["release_meeting"]["place"] = place.chars().take(200).collect::<String>().into();
        let xml = from_canonical(&message).expect("writable");
        prop_assert_eq!(to_canonical(xml.as_bytes()).expect("readable"), message);
    }
}

const OPEN: &str = "<Loesladelsesmeddelelse xmlns=\"urn:indgang:kriminalforsorgen:loesladelse:1\">";

fn faults(input: &[u8]) -> Vec<String> {
    let start = Instant::now();
    let result = to_canonical(input);
    assert!(start.elapsed() < PER_INPUT, "took {:?}", start.elapsed());
    result.expect_err("refused").into_iter().map(|f| f.message).collect()
}

#[test]
fn deep_nesting_stops_at_the_limit() {
    let input = format!("{OPEN}{}", "<Bemaerkninger>".repeat(60_000));
    let faults = faults(input.as_bytes());
    assert!(
        faults[0].contains(&format!("nested more than {MAX_DEPTH} deep")),
        "{faults:?}"
    );
}

#[test]
fn too_many_elements_stop_at_the_limit() {
    let input = format!("{OPEN}{}", "<x/>".repeat(100_000));
    let faults = faults(input.as_bytes());
    assert!(
        faults.iter().any(|f| f.contains("more than 1000 elements")),
        "{faults:?}"
    );
}

#[test]
fn faults_are_capped() {
    let input = format!("{OPEN}{}</Loesladelsesmeddelelse>", "<Ukendt/>".repeat(900));
    let faults = faults(input.as_bytes());
    assert_eq!(faults.len(), MAX_FAULTS + 1);
    assert!(faults[MAX_FAULTS].contains("the rest are not listed"));
}

#[test]
fn too_many_attributes_are_refused() {
    let attributes: String = (0..100).map(|i| format!(" xmlns:p{i}=\"urn:p{i}\"")).collect();
    let input = format!("<Loesladelsesmeddelelse{attributes}/>");
    assert!(faults(input.as_bytes())[0].contains("more than 32 attributes"));
}

#[test]
fn size_is_bounded_and_the_limit_itself_is_accepted() {
    let sample = std::fs::read("samples/valid/initial-parole.xml").expect("sample");
    let mut padded = sample.clone();
    padded.resize(MAX_INPUT_BYTES, b'\n');
    check(&padded);
    assert!(to_canonical(&padded).is_ok(), "a valid notice padded to exactly 1 MiB");
    padded.push(b'\n');
    assert!(faults(&padded)[0].contains("1 MiB"));
}

#[test]
fn a_megabyte_of_text_is_answered_quickly() {
    let input = format!(
        "{OPEN}<Bemaerkninger>{}</Bemaerkninger></Loesladelsesmeddelelse>",
        "æøå ".repeat(120_000)
    );
    let faults = faults(input.as_bytes());
    assert!(
        faults.iter().any(|f| f.contains("at most 4000 characters")),
        "{faults:?}"
    );
}

#[test]
fn billion_laughs_is_refused_before_any_expansion() {
    let mut input = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE l [\n<!ENTITY l0 \"ha\">\n");
    for i in 1..30 {
        input.push_str(&format!("<!ENTITY l{i} \"{}\">\n", format!("&l{};", i - 1).repeat(10)));
    }
    input.push_str("]>\n<l>&l29;</l>");
    let faults = faults(input.as_bytes());
    assert!(faults[0].contains("entity declarations are refused"), "{faults:?}");
}
