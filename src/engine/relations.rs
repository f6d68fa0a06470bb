//! A client's favourites and blocks, managed by the agency directly (besides what ratings do: five stars makes a
//! favourite, one star a block). Favourites rank first for the client's orders; a blocked worker is never a
//! candidate for them. The two lists exclude each other. Orders with an empty `client_ref` share no list.

use serde_json::json;

use super::{Engine, ms};
use crate::domain::{AgencyId, WorkerId};
use crate::error::{Error, FieldError};
use crate::store::{self};

/// One of a client's two lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientList {
    /// Workers the client wants back.
    Favourites,
    /// Workers the client does not want.
    Blocks,
}

impl ClientList {
    /// The list's name in paths and events.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientList::Favourites => "favourites",
            ClientList::Blocks => "blocks",
        }
    }

    fn column(self) -> &'static str {
        match self {
            ClientList::Favourites => "favourite",
            ClientList::Blocks => "blocked",
        }
    }
}

fn check_client(client_ref: &str) -> crate::Result<&str> {
    let c = client_ref.trim();
    if c.is_empty() || c.chars().count() > 200 || c.contains('\0') {
        return Err(vec![FieldError::new(
            "client_ref",
            "must name a client (1 to 200 characters): orders without a client_ref share no list",
        )]
        .into());
    }
    Ok(c)
}

impl Engine {
    /// The workers on a client's list, by id.
    pub async fn client_list(
        &self,
        agency: AgencyId,
        client_ref: &str,
        list: ClientList,
    ) -> crate::Result<Vec<WorkerId>> {
        let client = check_client(client_ref)?;
        let rows: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT r.worker_id FROM client_relations r JOIN workers w ON w.id = r.worker_id \
             WHERE r.agency_id = $1 AND r.client_ref = $2 AND r.{} = 1 AND w.deleted_at IS NULL ORDER BY r.worker_id",
            list.column()
        )))
        .bind(agency.get() as i64)
        .bind(client)
        .fetch_all(self.store.pool())
        .await
        .map_err(store::db_error)?;
        Ok(rows
            .into_iter()
            .map(|(w,)| WorkerId::new(w as u64))
            .collect())
    }

    /// Puts a worker of the agency on a client's list (taking it off the other), or takes it off. Answers
    /// whether anything changed; taking off a worker who is not on the list is a 404.
    #[tracing::instrument(skip(self))]
    pub async fn set_client_list(
        &self,
        agency: AgencyId,
        client_ref: &str,
        list: ClientList,
        worker: WorkerId,
        on: bool,
    ) -> crate::Result<bool> {
        let mut tx = self.store.begin().await?;
        let changed = self
            .set_client_list_in(&mut tx, agency, client_ref, list, worker, on, None)
            .await?;
        if changed {
            self.committed(tx).await?;
        }
        Ok(changed)
    }

    /// `set_client_list` inside the caller's transaction (a review resolved with a block writes it with the
    /// resolution, and its event names the review: the change is the resolution's, not a command of its own).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn set_client_list_in(
        &self,
        tx: &mut store::Tx,
        agency: AgencyId,
        client_ref: &str,
        list: ClientList,
        worker: WorkerId,
        on: bool,
        review: Option<crate::domain::ReviewId>,
    ) -> crate::Result<bool> {
        let client = check_client(client_ref)?.to_string();
        let now = ms(self.now());
        if store::workers::get_tx(tx, agency, worker).await?.is_none() {
            return Err(Error::NotFound("worker".into()));
        }
        let current: Option<(i64, i64)> = sqlx::query_as(
            "SELECT favourite, blocked FROM client_relations WHERE agency_id = $1 AND client_ref = $2 AND worker_id = $3",
        )
        .bind(agency.get() as i64)
        .bind(&client)
        .bind(worker.get() as i64)
        .fetch_optional(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let (fav, blocked) = current.map_or((false, false), |(f, b)| (f != 0, b != 0));
        let was_on = match list {
            ClientList::Favourites => fav,
            ClientList::Blocks => blocked,
        };
        if was_on == on {
            if on {
                return Ok(false);
            }
            return Err(Error::NotFound(format!(
                "worker on the client's {}",
                list.as_str()
            )));
        }
        let (fav, blocked) = match (list, on) {
            (ClientList::Favourites, true) => (true, false),
            (ClientList::Blocks, true) => (false, true),
            (ClientList::Favourites, false) => (false, blocked),
            (ClientList::Blocks, false) => (fav, false),
        };
        sqlx::query(
            "INSERT INTO client_relations (agency_id, client_ref, worker_id, favourite, blocked) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (agency_id, client_ref, worker_id) DO UPDATE \
             SET favourite = excluded.favourite, blocked = excluded.blocked",
        )
        .bind(agency.get() as i64)
        .bind(&client)
        .bind(worker.get() as i64)
        .bind(i64::from(fav))
        .bind(i64::from(blocked))
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        store::events::append(
            tx,
            now,
            Some(agency.get()),
            "client_lists_set",
            &json!({"client_ref": client, "worker": worker.to_string(), "favourite": fav, "blocked": blocked,
                    "list": list.as_str(), "on": on,
                    "review": review.map(|r| r.to_string())}),
        )
        .await?;
        Ok(true)
    }
}
