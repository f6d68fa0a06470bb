//! Who is calling: the operator (admin token), an agency (API key) or one worker (app token).

use std::sync::atomic::Ordering;

use super::{Engine, tokens};
use crate::domain::{AgencyId, WorkerId};
use crate::store::{self, Store};

/// The caller of a request, established from its bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// The operator.
    Admin,
    /// A staffing agency.
    Agency(AgencyId),
    /// One worker, through the partner app.
    Worker {
        /// The worker.
        worker: WorkerId,
        /// The worker's agency.
        agency: AgencyId,
    },
    /// The event organizer behind one `client_ref` of an agency, through a client link: reads only.
    Client {
        /// The agency.
        agency: AgencyId,
        /// The link (its row names the `client_ref`).
        link: i64,
        /// When the link stops working, unix ms.
        expires_at: Option<i64>,
    },
}

const ADMIN_KEY: &str = "admin_token_hash";

/// Sets up the admin token: the operator's if given, else the stored one, else a new one (returned once).
pub(super) async fn admin_token(
    store: &Store,
    given: Option<String>,
) -> crate::Result<(String, Option<String>)> {
    if let Some(t) = given.filter(|t| !t.trim().is_empty()) {
        return Ok((tokens::hash(t.trim()), None));
    }
    if let Some(h) = store::settings::get(store.pool(), ADMIN_KEY).await? {
        return Ok((h, None));
    }
    let token = tokens::generate("cc_admin_");
    let h = tokens::hash(&token);
    store::settings::put(store.pool(), ADMIN_KEY, &h).await?;
    Ok((h, Some(token)))
}

impl Engine {
    /// The principal a bearer token stands for, if any. Answers are cached by token hash; the cache is a view
    /// of the log like any other: when a token stops working (its worker deleted) on any node, every node
    /// forgets its cached principals as it applies that event.
    pub async fn authenticate(&self, token: &str) -> crate::Result<Option<Principal>> {
        let h = tokens::hash(token);
        if h == self.admin_token_hash {
            return Ok(Some(Principal::Admin));
        }
        if let Some(p) = self.tokens.get(&h) {
            return Ok(self.unexpired(p));
        }
        let generation = self.token_generation.load(Ordering::SeqCst);
        let found = if token.starts_with("cc_agency_") {
            store::agencies::by_key_hash(self.store.pool(), &h)
                .await?
                .map(Principal::Agency)
        } else if token.starts_with("cc_worker_") {
            self.worker_by_token_hash(&h).await?
        } else if token.starts_with("cc_client_") {
            store::clients::by_token_hash(self.store.pool(), &h)
                .await?
                .map(|l| Principal::Client {
                    agency: AgencyId::new(l.agency_id as u64),
                    link: l.id,
                    expires_at: l.expires_at,
                })
        } else {
            None
        };
        // A lookup that raced with a revocation applied meanwhile is answered but not kept.
        if let Some(p) = found
            && self.token_generation.load(Ordering::SeqCst) == generation
        {
            self.tokens.insert(h, p);
        }
        Ok(found.and_then(|p| self.unexpired(p)))
    }

    /// The principal, unless it is a client link past its expiry by the engine's clock.
    fn unexpired(&self, p: Principal) -> Option<Principal> {
        match p {
            Principal::Client {
                expires_at: Some(at),
                ..
            } if super::ms(self.now()) >= at => None,
            p => Some(p),
        }
    }

    /// Forgets every cached principal after a token stopped working (the log said so; revocations are rare,
    /// so the whole cache goes rather than a search for the worker's entries).
    pub(super) fn forget_tokens(&self) {
        self.token_generation.fetch_add(1, Ordering::SeqCst);
        self.tokens.invalidate_all();
    }

    async fn worker_by_token_hash(&self, h: &str) -> crate::Result<Option<Principal>> {
        let row: Option<(i64, i64)> = sqlx::query_as(
            "SELECT id, agency_id FROM workers WHERE app_token_hash = $1 AND deleted_at IS NULL",
        )
        .bind(h)
        .fetch_optional(self.store.pool())
        .await
        .map_err(store::db_error)?;
        Ok(row.map(|(w, a)| Principal::Worker {
            worker: WorkerId::new(w as u64),
            agency: AgencyId::new(a as u64),
        }))
    }
}
