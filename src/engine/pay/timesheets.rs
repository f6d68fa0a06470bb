//! Timesheets: one per completed shift, written with its completion. `submitted` until the worker disputes it
//! (within the agency's window after the shift) or it is approved — by the agency, or automatically when the
//! window ends (timer kind 6, claimed like every timer). A dispute is resolved by the agency, which approves it.
//! The agency may correct times or minutes with a reason: the first recorded times are kept as `original`.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;

use super::super::orders::OrderState;
use super::super::{Engine, from_ms, ms};
use crate::domain::pay::{PaySettings, PayWeek, pay_for};
use crate::domain::time::{format_instant, parse_instant};
use crate::domain::{AgencyId, AssignmentId, OrderId, TimesheetId, WorkerId};
use crate::error::{Error, FieldError};
use crate::store::orders::AssignmentRow;
use crate::store::{self, Tx};
use crate::wire::pay::{
    CorrectBody, CorrectionView, DisputeView, Money, ResolveBody, ShiftTimes, TimesheetTimes,
    TimesheetView,
};

/// A timesheet as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct TimesheetRow {
    pub id: i64,
    pub agency_id: i64,
    pub assignment_id: i64,
    pub order_id: i64,
    pub worker_id: i64,
    pub client_ref: String,
    pub role_name: String,
    pub start_at: i64,
    pub end_at: i64,
    pub checked_in_at: Option<i64>,
    pub checked_out_at: Option<i64>,
    pub break_minutes: i64,
    pub worked_minutes: i64,
    pub rate_minor: Option<i64>,
    pub bill_rate_minor: Option<i64>,
    pub status: String,
    pub dispute_until: i64,
    pub disputed_at: Option<i64>,
    pub dispute_reason: Option<String>,
    pub approved_at: Option<i64>,
    pub approved_by: Option<String>,
    pub resolution: Option<String>,
    pub original: Option<String>,
    pub corrections: String,
    pub settlement_week: Option<String>,
    pub created_at: i64,
}

/// The head of the undisputed timesheets whose window ends by `$1` (kind 6), a subquery of the timers'
/// heads.
pub(crate) const AUTO_APPROVAL_HEAD: &str = "SELECT dispute_until AS at, 6 AS kind, id, 0 AS ord FROM timesheets \
     WHERE status = 'submitted' AND dispute_until <= $1 AND settlement_week IS NULL \
     ORDER BY dispute_until, id LIMIT 1";

pub(crate) const COLS: &str = "id, agency_id, assignment_id, order_id, worker_id, client_ref, role_name, start_at, \
    end_at, checked_in_at, checked_out_at, break_minutes, worked_minutes, rate_minor, bill_rate_minor, status, \
    dispute_until, disputed_at, dispute_reason, approved_at, approved_by, resolution, original, corrections, \
    settlement_week, created_at";

fn instant(t: Option<i64>) -> Option<String> {
    t.map(|t| format_instant(from_ms(t)))
}

impl TimesheetRow {
    /// The times and minutes in force.
    pub fn times(&self) -> TimesheetTimes {
        TimesheetTimes {
            checked_in_at: instant(self.checked_in_at),
            checked_out_at: instant(self.checked_out_at),
            break_minutes: self.break_minutes,
            worked_minutes: self.worked_minutes,
        }
    }

    /// Worked minutes less breaks.
    pub fn paid_minutes(&self) -> i64 {
        (self.worked_minutes - self.break_minutes).max(0)
    }

    /// Base pay.
    pub fn pay_minor(&self) -> i64 {
        pay_for(self.rate_minor, self.paid_minutes())
    }

    /// Billed amount.
    pub fn bill_minor(&self) -> i64 {
        pay_for(self.bill_rate_minor, self.paid_minutes())
    }

    /// Paid minutes inside the agency's night window: of the span from the later of start and check-in to the
    /// earlier of end and check-out, never more than the paid minutes.
    pub fn night_minutes(&self, s: &PaySettings) -> i64 {
        let from = self
            .start_at
            .max(self.checked_in_at.unwrap_or(self.start_at));
        let to = self.end_at.min(self.checked_out_at.unwrap_or(self.end_at));
        s.night_minutes(from_ms(from), from_ms(to))
            .min(self.paid_minutes())
    }

    /// The API's view; the bill rate only for the agency.
    pub fn view(&self, s: &PaySettings, for_agency: bool) -> TimesheetView {
        let cur = &s.currency;
        TimesheetView {
            id: TimesheetId::new(self.id as u64).to_string(),
            assignment_id: AssignmentId::new(self.assignment_id as u64).to_string(),
            order_id: OrderId::new(self.order_id as u64).to_string(),
            worker_id: WorkerId::new(self.worker_id as u64).to_string(),
            client_ref: self.client_ref.clone(),
            role: self.role_name.clone(),
            shift: ShiftTimes {
                start: format_instant(from_ms(self.start_at)),
                end: format_instant(from_ms(self.end_at)),
            },
            week: s.week_of(from_ms(self.start_at)).to_string(),
            times: self.times(),
            paid_minutes: self.paid_minutes(),
            pay_per_hour: self.rate_minor.map(|r| Money::new(r, cur)),
            pay: Money::new(self.pay_minor(), cur),
            bill_per_hour: if for_agency {
                self.bill_rate_minor.map(|r| Money::new(r, cur))
            } else {
                None
            },
            status: self.status.clone(),
            dispute_until: format_instant(from_ms(self.dispute_until)),
            dispute: match (self.disputed_at, &self.dispute_reason) {
                (Some(at), Some(reason)) => Some(DisputeView {
                    at: format_instant(from_ms(at)),
                    reason: reason.clone(),
                }),
                _ => None,
            },
            resolution: self.resolution.clone(),
            approved_at: instant(self.approved_at),
            approved_by: self.approved_by.clone(),
            original: self
                .original
                .as_deref()
                .and_then(|o| serde_json::from_str(o).ok()),
            corrections: serde_json::from_str(&self.corrections).unwrap_or_default(),
            settlement_week: self.settlement_week.clone(),
            created_at: format_instant(from_ms(self.created_at)),
        }
    }
}

/// What the timesheet lists filter on.
#[derive(Debug, Clone, Default)]
pub struct TimesheetFilter {
    /// Shifts starting in this pay week (in the agency's timezone).
    pub week: Option<PayWeek>,
    /// In this status (`submitted`, `disputed`, `approved`).
    pub status: Option<String>,
    /// One worker's.
    pub worker: Option<WorkerId>,
    /// One order's.
    pub order: Option<OrderId>,
}

/// The statuses a timesheet can be in.
pub const STATUSES: &[&str] = &["submitted", "disputed", "approved"];

/// Locks a timesheet of the agency (or of one worker) for a command; another's is not found.
async fn lock(
    tx: &mut Tx,
    id: TimesheetId,
    agency: AgencyId,
    worker: Option<WorkerId>,
) -> crate::Result<TimesheetRow> {
    let lock = if tx.backend() == store::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let row: Option<TimesheetRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM timesheets WHERE id = $1 AND agency_id = $2 \
         AND ($3 IS NULL OR worker_id = $3){lock}"
    )))
    .bind(id.get() as i64)
    .bind(agency.get() as i64)
    .bind(worker.map(|w| w.get() as i64))
    .fetch_optional(tx.conn().await?)
    .await
    .map_err(store::db_error)?;
    row.ok_or_else(|| Error::NotFound("timesheet".into()))
}

/// Refuses a change to a timesheet its week's pay run has frozen.
fn not_settled(t: &TimesheetRow) -> crate::Result<()> {
    match &t.settlement_week {
        Some(w) => Err(Error::Conflict(format!(
            "the timesheet is settled in the closed pay run of {w}"
        ))),
        None => Ok(()),
    }
}

fn reason_of(raw: &str, field: &str) -> Result<String, FieldError> {
    let r = raw.trim();
    if r.is_empty() || r.chars().count() > 500 {
        Err(FieldError::new(field, "must be 1 to 500 characters"))
    } else {
        Ok(r.to_string())
    }
}

/// The times a correction leads to, checked against the shift: new check-in/out (worked minutes follow from
/// them, counted from the later of start and check-in to the earlier of end and check-out) or new worked
/// minutes, and or break minutes.
fn corrected(t: &TimesheetRow, c: &CorrectBody) -> Result<TimesheetRow, Vec<FieldError>> {
    let mut errors = Vec::new();
    if let Err(e) = reason_of(&c.reason, "reason") {
        errors.push(e);
    }
    let times = c.checked_in_at.is_some() || c.checked_out_at.is_some();
    if !times && c.worked_minutes.is_none() && c.break_minutes.is_none() {
        errors.push(FieldError::new(
            "",
            "give new checked_in_at/checked_out_at, worked_minutes or break_minutes",
        ));
    }
    if times && c.worked_minutes.is_some() {
        errors.push(FieldError::new(
            "worked_minutes",
            "give either times or worked_minutes, not both",
        ));
    }
    let mut next = t.clone();
    let slack = Duration::hours(24).num_milliseconds();
    let time = |raw: &Option<String>, field: &str, errors: &mut Vec<FieldError>| match raw {
        None => None,
        Some(r) => match parse_instant(r) {
            Ok(at) if ms(at) >= t.start_at - slack && ms(at) <= t.end_at + slack => Some(ms(at)),
            Ok(_) => {
                errors.push(FieldError::new(field, "must be within a day of the shift"));
                None
            }
            Err(e) => {
                errors.push(e.under(field));
                None
            }
        },
    };
    let cin = time(&c.checked_in_at, "checked_in_at", &mut errors);
    let cout = time(&c.checked_out_at, "checked_out_at", &mut errors);
    if times {
        let cin = cin.or(t.checked_in_at).unwrap_or(t.start_at);
        let cout = cout.or(t.checked_out_at).unwrap_or(t.end_at);
        if cout <= cin {
            errors.push(FieldError::new(
                "checked_out_at",
                "must be after the check-in",
            ));
        }
        next.checked_in_at = Some(cin);
        next.checked_out_at = Some(cout);
        next.worked_minutes = ((cout.min(t.end_at) - cin.max(t.start_at)) / 60_000).max(0);
    }
    if let Some(w) = c.worked_minutes {
        if (0..=1440).contains(&w) {
            next.worked_minutes = w;
        } else {
            errors.push(FieldError::new(
                "worked_minutes",
                "must be between 0 and 1440",
            ));
        }
    }
    if let Some(b) = c.break_minutes {
        if b < 0 || b > next.worked_minutes {
            errors.push(FieldError::new(
                "break_minutes",
                format!(
                    "must be between 0 and the worked minutes ({})",
                    next.worked_minutes
                ),
            ));
        } else {
            next.break_minutes = b;
        }
    } else if next.break_minutes > next.worked_minutes {
        next.break_minutes = next.worked_minutes;
    }
    if errors.is_empty() {
        Ok(next)
    } else {
        Err(errors)
    }
}

impl Engine {
    /// Writes the timesheet of an assignment just completed (inside the completing transaction), with its
    /// `timesheet_submitted` event.
    pub(in crate::engine) async fn submit_timesheet(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        a: &AssignmentRow,
        now: DateTime<Utc>,
        worked: i64,
    ) -> crate::Result<()> {
        if a.kind != "shift" {
            return Ok(());
        }
        let s = super::settings_tx(tx, st.row.agency_id).await?;
        let role = st.order.roles.get(a.role_idx as usize);
        let rate = role.and_then(|r| r.pay_per_hour).map(|p| s.to_minor(p));
        let bill = role.and_then(|r| r.bill_per_hour).map(|p| s.to_minor(p));
        let now_ms = ms(now);
        let window = i64::from(s.dispute_window_hours) * 3_600_000;
        let row: Option<TimesheetRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "INSERT INTO timesheets (agency_id, assignment_id, order_id, worker_id, client_ref, role_name, start_at, \
             end_at, checked_in_at, checked_out_at, break_minutes, worked_minutes, rate_minor, bill_rate_minor, \
             status, dispute_until, corrections, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0, $11, $12, $13, 'submitted', $14, '[]', $15, $15) \
             ON CONFLICT (assignment_id) DO NOTHING RETURNING {COLS}"
        )))
        .bind(st.row.agency_id)
        .bind(a.id)
        .bind(a.order_id)
        .bind(a.worker_id)
        .bind(&st.order.client_ref)
        .bind(role.map_or(String::new(), |r| r.name.clone()))
        .bind(a.start_at)
        .bind(a.end_at)
        .bind(a.checked_in_at)
        .bind(now_ms)
        .bind(worked)
        .bind(rate)
        .bind(bill)
        .bind(a.end_at.max(now_ms) + window)
        .bind(now_ms)
        .fetch_optional(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let Some(t) = row else { return Ok(()) };
        store::events::append(
            tx,
            now_ms,
            Some(st.order.agency.get()),
            "timesheet_submitted",
            &json!({"timesheet": t.view(&s, true), "worker": WorkerId::new(a.worker_id as u64).to_string(),
                    "assignment": AssignmentId::new(a.id as u64).to_string(),
                    "order": st.order.id.to_string()}),
        )
        .await
    }

    /// One of the agency's timesheets.
    pub async fn timesheet(
        &self,
        agency: AgencyId,
        id: TimesheetId,
    ) -> crate::Result<TimesheetView> {
        let (s, _, _) = super::settings_of(self.store.pool(), agency.get() as i64).await?;
        let row: Option<TimesheetRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM timesheets WHERE id = $1 AND agency_id = $2"
        )))
        .bind(id.get() as i64)
        .bind(agency.get() as i64)
        .fetch_optional(self.store.pool())
        .await
        .map_err(store::db_error)?;
        Ok(row
            .ok_or_else(|| Error::NotFound("timesheet".into()))?
            .view(&s, true))
    }

    /// The agency's timesheets (or one worker's, for the app) with an id above `after`, filtered, at most
    /// `limit`, in id order (the order shifts completed).
    pub async fn list_timesheets(
        &self,
        agency: AgencyId,
        worker_app: Option<WorkerId>,
        filter: &TimesheetFilter,
        after: u64,
        limit: i64,
    ) -> crate::Result<Vec<TimesheetView>> {
        let (s, _, _) = super::settings_of(self.store.pool(), agency.get() as i64).await?;
        let (from, to) = match filter.week {
            Some(w) => {
                let (a, b) = s.bounds(w);
                (Some(ms(a)), Some(ms(b)))
            }
            None => (None, None),
        };
        let worker = worker_app.or(filter.worker).map(|w| w.get() as i64);
        let rows: Vec<TimesheetRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM timesheets WHERE agency_id = $1 AND id > $2 \
             AND ($3 IS NULL OR start_at >= $3) AND ($4 IS NULL OR start_at < $4) \
             AND ($5 IS NULL OR worker_id = $5) AND ($6 IS NULL OR order_id = $6) \
             AND ($7 IS NULL OR status = $7) ORDER BY id LIMIT $8"
        )))
        .bind(agency.get() as i64)
        .bind(after as i64)
        .bind(from)
        .bind(to)
        .bind(worker)
        .bind(filter.order.map(|o| o.get() as i64))
        .bind(filter.status.clone())
        .bind(limit)
        .fetch_all(self.store.pool())
        .await
        .map_err(store::db_error)?;
        Ok(rows
            .iter()
            .map(|r| r.view(&s, worker_app.is_none()))
            .collect())
    }

    /// The agency approves a submitted timesheet (a disputed one is resolved instead).
    #[tracing::instrument(skip(self))]
    pub async fn approve_timesheet(
        &self,
        agency: AgencyId,
        id: TimesheetId,
    ) -> crate::Result<TimesheetView> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let t = lock(&mut tx, id, agency, None).await?;
        not_settled(&t)?;
        match t.status.as_str() {
            "submitted" => {}
            "disputed" => {
                return Err(Error::Conflict(
                    "the worker disputes the timesheet: resolve the dispute instead".into(),
                ));
            }
            other => return Err(Error::Conflict(format!("the timesheet is {other}"))),
        }
        let view = self.approve(&mut tx, &t, now, "agency", None).await?;
        self.committed(tx).await?;
        Ok(view)
    }

    /// Approves a timesheet with its event; answers its view.
    async fn approve(
        &self,
        tx: &mut Tx,
        t: &TimesheetRow,
        now: i64,
        by: &str,
        resolution: Option<&str>,
    ) -> crate::Result<TimesheetView> {
        sqlx::query(
            "UPDATE timesheets SET status = 'approved', approved_at = $1, approved_by = $2, \
             resolution = COALESCE($3, resolution), updated_at = $1 WHERE id = $4",
        )
        .bind(now)
        .bind(by)
        .bind(resolution)
        .bind(t.id)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let s = super::settings_tx(tx, t.agency_id).await?;
        let mut row = t.clone();
        row.status = "approved".into();
        row.approved_at = Some(now);
        row.approved_by = Some(by.into());
        if let Some(r) = resolution {
            row.resolution = Some(r.into());
        }
        store::events::append(
            tx,
            now,
            Some(t.agency_id as u64),
            "timesheet_approved",
            &json!({"timesheet": TimesheetId::new(t.id as u64).to_string(),
                    "worker": WorkerId::new(t.worker_id as u64).to_string(),
                    "by": by, "resolution": resolution,
                    "paid_minutes": row.paid_minutes(), "pay_minor": row.pay_minor(), "currency": s.currency}),
        )
        .await?;
        Ok(row.view(&s, true))
    }

    /// The agency corrects a timesheet's times or minutes with a reason; the times first recorded are kept.
    #[tracing::instrument(skip(self, body))]
    pub async fn correct_timesheet(
        &self,
        agency: AgencyId,
        id: TimesheetId,
        body: &CorrectBody,
    ) -> crate::Result<TimesheetView> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let t = lock(&mut tx, id, agency, None).await?;
        // Checked before the state, so that a bad body is always a 422.
        let next = corrected(&t, body)?;
        not_settled(&t)?;
        let view = self
            .write_correction(&mut tx, &t, &next, body, now, "agency")
            .await?;
        self.committed(tx).await?;
        Ok(view)
    }

    async fn write_correction(
        &self,
        tx: &mut Tx,
        t: &TimesheetRow,
        next: &TimesheetRow,
        body: &CorrectBody,
        now: i64,
        by: &str,
    ) -> crate::Result<TimesheetView> {
        let reason = body.reason.trim().to_string();
        let original = t
            .original
            .clone()
            .unwrap_or_else(|| serde_json::to_string(&t.times()).expect("times serialise"));
        let mut list: Vec<CorrectionView> =
            serde_json::from_str(&t.corrections).unwrap_or_default();
        list.push(CorrectionView {
            at: format_instant(from_ms(now)),
            reason: reason.clone(),
            before: t.times(),
            after: next.times(),
        });
        let corrections = serde_json::to_string(&list).expect("corrections serialise");
        sqlx::query(
            "UPDATE timesheets SET checked_in_at = $1, checked_out_at = $2, worked_minutes = $3, break_minutes = $4, \
             original = $5, corrections = $6, updated_at = $7 WHERE id = $8",
        )
        .bind(next.checked_in_at)
        .bind(next.checked_out_at)
        .bind(next.worked_minutes)
        .bind(next.break_minutes)
        .bind(&original)
        .bind(&corrections)
        .bind(now)
        .bind(t.id)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let s = super::settings_tx(tx, t.agency_id).await?;
        let mut row = next.clone();
        row.original = Some(original);
        row.corrections = corrections;
        store::events::append(
            tx,
            now,
            Some(t.agency_id as u64),
            "timesheet_corrected",
            &json!({"timesheet": TimesheetId::new(t.id as u64).to_string(),
                    "worker": WorkerId::new(t.worker_id as u64).to_string(),
                    "reason": reason, "before": t.times(), "after": next.times(), "change": body, "by": by}),
        )
        .await?;
        Ok(row.view(&s, true))
    }

    /// The agency resolves a worker's dispute, correcting the times if it says so; the timesheet is approved.
    #[tracing::instrument(skip(self, body))]
    pub async fn resolve_timesheet(
        &self,
        agency: AgencyId,
        id: TimesheetId,
        body: &ResolveBody,
    ) -> crate::Result<TimesheetView> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let t = lock(&mut tx, id, agency, None).await?;
        let resolution = reason_of(&body.resolution, "resolution").map_err(|e| vec![e])?;
        let correction = body.correction();
        let next = match &correction {
            Some(c) => Some(corrected(&t, c)?),
            None => None,
        };
        not_settled(&t)?;
        if t.status != "disputed" {
            return Err(Error::Conflict(format!(
                "only a disputed timesheet is resolved; this one is {}",
                t.status
            )));
        }
        let mut current = t.clone();
        if let (Some(c), Some(next)) = (&correction, &next) {
            self.write_correction(&mut tx, &t, next, c, now, "resolution")
                .await?;
            current = lock(&mut tx, id, agency, None).await?;
        }
        let view = self
            .approve(&mut tx, &current, now, "resolution", Some(&resolution))
            .await?;
        self.committed(tx).await?;
        Ok(view)
    }

    /// The worker disputes a submitted timesheet, within the window after the shift.
    #[tracing::instrument(skip(self, reason))]
    pub async fn dispute_timesheet(
        &self,
        agency: AgencyId,
        worker: WorkerId,
        id: TimesheetId,
        reason: &str,
    ) -> crate::Result<TimesheetView> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let t = lock(&mut tx, id, agency, Some(worker)).await?;
        let reason = reason_of(reason, "reason").map_err(|e| vec![e])?;
        not_settled(&t)?;
        if t.status != "submitted" {
            return Err(Error::Conflict(format!("the timesheet is {}", t.status)));
        }
        if now > t.dispute_until {
            return Err(Error::Conflict(format!(
                "the dispute window closed at {}",
                format_instant(from_ms(t.dispute_until))
            )));
        }
        sqlx::query(
            "UPDATE timesheets SET status = 'disputed', disputed_at = $1, dispute_reason = $2, updated_at = $1 \
             WHERE id = $3",
        )
        .bind(now)
        .bind(&reason)
        .bind(t.id)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "timesheet_disputed",
            &json!({"timesheet": id.to_string(), "worker": worker.to_string(), "reason": reason}),
        )
        .await?;
        let s = super::settings_tx(&mut tx, agency.get() as i64).await?;
        let mut row = t;
        row.status = "disputed".into();
        row.disputed_at = Some(now);
        row.dispute_reason = Some(reason);
        self.committed(tx).await?;
        Ok(row.view(&s, false))
    }

    /// Timer kind 6: approves an undisputed timesheet at the end of its window, once: the row is claimed
    /// (`FOR UPDATE`, or `SKIP LOCKED` when another node may be firing it) and checked again under the lock.
    pub(in crate::engine) async fn auto_approve(
        &self,
        mut tx: Tx,
        id: i64,
        now: DateTime<Utc>,
        skip_locked: bool,
    ) -> crate::Result<bool> {
        let lock = match (self.store.backend(), skip_locked) {
            (store::Backend::Postgres, false) => " FOR UPDATE",
            (store::Backend::Postgres, true) => " FOR UPDATE SKIP LOCKED",
            _ => "",
        };
        let row: Option<TimesheetRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM timesheets WHERE id = $1 AND status = 'submitted'{lock}"
        )))
        .bind(id)
        .fetch_optional(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let Some(t) = row else {
            return Ok(!skip_locked);
        };
        if t.dispute_until > ms(now) || t.settlement_week.is_some() {
            return Ok(true);
        }
        self.approve(&mut tx, &t, ms(now), "automatic", None)
            .await?;
        self.committed(tx).await?;
        Ok(true)
    }
}
