//! Arbitrary bytes and mutations of the samples never panic and finish quickly.

use indgang_boligtildeling::{Sender, parse_batch};
use proptest::prelude::*;
use std::time::{Duration, Instant};

const SAMPLES: [&[u8]; 2] = [
    include_bytes!("../../samples/tilbud-crlf-bom.csv"),
    include_bytes!("../../samples/tilbud-lf-uden-bom.csv"),
];

fn sender() -> Sender {
    Sender {
        id: "boligtildeling-kbh".to_owned(),
        name: "Den Sociale Boligtildeling".to_owned(),
    }
}

fn check(bytes: &[u8]) {
    let started = Instant::now();
    let outcome = parse_batch(bytes, &sender());
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{} bytes took {:?}",
        bytes.len(),
        started.elapsed()
    );
    if let Ok(rows) = outcome {
        for row in rows {
            if let Err(faults) = row.result {
                assert!(!faults.is_empty());
            }
        }
    }
}

/// One edit of a sample: overwrite, insert or delete a byte, or insert one of the bytes that
/// matter to CSV.
#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, u8),
    Delete(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let byte = prop_oneof![
        any::<u8>(),
        Just(b';'),
        Just(b'"'),
        Just(b'\n'),
        Just(b'\r'),
        Just(b',')
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Edit::Set(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Edit::Insert(at, b)),
        any::<usize>().prop_map(Edit::Delete),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn random_text_never_panics(text in "[a-z0-9;\",.:\\-\n\r æøå§²]{0,600}") {
        check(format!("tilbud_id;tilbudstype;kommune;sendt;husleje;m2;ledig_fra;fremvisning\n{text}").as_bytes());
    }

    #[test]
    fn mutated_samples_never_panic(which in 0..SAMPLES.len(), edits in proptest::collection::vec(edit(), 1..16)) {
        let mut bytes = SAMPLES[which].to_vec();
        for edit in edits {
            let len = bytes.len().max(1);
            match edit {
                Edit::Set(at, b) => if let Some(slot) = bytes.get_mut(at % len) { *slot = b },
                Edit::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
                Edit::Delete(at) => if !bytes.is_empty() { bytes.remove(at % len); },
            }
        }
        check(&bytes);
    }
}
