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
