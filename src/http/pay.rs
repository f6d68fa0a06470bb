//! Time and money over HTTP: the agency's pay settings, timesheets (the agency approves, corrects and resolves;
//! the worker disputes), the weekly pay run and its CSV, the worker's earnings, and the clients' invoices.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::AppState;
use super::auth::{Agency, Worker};
use super::error::{ApiError, ApiResult};
use super::json::Body;
use super::pagination::{self, Page};
use super::query::Query;
use crate::domain::pay::PayWeek;
use crate::domain::{OrderId, TimesheetId, WorkerId};
use crate::engine::TimesheetFilter;
use crate::error::FieldError;
use crate::wire::pay::{
    CorrectBody, DisputeBody, EarningsView, InvoiceList, InvoiceView, ResolveBody, SettingsBody,
    SettingsView, SettlementView, TimesheetPage, TimesheetView, invoice_csv, settlement_csv,
};

/// The routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/agency/settings", get(settings).patch(patch_settings))
        .route("/v1/timesheets", get(list))
        .route("/v1/timesheets/{id}", get(read))
        .route("/v1/timesheets/{id}/approve", post(approve))
        .route("/v1/timesheets/{id}/correct", post(correct))
        .route("/v1/timesheets/{id}/resolve", post(resolve))
        .route("/v1/me/timesheets", get(my_list))
        .route("/v1/me/timesheets/{id}/dispute", post(dispute))
        .route("/v1/me/earnings", get(earnings))
        .route("/v1/settlements", get(settlement_by_query))
        .route("/v1/settlements/{week}", get(settlement))
        .route("/v1/settlements/{week}/close", post(close))
        .route("/v1/settlements/{week}/paid", post(paid))
        .route("/v1/invoices", get(invoices))
        .route("/v1/invoices/{week}/{client_ref}", get(invoice))
}

fn timesheet_id(raw: &str) -> Result<TimesheetId, ApiError> {
    raw.parse::<TimesheetId>()
        .map_err(|_| ApiError::Lib(crate::Error::NotFound("timesheet".into())))
}

fn week(raw: &str) -> Result<PayWeek, ApiError> {
    PayWeek::parse(raw).map_err(|e| ApiError::from(vec![e]))
}

/// `2026-W48` or `2026-W48.csv`: the week, and whether CSV was asked for.
fn week_and_format(raw: &str, format: Option<&str>) -> Result<(PayWeek, bool), ApiError> {
    let (raw, suffix) = match raw.strip_suffix(".csv") {
        Some(w) => (w, true),
        None => (raw, false),
    };
    Ok((week(raw)?, suffix || csv(format)?))
}

fn csv(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::from(vec![FieldError::new(
            "format",
            "must be json or csv",
        )])),
    }
}

fn csv_response(body: String, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(get, path = "/v1/agency/settings", tag = "pay",
    responses((status = 200, body = SettingsView, description = "The agency's pay settings (the defaults until changed)"),
              (status = 401, body = super::error::Problem)),
    security(("agency" = [])))]
async fn settings(
    State(state): State<AppState>,
    Agency(agency): Agency,
) -> ApiResult<axum::Json<SettingsView>> {
    Ok(axum::Json(state.engine.agency_settings(agency).await?))
}

#[utoipa::path(patch, path = "/v1/agency/settings", tag = "pay", request_body = SettingsBody,
    responses((status = 200, body = SettingsView, description = "Changed; the fields not sent are kept"),
              (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem, description = "An invalid field; nothing changed")),
    security(("agency" = [])))]
async fn patch_settings(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Body(body): Body<SettingsBody>,
) -> ApiResult<axum::Json<SettingsView>> {
    Ok(axum::Json(
        state.engine.patch_agency_settings(agency, &body).await?,
    ))
}

/// Filters of the timesheet lists.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TimesheetParams {
    /// Shifts starting in this pay week (`2026-W48`, in the agency's timezone).
    week: Option<String>,
    /// `submitted`, `disputed` or `approved`.
    status: Option<String>,
    /// One worker's (`wrk_…`; agency only).
    worker: Option<String>,
    /// One order's (`ord_…`).
    order: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

impl TimesheetParams {
    fn filter(&self, errors: &mut Vec<FieldError>) -> TimesheetFilter {
        let week = self
            .week
            .as_deref()
            .and_then(|w| PayWeek::parse(w).map_err(|e| errors.push(e)).ok());
        if let Some(s) = &self.status
            && !crate::engine::TIMESHEET_STATUSES.contains(&s.as_str())
        {
            errors.push(FieldError::new(
                "status",
                "must be submitted, disputed or approved",
            ));
        }
        let worker = self.worker.as_deref().and_then(|w| {
            w.parse::<WorkerId>()
                .map_err(|_| errors.push(FieldError::new("worker", "is not a worker id (wrk_…)")))
                .ok()
        });
        let order = self.order.as_deref().and_then(|o| {
            o.parse::<OrderId>()
                .map_err(|_| errors.push(FieldError::new("order", "is not an order id (ord_…)")))
                .ok()
        });
        TimesheetFilter {
            week,
            status: self.status.clone(),
            worker,
            order,
        }
    }
}

async fn page(
    state: &AppState,
    agency: crate::domain::AgencyId,
    worker: Option<WorkerId>,
    p: &TimesheetParams,
) -> ApiResult<axum::Json<Page<TimesheetView>>> {
    let mut errors = Vec::new();
    let (limit, after) = pagination::params(p.limit, p.cursor.as_deref(), &mut errors);
    let filter = p.filter(&mut errors);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let items = state
        .engine
        .list_timesheets(agency, worker, &filter, after.unwrap_or(0), limit + 1)
        .await?;
    let keyed = items
        .into_iter()
        .map(|t| {
            let key = t.id.parse::<TimesheetId>().map_or(0, |i| i.get());
            (key, t)
        })
        .collect();
    Ok(axum::Json(Page::from_keyed(keyed, limit)))
}

#[utoipa::path(get, path = "/v1/timesheets", tag = "pay", params(TimesheetParams),
    responses((status = 200, body = TimesheetPage, description = "The agency's timesheets, in the order shifts completed"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn list(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<TimesheetParams>,
) -> ApiResult<axum::Json<Page<TimesheetView>>> {
    page(&state, agency, None, &p).await
}

#[utoipa::path(get, path = "/v1/timesheets/{id}", tag = "pay", params(("id" = String, Path)),
    responses((status = 200, body = TimesheetView), (status = 401, body = super::error::Problem),
              (status = 404, body = super::error::Problem)),
    security(("agency" = [])))]
async fn read(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<TimesheetView>> {
    Ok(axum::Json(
        state.engine.timesheet(agency, timesheet_id(&id)?).await?,
    ))
}

#[utoipa::path(post, path = "/v1/timesheets/{id}/approve", tag = "pay", params(("id" = String, Path)),
    responses((status = 200, body = TimesheetView, description = "Approved: in its week's pay run"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Disputed (resolve it), already approved, or settled")),
    security(("agency" = [])))]
async fn approve(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
) -> ApiResult<axum::Json<TimesheetView>> {
    Ok(axum::Json(
        state
            .engine
            .approve_timesheet(agency, timesheet_id(&id)?)
            .await?,
    ))
}

#[utoipa::path(post, path = "/v1/timesheets/{id}/correct", tag = "pay", params(("id" = String, Path)),
    request_body = CorrectBody,
    responses((status = 200, body = TimesheetView, description = "Corrected; the first recorded times are kept in `original`"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Settled in a closed pay run"),
              (status = 422, body = super::error::Problem, description = "Bad times or minutes, or no reason")),
    security(("agency" = [])))]
async fn correct(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Body(body): Body<CorrectBody>,
) -> ApiResult<axum::Json<TimesheetView>> {
    let id = timesheet_id(&id)?;
    Ok(axum::Json(
        state.engine.correct_timesheet(agency, id, &body).await?,
    ))
}

#[utoipa::path(post, path = "/v1/timesheets/{id}/resolve", tag = "pay", params(("id" = String, Path)),
    request_body = ResolveBody,
    responses((status = 200, body = TimesheetView, description = "The dispute resolved (corrected if asked) and the timesheet approved"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Not disputed, or settled"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn resolve(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(id): Path<String>,
    Body(body): Body<ResolveBody>,
) -> ApiResult<axum::Json<TimesheetView>> {
    let id = timesheet_id(&id)?;
    Ok(axum::Json(
        state.engine.resolve_timesheet(agency, id, &body).await?,
    ))
}

#[utoipa::path(get, path = "/v1/me/timesheets", tag = "pay", params(TimesheetParams),
    responses((status = 200, body = TimesheetPage, description = "The worker's own timesheets"),
              (status = 401, body = super::error::Problem), (status = 422, body = super::error::Problem)),
    security(("worker" = [])))]
async fn my_list(
    State(state): State<AppState>,
    me: Worker,
    Query(p): Query<TimesheetParams>,
) -> ApiResult<axum::Json<Page<TimesheetView>>> {
    page(&state, me.agency, Some(me.worker), &p).await
}

#[utoipa::path(post, path = "/v1/me/timesheets/{id}/dispute", tag = "pay", params(("id" = String, Path)),
    request_body = DisputeBody,
    responses((status = 200, body = TimesheetView, description = "Disputed: out of the pay run until the agency resolves it"),
              (status = 401, body = super::error::Problem), (status = 404, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "The window has closed, or it is no longer submitted"),
              (status = 422, body = super::error::Problem)),
    security(("worker" = [])))]
async fn dispute(
    State(state): State<AppState>,
    me: Worker,
    Path(id): Path<String>,
    Body(body): Body<DisputeBody>,
) -> ApiResult<axum::Json<TimesheetView>> {
    let id = timesheet_id(&id)?;
    Ok(axum::Json(
        state
            .engine
            .dispute_timesheet(me.agency, me.worker, id, &body.reason)
            .await?,
    ))
}

#[utoipa::path(get, path = "/v1/me/earnings", tag = "pay",
    responses((status = 200, body = EarningsView, description = "Per week, newest first: shifts, amounts, statuses and the expected payout date"),
              (status = 401, body = super::error::Problem)),
    security(("worker" = [])))]
async fn earnings(
    State(state): State<AppState>,
    me: Worker,
) -> ApiResult<axum::Json<EarningsView>> {
    Ok(axum::Json(
        state.engine.earnings(me.agency, me.worker).await?,
    ))
}

/// A week, by query.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct WeekParams {
    /// The pay week, `2026-W48` (required).
    week: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

/// The answer's format.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FormatParams {
    /// `json` (the default) or `csv`.
    format: Option<String>,
}

fn required_week(p: &WeekParams) -> Result<(PayWeek, bool), ApiError> {
    let raw = p.week.as_deref().ok_or_else(|| {
        ApiError::from(vec![FieldError::new("week", "is required, like 2026-W48")])
    })?;
    Ok((week(raw)?, csv(p.format.as_deref())?))
}

async fn settlement_answer(
    state: &AppState,
    agency: crate::domain::AgencyId,
    w: PayWeek,
    as_csv: bool,
) -> ApiResult<Response> {
    let run = state.engine.settlement(agency, w).await?;
    Ok(if as_csv {
        csv_response(settlement_csv(&run), &format!("settlement-{w}"))
    } else {
        axum::Json(run).into_response()
    })
}

#[utoipa::path(get, path = "/v1/settlements", tag = "pay", params(WeekParams),
    responses((status = 200, description = "The week's pay run (CSV with format=csv)", content(
                  (SettlementView = "application/json"),
                  (String = "text/csv", example = "week,status,worker_id,…"))),
              (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem, description = "No week, or not an ISO week")),
    security(("agency" = [])))]
async fn settlement_by_query(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<WeekParams>,
) -> ApiResult<Response> {
    let (w, as_csv) = required_week(&p)?;
    settlement_answer(&state, agency, w, as_csv).await
}

#[utoipa::path(get, path = "/v1/settlements/{week}", tag = "pay",
    params(("week" = String, Path, description = "`2026-W48`, or `2026-W48.csv` for CSV"), FormatParams),
    responses((status = 200, description = "The week's pay run", content(
                  (SettlementView = "application/json"),
                  (String = "text/csv", example = "week,status,worker_id,…"))),
              (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem, description = "Not an ISO week")),
    security(("agency" = [])))]
async fn settlement(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(raw): Path<String>,
    Query(f): Query<FormatParams>,
) -> ApiResult<Response> {
    let (w, as_csv) = week_and_format(&raw, f.format.as_deref())?;
    settlement_answer(&state, agency, w, as_csv).await
}

#[utoipa::path(post, path = "/v1/settlements/{week}/close", tag = "pay", params(("week" = String, Path)),
    responses((status = 200, body = SettlementView, description = "Closed: frozen, with its payout date"),
              (status = 401, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "The week is not over, timesheets are pending, or it is closed already"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn close(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<SettlementView>> {
    let w = week(&raw)?;
    Ok(axum::Json(state.engine.close_settlement(agency, w).await?))
}

#[utoipa::path(post, path = "/v1/settlements/{week}/paid", tag = "pay", params(("week" = String, Path)),
    responses((status = 200, body = SettlementView, description = "Marked paid"),
              (status = 401, body = super::error::Problem),
              (status = 409, body = super::error::Problem, description = "Still open, or paid already"),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn paid(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path(raw): Path<String>,
) -> ApiResult<axum::Json<SettlementView>> {
    let w = week(&raw)?;
    Ok(axum::Json(state.engine.pay_settlement(agency, w).await?))
}

#[utoipa::path(get, path = "/v1/invoices", tag = "pay", params(WeekParams),
    responses((status = 200, body = InvoiceList, description = "The week's invoices, one per client"),
              (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn invoices(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Query(p): Query<WeekParams>,
) -> ApiResult<axum::Json<InvoiceList>> {
    let (w, as_csv) = required_week(&p)?;
    if as_csv {
        return Err(ApiError::from(vec![FieldError::new(
            "format",
            "the list is JSON; each invoice has its CSV",
        )]));
    }
    Ok(axum::Json(state.engine.invoices(agency, w).await?))
}

#[utoipa::path(get, path = "/v1/invoices/{week}/{client_ref}", tag = "pay",
    params(("week" = String, Path), ("client_ref" = String, Path, description = "The client; a `.csv` suffix asks for CSV"),
           FormatParams),
    responses((status = 200, description = "The client's invoice for the week", content(
                  (InvoiceView = "application/json"),
                  (String = "text/csv", example = "week,client_ref,kind,…"))),
              (status = 401, body = super::error::Problem),
              (status = 422, body = super::error::Problem)),
    security(("agency" = [])))]
async fn invoice(
    State(state): State<AppState>,
    Agency(agency): Agency,
    Path((raw_week, client)): Path<(String, String)>,
    Query(f): Query<FormatParams>,
) -> ApiResult<Response> {
    let w = week(&raw_week)?;
    let (client, suffix) = match client.strip_suffix(".csv") {
        Some(c) => (c.to_string(), true),
        None => (client, false),
    };
    let as_csv = suffix || csv(f.format.as_deref())?;
    if client.trim().is_empty() || client.chars().count() > 200 || client.contains('\0') {
        return Err(ApiError::from(vec![FieldError::new(
            "client_ref",
            "must be 1 to 200 characters, without NUL",
        )]));
    }
    let inv: InvoiceView = state.engine.invoice(agency, w, &client).await?;
    Ok(if as_csv {
        csv_response(invoice_csv(&inv), &format!("invoice-{w}"))
    } else {
        axum::Json(inv).into_response()
    })
}
