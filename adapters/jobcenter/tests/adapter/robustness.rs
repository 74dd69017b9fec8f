//! Arbitrary bytes and mutations of the samples never panic and finish quickly.

use indgang_jobcenter::{is_envelope, to_canonical};
use proptest::prelude::*;
use std::time::{Duration, Instant};

const SAMPLES: [&[u8]; 4] = [
    include_bytes!("../../samples/valid/benefit-application-received.xml"),
    include_bytes!("../../samples/valid/appointment-default-namespace.xml"),
    include_bytes!("../../samples/valid/other-with-cdata-and-references.xml"),
    include_bytes!("../../samples/valid/case-closed-minimal-bom-crlf.xml"),
];

fn check(bytes: &[u8]) {
    let started = Instant::now();
    let _ = is_envelope(bytes);
    if let Err(faults) = to_canonical(bytes) {
        assert!(!faults.is_empty());
        assert!(faults.iter().all(|f| f.line >= 1 && f.column >= 1));
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{} bytes took {:?}",
        bytes.len(),
        started.elapsed()
    );
}

#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let piece = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        Just(b"<".to_vec()),
        Just(b">".to_vec()),
        Just(b"&".to_vec()),
        Just(b"&lt;".to_vec()),
        Just(b"<![CDATA[".to_vec()),
        Just(b"<!DOCTYPE x>".to_vec()),
        Just(b"</x>".to_vec()),
        Just(b"<jc:Ydelse>".to_vec()),
        Just(b"xmlns:jc=\"urn:x\" ".to_vec()),
        Just("æ".as_bytes().to_vec()),
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Edit::Set(at, b)),
        (any::<usize>(), piece).prop_map(|(at, p)| Edit::Insert(at, p)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Edit::Delete(at, n)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn random_markup_never_panics(text in "(<[a-zA-Z:]{1,6}( [a-z:]{1,5}=\"[^\"<]{0,6}\")?/?>|</[a-zA-Z:]{1,6}>|[^<]{0,8}|&[a-z#0-9]{0,5};){0,60}") {
        check(text.as_bytes());
    }

    #[test]
    fn mutated_samples_never_panic(which in 0..SAMPLES.len(), edits in proptest::collection::vec(edit(), 1..12)) {
        let mut bytes = SAMPLES[which].to_vec();
        for edit in edits {
            let len = bytes.len().max(1);
            match edit {
                Edit::Set(at, b) => if let Some(slot) = bytes.get_mut(at % len) { *slot = b },
                Edit::Insert(at, piece) => {
                    let at = at % (bytes.len() + 1);
                    bytes.splice(at..at, piece);
                }
                Edit::Delete(at, n) => {
                    let at = at % len;
                    let end = (at + n).min(bytes.len());
                    if at < end { bytes.drain(at..end); }
                }
            }
        }
        check(&bytes);
    }
}

#[test]
fn deep_and_wide_documents_stay_bounded() {
    let deep = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
    check(deep.as_bytes());
    let wide = format!("<a>{}</a>", "<b/>".repeat(200_000));
    check(wide.as_bytes());
    let refs = format!("<a>{}</a>", "&amp;".repeat(200_000));
    check(refs.as_bytes());
}
