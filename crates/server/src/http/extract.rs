//! Request guards: JSON bodies whose rejections speak `{code, message}`, and bearer tokens.

use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::Json;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::http::AppState;
use crate::secret::{hash_secret, secrets_equal};

/// Largest request body accepted.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// A JSON body; malformed JSON is 400 `malformed_json`, the wrong shape 422 `invalid_body`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        // The common case, a plain `application/json` body that parses, skips the
        // path-tracking parser of `Json`; anything else goes through `Json` itself, so every
        // rejection (and its message) is exactly `Json`'s.
        if !plain_json(req.headers()) {
            return Json::<T>::from_request(req, state)
                .await
                .map(|Json(v)| ApiJson(v))
                .map_err(rejection);
        }
        let bytes = match Bytes::from_request(req, state).await {
            Ok(b) => b,
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(Error::BodyTooLarge(MAX_BODY))
            }
            Err(e) => return Err(Error::MalformedJson(e.body_text())),
        };
        match serde_json::from_slice(&bytes) {
            Ok(v) => Ok(ApiJson(v)),
            Err(_) => Json::<T>::from_bytes(&bytes)
                .map(|Json(v)| ApiJson(v))
                .map_err(rejection),
        }
    }
}

/// `Content-Type: application/json` exactly (which `Json` accepts too).
fn plain_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "application/json")
}

fn rejection(e: JsonRejection) -> Error {
    match e {
        JsonRejection::JsonDataError(e) => Error::InvalidBody(e.body_text()),
        JsonRejection::JsonSyntaxError(e) => Error::MalformedJson(e.body_text()),
        JsonRejection::MissingJsonContentType(_) => Error::UnsupportedMediaType,
        e if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            Error::BodyTooLarge(MAX_BODY)
        }
        e => Error::MalformedJson(e.body_text()),
    }
}

/// The bearer token of a request, if it carries one.
fn bearer(headers: &HeaderMap) -> Result<&str> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(Error::Unauthorized)?;
    let value = value.to_str().map_err(|_| Error::InvalidToken)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(Error::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::InvalidToken);
    }
    Ok(token.trim())
}

/// A terminal's token, hashed; the op checks it against the database in its transaction.
pub struct TerminalToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for TerminalToken
where
    AppState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        let state = AppState::from_ref(state);
        let token = bearer(&parts.headers)?;
        if secrets_equal(token, &state.admin_token) {
            return Err(Error::Forbidden("the admin token cannot act as a terminal"));
        }
        Ok(TerminalToken(hash_secret(token)))
    }
}

/// Proof that the request carries the admin token.
pub struct Admin;

impl<S: Send + Sync> FromRequestParts<S> for Admin
where
    AppState: FromRef<S>,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        admin_check(&AppState::from_ref(state), &parts.headers).await
    }
}

/// The admin token, or why not: no token 401, a terminal's token (revoked too) 403
/// `forbidden`, anything else 401 `invalid_token`.
pub async fn admin_check(state: &AppState, headers: &HeaderMap) -> Result<Admin> {
    let token = bearer(headers)?;
    if secrets_equal(token, &state.admin_token) {
        return Ok(Admin);
    }
    match state.store.terminal_for_token(&hash_secret(token)).await? {
        Some(_) => Err(Error::Forbidden(
            "terminal tokens cannot use the back-office API",
        )),
        None => Err(Error::InvalidToken),
    }
}
