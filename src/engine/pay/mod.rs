//! Time and money: an agency's pay settings, the timesheet of every completed shift (submitted, disputed within
//! a window, corrected, approved by the agency or automatically when the window ends), late-cancellation
//! compensation, and the weekly pay run, the workers' earnings and the clients' invoices read from them.
//!
//! Every change is an event written with its rows in one transaction (`agency_settings_changed`,
//! `timesheet_submitted`, `timesheet_disputed`, `timesheet_corrected`, `timesheet_approved`,
//! `late_cancellation`, `settlement_closed`, `settlement_paid`); the pay run is a pure function of the stored
//! timesheets and cancellations (`domain::pay`), frozen when its week closes.

mod runs;
mod settings;
mod timesheets;

pub(super) use timesheets::AUTO_APPROVAL_HEAD;
pub use timesheets::{STATUSES as TIMESHEET_STATUSES, TimesheetFilter};

use crate::domain::pay::PaySettings;
use crate::store::{self, Tx};
use crate::wire::pay::SettingsBody;

/// The agency's pay settings inside a transaction (the defaults when it never changed them).
pub(super) async fn settings_tx(tx: &mut Tx, agency: i64) -> crate::Result<PaySettings> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT body FROM agency_settings WHERE agency_id = $1")
            .bind(agency)
            .fetch_optional(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
    parse_settings(row.map(|r| r.0))
}

/// The agency's pay settings, read outside any transaction.
pub(super) async fn settings_of(
    pool: &sqlx::AnyPool,
    agency: i64,
) -> crate::Result<(PaySettings, i64, Option<i64>)> {
    let row: Option<(String, i64, i64)> = sqlx::query_as(
        "SELECT body, version, updated_at FROM agency_settings WHERE agency_id = $1",
    )
    .bind(agency)
    .fetch_optional(pool)
    .await
    .map_err(store::db_error)?;
    match row {
        Some((body, version, at)) => Ok((parse_settings(Some(body))?, version, Some(at))),
        None => Ok((PaySettings::default(), 0, None)),
    }
}

fn parse_settings(body: Option<String>) -> crate::Result<PaySettings> {
    let Some(body) = body else {
        return Ok(PaySettings::default());
    };
    let b: SettingsBody = serde_json::from_str(&body)
        .map_err(|e| crate::Error::Internal(format!("agency settings: {e}")))?;
    b.apply(&PaySettings::default())
        .map_err(|e| crate::Error::Internal(format!("agency settings: {e:?}")))
}
