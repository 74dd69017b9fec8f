//! Why a vacant home was answered with no candidate: a fixed list, so that the answer carries no
//! free text and so no personal data, with the Danish words a caseworker reads.

/// The reasons for answering a vacant home with no candidate, and their Danish words.
pub const ANSWER_REASONS: &[(&str, &str)] = &[
    ("no_candidate_fits", "ingen kandidat passer til boligen"),
    ("citizen_declined", "borgeren har sagt nej"),
    ("passed_on", "boligen er givet videre"),
    ("other", "anden grund"),
];

/// The Danish words of a reason; the reason itself when it is not on the list.
pub fn answer_reason_words(reason: &str) -> &str {
    ANSWER_REASONS
        .iter()
        .find(|(known, _)| *known == reason)
        .map_or(reason, |(_, words)| words)
}
