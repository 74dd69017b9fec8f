//! The kinds of event the gateway receives, by the `Beskedtype` UUID the jobcenter's system
//! stamps on the envelope. These UUIDs are indgang's own, agreed with the jobcenters; the README
//! publishes the same table. A UUID not in it is refused, so a new kind of event is a new row
//! here, never a guess.

/// (Beskedtype UUID, canonical `message_type`, the Danish name of the event).
pub const BESKEDTYPER: [(&str, &str, &str); 6] = [
    (
        "dc21f067-74d9-4612-b647-f273f83ef5a6",
        "benefit_application_received",
        "Ansøgning om ydelse modtaget",
    ),
    (
        "2c03a006-f28c-440a-8b0a-9ba509d039d3",
        "benefit_decision",
        "Afgørelse om ydelse",
    ),
    (
        "421f4da3-dbba-4730-8f9d-6c2377888365",
        "appointment",
        "Samtale eller møde booket",
    ),
    (
        "13e84cc4-892d-4086-aa35-498da5a7c734",
        "appointment_cancelled",
        "Samtale eller møde aflyst",
    ),
    (
        "3173ab2a-6ad5-4dbe-b2db-39d7181beb79",
        "case_closed",
        "Sag afsluttet i jobcentret",
    ),
    (
        "197acaaf-122f-4169-a665-c923749cc5d3",
        "other",
        "Anden besked fra jobcentret",
    ),
];

/// The `message_type` of a Beskedtype UUID (any case).
pub(crate) fn message_type(uuid: &str) -> Option<&'static str> {
    BESKEDTYPER
        .iter()
        .find(|(id, _, _)| id.eq_ignore_ascii_case(uuid))
        .map(|&(_, message_type, _)| message_type)
}
