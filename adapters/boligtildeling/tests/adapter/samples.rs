//! The samples in `samples/`: every accepted row validates against the published schema, every
//! rejected row is rejected for the reason it was written with, and ids are stable.

use indgang_adapter_common::test_support;
use indgang_boligtildeling::{Fault, Row, Sender, parse_batch};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn sender() -> Sender {
    Sender {
        id: "boligtildeling-kbh".to_owned(),
        name: "Den Sociale Boligtildeling, Københavns Kommune".to_owned(),
    }
}

fn validator() -> jsonschema::Validator {
    test_support::validator(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/housing-offer.v1.json"))
}

fn assert_valid(validator: &jsonschema::Validator, row: &Row) -> Value {
    let offer = row
        .result
        .clone()
        .unwrap_or_else(|f| panic!("line {} rejected: {f:?}", row.row));
    let errors: Vec<String> = validator.iter_errors(&offer).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "line {}: {errors:?}", row.row);
    offer
}

fn faults(rows: &[Row], line: usize) -> Vec<Fault> {
    let row = rows
        .iter()
        .find(|r| r.row == line)
        .unwrap_or_else(|| panic!("no row on line {line}"));
    row.result
        .clone()
        .expect_err(&format!("line {line} should be rejected"))
}

fn assert_fault(rows: &[Row], line: usize, column: Option<&str>, needle: &str) {
    let found = faults(rows, line);
    assert!(
        found
            .iter()
            .any(|f| f.row == Some(line) && f.column.as_deref() == column && f.message.contains(needle)),
        "line {line}: no fault in {column:?} mentioning {needle:?}: {found:?}"
    );
}

#[test]
fn crlf_file_with_bom_gives_each_row_its_own_outcome() {
    let rows = parse_batch(&sample("tilbud-crlf-bom.csv"), &sender()).unwrap();
    let lines: Vec<usize> = rows.iter().map(|r| r.row).collect();
    // Line 3's notes span lines 3 and 4; line 13 is all empty cells and is skipped.
    assert_eq!(lines, [2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15]);

    let validator = validator();
    let accepted: Vec<usize> = rows.iter().filter(|r| r.result.is_ok()).map(|r| r.row).collect();
    assert_eq!(accepted, [2, 3, 5, 6, 15]);
    for row in rows.iter().filter(|r| r.result.is_ok()) {
        assert_valid(&validator, row);
    }

    assert_fault(&rows, 7, Some("ledig_fra"), "`31-11-2026` is not a date");
    assert_fault(&rows, 8, Some("husleje"), "decimal comma");
    assert_fault(&rows, 9, Some("tilbudstype"), "`reservation` is not an offer type");
    assert_fault(&rows, 10, Some("kommune"), "`1O1` is not a kommunekode");
    assert_fault(&rows, 11, Some("svarfrist"), "empty and is required on an offer");
    assert_fault(&rows, 12, None, "the row has 29 cells and the header names 28 columns");
    assert_eq!(faults(&rows, 12).len(), 1);
    // Every reason, not only the first.
    assert_eq!(faults(&rows, 14).len(), 3);
    assert_fault(&rows, 14, Some("cpr"), "is not a CPR number");
    assert_fault(&rows, 14, Some("m2"), "is not an area");
    assert_fault(&rows, 14, Some("hund"), "`måske` is neither ja nor nej");
    // A CPR number is never repeated in a fault.
    assert!(faults(&rows, 14).iter().all(|f| !f.message.contains("23344")));
}

#[test]
fn a_full_row_maps_to_every_member() {
    let rows = parse_batch(&sample("tilbud-crlf-bom.csv"), &sender()).unwrap();
    let mut offer = rows[0].result.clone().unwrap();
    let id = offer["message_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("TILBUD-2026-0873:offer:"), "{id}");
    assert_eq!(id.len(), "TILBUD-2026-0873:offer:".len() + 16);
    offer["message_id"] = Value::Null;
    assert_eq!(
        offer,
        json!({
            "message_id": null,
            "sent_at": "2026-11-10T14:20:00+01:00",
            "offer_type": "offer",
            "offer_id": "TILBUD-2026-0873",
            "sender": {
                "id": "boligtildeling-kbh",
                "name": "Den Sociale Boligtildeling, Københavns Kommune",
                "contact": { "name": "Lise Overgaard", "email": "lise.overgaard@kk.dk", "phone": "33 66 33 66" }
            },
            "municipality": "101",
            "citizen": { "cpr": "110482-3344", "name": "Peter Lund Hansen" },
            "dwelling": {
                "address": { "street": "Tingbjerg Allé 12, 2. th.", "postcode": "2700", "city": "Brønshøj" },
                "housing_organisation": "fsb",
                "kind": "public_housing",
                "rooms": 2,
                "area_m2": 54.5,
                "monthly_rent_dkk": 4875,
                "deposit_dkk": 14625,
                "dogs_allowed": true,
                "cats_allowed": true,
                "step_free": false
            },
            "available_from": "2026-12-01",
            "answer_deadline": "2026-11-24",
            "viewing": { "at": "2026-11-19T10:00:00+01:00", "place": "Ejendomskontoret; Ruten 2, 2700 Brønshøj" },
            "notes": "Hund tilladt efter husordenen (én hund); borgeren ønskede Brønshøj/Husum."
        })
    );
}

#[test]
fn other_rows_keep_their_details() {
    let rows = parse_batch(&sample("tilbud-crlf-bom.csv"), &sender()).unwrap();
    let by_line = |line: usize| rows.iter().find(|r| r.row == line).unwrap().result.clone().unwrap();

    let vacant = by_line(3);
    assert!(vacant.get("citizen").is_none());
    assert_eq!(vacant["dwelling"]["kind"], "skaev_bolig");
    assert_eq!(vacant["dwelling"]["monthly_rent_dkk"], json!(3450.5));
    assert!(vacant["dwelling"].get("deposit_dkk").is_none());
    assert_eq!(
        vacant["notes"],
        "Ledig skæv bolig til kommunens anvisning.\nNøgler hos viceværten; ring først."
    );

    let update = by_line(5);
    assert_eq!(update["message_id"], "DSB-2026-11-0150");
    assert_eq!(update["offer_type"], "update");
    assert_eq!(update["citizen"]["name"], "Åse Møller Ærø");
    assert_eq!(update["dwelling"]["monthly_rent_dkk"], json!(6450.5));
    assert_eq!(update["dwelling"]["deposit_dkk"], json!(19351.5));
    assert_eq!(update["viewing"]["at"], "2026-11-27T13:30:00+01:00");

    let withdrawal = by_line(6);
    assert_eq!(withdrawal["offer_type"], "withdrawal");
    assert_eq!(withdrawal["withdrawal_reason"], "Boligen er udlejet til anden side.");
    assert!(withdrawal.get("dwelling").is_none());

    let youth = by_line(15);
    assert_eq!(youth["citizen"]["cpr"], "0106051234");
    assert_eq!(youth["available_from"], "2027-01-01");
    assert_eq!(youth["dwelling"]["address"]["street"], "Øresundsvej 7, st. 3");
    assert_eq!(youth["dwelling"]["monthly_rent_dkk"], json!(3100));
    assert!(youth["dwelling"].get("step_free").is_none());
}

#[test]
fn lf_file_without_bom_with_danish_header_spellings() {
    let rows = parse_batch(&sample("tilbud-lf-uden-bom.csv"), &sender()).unwrap();
    let lines: Vec<usize> = rows.iter().map(|r| r.row).collect();
    assert_eq!(lines, [3, 4, 5, 6], "the sep=; line and the header are lines 1 and 2");
    let validator = validator();
    for row in &rows[..3] {
        assert_valid(&validator, row);
    }
    let aarhus = rows[0].result.clone().unwrap();
    assert_eq!(aarhus["municipality"], "751");
    assert_eq!(aarhus["dwelling"]["monthly_rent_dkk"], json!(5212.75));
    assert_eq!(
        aarhus["notes"],
        "Hund tilladt; kat ikke tilladt. Borgeren står på venteliste i Aarhus."
    );
    assert!(aarhus["sender"].get("contact").is_none());
    let supported = rows[1].result.clone().unwrap();
    assert_eq!(supported["dwelling"]["kind"], "sl_107");
    assert_eq!(supported["dwelling"]["area_m2"], json!(28.5));
    let senior = rows[2].result.clone().unwrap();
    assert_eq!(senior["sent_at"], "2026-11-16T08:30:00+01:00");
    assert_eq!(senior["dwelling"]["address"]["city"], "Åbyhøj");
    assert_eq!(senior["dwelling"]["monthly_rent_dkk"], json!(7000.5));
    assert_fault(&rows, 6, Some("Boligtype"), "`andelsbolig` is not a kind of home");
}

#[test]
fn bom_and_line_ends_change_nothing() {
    let original = sample("tilbud-crlf-bom.csv");
    let plain = String::from_utf8(original[3..].to_vec()).unwrap().replace("\r\n", "\n");
    let a = parse_batch(&original, &sender()).unwrap();
    let b = parse_batch(plain.as_bytes(), &sender()).unwrap();
    assert_eq!(a, b);
}

#[test]
fn message_ids_are_stable_and_distinct() {
    let file = sample("tilbud-crlf-bom.csv");
    let ids = |rows: Vec<Row>| -> Vec<String> {
        rows.into_iter()
            .filter_map(|r| r.result.ok())
            .map(|o| o["message_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = ids(parse_batch(&file, &sender()).unwrap());
    let second = ids(parse_batch(&file, &sender()).unwrap());
    assert_eq!(first, second);
    assert_eq!(first.iter().collect::<BTreeSet<_>>().len(), first.len());

    // Spelling the same offer differently keeps the id; changing the offer changes it.
    let header = "tilbud_id;tilbudstype;kommune;sendt;adresse;postnr;by;boligorganisation;boligtype;\
                  vaerelser;m2;husleje;hund;kat;ledig_fra;svarfrist";
    let row =
        "T-7;tilbud;101;10-11-2026 14:20;Vej 1;2700;Brønshøj;fsb;almen;2;54,5;6.450,50;ja;nej;01-12-2026;24-11-2026";
    let respelled =
        "T-7;Tilbud;101;11-11-2026 09:00;Vej 1;2700;Brønshøj;fsb;Almen bolig;2;54,50;6450,5;JA;n;1-12-2026;2026-11-24";
    let changed =
        "T-7;tilbud;101;10-11-2026 14:20;Vej 1;2700;Brønshøj;fsb;almen;2;54,5;6.450,50;ja;ja;01-12-2026;24-11-2026";
    let id = |row: &str| {
        let rows = parse_batch(format!("{header}\n{row}\n").as_bytes(), &sender()).unwrap();
        rows[0].result.clone().unwrap()["message_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(id(row), id(respelled));
    assert_ne!(id(row), id(changed));
    let other_sender = Sender {
        id: "boligtildeling-aarhus".to_owned(),
        name: "Boliganvisningen".to_owned(),
    };
    let rows = parse_batch(format!("{header}\n{row}\n").as_bytes(), &other_sender).unwrap();
    assert_eq!(rows[0].result.clone().unwrap()["message_id"].as_str().unwrap(), id(row));
}

#[test]
fn faults_of_the_file_refuse_it_whole() {
    let file_fault = |name: &str| parse_batch(&sample(&format!("file-faults/{name}")), &sender()).unwrap_err();

    let faults = file_fault("ukendt-og-dobbelt-kolonne.csv");
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert_eq!(faults[0].column.as_deref(), Some("husdyr"));
    assert!(faults[0].message.contains("unknown column"));
    assert_eq!(faults[1].column.as_deref(), Some("Kommune"));
    assert!(faults[1].message.contains("more than once"));

    let faults = file_fault("mangler-kolonne.csv");
    assert_eq!(faults.len(), 1);
    assert_eq!(faults[0].column.as_deref(), Some("sendt"));
    assert!(faults[0].message.contains("required column sendt is missing"));

    let faults = file_fault("latin1.csv");
    assert_eq!(faults[0].row, Some(2));
    assert!(faults[0].message.contains("not UTF-8"));

    let faults = file_fault("ingen-header.csv");
    assert_eq!(faults.len(), 1);
    assert!(faults[0].message.contains("not a header"));

    for empty in [&b""[..], b"\xEF\xBB\xBF", b"\n\n"] {
        assert!(parse_batch(empty, &sender()).unwrap_err()[0].message.contains("empty"));
    }
}

#[test]
fn size_and_row_count_are_bounded() {
    let too_big = vec![b' '; indgang_boligtildeling::MAX_BYTES + 1];
    assert!(
        parse_batch(&too_big, &sender()).unwrap_err()[0]
            .message
            .contains("at most")
    );

    let mut many = String::from("tilbud_id;tilbudstype;kommune;sendt;begrundelse\n");
    for i in 0..=indgang_boligtildeling::MAX_ROWS {
        many.push_str(&format!("T-{i};tilbagetrukket;101;10-11-2026 14:20;Udlejet\n"));
    }
    let faults = parse_batch(many.as_bytes(), &sender()).unwrap_err();
    assert!(faults[0].message.contains("more than 10000 data rows"), "{faults:?}");
    assert_eq!(faults[0].row, Some(indgang_boligtildeling::MAX_ROWS + 2));

    let lines: Vec<&str> = many.lines().take(indgang_boligtildeling::MAX_ROWS + 1).collect();
    let rows = parse_batch(lines.join("\n").as_bytes(), &sender()).unwrap();
    assert_eq!(rows.len(), indgang_boligtildeling::MAX_ROWS);
    assert!(rows.iter().all(|r| r.result.is_ok()));
}

#[test]
fn withdrawals_and_offers_need_different_cells() {
    let header = "tilbud_id;tilbudstype;kommune;sendt;adresse;ledig_fra;fremvisning;begrundelse;navn";
    let file = format!(
        "{header}\n\
         T-1;tilbagetrukket;101;10-11-2026 14:20;;;;;\n\
         T-2;tilbagetrukket;101;10-11-2026 14:20;Vej 1;;;Udlejet;\n\
         T-3;tilbud;101;10-11-2026 14:20;;;19-11-2026 10:00;Udlejet;Peter\n"
    );
    let rows = parse_batch(file.as_bytes(), &sender()).unwrap();
    assert!(rows[0].result.is_ok());
    // A withdrawal that describes the home must describe it in full.
    assert_fault(&rows, 3, Some("postnr"), "file has no column postnr");
    assert_fault(&rows, 3, Some("husleje"), "when a home is described");
    // An offer needs the home and its dates; a viewing needs a place; a reason is for withdrawals;
    // a name needs a CPR number.
    assert_fault(&rows, 4, Some("adresse"), "required on an offer or update");
    assert_fault(&rows, 4, Some("svarfrist"), "file has no column svarfrist");
    assert_fault(&rows, 4, Some("fremvisning_sted"), "needs a place");
    assert_fault(&rows, 4, Some("begrundelse"), "only given when an offer is withdrawn");
    assert_fault(&rows, 4, Some("cpr"), "without a CPR number");
}

#[test]
fn quoted_cells_may_hold_semicolons_quotes_and_line_breaks() {
    let file = "tilbud_id;tilbudstype;kommune;sendt;begrundelse\n\
                \"T-1\";tilbagetrukket;101;10-11-2026 14:20;\"Udlejet; se \"\"sag 12\"\"\nside 2\"\n\
                T-2;tilbagetrukket;101;10-11-2026 14:20;Udlejet\n";
    let rows = parse_batch(file.as_bytes(), &sender()).unwrap();
    assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), [2, 4]);
    let offer = rows[0].result.clone().unwrap();
    assert_eq!(offer["withdrawal_reason"], "Udlejet; se \"sag 12\"\nside 2");
    assert_eq!(offer["offer_id"], "T-1");
}

#[test]
fn a_semicolon_ending_every_line_is_allowed() {
    let file = "tilbud_id;tilbudstype;kommune;sendt;begrundelse;\n\
                T-1;tilbagetrukket;101;10-11-2026 14:20;Udlejet;\n\
                T-2;tilbagetrukket;101;10-11-2026 14:20;Udlejet\n\
                T-3;tilbagetrukket;101;10-11-2026 14:20;Udlejet;x\n\
                T-4;tilbagetrukket;101;10-11-2026 14:20\n";
    let rows = parse_batch(file.as_bytes(), &sender()).unwrap();
    assert!(rows[0].result.is_ok());
    assert!(rows[1].result.is_ok());
    assert_fault(&rows, 4, None, "the row has 6 cells and the header names 5 columns");
    assert_fault(&rows, 5, None, "the row has 4 cells and the header names 5 columns");
}

#[test]
fn the_readme_file_is_accepted_and_its_faults_are_real() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let block = |after: &str| {
        let start = readme.find(after).unwrap();
        let body = &readme[start..];
        let body = &body[body.find("```text\n").unwrap() + 8..];
        body[..body.find("```").unwrap()].to_owned()
    };
    let rows = parse_batch(block("## A complete file").as_bytes(), &sender()).unwrap();
    let validator = validator();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_valid(&validator, row);
    }

    let rows = parse_batch(&sample("tilbud-crlf-bom.csv"), &sender()).unwrap();
    let all: Vec<String> = rows
        .iter()
        .filter_map(|r| r.result.as_ref().err())
        .flatten()
        .map(ToString::to_string)
        .collect();
    for line in block("From `samples/tilbud-crlf-bom.csv`").lines() {
        assert!(
            all.iter().any(|f| f == line),
            "the README shows a fault the adapter does not give: {line}"
        );
    }
}
