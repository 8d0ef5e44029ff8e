//! Request guards: JSON bodies whose rejections speak `{code, message}`, and bearer tokens.

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
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(Error::InvalidBody(e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(Error::MalformedJson(e.body_text())),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(Error::UnsupportedMediaType),
            Err(e) if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(Error::BodyTooLarge(MAX_BODY))
            }
            Err(e) => Err(Error::MalformedJson(e.body_text())),
        }
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
        let state = AppState::from_ref(state);
        let token = bearer(&parts.headers)?;
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
}
