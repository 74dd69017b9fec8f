//! Numbers and spans of days as a Danish caseworker reads them.

/// An amount in kroner, Danish style: `4.850 kr.`, `4.850,50 kr.`.
pub fn kroner(amount: f64) -> String {
    let ore = (amount * 100.0).round() as i64;
    let (whole, fraction) = (ore / 100, ore % 100);
    let digits = whole.abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    let sign = if whole < 0 { "-" } else { "" };
    if fraction == 0 {
        format!("{sign}{grouped} kr.")
    } else {
        format!("{sign}{grouped},{:02} kr.", fraction.abs())
    }
}

/// `1 dag`, `12 dage`.
pub fn days(n: i32) -> String {
    if n == 1 {
        "1 dag".to_owned()
    } else {
        format!("{n} dage")
    }
}
