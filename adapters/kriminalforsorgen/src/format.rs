//! The XML format of a release notice, once: each element, the member of the canonical JSON it
//! carries, whether it is required, and the rule for its value. Elements come in the order listed
//! (an `xs:sequence` in the XSD). Both directions read this table; the XSD in
//! `schemas/xml/release-notice.v1.xsd` says the same, and the agreement test holds the two together.

/// One element of a group.
pub(crate) struct Field {
    pub element: &'static str,
    pub member: &'static str,
    pub required: bool,
    pub content: Content,
}

pub(crate) enum Content {
    /// A simple element: text checked by the rule.
    Text(Rule),
    /// An element holding the fields listed, in order; a JSON object.
    Group(&'static [Field]),
    /// An element holding up to `max` `item` elements, each value at most once; a JSON array
    /// (possibly empty).
    List { item: &'static str, rule: Rule, max: usize },
}

/// The rules of simple values (the simple types of the XSD).
#[derive(Clone, Copy)]
pub(crate) enum Rule {
    MessageId,
    InstitutionId,
    Kommunekode,
    Cpr,
    Date,
    DateTime,
    /// A whole number of days, 1 to 999 999 999; a JSON integer.
    Days,
    /// `xs:boolean`; a JSON boolean.
    Boolean,
    /// 1 to 200 characters.
    Text200,
    /// At most 4000 characters.
    Notes,
    Email,
    Phone,
    /// One of the canonical codes, exactly.
    Code(&'static [&'static str]),
}

const fn field(element: &'static str, member: &'static str, required: bool, content: Content) -> Field {
    Field {
        element,
        member,
        required,
        content,
    }
}

const fn text(element: &'static str, member: &'static str, required: bool, rule: Rule) -> Field {
    field(element, member, required, Content::Text(rule))
}

pub(crate) const NOTICE_TYPES: &[&str] = &["admission", "initial", "update", "transfer", "cancellation"];
pub(crate) const CUSTODY_TYPES: &[&str] = &["sentence", "remand", "arrest"];
pub(crate) const RELEASE_KINDS: &[&str] = &[
    "parole",
    "full_term",
    "end_of_remand",
    "released_in_court",
    "released_by_police",
];
pub(crate) const HOUSING: &[&str] = &[
    "public_housing",
    "private_rental",
    "sl_107",
    "sl_108",
    "shared_supported",
    "skaev_bolig",
    "owner",
    "other",
    "none",
    "unknown",
];
pub(crate) const INCOME_BASES: &[&str] = &[
    "salary",
    "unemployment_or_sickness_benefit",
    "social_assistance",
    "start_or_introduction_allowance",
    "disability_pension",
    "old_age_pension",
    "no_income",
    "other",
    "unknown",
];
pub(crate) const EMPLOYMENT: &[&str] = &[
    "ordinary_job",
    "flex_or_sheltered_job",
    "activation",
    "unemployed_not_activated",
    "sick_listed",
    "in_education",
    "outside_labour_market",
    "other",
    "unknown",
];
pub(crate) const NEEDS: &[&str] = &[
    "housing",
    "income_support",
    "addiction_treatment",
    "mental_health",
    "action_plan",
    "personal_support",
    "employment",
    "physical_health",
    "other",
];
pub(crate) const SERVICES: &[&str] = &[
    "sl_83_personal_help",
    "sl_85_support",
    "sl_110_aftercare",
    "sl_99_support_contact",
    "none",
    "unknown",
];
pub(crate) const MUNICIPAL_ACTION_PLANS: &[&str] = &["has_plan", "offered", "none", "unknown"];
pub(crate) const CONSENTS: &[&str] = &["given", "refused", "not_asked"];

const CONTACT: &[Field] = &[
    text("Navn", "name", false, Rule::Text200),
    text("Email", "email", false, Rule::Email),
    text("Telefon", "phone", false, Rule::Phone),
];

const SENDER: &[Field] = &[
    text("Id", "id", true, Rule::InstitutionId),
    text("Navn", "name", true, Rule::Text200),
    field("Kontaktperson", "contact", false, Content::Group(CONTACT)),
];

const CITIZEN: &[Field] = &[
    text("CprNummer", "cpr", true, Rule::Cpr),
    text("Navn", "name", false, Rule::Text200),
];

const CUSTODY: &[Field] = &[
    text("Art", "type", true, Rule::Code(CUSTODY_TYPES)),
    text("Indsaettelsesdato", "admitted_on", true, Rule::Date),
    text("StraflaengdeDage", "sentence_length_days", false, Rule::Days),
];

const RELEASE: &[Field] = &[
    text("ForventetDato", "expected_date", true, Rule::Date),
    text("Art", "kind", true, Rule::Code(RELEASE_KINDS)),
    text("Tilsyn", "supervision", true, Rule::Boolean),
];

const RELEASE_MEETING: &[Field] = &[
    text("Dato", "date", true, Rule::Date),
    text("Sted", "place", true, Rule::Text200),
];

const INSTITUTION: &[Field] = &[
    text("Id", "id", true, Rule::InstitutionId),
    text("Navn", "name", true, Rule::Text200),
];

const TRANSFER: &[Field] = &[
    field("TilInstitution", "to_institution", true, Content::Group(INSTITUTION)),
    text("Dato", "date", true, Rule::Date),
];

/// The children of the root element `Loesladelsesmeddelelse`.
pub(crate) const MESSAGE: &[Field] = &[
    text("MeddelelsesId", "message_id", true, Rule::MessageId),
    text("Afsendt", "sent_at", true, Rule::DateTime),
    text("Meddelelsestype", "notice_type", true, Rule::Code(NOTICE_TYPES)),
    text("TidligereMeddelelsesId", "previous_message_id", false, Rule::MessageId),
    field("Afsender", "sender", true, Content::Group(SENDER)),
    text("Kommunekode", "municipality", true, Rule::Kommunekode),
    field("Borger", "citizen", true, Content::Group(CITIZEN)),
    field("Frihedsberoevelse", "custody", true, Content::Group(CUSTODY)),
    field("Loesladelse", "release", false, Content::Group(RELEASE)),
    field(
        "Loesladelsesmoede",
        "release_meeting",
        false,
        Content::Group(RELEASE_MEETING),
    ),
    field("Overfoersel", "transfer", false, Content::Group(TRANSFER)),
    text("BoligVedLoesladelse", "housing_at_release", false, Rule::Code(HOUSING)),
    text("Forsoergelsesgrundlag", "income_basis", false, Rule::Code(INCOME_BASES)),
    text("Beskaeftigelse", "employment", false, Rule::Code(EMPLOYMENT)),
    field(
        "Behovsliste",
        "needs",
        false,
        Content::List {
            item: "Behov",
            rule: Rule::Code(NEEDS),
            max: NEEDS.len(),
        },
    ),
    field(
        "IgangsatteIndsatser",
        "services_started",
        false,
        Content::List {
            item: "Indsats",
            rule: Rule::Code(SERVICES),
            max: SERVICES.len(),
        },
    ),
    text("AnstaltensHandleplan", "prison_action_plan", false, Rule::Boolean),
    text(
        "KommunalHandleplan",
        "municipal_action_plan",
        false,
        Rule::Code(MUNICIPAL_ACTION_PLANS),
    ),
    text("Samtykke", "consent", true, Rule::Code(CONSENTS)),
    text("Foelgeskrivelse", "cover_letter", false, Rule::Boolean),
    text("Bemaerkninger", "notes", false, Rule::Notes),
];
