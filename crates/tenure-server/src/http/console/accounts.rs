//! The console's accounts and new licenses: list the accounts, create one, give it a new token
//! (shown once) or disable it, and create a license for it — admins only, each recorded in the
//! usage log by the staff member's name.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;
use tenure_core::protocol::CreateLicenseRequest;
use tenure_core::{ActivationMode, LicenseTerms, Quantity, SeatKind, Validity};

use super::pages::page;
use super::{CsrfForm, SignedIn, admin_change, admin_only, refusal};
use crate::AppState;
use crate::service::{Denial, Role, StaffSession};
use crate::store::AccountRow;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/accounts", get(list).post(create))
        .route("/console/accounts/{name}/token", post(rotate))
        .route("/console/accounts/{name}/disable", post(disable))
        .route("/console/licenses/new", get(new_license_form))
        .route("/console/licenses/new", post(create_license))
}

async fn list(State(state): State<AppState>, signed_in: SignedIn) -> Response {
    let staff = &signed_in.session;
    match state.vendor.accounts().list().await {
        Ok(accounts) => accounts_page(staff, &accounts, None).into_response(),
        Err(e) => refusal(Some(staff), e),
    }
}

#[derive(Deserialize)]
struct NameForm {
    csrf: String,
    name: String,
}

async fn create(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<NameForm>,
) -> Response {
    let staff = &signed_in.session;
    let by = match admin_change(staff, &form.csrf, "create an account") {
        Ok(by) => by,
        Err(refused) => return *refused,
    };
    let name = form.name.trim();
    match state.vendor.accounts().by(&by).create(name).await {
        Ok(token) => token_page(staff, name, &token, true).into_response(),
        Err(e) => refusal(Some(staff), e),
    }
}

async fn rotate(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let staff = &signed_in.session;
    let by = match admin_change(staff, &form.csrf, "give an account a new token") {
        Ok(by) => by,
        Err(refused) => return *refused,
    };
    match state.vendor.accounts().by(&by).rotate_token(&name).await {
        Ok(token) => token_page(staff, &name, &token, false).into_response(),
        Err(e) => refusal(Some(staff), e),
    }
}

async fn disable(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Path(name): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let staff = &signed_in.session;
    let by = match admin_change(staff, &form.csrf, "disable an account") {
        Ok(by) => by,
        Err(refused) => return *refused,
    };
    let accounts = state.vendor.accounts().by(&by);
    match accounts.disable(&name).await {
        Ok(()) => match accounts.list().await {
            Ok(list) => {
                let said = format!(
                    "{name} is disabled: its token is refused (a new token enables it again)."
                );
                accounts_page(staff, &list, Some(&said)).into_response()
            }
            Err(e) => refusal(Some(staff), e),
        },
        Err(e) => refusal(Some(staff), e),
    }
}

fn accounts_page(staff: &StaffSession, accounts: &[AccountRow], said: Option<&str>) -> Markup {
    let admin = staff.role == Role::Admin;
    let body = html! {
        h1 { "Accounts" }
        @if let Some(said) = said { p.said role="status" { (said) } }
        @if admin {
            form method="post" action="/console/accounts" {
                input type="hidden" name="csrf" value=(staff.csrf);
                label for="name" { "New account's name" }
                input id="name" name="name" type="text" required autocomplete="off";
                button type="submit" { "Create the account" }
            }
        }
        div.scroll {
            table {
                thead { tr { th { "Account" } th { "Created" } th { "Licenses" } th { "State" } @if admin { th { "Actions" } } } }
                tbody {
                    @for account in accounts {
                        tr {
                            td { a href={ "/console/licenses?q=" (crate::http::web::percent_encode(&account.name)) } { (account.name) } }
                            td { (account.created_at.format("%Y-%m-%d")) }
                            td { (account.licenses) }
                            td { @if account.disabled { strong { "disabled" } } @else { "enabled" } }
                            @if admin {
                                td {
                                    a href={ "/console/licenses/new?account=" (crate::http::web::percent_encode(&account.name)) } { "New license" }
                                    form.inline method="post" action={ "/console/accounts/" (account.name) "/token" } {
                                        input type="hidden" name="csrf" value=(staff.csrf);
                                        button type="submit" aria-label={ "New token for " (account.name) } { "New token" }
                                    }
                                    @if !account.disabled {
                                        form.inline method="post" action={ "/console/accounts/" (account.name) "/disable" } {
                                            input type="hidden" name="csrf" value=(staff.csrf);
                                            button.danger type="submit" aria-label={ "Disable " (account.name) } { "Disable" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page("Accounts", Some(staff), &body)
}

/// An account's token, shown this once.
fn token_page(staff: &StaffSession, account: &str, token: &str, created: bool) -> Markup {
    let body = html! {
        h1 { (account) }
        p.said role="status" {
            @if created { "Account created. " } @else { "The old token is refused from now on. " }
            "Its token, shown only now: give it to the customer, who signs in to the portal and to workstations with it."
        }
        p.token { (token) }
        p { a href={ "/console/licenses/new?account=" (crate::http::web::percent_encode(account)) } { "Create a license for " (account) } " · " a href="/console/accounts" { "Back to the accounts" } }
    };
    page(account, Some(staff), &body)
}

#[derive(Deserialize)]
struct ForAccount {
    #[serde(default)]
    account: String,
}

async fn new_license_form(signed_in: SignedIn, Query(for_account): Query<ForAccount>) -> Response {
    let staff = &signed_in.session;
    if let Some(refused) = admin_only(staff, "create a license") {
        return refused;
    }
    let form = LicenseForm {
        account: for_account.account,
        ..LicenseForm::default()
    };
    license_form_page(staff, &form, None).into_response()
}

/// The new license's fields, as the form sends them (text, so a mistake is shown, not lost).
#[derive(Debug, Clone, Default, Deserialize)]
struct LicenseForm {
    #[serde(default)]
    csrf: String,
    account: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    seats: String,
    #[serde(default)]
    quantities: String,
    #[serde(default)]
    modules: String,
    #[serde(default)]
    starts: String,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    grace_days: String,
    #[serde(default)]
    max_grace_days: String,
    #[serde(default)]
    max_rebinds: String,
    #[serde(default)]
    offline: Option<String>,
}

impl LicenseForm {
    /// The terms the form asks for; the sentence naming the first field that is wrong.
    fn terms(&self, today: NaiveDate) -> Result<LicenseTerms, String> {
        let number = |field: &str, text: &str, default: u32| -> Result<u32, String> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(default);
            }
            text.parse()
                .map_err(|_| format!("{field} is a whole number, not {text:?}"))
        };
        let date = |field: &str, text: &str| -> Result<Option<NaiveDate>, String> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| format!("{field} is a date as YYYY-MM-DD, not {text:?}"))
        };
        let kind = match self.kind.as_str() {
            "" | "named" => SeatKind::Named,
            "concurrent" => SeatKind::Concurrent,
            other => return Err(format!("the kind is named or concurrent, not {other:?}")),
        };
        let quantities = self
            .quantities
            .split([',', '\n'])
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(|q| {
                q.parse::<Quantity>()
                    .map_err(|e| format!("quantity {q:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let starts = date("the first day", &self.starts)?.unwrap_or(today);
        let expires = date("the last day", &self.expires)?.ok_or("give the license's last day")?;
        let validity = Validity { starts, expires };
        let grace_days = number("the grace", &self.grace_days, 30)?;
        let modules = self
            .modules
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(|name| tenure_core::Module {
                name: name.to_owned(),
                validity,
            })
            .collect();
        let customer = if self.customer.trim().is_empty() {
            self.account.trim()
        } else {
            self.customer.trim()
        };
        Ok(LicenseTerms {
            customer: customer.to_owned(),
            kind,
            seats: number("the seats", &self.seats, 1)?,
            grace_days,
            max_grace_days: number(
                "the most grace",
                &self.max_grace_days,
                grace_days.saturating_mul(3),
            )?,
            validity,
            activation_mode: if self.offline.is_some() {
                ActivationMode::Offline
            } else {
                ActivationMode::Online
            },
            modules,
            max_borrow_days: 14,
            max_rebinds_per_30_days: number("the moves", &self.max_rebinds, 3)?,
            lease_secs: tenure_core::license::DEFAULT_LEASE_SECS,
            quantities,
            floating: tenure_core::Floating::default(),
            churn: tenure_core::Churn::default(),
        })
    }
}

async fn create_license(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<LicenseForm>,
) -> Response {
    let staff = &signed_in.session;
    let by = match admin_change(staff, &form.csrf, "create a license") {
        Ok(by) => by,
        Err(refused) => return *refused,
    };
    let terms = match form.terms(state.vendor.now().date_naive()) {
        Ok(terms) => terms,
        Err(problem) => return license_form_page(staff, &form, Some(&problem)).into_response(),
    };
    let request = CreateLicenseRequest {
        account: form.account.trim().to_owned(),
        terms,
    };
    match state.vendor.licenses().create_as(&request, Some(&by)).await {
        Ok(created) => {
            let body = html! {
                h1 { "License " (created.id) }
                p.said role="status" { "Created for " (request.account) ". Its key, shown only now: give it to the customer." }
                p.token { (created.key) }
                p { a href={ "/console/licenses/" (created.id) } { "Open the license" } }
            };
            page("License created", Some(staff), &body).into_response()
        }
        Err(Denial::Invalid(problem) | Denial::NotFound(problem)) => {
            license_form_page(staff, &form, Some(&problem)).into_response()
        }
        Err(e) => refusal(Some(staff), e),
    }
}

fn license_form_page(staff: &StaffSession, form: &LicenseForm, problem: Option<&str>) -> Markup {
    let field = |id: &str, label: &str, value: &str, hint: &str| {
        html! {
            label for=(id) { (label) }
            input id=(id) name=(id) type="text" value=(value) placeholder=(hint) autocomplete="off";
        }
    };
    let body = html! {
        h1 { "New license" }
        @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
        form method="post" action="/console/licenses/new" {
            input type="hidden" name="csrf" value=(staff.csrf);
            (field("account", "Account", &form.account, "rig7"))
            (field("customer", "Customer (shown on the workstation; the account's name if left empty)", &form.customer, ""))
            label for="kind" { "Seats are" }
            select id="kind" name="kind" {
                option value="named" selected[form.kind != "concurrent"] { "named users" }
                option value="concurrent" selected[form.kind == "concurrent"] { "concurrent" }
            }
            (field("seats", "Seats", &form.seats, "10"))
            (field("quantities", "More quantities (NAME:COUNT:KIND, comma-separated)", &form.quantities, "devices:500:device"))
            (field("modules", "Modules (comma-separated)", &form.modules, "reporting, export"))
            (field("starts", "First day (YYYY-MM-DD; today if empty)", &form.starts, ""))
            (field("expires", "Last day (YYYY-MM-DD)", &form.expires, "2027-12-31"))
            (field("grace_days", "Offline grace, days", &form.grace_days, "30"))
            (field("max_grace_days", "Most grace an extension may give, days (3 × grace if empty)", &form.max_grace_days, ""))
            (field("max_rebinds", "Moves allowed in any 30 days", &form.max_rebinds, "3"))
            label { input type="checkbox" name="offline" value="on" checked[form.offline.is_some()]; " Activated by files only (a site with no internet)" }
            button type="submit" { "Create the license" }
        }
    };
    page("New license", Some(staff), &body)
}
