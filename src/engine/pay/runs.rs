//! The weekly pay run, its closing and payment, a worker's earnings and the clients' invoices, all read from
//! the stored timesheets and late cancellations. An open week is computed on every read with the agency's
//! settings in force; closing freezes it (its timesheets and cancellations are marked settled, and the run as
//! answered then is kept), so a closed or paid week never changes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::super::orders::OrderState;
use super::super::{Engine, from_ms, ms};
use super::timesheets::{COLS, TimesheetRow};
use crate::domain::pay::{PaySettings, PayWeek, Worked, price_week};
use crate::domain::time::format_instant;
use crate::domain::{AgencyId, AssignmentId, OrderId, TimesheetId, WorkerId};
use crate::error::Error;
use crate::store::orders::AssignmentRow;
use crate::store::{self, Tx};
use crate::wire::pay::{
    EarningCancellation, EarningShift, EarningWeek, EarningsView, InvoiceFee, InvoiceLine,
    InvoiceList, InvoiceSummary, InvoiceTotals, InvoiceView, Money, PayTotals, PendingCounts,
    SettlementView, WeekPeriod, WorkerPay, hours,
};

/// Why an assignment ended that compensates its worker when it comes late: the client or the agency
/// cancelled the shift (the order, the assignment, or a lowered headcount).
const COMPENSATED: &[&str] = &["agency_cancelled", "order_cancelled", "headcount_lowered"];

/// A late cancellation as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
struct CancellationRow {
    assignment_id: i64,
    order_id: i64,
    worker_id: i64,
    client_ref: String,
    role_name: String,
    start_at: i64,
    cancelled_at: i64,
    compensation_minor: i64,
    fee_minor: i64,
    settlement_week: Option<String>,
}

const CANCEL_COLS: &str = "assignment_id, order_id, worker_id, client_ref, role_name, start_at, cancelled_at, \
    compensation_minor, fee_minor, settlement_week";

/// What a week holds: its timesheets (every status) and late cancellations, and its shifts still running.
struct WeekData {
    timesheets: Vec<TimesheetRow>,
    cancellations: Vec<CancellationRow>,
    unfinished: i64,
}

/// The closed state of a week, if it is closed.
#[derive(Debug, Clone, sqlx::FromRow)]
struct ClosedRow {
    week: String,
    status: String,
    payout_date: String,
    snapshot: String,
    paid_at: Option<i64>,
}

async fn closed(
    conn: &mut sqlx::AnyConnection,
    agency: i64,
    week: Option<&str>,
) -> crate::Result<Vec<ClosedRow>> {
    sqlx::query_as(
        "SELECT week, status, payout_date, snapshot, paid_at FROM settlements \
         WHERE agency_id = $1 AND ($2 IS NULL OR week = $2) ORDER BY week",
    )
    .bind(agency)
    .bind(week)
    .fetch_all(conn)
    .await
    .map_err(store::db_error)
}

/// The week's data: settled in it when it is closed, else every unsettled row whose shift starts in it.
async fn week_data(
    conn: &mut sqlx::AnyConnection,
    agency: i64,
    s: &PaySettings,
    week: PayWeek,
    is_closed: bool,
) -> crate::Result<WeekData> {
    let (a, b) = s.bounds(week);
    let label = week.to_string();
    let cond = if is_closed {
        "settlement_week = $2"
    } else {
        "settlement_week IS NULL AND start_at >= $2 AND start_at < $3"
    };
    let q = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLS} FROM timesheets WHERE agency_id = $1 AND {cond} ORDER BY id"
    )))
    .bind(agency);
    let q = if is_closed {
        q.bind(label.clone())
    } else {
        q.bind(ms(a)).bind(ms(b))
    };
    let timesheets: Vec<TimesheetRow> = q.fetch_all(&mut *conn).await.map_err(store::db_error)?;
    let q = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {CANCEL_COLS} FROM late_cancellations WHERE agency_id = $1 AND {cond} ORDER BY id"
    )))
    .bind(agency);
    let q = if is_closed {
        q.bind(label)
    } else {
        q.bind(ms(a)).bind(ms(b))
    };
    let cancellations: Vec<CancellationRow> =
        q.fetch_all(&mut *conn).await.map_err(store::db_error)?;
    let (unfinished,): (i64,) = if is_closed {
        (0,)
    } else {
        sqlx::query_as(
            "SELECT COUNT(*) FROM assignments WHERE agency_id = $1 AND kind = 'shift' \
             AND status IN ('confirmed', 'checked_in') AND start_at >= $2 AND start_at < $3",
        )
        .bind(agency)
        .bind(ms(a))
        .bind(ms(b))
        .fetch_one(&mut *conn)
        .await
        .map_err(store::db_error)?
    };
    Ok(WeekData {
        timesheets,
        cancellations,
        unfinished,
    })
}

async fn external_refs(
    conn: &mut sqlx::AnyConnection,
    workers: &[i64],
) -> crate::Result<BTreeMap<i64, String>> {
    if workers.is_empty() {
        return Ok(BTreeMap::new());
    }
    let ids: Vec<String> = workers.iter().map(|w| w.to_string()).collect();
    let rows: Vec<(i64, String)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, external_ref FROM workers WHERE id IN ({})",
        ids.join(",")
    )))
    .fetch_all(conn)
    .await
    .map_err(store::db_error)?;
    Ok(rows.into_iter().collect())
}

fn worked(s: &PaySettings, t: &TimesheetRow) -> Worked {
    Worked {
        worker: t.worker_id as u64,
        id: t.id as u64,
        start_ms: t.start_at,
        minutes: t.paid_minutes(),
        rate_minor: t.rate_minor,
        night_minutes: t.night_minutes(s),
    }
}

#[derive(Default)]
struct Line {
    shifts: i64,
    minutes: i64,
    base: i64,
    ot_minutes: i64,
    ot: i64,
    night_minutes: i64,
    night: i64,
    cancellations: i64,
    comp: i64,
}

/// Each worker's line of a week's approved timesheets and cancellations.
fn lines(s: &PaySettings, ts: &[&TimesheetRow], cs: &[&CancellationRow]) -> BTreeMap<i64, Line> {
    let shifts: Vec<Worked> = ts.iter().map(|t| worked(s, t)).collect();
    let priced = price_week(s, &shifts);
    let mut out: BTreeMap<i64, Line> = BTreeMap::new();
    for (w, p) in shifts.iter().zip(&priced) {
        let l = out.entry(w.worker as i64).or_default();
        l.shifts += 1;
        l.minutes += w.minutes;
        l.base += p.base_minor;
        l.ot_minutes += p.overtime_minutes;
        l.ot += p.overtime_minor;
        if s.night.is_some() {
            l.night_minutes += w.night_minutes.min(w.minutes);
        }
        l.night += p.night_minor;
    }
    for c in cs {
        let l = out.entry(c.worker_id).or_default();
        l.cancellations += 1;
        l.comp += c.compensation_minor;
    }
    out
}

impl Line {
    fn total(&self) -> i64 {
        self.base + self.ot + self.night + self.comp
    }
}

fn run_of(
    s: &PaySettings,
    week: PayWeek,
    data: &WeekData,
    refs: &BTreeMap<i64, String>,
) -> SettlementView {
    let cur = &s.currency;
    let m = |a: i64| Money::new(a, cur);
    let approved: Vec<&TimesheetRow> = data
        .timesheets
        .iter()
        .filter(|t| t.status == "approved")
        .collect();
    let cancels: Vec<&CancellationRow> = data.cancellations.iter().collect();
    let by_worker = lines(s, &approved, &cancels);
    let mut totals = Line::default();
    let mut workers = Vec::new();
    for (w, l) in &by_worker {
        totals.shifts += l.shifts;
        totals.minutes += l.minutes;
        totals.base += l.base;
        totals.ot_minutes += l.ot_minutes;
        totals.ot += l.ot;
        totals.night += l.night;
        totals.comp += l.comp;
        workers.push(WorkerPay {
            worker_id: WorkerId::new(*w as u64).to_string(),
            external_ref: refs.get(w).cloned().unwrap_or_default(),
            shifts: l.shifts,
            approved_minutes: l.minutes,
            approved_hours: hours(l.minutes),
            base_pay: m(l.base),
            overtime_minutes: l.ot_minutes,
            overtime_premium: m(l.ot),
            night_minutes: l.night_minutes,
            night_premium: m(l.night),
            late_cancellations: l.cancellations,
            late_cancellation_compensation: m(l.comp),
            deductions: m(0),
            total: m(l.total()),
        });
    }
    let count = |st: &str| data.timesheets.iter().filter(|t| t.status == st).count() as i64;
    let pending = PendingCounts {
        submitted: count("submitted"),
        disputed: count("disputed"),
        unfinished_shifts: data.unfinished,
    };
    let note = if pending.submitted + pending.disputed + pending.unfinished_shifts == 0 {
        "every timesheet of the week is approved and in the run".to_string()
    } else {
        format!(
            "{} timesheet(s) still in their dispute window, {} disputed and {} shift(s) not finished are not \
             in the run until approved",
            pending.submitted, pending.disputed, pending.unfinished_shifts
        )
    };
    let (a, b) = s.bounds(week);
    let first = week.first_day(s.week_start);
    SettlementView {
        week: week.to_string(),
        status: "open".into(),
        currency: cur.clone(),
        period: WeekPeriod {
            first_day: first.to_string(),
            last_day: (first + chrono::Duration::days(6)).to_string(),
            start: format_instant(a),
            end: format_instant(b),
            timezone: s.timezone.name().to_string(),
        },
        payout_date: s.payout_date(week).to_string(),
        closed_at: None,
        paid_at: None,
        workers,
        totals: PayTotals {
            workers: by_worker.len() as i64,
            shifts: totals.shifts,
            approved_minutes: totals.minutes,
            approved_hours: hours(totals.minutes),
            overtime_minutes: totals.ot_minutes,
            base_pay: m(totals.base),
            overtime_premium: m(totals.ot),
            night_premium: m(totals.night),
            late_cancellation_compensation: m(totals.comp),
            deductions: m(0),
            total: m(totals.total()),
        },
        pending,
        note,
    }
}

fn frozen(row: &ClosedRow) -> crate::Result<SettlementView> {
    let mut v: SettlementView = serde_json::from_str(&row.snapshot)
        .map_err(|e| Error::Internal(format!("settlement {}: {e}", row.week)))?;
    v.status = row.status.clone();
    v.paid_at = row.paid_at.map(|t| format_instant(from_ms(t)));
    Ok(v)
}

async fn compute(
    conn: &mut sqlx::AnyConnection,
    agency: i64,
    s: &PaySettings,
    week: PayWeek,
) -> crate::Result<SettlementView> {
    let data = week_data(conn, agency, s, week, false).await?;
    let mut ids: Vec<i64> = data
        .timesheets
        .iter()
        .map(|t| t.worker_id)
        .chain(data.cancellations.iter().map(|c| c.worker_id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let refs = external_refs(conn, &ids).await?;
    Ok(run_of(s, week, &data, &refs))
}

fn invoice_of(
    s: &PaySettings,
    week: PayWeek,
    status: &str,
    client_ref: &str,
    ts: &[&TimesheetRow],
    cs: &[&CancellationRow],
) -> InvoiceView {
    let cur = &s.currency;
    let lines: Vec<InvoiceLine> = ts
        .iter()
        .map(|t| InvoiceLine {
            timesheet_id: TimesheetId::new(t.id as u64).to_string(),
            order_id: OrderId::new(t.order_id as u64).to_string(),
            role: t.role_name.clone(),
            worker_id: WorkerId::new(t.worker_id as u64).to_string(),
            start: format_instant(from_ms(t.start_at)),
            end: format_instant(from_ms(t.end_at)),
            billed_minutes: t.paid_minutes(),
            billed_hours: hours(t.paid_minutes()),
            bill_per_hour: t.bill_rate_minor.map(|r| Money::new(r, cur)),
            amount: Money::new(t.bill_minor(), cur),
        })
        .collect();
    let fees: Vec<InvoiceFee> = cs
        .iter()
        .map(|c| InvoiceFee {
            assignment_id: AssignmentId::new(c.assignment_id as u64).to_string(),
            order_id: OrderId::new(c.order_id as u64).to_string(),
            role: c.role_name.clone(),
            start: format_instant(from_ms(c.start_at)),
            cancelled_at: format_instant(from_ms(c.cancelled_at)),
            amount: Money::new(c.fee_minor, cur),
        })
        .collect();
    let minutes: i64 = lines.iter().map(|l| l.billed_minutes).sum();
    let hours_amount: i64 = lines.iter().map(|l| l.amount.amount_minor).sum();
    let fee_amount: i64 = fees.iter().map(|f| f.amount.amount_minor).sum();
    InvoiceView {
        week: week.to_string(),
        client_ref: client_ref.to_string(),
        status: status.to_string(),
        currency: cur.clone(),
        lines,
        late_cancellation_fees: fees,
        totals: InvoiceTotals {
            billed_minutes: minutes,
            billed_hours: hours(minutes),
            hours_amount: Money::new(hours_amount, cur),
            late_cancellation_fees: Money::new(fee_amount, cur),
            total: Money::new(hours_amount + fee_amount, cur),
        },
    }
}

impl Engine {
    /// Records what a late cancellation of a confirmed shift by the client or the agency owes the worker and
    /// costs the client (inside the cancelling transaction), with its `late_cancellation` event.
    pub(in crate::engine) async fn record_late_cancellation(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        a: &AssignmentRow,
        reason: &str,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        if a.kind != "shift" || a.status != "confirmed" || !COMPENSATED.contains(&reason) {
            return Ok(());
        }
        let s = super::settings_tx(tx, st.row.agency_id).await?;
        let notice = a.start_at - ms(now);
        if notice >= i64::from(s.cancel_notice_hours) * 3_600_000 {
            return Ok(());
        }
        let role = st.order.roles.get(a.role_idx as usize);
        let rate = role.and_then(|r| r.pay_per_hour).map(|p| s.to_minor(p));
        let bill = role.and_then(|r| r.bill_per_hour).map(|p| s.to_minor(p));
        let planned = (a.end_at - a.start_at) / 60_000;
        let comp = s.compensation(rate, planned);
        let fee = s.cancellation_fee(bill, planned);
        let role_name = role.map_or(String::new(), |r| r.name.clone());
        sqlx::query(
            "INSERT INTO late_cancellations (agency_id, assignment_id, order_id, worker_id, client_ref, role_name, \
             start_at, end_at, cancelled_at, reason, planned_minutes, compensation_minor, fee_minor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (assignment_id) DO NOTHING",
        )
        .bind(st.row.agency_id)
        .bind(a.id)
        .bind(a.order_id)
        .bind(a.worker_id)
        .bind(&st.order.client_ref)
        .bind(&role_name)
        .bind(a.start_at)
        .bind(a.end_at)
        .bind(ms(now))
        .bind(reason)
        .bind(planned)
        .bind(comp)
        .bind(fee)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        store::events::append(
            tx,
            ms(now),
            Some(st.order.agency.get()),
            "late_cancellation",
            &json!({"assignment": AssignmentId::new(a.id as u64).to_string(), "order": st.order.id.to_string(),
                    "worker": WorkerId::new(a.worker_id as u64).to_string(), "client_ref": st.order.client_ref,
                    "reason": reason, "notice_minutes": notice / 60_000, "planned_minutes": planned,
                    "compensation_minor": comp, "fee_minor": fee, "currency": s.currency}),
        )
        .await
    }

    /// A week's pay run: frozen once closed, else computed now.
    pub async fn settlement(
        &self,
        agency: AgencyId,
        week: PayWeek,
    ) -> crate::Result<SettlementView> {
        let a = agency.get() as i64;
        let mut conn = self.store.pool().acquire().await.map_err(store::db_error)?;
        let label = week.to_string();
        if let Some(row) = closed(&mut conn, a, Some(&label)).await?.first() {
            return frozen(row);
        }
        let (s, _, _) = super::settings_of(self.store.pool(), a).await?;
        compute(&mut conn, a, &s, week).await
    }

    /// Closes a week's pay run once the week is over and every timesheet of it is approved: it is frozen, with
    /// its payout date, and its timesheets and cancellations are settled in it.
    #[tracing::instrument(skip(self))]
    pub async fn close_settlement(
        &self,
        agency: AgencyId,
        week: PayWeek,
    ) -> crate::Result<SettlementView> {
        let now = self.now();
        let a = agency.get() as i64;
        let mut tx = self.store.begin().await?;
        if self.store.backend() == store::Backend::Postgres {
            sqlx::query("SELECT id FROM agencies WHERE id = $1 FOR UPDATE")
                .bind(a)
                .execute(tx.conn().await?)
                .await
                .map_err(store::db_error)?;
        }
        let label = week.to_string();
        if let Some(row) = closed(tx.conn().await?, a, Some(&label)).await?.first() {
            return Err(Error::Conflict(format!(
                "the pay run of {label} is already {}",
                row.status
            )));
        }
        let s = super::settings_tx(&mut tx, a).await?;
        let (start, end) = s.bounds(week);
        if now < end {
            return Err(Error::Conflict(format!(
                "the week {label} ends at {}; close it after that",
                format_instant(end)
            )));
        }
        let mut run = compute(tx.conn().await?, a, &s, week).await?;
        let p = &run.pending;
        if p.submitted + p.disputed + p.unfinished_shifts > 0 {
            return Err(Error::Conflict(format!(
                "{} timesheet(s) of {label} are still submitted, {} disputed and {} shift(s) unfinished: \
                 approve or resolve them first",
                p.submitted, p.disputed, p.unfinished_shifts
            )));
        }
        for table in ["timesheets", "late_cancellations"] {
            let extra = if table == "timesheets" {
                " AND status = 'approved'"
            } else {
                ""
            };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET settlement_week = $1 WHERE agency_id = $2 AND settlement_week IS NULL \
                 AND start_at >= $3 AND start_at < $4{extra}"
            )))
            .bind(&label)
            .bind(a)
            .bind(ms(start))
            .bind(ms(end))
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        }
        run.status = "closed".into();
        run.closed_at = Some(format_instant(now));
        run.note = "closed: the run is frozen".into();
        sqlx::query(
            "INSERT INTO settlements (agency_id, week, status, payout_date, snapshot, closed_at) \
             VALUES ($1, $2, 'closed', $3, $4, $5)",
        )
        .bind(a)
        .bind(&label)
        .bind(&run.payout_date)
        .bind(serde_json::to_string(&run).expect("runs serialise"))
        .bind(ms(now))
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        store::events::append(
            &mut tx,
            ms(now),
            Some(agency.get()),
            "settlement_closed",
            &json!({"week": label, "payout_date": run.payout_date, "totals": run.totals}),
        )
        .await?;
        self.committed(tx).await?;
        Ok(run)
    }

    /// Marks a closed week's pay run paid.
    #[tracing::instrument(skip(self))]
    pub async fn pay_settlement(
        &self,
        agency: AgencyId,
        week: PayWeek,
    ) -> crate::Result<SettlementView> {
        let now = ms(self.now());
        let a = agency.get() as i64;
        let label = week.to_string();
        let mut tx = self.store.begin().await?;
        let moved = sqlx::query(
            "UPDATE settlements SET status = 'paid', paid_at = $1 WHERE agency_id = $2 AND week = $3 \
             AND status = 'closed'",
        )
        .bind(now)
        .bind(a)
        .bind(&label)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        if moved.rows_affected() == 0 {
            let status = closed(tx.conn().await?, a, Some(&label))
                .await?
                .first()
                .map_or("open".to_string(), |r| r.status.clone());
            return Err(Error::Conflict(if status == "open" {
                format!("the pay run of {label} is open: close it first")
            } else {
                format!("the pay run of {label} is already {status}")
            }));
        }
        let row = closed(tx.conn().await?, a, Some(&label)).await?;
        let view = frozen(
            row.first()
                .ok_or_else(|| Error::Internal("settlement vanished".into()))?,
        )?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "settlement_paid",
            &json!({"week": label, "paid_at": view.paid_at, "total": view.totals.total}),
        )
        .await?;
        self.committed(tx).await?;
        Ok(view)
    }

    /// A worker's earnings per week, newest first: each shift with its amount and status, late-cancellation
    /// compensation, what the approved shifts earn so far and the expected payout date.
    pub async fn earnings(
        &self,
        agency: AgencyId,
        worker: WorkerId,
    ) -> crate::Result<EarningsView> {
        let a = agency.get() as i64;
        let w = worker.get() as i64;
        let (s, _, _) = super::settings_of(self.store.pool(), a).await?;
        let mut conn = self.store.pool().acquire().await.map_err(store::db_error)?;
        let timesheets: Vec<TimesheetRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLS} FROM timesheets WHERE agency_id = $1 AND worker_id = $2 ORDER BY start_at, id"
        )))
        .bind(a)
        .bind(w)
        .fetch_all(&mut *conn)
        .await
        .map_err(store::db_error)?;
        let cancellations: Vec<CancellationRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {CANCEL_COLS} FROM late_cancellations WHERE agency_id = $1 AND worker_id = $2 \
             ORDER BY start_at, id"
        )))
        .bind(a)
        .bind(w)
        .fetch_all(&mut *conn)
        .await
        .map_err(store::db_error)?;
        let runs: BTreeMap<String, ClosedRow> = closed(&mut conn, a, None)
            .await?
            .into_iter()
            .map(|r| (r.week.clone(), r))
            .collect();
        let week_of = |settled: &Option<String>, start: i64| match settled {
            Some(label) => label.clone(),
            None => s.week_of(from_ms(start)).to_string(),
        };
        let mut weeks: BTreeMap<String, (Vec<&TimesheetRow>, Vec<&CancellationRow>)> =
            BTreeMap::new();
        for t in &timesheets {
            weeks
                .entry(week_of(&t.settlement_week, t.start_at))
                .or_default()
                .0
                .push(t);
        }
        for c in &cancellations {
            weeks
                .entry(week_of(&c.settlement_week, c.start_at))
                .or_default()
                .1
                .push(c);
        }
        let cur = &s.currency;
        let mut out = Vec::new();
        for (label, (ts, cs)) in weeks.iter().rev() {
            let run = runs.get(label);
            let status = run.map_or("open".to_string(), |r| r.status.clone());
            let payout_date = match run {
                Some(r) => r.payout_date.clone(),
                None => PayWeek::parse(label)
                    .map(|wk| s.payout_date(wk).to_string())
                    .unwrap_or_default(),
            };
            let approved_total = match run {
                Some(r) => frozen(r)?
                    .workers
                    .iter()
                    .find(|p| p.worker_id == worker.to_string())
                    .map_or(0, |p| p.total.amount_minor),
                None => {
                    let approved: Vec<&TimesheetRow> = ts
                        .iter()
                        .copied()
                        .filter(|t| t.status == "approved")
                        .collect();
                    lines(&s, &approved, cs).get(&w).map_or(0, |l| l.total())
                }
            };
            let pending: i64 = ts
                .iter()
                .filter(|t| t.status != "approved")
                .map(|t| t.pay_minor())
                .sum();
            out.push(EarningWeek {
                week: label.clone(),
                status: status.clone(),
                payout_date,
                shifts: ts
                    .iter()
                    .map(|t| EarningShift {
                        timesheet_id: TimesheetId::new(t.id as u64).to_string(),
                        order_id: OrderId::new(t.order_id as u64).to_string(),
                        role: t.role_name.clone(),
                        start: format_instant(from_ms(t.start_at)),
                        end: format_instant(from_ms(t.end_at)),
                        paid_minutes: t.paid_minutes(),
                        hours: hours(t.paid_minutes()),
                        amount: Money::new(t.pay_minor(), cur),
                        status: if t.settlement_week.is_some() {
                            status.clone()
                        } else {
                            t.status.clone()
                        },
                    })
                    .collect(),
                late_cancellations: cs
                    .iter()
                    .map(|c| EarningCancellation {
                        assignment_id: AssignmentId::new(c.assignment_id as u64).to_string(),
                        order_id: OrderId::new(c.order_id as u64).to_string(),
                        role: c.role_name.clone(),
                        start: format_instant(from_ms(c.start_at)),
                        cancelled_at: format_instant(from_ms(c.cancelled_at)),
                        amount: Money::new(c.compensation_minor, cur),
                    })
                    .collect(),
                approved_total: Money::new(approved_total, cur),
                pending_amount: Money::new(pending, cur),
            });
        }
        Ok(EarningsView {
            currency: cur.clone(),
            weeks: out,
        })
    }

    /// The approved timesheets and the cancellations a week's invoices bill, and the week's status.
    async fn billed(
        &self,
        agency: AgencyId,
        week: PayWeek,
    ) -> crate::Result<(PaySettings, String, WeekData)> {
        let a = agency.get() as i64;
        let (s, _, _) = super::settings_of(self.store.pool(), a).await?;
        let mut conn = self.store.pool().acquire().await.map_err(store::db_error)?;
        let run = closed(&mut conn, a, Some(&week.to_string())).await?;
        let status = run.first().map_or("open".to_string(), |r| r.status.clone());
        let mut data = week_data(&mut conn, a, &s, week, !run.is_empty()).await?;
        data.timesheets.retain(|t| t.status == "approved");
        Ok((s, status, data))
    }

    /// A week's invoices, one per client, by client_ref.
    pub async fn invoices(&self, agency: AgencyId, week: PayWeek) -> crate::Result<InvoiceList> {
        let (s, status, data) = self.billed(agency, week).await?;
        let mut clients: BTreeMap<&str, (Vec<&TimesheetRow>, Vec<&CancellationRow>)> =
            BTreeMap::new();
        for t in &data.timesheets {
            clients.entry(&t.client_ref).or_default().0.push(t);
        }
        for c in &data.cancellations {
            clients.entry(&c.client_ref).or_default().1.push(c);
        }
        Ok(InvoiceList {
            week: week.to_string(),
            items: clients
                .iter()
                .map(|(client, (ts, cs))| {
                    let inv = invoice_of(&s, week, &status, client, ts, cs);
                    InvoiceSummary {
                        client_ref: client.to_string(),
                        status: status.clone(),
                        lines: inv.lines.len() as i64,
                        totals: inv.totals,
                    }
                })
                .collect(),
        })
    }

    /// One client's invoice for a week (empty when nothing was billed to it).
    pub async fn invoice(
        &self,
        agency: AgencyId,
        week: PayWeek,
        client_ref: &str,
    ) -> crate::Result<InvoiceView> {
        let (s, status, data) = self.billed(agency, week).await?;
        let ts: Vec<&TimesheetRow> = data
            .timesheets
            .iter()
            .filter(|t| t.client_ref == client_ref)
            .collect();
        let cs: Vec<&CancellationRow> = data
            .cancellations
            .iter()
            .filter(|c| c.client_ref == client_ref)
            .collect();
        Ok(invoice_of(&s, week, &status, client_ref, &ts, &cs))
    }
}

impl Engine {
    /// Every pay week of the agency that has timesheets or late cancellations, oldest first, each as its pay
    /// run answers now (the simulation prints them).
    pub async fn pay_runs(&self, agency: AgencyId) -> crate::Result<Vec<SettlementView>> {
        let a = agency.get() as i64;
        let (s, _, _) = super::settings_of(self.store.pool(), a).await?;
        let starts: Vec<(i64,)> = sqlx::query_as(
            "SELECT start_at FROM timesheets WHERE agency_id = $1 \
             UNION SELECT start_at FROM late_cancellations WHERE agency_id = $1",
        )
        .bind(a)
        .fetch_all(self.store.pool())
        .await
        .map_err(store::db_error)?;
        let mut weeks: Vec<PayWeek> = starts.iter().map(|(t,)| s.week_of(from_ms(*t))).collect();
        weeks.sort();
        weeks.dedup();
        let mut out = Vec::with_capacity(weeks.len());
        for w in weeks {
            out.push(self.settlement(agency, w).await?);
        }
        Ok(out)
    }
}
