//! An admin's changes to one license from its page: extend its last day, forgive its moves.
//! Each is checked for the session's CSRF token and the admin role, and recorded in the usage
//! log by the staff member's name.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Form, Router};
use serde::Deserialize;

use super::{CsrfForm, SignedIn, admin_change, refusal};
use crate::AppState;
use crate::service::Denial;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/licenses/{id}/extend", post(extend))
        .route("/console/licenses/{id}/reset-moves", post(reset_moves))
}

#[derive(Deserialize)]
struct ExtendForm {
    csrf: String,
    expires: String,
}

async fn extend(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<ExtendForm>,
) -> Response {
    let staff = &signed_in.session;
    let by = match admin_change(staff, &form.csrf, "extend a license") {
        Ok(by) => by,
        Err(refused) => return *refused,
    };
    let Ok(expires) = chrono::NaiveDate::parse_from_str(form.expires.trim(), "%Y-%m-%d") else {
        let denial = Denial::Invalid(format!(
            "the new last day is a date as YYYY-MM-DD, not {:?}",
            form.expires
        ));
        return refusal(Some(staff), denial);
    };
    match state.vendor.licenses().extend_as(&id, expires, &by).await {
        Ok(()) => Redirect::to(&format!("/console/licenses/{id}?said=extended")).into_response(),
        Err(e) => refusal(Some(staff), e),
    }
}

async fn reset_moves(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let staff = &signed_in.session;
    let by = match admin_change(staff, &form.csrf, "forgive a license's moves") {
        Ok(by) => by,
        Err(refused) => return *refused,
    };
    match state.vendor.licenses().reset_moves_as(&id, &by).await {
        Ok(_) => Redirect::to(&format!("/console/licenses/{id}?said=moves-reset")).into_response(),
        Err(e) => refusal(Some(staff), e),
    }
}
