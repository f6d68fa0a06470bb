//! The client view: the event organizer who ordered a crew follows it without phoning the agency. The agency
//! makes a link for one of its `client_ref`s (a token shown once, stored hashed, revocable, optionally expiring);
//! the link reads that client's orders — fill, who is coming, check-ins with lateness, no-shows and replacements,
//! photo reports — and nothing else.

use serde_json::json;

use super::{Engine, OrderFilter, OrderState, ms, tokens};
use crate::domain::{AgencyId, OrderId, WorkerId};
use crate::error::{Error, FieldError};
use crate::store::clients::LinkRow;
use crate::store::orders::AssignmentRow;
use crate::store::photos::PhotoRow;
use crate::store::{self};

/// The most live client links an agency may hold.
pub const MAX_LIVE_LINKS: i64 = 1000;

/// One member of a crew as the client sees it.
pub struct CrewMember {
    /// The assignment.
    pub assignment: AssignmentRow,
    /// The worker's first name and initial ("Li N."), or "former worker" once deleted.
    pub worker_name: String,
    /// Its photo reports.
    pub photos: Vec<PhotoRow>,
}

/// An order as its client sees it.
pub struct ClientOrder {
    /// The order's state.
    pub state: OrderState,
    /// Its crew: every assignment, oldest first.
    pub crew: Vec<CrewMember>,
}

/// "Li Na" → "Li N.": enough for the client's supervisor to greet the worker, no more.
fn short_name(name: &str) -> String {
    let mut parts = name.split_whitespace();
    match (parts.next(), parts.next_back()) {
        (Some(first), Some(last)) => {
            let initial: String = last.chars().take(1).collect();
            format!("{first} {initial}.")
        }
        (Some(first), None) => first.to_string(),
        _ => String::new(),
    }
}

impl Engine {
    /// Makes a client link for one of the agency's clients; its row and its token (shown once).
    #[tracing::instrument(skip(self, label))]
    pub async fn create_client_link(
        &self,
        agency: AgencyId,
        client_ref: &str,
        label: &str,
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> crate::Result<(LinkRow, String)> {
        let mut errors = Vec::new();
        let client_ref = client_ref.trim();
        if client_ref.is_empty() {
            errors.push(FieldError::new(
                "client_ref",
                "must name a client: orders without a client_ref have no client view",
            ));
        }
        if client_ref.chars().count() > 200 || client_ref.contains('\0') {
            errors.push(FieldError::new("client_ref", "at most 200 characters"));
        }
        let label = label.trim();
        if label.chars().count() > 100 || label.contains('\0') {
            errors.push(FieldError::new("label", "at most 100 characters"));
        }
        let now = self.now();
        if let Some(at) = expires_at
            && at <= now
        {
            errors.push(FieldError::new("expires_at", "must be in the future"));
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let mut tx = self.store.begin().await?;
        let (live,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM client_links WHERE agency_id = $1 AND revoked_at IS NULL",
        )
        .bind(agency.get() as i64)
        .fetch_one(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        if live >= MAX_LIVE_LINKS {
            return Err(Error::Conflict(format!(
                "the agency already holds {MAX_LIVE_LINKS} live client links; revoke some first"
            )));
        }
        let token = tokens::generate("cc_client_");
        let at = ms(now);
        let expires = expires_at.map(ms);
        let id = store::clients::insert(
            &mut tx,
            agency.get() as i64,
            client_ref,
            label,
            &tokens::hash(&token),
            at,
            expires,
        )
        .await?;
        store::events::append(
            &mut tx,
            at,
            Some(agency.get()),
            "client_link_created",
            &json!({"link": link_id(id), "client_ref": client_ref, "label": label, "expires_at": expires}),
        )
        .await?;
        self.committed(tx).await?;
        Ok((
            LinkRow {
                id,
                agency_id: agency.get() as i64,
                client_ref: client_ref.to_string(),
                label: label.to_string(),
                created_at: at,
                expires_at: expires,
                revoked_at: None,
            },
            token,
        ))
    }

    /// The agency's client links, newest first, a page before link id `before`.
    pub async fn client_links(
        &self,
        agency: AgencyId,
        client_ref: Option<&str>,
        before: i64,
        limit: i64,
    ) -> crate::Result<Vec<LinkRow>> {
        store::clients::of_agency(
            self.store.pool(),
            agency.get() as i64,
            client_ref,
            before,
            limit,
        )
        .await
    }

    /// Revokes a client link: refused at once, on every node as it applies the event.
    #[tracing::instrument(skip(self))]
    pub async fn revoke_client_link(&self, agency: AgencyId, id: i64) -> crate::Result<()> {
        let now = ms(self.now());
        let mut tx = self.store.begin().await?;
        let link = store::clients::get(tx.conn().await?, agency.get() as i64, id)
            .await?
            .ok_or_else(|| Error::NotFound("client link".into()))?;
        if link.revoked_at.is_some() {
            return Err(Error::Conflict("the link is already revoked".into()));
        }
        store::clients::revoke(&mut tx, agency.get() as i64, id, now).await?;
        store::events::append(
            &mut tx,
            now,
            Some(agency.get()),
            "client_link_revoked",
            &json!({"link": link_id(id), "client_ref": link.client_ref}),
        )
        .await?;
        self.committed(tx).await
    }

    /// The `client_ref` a client link shows.
    pub(super) async fn client_ref_of(&self, agency: AgencyId, link: i64) -> crate::Result<String> {
        Ok(
            store::clients::get(self.store.pool(), agency.get() as i64, link)
                .await?
                .filter(|l| l.revoked_at.is_none())
                .ok_or(Error::NotFound("client link".into()))?
                .client_ref,
        )
    }

    /// The client's orders, filtered, a page after `after` (never another client's).
    pub async fn client_orders(
        &self,
        agency: AgencyId,
        link: i64,
        mut filter: OrderFilter,
        after: Option<u64>,
        limit: i64,
    ) -> crate::Result<Vec<OrderState>> {
        filter.client_ref = Some(self.client_ref_of(agency, link).await?);
        self.list_orders(agency, &filter, after, limit).await
    }

    /// One of the client's orders with its crew and their photo reports (404 for any other order).
    pub async fn client_order(
        &self,
        agency: AgencyId,
        link: i64,
        id: OrderId,
    ) -> crate::Result<ClientOrder> {
        let client = self.client_ref_of(agency, link).await?;
        let state = self.order(agency, id).await?;
        if state.order.client_ref != client {
            return Err(Error::NotFound("order".into()));
        }
        let mut photos: std::collections::HashMap<i64, Vec<PhotoRow>> =
            std::collections::HashMap::new();
        for p in store::photos::of_order(self.store.pool(), id.get() as i64).await? {
            photos.entry(p.assignment_id).or_default().push(p);
        }
        let crew = state
            .assignments
            .iter()
            .map(|a| {
                let worker_name = self
                    .indexed_worker(WorkerId::new(a.worker_id as u64))
                    .map(|w| short_name(&w.name))
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "former worker".into());
                CrewMember {
                    assignment: a.clone(),
                    worker_name,
                    photos: photos.remove(&a.id).unwrap_or_default(),
                }
            })
            .collect();
        Ok(ClientOrder { state, crew })
    }
}

/// A client link's public id.
pub fn link_id(id: i64) -> String {
    format!("cln_{id:x}")
}

/// The row id of a public client link id.
pub fn parse_link_id(raw: &str) -> crate::Result<i64> {
    raw.strip_prefix("cln_")
        .and_then(|h| i64::from_str_radix(h, 16).ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::NotFound("client link".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_sees_a_first_name_and_an_initial() {
        assert_eq!(short_name("Li Na"), "Li N.");
        assert_eq!(short_name("Anna Maria Schmidt"), "Anna S.");
        assert_eq!(short_name("Cher"), "Cher");
        assert_eq!(short_name("  "), "");
    }
}
