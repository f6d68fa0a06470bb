//! Agencies: the tenants.

use serde_json::json;

use super::{Engine, ms, tokens};
use crate::domain::AgencyId;
use crate::error::FieldError;
use crate::store;

/// A newly created agency with its API key (shown once; only its hash is kept).
pub struct NewAgency {
    /// The agency.
    pub id: AgencyId,
    /// Its name.
    pub name: String,
    /// Its API key.
    pub api_key: String,
}

impl Engine {
    /// Creates an agency (admin only).
    #[tracing::instrument(skip(self))]
    pub async fn create_agency(&self, name: &str) -> crate::Result<NewAgency> {
        let name = name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(vec![FieldError::new("name", "must be 1 to 200 characters")].into());
        }
        let api_key = tokens::generate("cc_agency_");
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let id = store::agencies::insert(&mut tx, &name, &tokens::hash(&api_key), now).await?;
        store::events::append(
            &mut tx,
            now,
            Some(id.get()),
            "agency_created",
            &json!({"agency": id.to_string(), "name": name}),
        )
        .await?;
        self.committed(tx).await?;
        Ok(NewAgency { id, name, api_key })
    }
}

/// The most API keys an agency may hold live at once.
pub const MAX_LIVE_KEYS: usize = 20;

impl Engine {
    /// The agency's API keys, live and revoked (never their values).
    pub async fn agency_keys(
        &self,
        agency: AgencyId,
    ) -> crate::Result<Vec<store::agencies::KeyRow>> {
        store::agencies::keys(self.store.pool(), agency).await
    }

    /// Makes a new API key for the agency; its row and its value (shown once; only its hash is kept).
    #[tracing::instrument(skip(self, label))]
    pub async fn create_agency_key(
        &self,
        agency: AgencyId,
        label: &str,
    ) -> crate::Result<(store::agencies::KeyRow, String)> {
        let label = label.trim().to_string();
        if label.chars().count() > 100 {
            return Err(vec![FieldError::new("label", "at most 100 characters")].into());
        }
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let live = store::agencies::keys(tx.conn().await?, agency)
            .await?
            .iter()
            .filter(|k| k.revoked_at.is_none())
            .count();
        if live >= MAX_LIVE_KEYS {
            return Err(crate::Error::Conflict(format!(
                "the agency already holds {MAX_LIVE_KEYS} live keys; revoke one first"
            )));
        }
        let key = tokens::generate("cc_agency_");
        let id =
            store::agencies::insert_key(&mut tx, agency, &tokens::hash(&key), &label, now).await?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "agency_key_created",
            &json!({"agency": agency.to_string(), "key": id, "label": label}),
        )
        .await?;
        self.committed(tx).await?;
        Ok((
            store::agencies::KeyRow {
                id,
                label,
                created_at: now,
                revoked_at: None,
            },
            key,
        ))
    }

    /// Revokes one of the agency's keys: it is refused at once, on every node as it applies the event. The
    /// last live key cannot be revoked (the agency would lock itself out).
    #[tracing::instrument(skip(self))]
    pub async fn revoke_agency_key(&self, agency: AgencyId, id: i64) -> crate::Result<()> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let keys = store::agencies::keys(tx.conn().await?, agency).await?;
        let Some(key) = keys.iter().find(|k| k.id == id) else {
            return Err(crate::Error::NotFound("key".into()));
        };
        if key.revoked_at.is_some() {
            return Err(crate::Error::Conflict("the key is already revoked".into()));
        }
        if keys.iter().filter(|k| k.revoked_at.is_none()).count() == 1 {
            return Err(crate::Error::Conflict(
                "this is the agency's last live key; create another before revoking it".into(),
            ));
        }
        store::agencies::revoke_key(&mut tx, agency, id, now).await?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "agency_key_revoked",
            &json!({"agency": agency.to_string(), "key": id}),
        )
        .await?;
        self.committed(tx).await?;
        Ok(())
    }
}
