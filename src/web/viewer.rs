//! Who is looking at a page: a person signed in with OpenID Connect (the session cookie of
//! `session`). Pages are for people only; a bearer token does not open them.
//!
//! `Viewer` opens a page that only reads. A page form that changes something is taken with
//! `Posted`, which reads the form and checks its `csrf_token` field against the session before
//! the handler runs, so a handler cannot forget it. Without a live session both answer `401`,
//! which `web::protect` turns into the way to sign in and back to the same page.

use crate::auth::Principal;
use crate::problem::{Problem, kinds};
use crate::session::{Sessions, check_csrf};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use std::future::Future;
use std::pin::Pin;

/// The form field that carries the session's CSRF token on every page form.
pub const CSRF_FIELD: &str = "csrf_token";

/// The largest page form taken (a page form is a few fields; acknowledging a page of messages
/// at once is the largest).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// The signed-in person looking at a page.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub principal: Principal,
    /// The name the provider gave, for the page header.
    pub name: Option<String>,
    /// Put in every form the page shows (`csrf_token`).
    pub csrf_token: String,
}

fn not_signed_in() -> Problem {
    Problem::new(kinds::UNAUTHORIZED, "not signed in; sign in at /auth/login".to_owned())
}

async fn find(req: &HttpRequest) -> Result<(Viewer, crate::store::SessionRecord), Problem> {
    let sessions = req
        .app_data::<web::Data<Sessions>>()
        .cloned()
        .ok_or_else(not_signed_in)?;
    let id = req
        .cookie(sessions.cookie_name())
        .map(|c| c.value().to_owned())
        .ok_or_else(not_signed_in)?;
    let live = sessions.find(&id).await?;
    let viewer = Viewer {
        principal: live.principal,
        name: live.record.name.clone(),
        csrf_token: live.record.csrf_token.clone(),
    };
    Ok((viewer, live.record))
}

impl FromRequest for Viewer {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Viewer, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { find(&req).await.map(|(viewer, _)| viewer) })
    }
}

/// The fields of a page form, in order; a field may come several times (check boxes).
#[derive(Debug, Clone, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Fields {
        Fields(
            openidconnect::url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of a field, trimmed; `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every non-empty value of a field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

/// A page form posted by a signed-in person, its CSRF token checked.
pub struct Posted {
    pub viewer: Viewer,
    pub fields: Fields,
}

impl FromRequest for Posted {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Posted, Problem>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let (viewer, record) = find(&req).await?;
            let is_form = req
                .headers()
                .get(actix_web::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            if !is_form {
                return Err(Problem::new(
                    kinds::MEDIA_TYPE,
                    "a page form is sent as application/x-www-form-urlencoded".to_owned(),
                ));
            }
            let body = body.await.map_err(|_| {
                Problem::new(
                    kinds::TOO_LARGE,
                    format!("a page form is at most {MAX_FORM_BYTES} bytes"),
                )
            })?;
            if body.len() > MAX_FORM_BYTES {
                return Err(Problem::new(
                    kinds::TOO_LARGE,
                    format!("a page form is at most {MAX_FORM_BYTES} bytes"),
                ));
            }
            let fields = Fields::parse(&body);
            check_csrf(&record, fields.get(CSRF_FIELD))?;
            Ok(Posted { viewer, fields })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_gives_each_field_and_every_value_of_a_repeated_one() {
        let fields = Fields::parse(b"csrf_token=abc&receipt=r1&receipt=&receipt=r2&note=+hej+med+dig+&x=%C3%A6");
        assert_eq!(fields.get("csrf_token"), Some("abc"));
        assert_eq!(fields.all("receipt").collect::<Vec<_>>(), ["r1", "r2"]);
        assert_eq!(fields.get("note"), Some("hej med dig"));
        assert_eq!(fields.get("x"), Some("æ"));
        assert_eq!(fields.get("missing"), None);
    }
}
