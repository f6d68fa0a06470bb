//! Pooled standby: an agency's on-call pool for an area, a block of the day and a skill signature, whose
//! floaters cover every pooled order there (`"standby": "pooled"`).
//!
//! Each role of a pooled order joins its pool when the order is dispatched (the pool is opened by the first
//! one); every dispatch of a pooled order sizes its pools again (`dispatch::pool`) and books floaters up to the size, best candidates
//! first. A floater is a `standby` assignment with the pool's id, booked for the pool's window, so the
//! overlap exclusion holds as for any booking; its `order_id` is the pool's anchor (first) order, which the
//! orders' own views leave out. A lost slot of a pooled order (no-show, late cancellation, release) is filled
//! from the order's own standbys first, then from the pool's best floater who fits the role and reaches the
//! venue. The pool's floaters not promoted are released a few minutes after its orders' last no-show check
//! (`release_at`, timer kind 8): every loss they cover has happened by then.
//!
//! Changes to a pool serialise on its row (`FOR UPDATE` on PostgreSQL), always taken after the order's row, so
//! two commands lock in one direction only. Events: `standby_pool_opened`, `standby_pool_joined`,
//! `standby_pool_sized`, `standby_pool_closed`; floaters are `assignment_made` / `assignment_ended` with a
//! `pool` field, and a promotion is `standby_promoted` with its `pool`.

use std::collections::HashSet;

use chrono::{DateTime, Duration, LocalResult, TimeZone, Timelike, Utc};
use h3o::{CellIndex, LatLng, Resolution};
use serde_json::json;

use super::orders::{FILLING, OrderState, PoolLink, state_from_row};
use super::{Engine, from_ms, ms};
use crate::dispatch::pool::{self as sizing, Slots};
use crate::dispatch::standby;
use crate::domain::time::format_instant;
use crate::domain::{AgencyId, AssignmentId, Order, OrderId, StandbyPoolId, WorkerId, WorkerStats};
use crate::error::Error;
use crate::store::{self, Tx};
use crate::wire::standby_pool::{FloaterView, StandbyPoolView};

/// The H3 resolution of a pool's area: cells about 18 km across (250 km²), a large city district; a floater is
/// promoted only into an order whose venue is within their own reach.
pub const POOL_RESOLUTION: Resolution = Resolution::Five;

/// The hours of the day's blocks: a pool gathers orders starting in the same block (agency's timezone).
const BLOCK_HOURS: u32 = 6;

/// A pool as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PoolRow {
    /// The pool.
    pub id: i64,
    /// Its agency.
    pub agency_id: i64,
    /// Its area: an H3 cell at [`POOL_RESOLUTION`], hexadecimal.
    pub cell: String,
    /// The start of its block of the day, unix ms.
    pub block_start: i64,
    /// The required skills of its roles, sorted, comma-separated.
    pub skills: String,
    /// The order its floaters' rows name (the first that joined).
    pub anchor_order: i64,
    /// The window: the union of its orders' shifts, unix ms.
    pub start_at: i64,
    /// The window's end, unix ms.
    pub end_at: i64,
    /// When its floaters not promoted are released, unix ms: [`RELEASE_AFTER`] after the last no-show check
    /// of its orders (`start + grace`). Every loss a floater covers happens by then (a no-show at its check, a
    /// cancellation before the start), so holding floaters to the end of the shifts would idle them for
    /// nothing; released, they are free for other work.
    pub release_at: i64,
    /// The probability that every order is full at start it aims for.
    pub target: f64,
    /// Floaters wanted, as last sized.
    pub wanted: i64,
    /// `open` until its floaters are released, then `closed`.
    pub status: String,
}

/// The head of the pools whose window ends by `$1` (kind 8), a subquery of the timers' heads.
pub(super) const POOL_END_HEAD: &str = "SELECT release_at AS at, 8 AS kind, id, 0 AS ord FROM standby_pools \
     WHERE status = 'open' AND release_at <= $1 ORDER BY release_at, id LIMIT 1";

const POOL_COLS: &str = "id, agency_id, cell, block_start, skills, anchor_order, start_at, end_at, \
    release_at, target, wanted, status";

/// How long after its orders' last no-show check a pool keeps its floaters (the check and the promotion it
/// leads to come first).
pub const RELEASE_AFTER: Duration = Duration::minutes(5);

/// A floater as stored: the assignment and the worker.
type Floater = store::orders::AssignmentRow;

/// The pool a role of an order belongs in: its area, block of the day and skill signature.
pub fn pool_key(order: &Order, role: usize, tz: chrono_tz::Tz) -> (String, i64, String) {
    let at = order.venue.location;
    let cell = LatLng::new(at.lat(), at.lon())
        .expect("a checked position is a valid LatLng")
        .to_cell(POOL_RESOLUTION)
        .to_string();
    let start = order.shift.start();
    let local = start.with_timezone(&tz);
    let hour = local.hour() / BLOCK_HOURS * BLOCK_HOURS;
    let block = local
        .date_naive()
        .and_hms_opt(hour, 0, 0)
        .expect("a valid hour");
    let block_start = match tz.from_local_datetime(&block) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        // A block starting in a DST gap starts an hour later.
        LocalResult::None => start - Duration::minutes(i64::from(local.minute())),
    };
    let mut skills: Vec<String> = order.roles[role]
        .skills
        .iter()
        .map(|s| s.name.to_string())
        .collect();
    skills.sort();
    skills.dedup();
    (cell, ms(block_start), skills.join(","))
}

/// Parses a pool id from the API (an unknown shape is simply not found).
pub fn standby_pool_id(raw: &str) -> crate::Result<StandbyPoolId> {
    raw.parse::<StandbyPoolId>()
        .map_err(|_| Error::NotFound("standby pool".into()))
}

async fn pool_by_id<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    e: E,
    id: i64,
) -> crate::Result<Option<PoolRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {POOL_COLS} FROM standby_pools WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(e)
    .await
    .map_err(store::db_error)
}

/// Locks a pool's row for the transaction (PostgreSQL; SQLite has one writer) and reads it.
async fn lock_pool(tx: &mut Tx, id: i64) -> crate::Result<Option<PoolRow>> {
    if tx.backend() == store::Backend::Postgres {
        sqlx::query("SELECT id FROM standby_pools WHERE id = $1 FOR UPDATE")
            .bind(id)
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
    }
    pool_by_id(tx.conn().await?, id).await
}

/// The pools of an order's roles: `(role, pool)`, by role.
pub(super) async fn pools_of_order<'c, E: sqlx::Executor<'c, Database = sqlx::Any>>(
    e: E,
    order: i64,
) -> crate::Result<Vec<(usize, i64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT role_idx, pool_id FROM standby_pool_orders WHERE order_id = $1 ORDER BY role_idx",
    )
    .bind(order)
    .fetch_all(e)
    .await
    .map_err(store::db_error)?;
    Ok(rows.into_iter().map(|(r, p)| (r as usize, p)).collect())
}

async fn floaters(conn: &mut sqlx::AnyConnection, pool: i64) -> crate::Result<Vec<Floater>> {
    let ids: Vec<(i64,)> = sqlx::query_as(
        "SELECT id FROM assignments WHERE pool_id = $1 AND status = 'standby' ORDER BY id",
    )
    .bind(pool)
    .fetch_all(&mut *conn)
    .await
    .map_err(store::db_error)?;
    let mut out = Vec::with_capacity(ids.len());
    for (id,) in ids {
        if let Some(a) = store::orders::assignment(&mut *conn, id).await? {
            out.push(a);
        }
    }
    Ok(out)
}

/// The order roles in a pool: `(order, role)`, by order then role.
async fn members(conn: &mut sqlx::AnyConnection, pool: i64) -> crate::Result<Vec<(i64, usize)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT order_id, role_idx FROM standby_pool_orders WHERE pool_id = $1 ORDER BY order_id, role_idx",
    )
    .bind(pool)
    .fetch_all(&mut *conn)
    .await
    .map_err(store::db_error)?;
    Ok(rows.into_iter().map(|(o, r)| (o, r as usize)).collect())
}

/// The pool's orders still to be staffed or running, each with its roles in the pool, read (not locked:
/// sizing reads them as they are).
async fn live_members(
    conn: &mut sqlx::AnyConnection,
    pool: i64,
    now: DateTime<Utc>,
) -> crate::Result<Vec<(OrderState, Vec<usize>)>> {
    let mut out: Vec<(OrderState, Vec<usize>)> = Vec::new();
    for (id, role) in members(conn, pool).await? {
        if let Some(last) = out.last_mut().filter(|(st, _)| st.row.id == id) {
            last.1.push(role);
            continue;
        }
        let Some(row) = store::orders::order(&mut *conn, id).await? else {
            continue;
        };
        if !matches!(row.status.as_str(), "open" | "filled" | "in_progress") {
            continue;
        }
        let st = state_from_row(conn, row).await?;
        if now < st.order.shift.end() {
            out.push((st, vec![role]));
        }
    }
    Ok(out)
}

/// What a pooled order's answer shows of its pools: the pools of its roles (in the order of their first role),
/// their floaters wanted and held — read in one statement, since every load of a pooled order reads it.
pub(super) async fn link(
    conn: &mut sqlx::AnyConnection,
    order: i64,
) -> crate::Result<Option<PoolLink>> {
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT p.id, p.wanted, (SELECT COUNT(*) FROM assignments a WHERE a.pool_id = p.id \
           AND a.status = 'standby') \
         FROM standby_pool_orders j JOIN standby_pools p ON p.id = j.pool_id WHERE j.order_id = $1 \
         GROUP BY p.id, p.wanted ORDER BY MIN(j.role_idx)",
    )
    .bind(order)
    .fetch_all(&mut *conn)
    .await
    .map_err(store::db_error)?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut link = PoolLink::default();
    for (id, wanted, held) in rows {
        link.ids.push(StandbyPoolId::new(id as u64));
        link.wanted += wanted as u32;
        link.held += held as u32;
    }
    Ok(Some(link))
}

impl Engine {
    /// A worker's show-up probability at the agency.
    fn show_p(&self, prior: standby::Prior, w: WorkerId) -> f64 {
        let stats = self.index.get(w).map(|w| w.stats).unwrap_or_default();
        standby::show_up(&stats, prior)
    }

    /// Each role of each order of the pool as sizing sees it: the workers in its slots with their show-up
    /// probabilities, and each open slot at a newcomer's (whoever fills it is not known yet).
    fn pool_slots(&self, agency: AgencyId, members: &[(OrderState, Vec<usize>)]) -> Vec<Slots> {
        let prior = self.show_up_prior(agency);
        let newcomer = standby::show_up(&WorkerStats::default(), prior);
        let mut slots = Vec::new();
        for (st, roles) in members {
            for &r in roles {
                let mut crew: Vec<f64> = st
                    .assignments
                    .iter()
                    .filter(|a| {
                        a.kind == "shift"
                            && a.role_idx as usize == r
                            && FILLING.contains(&a.status.as_str())
                    })
                    // A worker who missed a re-confirmation and keeps the slot is counted as not coming,
                    // as the order's own standby counts them (see `OrderState::at_risk_for`).
                    .map(|a| {
                        if a.reconfirm_missed_at.is_some() {
                            0.0
                        } else {
                            self.show_p(prior, WorkerId::new(a.worker_id as u64))
                        }
                    })
                    .collect();
                let headcount = st.order.roles[r].headcount as usize;
                let open = headcount.saturating_sub(crew.len());
                crew.extend(std::iter::repeat_n(newcomer, open));
                slots.push(Slots { headcount, crew });
            }
        }
        slots
    }

    /// Puts each role of a pooled order in its pool (opening the pool if it is the first), sizes the pool
    /// again and books floaters up to the size from `ranked` (the order's candidates per role, in dispatch
    /// order). Called by the order's dispatch, with the order's row locked. The roles' pools are locked in
    /// the order of their skill signatures (the area and block are the same for all of them), so two orders
    /// sharing two pools lock them in the same order.
    pub(super) async fn top_up_pool(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        now: DateTime<Utc>,
        ranked: &[Vec<(WorkerId, f64)>],
    ) -> crate::Result<()> {
        let Some(target) = st.order.standby.pool_target() else {
            return Ok(());
        };
        let joined = pools_of_order(tx.conn().await?, st.row.id).await?;
        let tz = super::pay::settings_tx(tx, st.order.agency.get() as i64)
            .await?
            .timezone;
        let mut roles: Vec<(String, usize)> = (0..st.order.roles.len())
            .map(|r| (pool_key(&st.order, r, tz).2, r))
            .collect();
        roles.sort();
        for (_, r) in roles {
            let pool = match joined.iter().find(|(role, _)| *role == r) {
                Some((_, id)) => lock_pool(tx, *id).await?,
                None => Some(self.join_pool(tx, st, r, tz, target, now).await?),
            };
            let Some(pool) = pool.filter(|p| p.status == "open") else {
                continue;
            };
            let spare = ranked.get(r).map_or(&[][..], Vec::as_slice);
            self.fill_pool(tx, &pool, now, spare).await?;
        }
        Ok(())
    }

    /// Finds or opens the pool of a role of the order (locked) and adds the role to it, widening its window.
    async fn join_pool(
        &self,
        tx: &mut Tx,
        st: &OrderState,
        role: usize,
        tz: chrono_tz::Tz,
        target: f64,
        now: DateTime<Utc>,
    ) -> crate::Result<PoolRow> {
        let agency = st.order.agency;
        let (cell, block_start, skills) = pool_key(&st.order, role, tz);
        let (start, end) = (ms(st.order.shift.start()), ms(st.order.shift.end()));
        let release = ms(st.order.no_show_at() + RELEASE_AFTER);
        // Two orders opening one pool at once: the unique key makes the second insert do nothing, and it then
        // waits for the first's row lock.
        let opened: Option<(i64,)> = sqlx::query_as(
            "INSERT INTO standby_pools (agency_id, cell, block_start, skills, anchor_order, start_at, end_at, \
             release_at, target, wanted, status, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $10, $8, 0, 'open', $9, $9) \
             ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(agency.get() as i64)
        .bind(cell.clone())
        .bind(block_start)
        .bind(skills.clone())
        .bind(st.row.id)
        .bind(start)
        .bind(end)
        .bind(target)
        .bind(ms(now))
        .bind(release)
        .fetch_optional(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        let id = match opened {
            Some((id,)) => {
                store::events::append(
                    tx,
                    ms(now),
                    Some(agency.get()),
                    "standby_pool_opened",
                    &json!({
                        "pool": StandbyPoolId::new(id as u64).to_string(), "cell": cell,
                        "block_start": block_start, "skills": skills,
                        "anchor": st.order.id.to_string(),
                    }),
                )
                .await?;
                id
            }
            None => {
                let (id,): (i64,) = sqlx::query_as(
                    "SELECT id FROM standby_pools WHERE agency_id = $1 AND cell = $2 \
                     AND block_start = $3 AND skills = $4",
                )
                .bind(agency.get() as i64)
                .bind(cell)
                .bind(block_start)
                .bind(skills)
                .fetch_one(tx.conn().await?)
                .await
                .map_err(store::db_error)?;
                id
            }
        };
        let pool = lock_pool(tx, id)
            .await?
            .ok_or_else(|| Error::Internal("standby pool vanished".into()))?;
        let (start, end) = (pool.start_at.min(start), pool.end_at.max(end));
        let release = pool.release_at.max(release);
        let target = pool.target.max(target);
        sqlx::query(
            "UPDATE standby_pools SET start_at = $1, end_at = $2, target = $3, status = 'open', \
             updated_at = $4, release_at = $6 WHERE id = $5",
        )
        .bind(start)
        .bind(end)
        .bind(target)
        .bind(ms(now))
        .bind(id)
        .bind(release)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        sqlx::query(
            "INSERT INTO standby_pool_orders (order_id, role_idx, pool_id) VALUES ($1, $2, $3)",
        )
        .bind(st.row.id)
        .bind(role as i64)
        .bind(id)
        .execute(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        store::events::append(
            tx,
            ms(now),
            Some(agency.get()),
            "standby_pool_joined",
            &json!({
                "pool": StandbyPoolId::new(id as u64).to_string(), "order": st.order.id.to_string(),
                "role_idx": role, "start": start, "end": end, "target": target,
            }),
        )
        .await?;
        Ok(PoolRow {
            start_at: start,
            end_at: end,
            release_at: release,
            target,
            status: "open".into(),
            ..pool
        })
    }

    /// Sizes a locked pool again and books floaters up to its size from `ranked` (candidates of a role of the
    /// pool, in dispatch order).
    async fn fill_pool(
        &self,
        tx: &mut Tx,
        pool: &PoolRow,
        now: DateTime<Utc>,
        ranked: &[(WorkerId, f64)],
    ) -> crate::Result<()> {
        let agency = AgencyId::new(pool.agency_id as u64);
        let orders = live_members(tx.conn().await?, pool.id, now).await?;
        // Once every order has started, a new floater could not arrive in time for anything but a
        // replacement, which urgent offers cover: the pool stops growing.
        if orders.iter().all(|(o, _)| now >= o.order.shift.start()) {
            return Ok(());
        }
        let held = floaters(tx.conn().await?, pool.id).await?;
        let prior = self.show_up_prior(agency);
        let held_p: Vec<f64> = held
            .iter()
            .map(|a| self.show_p(prior, WorkerId::new(a.worker_id as u64)))
            .collect();
        let mut taken: HashSet<WorkerId> = orders.iter().flat_map(|(o, _)| o.involved()).collect();
        taken.extend(held.iter().map(|a| WorkerId::new(a.worker_id as u64)));
        // Every role of the pool asks for the same skills: a candidate of one fits them all.
        let spare: Vec<(WorkerId, f64)> = ranked
            .iter()
            .filter(|(w, _)| !taken.contains(w))
            .copied()
            .collect();
        let spare_p: Vec<f64> = spare.iter().map(|(w, _)| self.show_p(prior, *w)).collect();
        let slots = self.pool_slots(agency, &orders);
        let wanted = sizing::wanted(&slots, &held_p, &spare_p, pool.target);
        if wanted as i64 != pool.wanted {
            sqlx::query("UPDATE standby_pools SET wanted = $1, updated_at = $2 WHERE id = $3")
                .bind(wanted as i64)
                .bind(ms(now))
                .bind(pool.id)
                .execute(tx.conn().await?)
                .await
                .map_err(store::db_error)?;
            store::events::append(
                tx,
                ms(now),
                Some(agency.get()),
                "standby_pool_sized",
                &json!({
                    "pool": StandbyPoolId::new(pool.id as u64).to_string(), "wanted": wanted,
                    "held": held.len(),
                }),
            )
            .await?;
        }
        let mut need = wanted.saturating_sub(held.len());
        // Workers are booked in id order among the picks, like a crew, so concurrent bookings never deadlock.
        for (worker, score) in spare {
            if need == 0 {
                break;
            }
            if self.book_floater(tx, pool, worker, score, now).await? {
                need -= 1;
            }
        }
        Ok(())
    }

    /// Books one floater for the pool's window, if the worker is still free (the database checks).
    async fn book_floater(
        &self,
        tx: &mut Tx,
        pool: &PoolRow,
        worker: WorkerId,
        score: f64,
        now: DateTime<Utc>,
    ) -> crate::Result<bool> {
        let half_gap = self.policy.rest_gap.num_milliseconds() / 2;
        let Some(id) = store::orders::insert_assignment(
            tx,
            pool.anchor_order,
            pool.agency_id,
            worker.get() as i64,
            0,
            "standby",
            "standby",
            pool.start_at,
            pool.end_at,
            half_gap,
            None,
            None,
            ms(now),
            false,
        )
        .await?
        else {
            return Ok(false);
        };
        sqlx::query("UPDATE assignments SET pool_id = $1 WHERE id = $2")
            .bind(pool.id)
            .bind(id)
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        store::events::append(
            tx,
            ms(now),
            Some(pool.agency_id as u64),
            "assignment_made",
            &json!({
                "assignment": AssignmentId::new(id as u64).to_string(),
                "order": OrderId::new(pool.anchor_order as u64).to_string(), "worker": worker.to_string(),
                "pool": StandbyPoolId::new(pool.id as u64).to_string(),
                "role_idx": 0, "kind": "standby", "status": "standby",
                "start": pool.start_at, "end": pool.end_at, "score": score,
            }),
        )
        .await?;
        Ok(true)
    }

    /// Fills a lost slot of `role` of a pooled order from its pool: the best floater (most likely to come,
    /// then lowest id) who fits the role's hard requirements, reaches the venue and whose booked window covers
    /// the shift is promoted into the order. Answers whether one was. The pool is topped up again afterwards
    /// while its orders have not all started.
    pub(super) async fn promote_floater(
        &self,
        tx: &mut Tx,
        st: &mut OrderState,
        role: usize,
        lost: Option<i64>,
        now: DateTime<Utc>,
    ) -> crate::Result<bool> {
        let Some(pool_id) = pools_of_order(tx.conn().await?, st.row.id)
            .await?
            .into_iter()
            .find(|(r, _)| *r == role)
            .map(|(_, p)| p)
        else {
            return Ok(false);
        };
        let Some(pool) = lock_pool(tx, pool_id).await? else {
            return Ok(false);
        };
        let r = &st.order.roles[role];
        let prior = self.show_up_prior(st.order.agency);
        let (start, end) = (ms(st.order.shift.start()), ms(st.order.shift.end()));
        let mut best: Option<(f64, Floater)> = None;
        for a in floaters(tx.conn().await?, pool.id).await? {
            let Some(w) = self.index.get(WorkerId::new(a.worker_id as u64)) else {
                continue;
            };
            let reach = st
                .order
                .max_travel_km
                .map_or(w.max_travel_km.km(), |t| t.km().min(w.max_travel_km.km()));
            let fits = a.start_at <= start
                && a.end_at >= end
                && super::offers::can_step_in(&w, r)
                && w.home.distance_km(st.order.venue.location) <= reach;
            if !fits {
                continue;
            }
            let p = standby::show_up(&w.stats, prior);
            if best.as_ref().is_none_or(|(bp, _)| p > *bp) {
                best = Some((p, a));
            }
        }
        let Some((_, floater)) = best else {
            return Ok(false);
        };
        let worker = WorkerId::new(floater.worker_id as u64);
        let spl = StandbyPoolId::new(pool.id as u64).to_string();
        self.end_floater(tx, &pool, &floater, "promoted", "replacement", now)
            .await?;
        let made = self
            .make_assignment(
                tx,
                st,
                worker,
                role,
                "shift",
                "confirmed",
                None,
                lost,
                now,
                0.0,
            )
            .await?;
        if made.is_none() {
            return Ok(false);
        }
        store::events::append(
            tx,
            ms(now),
            Some(st.order.agency.get()),
            "standby_promoted",
            &json!({
                "order": st.order.id.to_string(), "worker": worker.to_string(), "pool": spl,
                "replaces": lost.map(|l| AssignmentId::new(l as u64).to_string()),
                "lost_at": format_instant(now),
            }),
        )
        .await?;
        self.refresh(tx, st).await?;
        if now < st.order.shift.start() {
            let ranked = self.dispatch_order(st, &st.order.roles[role], &st.involved(), now, 200);
            self.fill_pool(tx, &pool, now, &ranked).await?;
        }
        Ok(true)
    }

    /// Releases every floater a worker who may no longer work (suspended, deleted) holds, each pool locked
    /// after the orders the caller holds. Their pools fill again at the next dispatch of one of their orders.
    pub(super) async fn release_floaters_of(
        &self,
        tx: &mut Tx,
        worker: WorkerId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, pool_id FROM assignments WHERE worker_id = $1 AND pool_id IS NOT NULL \
             AND status = 'standby' ORDER BY pool_id, id",
        )
        .bind(worker.get() as i64)
        .fetch_all(tx.conn().await?)
        .await
        .map_err(store::db_error)?;
        for (id, pool) in rows {
            let Some(pool) = lock_pool(tx, pool).await? else {
                continue;
            };
            let Some(a) = store::orders::assignment(tx.conn().await?, id)
                .await?
                .filter(|a| a.status == "standby")
            else {
                continue;
            };
            self.end_floater(tx, &pool, &a, "released", reason, now)
                .await?;
        }
        Ok(())
    }

    /// Ends a floater's assignment (promoted, released), with its event.
    async fn end_floater(
        &self,
        tx: &mut Tx,
        pool: &PoolRow,
        a: &Floater,
        status: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> crate::Result<()> {
        store::orders::set_assignment_status(tx, a.id, status, ms(now)).await?;
        store::events::append(
            tx,
            ms(now),
            Some(pool.agency_id as u64),
            "assignment_ended",
            &json!({
                "assignment": AssignmentId::new(a.id as u64).to_string(),
                "order": OrderId::new(a.order_id as u64).to_string(),
                "worker": WorkerId::new(a.worker_id as u64).to_string(),
                "pool": StandbyPoolId::new(pool.id as u64).to_string(),
                "status": status, "reason": reason,
            }),
        )
        .await?;
        Ok(())
    }

    /// Closes a pool whose window has ended: its floaters not promoted are released. Claimed on the pool's
    /// row (skipped when another node holds it and `skip_locked`).
    pub(super) async fn close_pool(
        &self,
        mut tx: Tx,
        id: i64,
        now: DateTime<Utc>,
        skip_locked: bool,
    ) -> crate::Result<bool> {
        if tx.backend() == store::Backend::Postgres {
            let sql = if skip_locked {
                "SELECT id FROM standby_pools WHERE id = $1 FOR UPDATE SKIP LOCKED"
            } else {
                "SELECT id FROM standby_pools WHERE id = $1 FOR UPDATE"
            };
            let got: Option<(i64,)> = sqlx::query_as(sql)
                .bind(id)
                .fetch_optional(tx.conn().await?)
                .await
                .map_err(store::db_error)?;
            if got.is_none() {
                return Ok(false);
            }
        }
        let Some(pool) = pool_by_id(tx.conn().await?, id)
            .await?
            .filter(|p| p.status == "open" && p.release_at <= ms(now))
        else {
            return Ok(true);
        };
        let held = floaters(tx.conn().await?, id).await?;
        for a in &held {
            self.end_floater(&mut tx, &pool, a, "released", "pool_ended", now)
                .await?;
        }
        sqlx::query("UPDATE standby_pools SET status = 'closed', updated_at = $1 WHERE id = $2")
            .bind(ms(now))
            .bind(id)
            .execute(tx.conn().await?)
            .await
            .map_err(store::db_error)?;
        store::events::append(
            &mut tx,
            ms(now),
            Some(pool.agency_id as u64),
            "standby_pool_closed",
            &json!({"pool": StandbyPoolId::new(id as u64).to_string(), "released": held.len()}),
        )
        .await?;
        self.committed(tx).await?;
        Ok(true)
    }

    /// An agency's pools whose windows meet `[from, to)`, by id, after the pool `after`, at most `limit`, each
    /// with its id.
    pub async fn standby_pools(
        &self,
        agency: AgencyId,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        after: Option<u64>,
        limit: i64,
    ) -> crate::Result<Vec<(u64, StandbyPoolView)>> {
        let after = after.unwrap_or(0) as i64;
        let db = self.store.pool();
        let rows: Vec<PoolRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {POOL_COLS} FROM standby_pools WHERE agency_id = $1 AND id > $2 \
             AND ($3 IS NULL OR end_at > $3) AND ($4 IS NULL OR start_at < $4) ORDER BY id LIMIT $5"
        )))
        .bind(agency.get() as i64)
        .bind(after)
        .bind(from.map(ms))
        .bind(to.map(ms))
        .bind(limit)
        .fetch_all(db)
        .await
        .map_err(store::db_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push((r.id as u64, self.pool_view(r).await?));
        }
        Ok(out)
    }

    /// One of the agency's pools (another agency's is not found).
    pub async fn standby_pool(
        &self,
        agency: AgencyId,
        id: StandbyPoolId,
    ) -> crate::Result<StandbyPoolView> {
        let row = pool_by_id(self.store.pool(), id.get() as i64)
            .await?
            .filter(|p| p.agency_id == agency.get() as i64)
            .ok_or_else(|| Error::NotFound("standby pool".into()))?;
        self.pool_view(row).await
    }

    async fn pool_view(&self, p: PoolRow) -> crate::Result<StandbyPoolView> {
        let now = self.now();
        let mut conn = self.store.pool().acquire().await.map_err(store::db_error)?;
        let held = floaters(&mut conn, p.id).await?;
        let mut orders: Vec<i64> = members(&mut conn, p.id)
            .await?
            .into_iter()
            .map(|(o, _)| o)
            .collect();
        orders.dedup();
        let live = live_members(&mut conn, p.id, now).await?;
        let agency = AgencyId::new(p.agency_id as u64);
        let prior = self.show_up_prior(agency);
        let held_p: Vec<f64> = held
            .iter()
            .map(|a| self.show_p(prior, WorkerId::new(a.worker_id as u64)))
            .collect();
        let p_all_full = sizing::all_full(&self.pool_slots(agency, &live), &held_p);
        let centre = p
            .cell
            .parse::<CellIndex>()
            .map(LatLng::from)
            .map_err(|e| Error::Internal(format!("pool cell {}: {e}", p.cell)))?;
        Ok(StandbyPoolView {
            id: StandbyPoolId::new(p.id as u64).to_string(),
            status: p.status,
            cell: p.cell,
            centre: crate::wire::standby_pool::CentreView {
                lat: centre.lat(),
                lon: centre.lng(),
            },
            block_start: format_instant(from_ms(p.block_start)),
            start: format_instant(from_ms(p.start_at)),
            end: format_instant(from_ms(p.end_at)),
            release_at: format_instant(from_ms(p.release_at)),
            skills: if p.skills.is_empty() {
                Vec::new()
            } else {
                p.skills.split(',').map(str::to_string).collect()
            },
            target: p.target,
            wanted: p.wanted as u32,
            held: held.len() as u32,
            floaters: held
                .iter()
                .map(|a| FloaterView {
                    assignment_id: AssignmentId::new(a.id as u64).to_string(),
                    worker_id: WorkerId::new(a.worker_id as u64).to_string(),
                    start: format_instant(from_ms(a.start_at)),
                    end: format_instant(from_ms(a.end_at)),
                })
                .collect(),
            orders: orders
                .into_iter()
                .map(|o| OrderId::new(o as u64).to_string())
                .collect(),
            p_all_full,
        })
    }
}
