//! One data row to one canonical housing offer. Every cell is read, so a rejected row carries
//! every reason at once; the JSON is only built when there is none.

use crate::cells;
use crate::columns::{Column, Header};
use crate::{Fault, Sender, message_id};
use serde_json::{Map, Value, json};

/// The cells of one row, looked up by column, with the faults found so far.
struct Reader<'a> {
    header: &'a Header,
    cells: &'a [&'a str],
    line: usize,
    faults: Vec<Fault>,
}

impl Reader<'_> {
    /// The cell, if the file has the column and the cell is not empty.
    fn cell(&self, column: Column) -> Option<&str> {
        let position = self.header.position(column)?;
        self.cells.get(position).copied().filter(|c| !c.is_empty())
    }

    fn fault(&mut self, column: Column, message: impl Into<String>) {
        let fault = Fault::new(Some(self.line), Some(self.header.spelling(column)), message);
        self.faults.push(fault);
    }

    /// Reads an optional cell with `parse`; a fault is recorded and `None` given back.
    fn optional<T>(&mut self, column: Column, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let cell = self.cell(column)?;
        match parse(cell) {
            Ok(value) => Some(value),
            Err(message) => {
                self.fault(column, message);
                None
            }
        }
    }

    /// Reads a cell that must be filled; `why` completes "is required …".
    fn required<T>(&mut self, column: Column, why: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        if self.cell(column).is_none() {
            let message = if self.header.position(column).is_none() {
                format!("the file has no column {} and it is required {why}", column.name())
            } else {
                format!("the cell is empty and is required {why}")
            };
            self.fault(column, message);
            return None;
        }
        self.optional(column, parse)
    }
}

/// Builds the offer of the row on `line`, or gives every fault in it.
pub(crate) fn build(header: &Header, cells: &[&str], sender: &Sender, line: usize) -> Result<Value, Vec<Fault>> {
    if !header.fits(cells) {
        return Err(vec![Fault::new(
            Some(line),
            None,
            format!(
                "the row has {} cells and the header names {} columns; a semicolon inside a cell \
                 must be in double quotes",
                cells.len(),
                header.width()
            ),
        )]);
    }
    let mut r = Reader {
        header,
        cells,
        line,
        faults: Vec::new(),
    };
    let always = "on every row";
    let offer_type = r.required(Column::Tilbudstype, always, cells::offer_type);
    let offer_id = r.required(Column::TilbudId, always, cells::identifier);
    let sent_at = r.required(Column::Sendt, always, cells::date_time);
    let municipality = r.required(Column::Kommune, always, cells::kommunekode);
    let given_id = r.optional(Column::BeskedId, cells::identifier);

    let cpr = r.optional(Column::Cpr, cells::cpr);
    let name = r.optional(Column::Navn, |c| cells::text(c, 200));
    if r.cell(Column::Navn).is_some() && r.cell(Column::Cpr).is_none() {
        r.fault(
            Column::Cpr,
            "a name is given without a CPR number: give both, or neither for a vacant home",
        );
    }
    let contact_name = r.optional(Column::KontaktNavn, |c| cells::text(c, 200));
    let contact_email = r.optional(Column::KontaktEmail, cells::email);
    let contact_phone = r.optional(Column::KontaktTelefon, cells::phone);

    // Offers and updates need the home and its dates; a withdrawal may leave them out, but a
    // home it does describe must be described in full.
    let withdrawal = offer_type == Some("withdrawal");
    let needs_dwelling = !withdrawal
        || Column::ALL
            .into_iter()
            .any(|c| c.describes_home() && r.cell(c).is_some());
    let dwelling = if needs_dwelling {
        dwelling(
            &mut r,
            if withdrawal {
                "when a home is described"
            } else {
                "on an offer or update"
            },
        )
    } else {
        None
    };
    let dates = "on an offer or update";
    let (available_from, answer_deadline) = if withdrawal {
        (
            r.optional(Column::LedigFra, cells::date),
            r.optional(Column::Svarfrist, cells::date),
        )
    } else {
        (
            r.required(Column::LedigFra, dates, cells::date),
            r.required(Column::Svarfrist, dates, cells::date),
        )
    };

    let viewing_at = r.optional(Column::Fremvisning, cells::date_time);
    let viewing_place = r.optional(Column::FremvisningSted, |c| cells::text(c, 200));
    match (
        r.cell(Column::Fremvisning).is_some(),
        r.cell(Column::FremvisningSted).is_some(),
    ) {
        (true, false) => r.fault(Column::FremvisningSted, "a viewing needs a place as well as a time"),
        (false, true) => r.fault(Column::Fremvisning, "a viewing needs a time as well as a place"),
        _ => {}
    }
    let reason = r.optional(Column::Begrundelse, |c| cells::text(c, 500));
    if reason.is_some() && offer_type.is_some() && !withdrawal {
        r.fault(
            Column::Begrundelse,
            "a reason is only given when an offer is withdrawn (tilbagetrukket)",
        );
    }
    let notes = r.optional(Column::Bemaerkninger, |c| cells::text(c, 4000));

    if !r.faults.is_empty() {
        return Err(r.faults);
    }
    // Without faults every required value is present; the `let … else` only satisfies the types.
    let (Some(offer_type), Some(offer_id), Some(sent_at), Some(municipality)) =
        (offer_type, offer_id, sent_at, municipality)
    else {
        return Err(vec![Fault::new(Some(line), None, "the row is incomplete")]);
    };

    let mut offer = Map::new();
    offer.insert("message_id".into(), Value::Null);
    offer.insert("sent_at".into(), sent_at.into());
    offer.insert("offer_type".into(), offer_type.into());
    offer.insert("offer_id".into(), offer_id.clone().into());
    let mut from = Map::new();
    from.insert("id".into(), sender.id.clone().into());
    from.insert("name".into(), sender.name.clone().into());
    let mut contact = Map::new();
    insert(&mut contact, "name", contact_name);
    insert(&mut contact, "email", contact_email);
    insert(&mut contact, "phone", contact_phone);
    if !contact.is_empty() {
        from.insert("contact".into(), contact.into());
    }
    offer.insert("sender".into(), from.into());
    offer.insert("municipality".into(), municipality.into());
    if let Some(cpr) = cpr {
        let mut citizen = Map::new();
        citizen.insert("cpr".into(), cpr.into());
        insert(&mut citizen, "name", name);
        offer.insert("citizen".into(), citizen.into());
    }
    insert(&mut offer, "dwelling", dwelling);
    insert(&mut offer, "available_from", available_from);
    insert(&mut offer, "answer_deadline", answer_deadline);
    if let (Some(at), Some(place)) = (viewing_at, viewing_place) {
        offer.insert("viewing".into(), json!({ "at": at, "place": place }));
    }
    insert(&mut offer, "withdrawal_reason", reason);
    insert(&mut offer, "notes", notes);

    let mut offer = Value::Object(offer);
    let id = given_id.unwrap_or_else(|| message_id::derive(&offer, &offer_id, offer_type));
    offer["message_id"] = id.into();
    Ok(offer)
}

fn insert(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value.into());
    }
}

/// The home, from its columns; `None` (with faults recorded) when any part is missing or wrong.
fn dwelling(r: &mut Reader<'_>, why: &str) -> Option<Value> {
    let street = r.required(Column::Adresse, why, |c| cells::text(c, 200));
    let postcode = r.required(Column::Postnr, why, cells::postcode);
    let city = r.required(Column::By, why, |c| cells::text(c, 100));
    let organisation = r.required(Column::Boligorganisation, why, |c| cells::text(c, 200));
    let kind = r.required(Column::Boligtype, why, cells::dwelling_kind);
    let rooms = r.required(Column::Vaerelser, why, cells::rooms);
    let area = r.required(Column::M2, why, |c| {
        let (value, json) = cells::amount(c)?;
        if value > 0.0 && value <= 1000.0 {
            Ok(json)
        } else {
            Err(format!("`{c}` m² is not an area: more than 0 and at most 1.000"))
        }
    });
    let rent = r.required(Column::Husleje, why, |c| cells::amount(c).map(|(_, json)| json));
    let deposit = r.optional(Column::Depositum, |c| cells::amount(c).map(|(_, json)| json));
    let dogs = r.required(Column::Hund, why, cells::boolean);
    let cats = r.required(Column::Kat, why, cells::boolean);
    let step_free = r.optional(Column::Niveaufri, cells::boolean);

    let mut dwelling = json!({
        "address": { "street": street?, "postcode": postcode?, "city": city? },
        "housing_organisation": organisation?,
        "kind": kind?,
        "rooms": rooms?,
        "area_m2": area?,
        "monthly_rent_dkk": rent?,
        "dogs_allowed": dogs?,
        "cats_allowed": cats?,
    });
    if let Some(deposit) = deposit {
        dwelling["deposit_dkk"] = deposit;
    }
    if let Some(step_free) = step_free {
        dwelling["step_free"] = step_free.into();
    }
    Some(dwelling)
}
