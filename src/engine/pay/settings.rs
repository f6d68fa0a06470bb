//! `GET`/`PATCH /v1/agency/settings`: the agency's pay settings, each change an `agency_settings_changed` event
//! carrying the whole new document and the change as sent. The document also holds the re-confirmation and
//! pre-shift signal terms (`reconfirm`, `pre_shift`).

use serde_json::json;

use super::super::{Engine, from_ms, ms};
use crate::domain::AgencyId;
use crate::domain::time::format_instant;
use crate::store;
use crate::wire::pay::{SettingsBody, SettingsView};

impl Engine {
    /// The agency's pay settings with their version.
    pub async fn agency_settings(&self, agency: AgencyId) -> crate::Result<SettingsView> {
        let (s, version, at) = super::settings_of(self.store.pool(), agency.get() as i64).await?;
        Ok(SettingsView::of(
            &s,
            version,
            at.map(|t| format_instant(from_ms(t))),
        ))
    }

    /// Changes some of the agency's pay settings; an invalid field changes nothing.
    #[tracing::instrument(skip(self, change))]
    pub async fn patch_agency_settings(
        &self,
        agency: AgencyId,
        change: &SettingsBody,
    ) -> crate::Result<SettingsView> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        if self.store.backend() == store::Backend::Postgres {
            // Two changes of one agency's settings serialise on its row.
            sqlx::query("SELECT id FROM agencies WHERE id = $1 FOR UPDATE")
                .bind(agency.get() as i64)
                .execute(tx.conn().await?)
                .await
                .map_err(store::db_error)?;
        }
        let current = super::settings_tx(&mut tx, agency.get() as i64).await?;
        let next = change.apply(&current)?;
        let body = SettingsBody::of(&next);
        let text = serde_json::to_string(&body).expect("settings serialise");
        let (version,): (i64,) = sqlx::query_as(
            "INSERT INTO agency_settings (agency_id, body, version, updated_at) VALUES ($1, $2, 1, $3) \
             ON CONFLICT (agency_id) DO UPDATE SET body = excluded.body, \
             version = agency_settings.version + 1, updated_at = excluded.updated_at RETURNING version",
        )
        .bind(agency.get() as i64)
        .bind(&text)
        .bind(now)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        // The timers read re-confirmation from columns. A request whose moment came before re-confirmation was
        // turned on (or its lead changed) is never sent late: it counts from now.
        let (was, is) = (current.reconfirm, next.reconfirm);
        let lead = is.enabled.then(|| i64::from(is.lead_h) * 3_600_000);
        let restart = is.enabled && (!was.enabled || was.lead_h != is.lead_h);
        sqlx::query(
            "UPDATE agency_settings SET reconfirm_lead_ms = $1, \
             reconfirm_since = CASE WHEN $2 = 1 THEN $3 WHEN $5 = 0 THEN NULL ELSE reconfirm_since END \
             WHERE agency_id = $4",
        )
        .bind(lead)
        .bind(i64::from(restart))
        .bind(now)
        .bind(agency.get() as i64)
        .bind(i64::from(is.enabled))
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "agency_settings_changed",
            &json!({"agency": agency.to_string(), "settings": body, "change": change, "version": version}),
        )
        .await?;
        self.committed(tx).await?;
        Ok(SettingsView::of(
            &next,
            version,
            Some(format_instant(from_ms(now))),
        ))
    }
}
