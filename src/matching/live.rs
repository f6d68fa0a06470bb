//! What changes every minute and therefore lives outside the search index: live bookings, suspensions,
//! on-call windows, the clients' favourites and block lists, and how often a worker has worked for a client.
//! The engine updates it after each committed event; matching only reads it.
//!
//! Internally the per-worker data sits in hash maps for constant-time lookups from the scoring loop; nothing
//! here ever hands out a hash map's iteration order, so every answer is deterministic.

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use chrono_tz::Tz;

use crate::domain::order::ClientRef;
use crate::domain::time::resolve_local;
use crate::domain::{AgencyId, Interval, LatLon, OrderId, PoolId, WorkerId};

/// A live booking of a worker: a confirmed, checked-in or standby assignment that still blocks the worker's
/// time. The rest-gap rule and the weekly hours cap are checked against these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// When the worker is booked.
    pub interval: Interval,
    /// The order the booking belongs to.
    pub order: OrderId,
    /// The role's index within the order, when the booking is for a role (a standby may have none).
    pub role: Option<u32>,
    /// The order's client, so per-client history can be kept.
    pub client_ref: ClientRef,
}

/// A window during which a worker is on call near a place, ready for urgent replacements.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnCall {
    /// When the worker is on call.
    pub interval: Interval,
    /// Where the worker waits.
    pub center: LatLon,
    /// How far from `center` the worker accepts urgent shifts.
    pub radius_km: f64,
}

/// Everything live about one worker, kept together so the scoring loop needs a single lookup.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkerLive {
    /// Sorted by interval (start, then end).
    pub(crate) bookings: Vec<Booking>,
    /// At least the length of every booking in `bookings` (the longest ever recorded), so that the bookings
    /// that can meet a period are found by their starts alone ([`WorkerLive::meeting`]).
    longest: Duration,
    pub(crate) suspended_until: Option<DateTime<Utc>>,
    /// Sorted by start.
    on_call: Vec<OnCall>,
    /// Completed shifts per client.
    pub(crate) client_shifts: HashMap<ClientRef, u32>,
}

impl WorkerLive {
    /// The bookings that can meet `[from, to)`: every booking that ends after `from` and starts before `to`
    /// is among them. The bookings are sorted by start, and one that ends after `from` starts after
    /// `from - longest`, so a worker booked on many days is not read booking by booking.
    fn meeting(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> &[Booking] {
        let list = &self.bookings;
        let Some(earliest) = from.checked_sub_signed(self.longest) else {
            return list;
        };
        let lo = list.partition_point(|b| b.interval.start() <= earliest);
        let hi = list.partition_point(|b| b.interval.start() < to);
        list.get(lo..hi).unwrap_or_default()
    }
}

/// A client's lists of favourite and blocked workers.
#[derive(Debug, Clone, Default)]
struct ClientLists {
    favourites: BTreeSet<WorkerId>,
    blocked: BTreeSet<WorkerId>,
}

/// A hasher for server-assigned worker ids: one multiplication instead of SipHash, because the scoring loop
/// looks every candidate up. Ids are handed out by the store, never chosen by clients, so there is nothing
/// to flood the table with.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type IdMap<V> = HashMap<WorkerId, V, BuildHasherDefault<IdHasher>>;

/// The live state matching reads besides the worker profiles. Plain data, updated in place without
/// re-indexing; it never reads the clock (callers pass `now` where it matters).
#[derive(Debug, Clone, Default)]
pub struct LiveState {
    workers: IdMap<WorkerLive>,
    clients: HashMap<AgencyId, HashMap<ClientRef, ClientLists>>,
    /// Talent pools: each agency's named lists of workers, by pool.
    pools: HashMap<PoolId, (AgencyId, BTreeSet<WorkerId>)>,
}

/// The calendar week (Monday 00:00 to the next Monday 00:00, local wall-clock time in `tz`) that contains
/// `instant`, as an interval of instants. A week that holds a daylight-saving change is an hour shorter or
/// longer, as it is on the worker's calendar.
pub fn week_of(tz: Tz, instant: DateTime<Utc>) -> Interval {
    let day = instant.with_timezone(&tz).date_naive();
    let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let start = resolve_local(tz, monday.and_time(NaiveTime::MIN));
    let end = resolve_local(tz, (monday + Duration::days(7)).and_time(NaiveTime::MIN));
    Interval::new(start, end).expect("a week runs forward")
}

impl LiveState {
    /// An empty state: nobody booked, suspended or on call, no client lists.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a talent pool's workers (creating the pool).
    pub fn set_pool(&mut self, agency: AgencyId, pool: PoolId, workers: BTreeSet<WorkerId>) {
        self.pools.insert(pool, (agency, workers));
    }

    /// Forgets a deleted talent pool.
    pub fn remove_pool(&mut self, pool: PoolId) {
        self.pools.remove(&pool);
    }

    /// The workers of an agency's talent pool; `None` for a pool that is not the agency's (or not at all).
    pub fn pool(&self, agency: AgencyId, pool: PoolId) -> Option<&BTreeSet<WorkerId>> {
        self.pools
            .get(&pool)
            .filter(|(a, _)| *a == agency)
            .map(|(_, w)| w)
    }

    /// Everything live about one worker, in one lookup, for the scoring loop.
    pub(crate) fn entry(&self, worker: WorkerId) -> Option<&WorkerLive> {
        self.workers.get(&worker)
    }

    /// A canonical text of everything held, for comparing two states (a node's view against one rebuilt from
    /// the database): workers in id order; bookings ending after `since`, on-call windows ending after `now`.
    pub fn canonical(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let mut ids: Vec<&WorkerId> = self.workers.keys().collect();
        ids.sort();
        for id in ids {
            let w = &self.workers[id];
            let mut bookings: Vec<&Booking> = w
                .bookings
                .iter()
                .filter(|b| b.interval.end() > since)
                .collect();
            bookings.sort_by(|a, b| a.interval.cmp(&b.interval).then(a.order.cmp(&b.order)));
            let on_call: Vec<&OnCall> = w
                .on_call
                .iter()
                .filter(|c| c.interval.end() > now)
                .collect();
            let mut shifts: Vec<(&ClientRef, &u32)> =
                w.client_shifts.iter().filter(|(_, n)| **n > 0).collect();
            shifts.sort();
            let suspended = w.suspended_until.filter(|u| *u > now);
            if bookings.is_empty() && on_call.is_empty() && shifts.is_empty() && suspended.is_none()
            {
                continue;
            }
            let _ = writeln!(
                out,
                "{id:?} {bookings:?} {on_call:?} {shifts:?} {suspended:?}"
            );
        }
        let mut agencies: Vec<&AgencyId> = self.clients.keys().collect();
        agencies.sort();
        for a in agencies {
            let mut clients: Vec<(&ClientRef, &ClientLists)> = self.clients[a].iter().collect();
            clients.sort_by(|x, y| x.0.cmp(y.0));
            for (c, l) in clients {
                if l.favourites.is_empty() && l.blocked.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "{a:?} {c:?} {:?} {:?}", l.favourites, l.blocked);
            }
        }
        out
    }

    /// Records a live booking, keeping the worker's bookings sorted by time.
    pub fn add_booking(&mut self, worker: WorkerId, booking: Booking) {
        let live = self.workers.entry(worker).or_default();
        live.longest = live.longest.max(booking.interval.duration());
        let list = &mut live.bookings;
        let at = list.partition_point(|b| b.interval <= booking.interval);
        list.insert(at, booking);
    }

    /// Removes the worker's booking for `order` (cancelled, released, no-show), returning it if there was one.
    pub fn remove_booking(&mut self, worker: WorkerId, order: OrderId) -> Option<Booking> {
        let list = &mut self.workers.get_mut(&worker)?.bookings;
        let at = list.iter().position(|b| b.order == order)?;
        Some(list.remove(at))
    }

    /// The worker's live bookings, sorted by time.
    pub fn bookings(&self, worker: WorkerId) -> &[Booking] {
        self.workers
            .get(&worker)
            .map_or(&[][..], |w| w.bookings.as_slice())
    }

    /// Whether a live booking of the worker comes closer than `gap` to `shift` (the rest rule).
    pub fn conflicts(&self, worker: WorkerId, shift: &Interval, gap: Duration) -> bool {
        conflicts_in(self.workers.get(&worker), shift, gap)
    }

    /// Booked hours of the worker inside `window`; a booking that sticks out counts only the part inside.
    pub fn hours_in(&self, worker: WorkerId, window: &Interval) -> f64 {
        hours_in(self.workers.get(&worker), window)
    }

    /// Booked hours in the Monday–Sunday week, in timezone `tz`, that contains `instant`; a booking straddling
    /// the week boundary counts its share.
    pub fn hours_in_week(&self, worker: WorkerId, tz: Tz, instant: DateTime<Utc>) -> f64 {
        self.hours_in(worker, &week_of(tz, instant))
    }

    /// Suspends the worker until `until` (for example after repeated no-shows).
    pub fn suspend(&mut self, worker: WorkerId, until: DateTime<Utc>) {
        self.workers.entry(worker).or_default().suspended_until = Some(until);
    }

    /// Lifts a suspension.
    pub fn lift_suspension(&mut self, worker: WorkerId) {
        if let Some(w) = self.workers.get_mut(&worker) {
            w.suspended_until = None;
        }
    }

    /// Whether the worker is suspended at `now`.
    pub fn is_suspended(&self, worker: WorkerId, now: DateTime<Utc>) -> bool {
        self.workers
            .get(&worker)
            .and_then(|w| w.suspended_until)
            .is_some_and(|until| now < until)
    }

    /// Adds an on-call window for the worker.
    pub fn add_on_call(&mut self, worker: WorkerId, on_call: OnCall) {
        let list = &mut self.workers.entry(worker).or_default().on_call;
        let at = list.partition_point(|o| o.interval <= on_call.interval);
        list.insert(at, on_call);
    }

    /// Drops one on-call window of the worker (the worker left it): the one with this interval and center.
    pub fn remove_on_call(&mut self, worker: WorkerId, on_call: &OnCall) {
        if let Some(w) = self.workers.get_mut(&worker)
            && let Some(i) = w.on_call.iter().position(|o| {
                o.interval == on_call.interval
                    && (o.center.lat() - on_call.center.lat()).abs() < 1e-9
                    && (o.center.lon() - on_call.center.lon()).abs() < 1e-9
            })
        {
            w.on_call.remove(i);
        }
    }

    /// Drops the worker's on-call windows that ended at or before `now`.
    pub fn expire_on_call(&mut self, worker: WorkerId, now: DateTime<Utc>) {
        if let Some(w) = self.workers.get_mut(&worker) {
            w.on_call.retain(|o| o.interval.end() > now);
        }
    }

    /// The worker's on-call windows, sorted by time.
    pub fn on_call(&self, worker: WorkerId) -> &[OnCall] {
        self.workers
            .get(&worker)
            .map_or(&[][..], |w| w.on_call.as_slice())
    }

    /// Workers on call for the whole of `shift` whose on-call radius reaches `venue`, sorted by id.
    pub fn on_call_for(&self, shift: &Interval, venue: LatLon) -> Vec<WorkerId> {
        let mut out: Vec<WorkerId> = self
            .workers
            .iter()
            .filter(|(_, w)| {
                w.on_call.iter().any(|o| {
                    o.interval.contains(shift) && o.center.distance_km(venue) <= o.radius_km
                })
            })
            .map(|(id, _)| *id)
            .collect();
        out.sort_unstable();
        out
    }

    fn lists_mut(&mut self, agency: AgencyId, client: &str) -> &mut ClientLists {
        self.clients
            .entry(agency)
            .or_default()
            .entry(client.to_string())
            .or_default()
    }

    fn lists(&self, agency: AgencyId, client: &str) -> Option<&ClientLists> {
        self.clients.get(&agency)?.get(client)
    }

    /// Marks the worker a favourite of the agency's client, or clears the mark.
    pub fn set_favourite(&mut self, agency: AgencyId, client: &str, worker: WorkerId, on: bool) {
        let l = &mut self.lists_mut(agency, client).favourites;
        if on {
            l.insert(worker);
        } else {
            l.remove(&worker);
        }
    }

    /// Blocks the worker from the agency's client's orders, or lifts the block.
    pub fn set_blocked(&mut self, agency: AgencyId, client: &str, worker: WorkerId, on: bool) {
        let l = &mut self.lists_mut(agency, client).blocked;
        if on {
            l.insert(worker);
        } else {
            l.remove(&worker);
        }
    }

    /// Whether the client marked the worker a favourite.
    pub fn is_favourite(&self, agency: AgencyId, client: &str, worker: WorkerId) -> bool {
        self.favourites(agency, client)
            .is_some_and(|s| s.contains(&worker))
    }

    /// Whether the client blocked the worker.
    pub fn is_blocked(&self, agency: AgencyId, client: &str, worker: WorkerId) -> bool {
        self.blocked(agency, client)
            .is_some_and(|s| s.contains(&worker))
    }

    /// The client's favourites, sorted by id; matching looks the set up once per query.
    pub fn favourites(&self, agency: AgencyId, client: &str) -> Option<&BTreeSet<WorkerId>> {
        self.lists(agency, client)
            .map(|l| &l.favourites)
            .filter(|s| !s.is_empty())
    }

    /// The client's blocked workers, sorted by id; matching looks the set up once per query.
    pub fn blocked(&self, agency: AgencyId, client: &str) -> Option<&BTreeSet<WorkerId>> {
        self.lists(agency, client)
            .map(|l| &l.blocked)
            .filter(|s| !s.is_empty())
    }

    /// Records one more completed shift of the worker for the client.
    pub fn record_completed(&mut self, worker: WorkerId, client: &str) {
        let w = self.workers.entry(worker).or_default();
        match w.client_shifts.get_mut(client) {
            Some(n) => *n += 1,
            None => {
                w.client_shifts.insert(client.to_string(), 1);
            }
        }
    }

    /// Sets the worker's completed shifts with the client (used when the state is rebuilt from the store).
    pub fn set_client_experience(&mut self, worker: WorkerId, client: &str, shifts: u32) {
        self.workers
            .entry(worker)
            .or_default()
            .client_shifts
            .insert(client.to_string(), shifts);
    }

    /// How many shifts the worker completed for the client.
    pub fn client_experience(&self, worker: WorkerId, client: &str) -> u32 {
        self.workers
            .get(&worker)
            .and_then(|w| w.client_shifts.get(client).copied())
            .unwrap_or(0)
    }
}

/// Whether any booking of the worker comes closer than `gap` to `shift` (`Interval::within_gap`).
pub(crate) fn conflicts_in(live: Option<&WorkerLive>, shift: &Interval, gap: Duration) -> bool {
    let Some(live) = live.filter(|l| !l.bookings.is_empty()) else {
        return false;
    };
    // `b.start < shift.end + gap && shift.start < b.end + gap`, with the shift widened once.
    let (from, to) = (shift.start() - gap, shift.end() + gap);
    live.meeting(from, to)
        .iter()
        .any(|b| b.interval.start() < to && from < b.interval.end())
}

/// Hours of the worker's bookings inside `window`.
pub(crate) fn hours_in(live: Option<&WorkerLive>, window: &Interval) -> f64 {
    let Some(live) = live.filter(|l| !l.bookings.is_empty()) else {
        return 0.0;
    };
    let secs: i64 = live
        .meeting(window.start(), window.end())
        .iter()
        .map(|b| b.interval.overlap(window).num_seconds())
        .sum();
    secs as f64 / 3600.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::parse_instant;

    fn t(s: &str) -> DateTime<Utc> {
        parse_instant(s).unwrap()
    }

    fn iv(a: &str, b: &str) -> Interval {
        Interval::new(t(a), t(b)).unwrap()
    }

    fn booking(a: &str, b: &str, order: u64) -> Booking {
        Booking {
            interval: iv(a, b),
            order: OrderId::new(order),
            role: Some(0),
            client_ref: "acme".into(),
        }
    }

    const W: WorkerId = WorkerId::new(7);

    #[test]
    fn bookings_are_kept_sorted_and_can_be_removed() {
        let mut live = LiveState::new();
        live.add_booking(
            W,
            booking("2026-11-28T09:00:00Z", "2026-11-28T17:00:00Z", 2),
        );
        live.add_booking(
            W,
            booking("2026-11-26T09:00:00Z", "2026-11-26T17:00:00Z", 1),
        );
        let orders: Vec<u64> = live.bookings(W).iter().map(|b| b.order.get()).collect();
        assert_eq!(orders, [1, 2]);
        assert!(live.remove_booking(W, OrderId::new(1)).is_some());
        assert!(live.remove_booking(W, OrderId::new(1)).is_none());
        assert_eq!(live.bookings(W).len(), 1);
    }

    #[test]
    fn hours_in_week_count_only_the_share_inside_the_local_week() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let mut live = LiveState::new();
        // Sunday 2026-11-29 20:00 to Monday 04:00 Berlin time: 4 hours in each week.
        live.add_booking(
            W,
            booking("2026-11-29T20:00:00+01:00", "2026-11-30T04:00:00+01:00", 1),
        );
        // Wednesday 2026-11-25, 6 hours.
        live.add_booking(
            W,
            booking("2026-11-25T09:00:00+01:00", "2026-11-25T15:00:00+01:00", 2),
        );
        assert_eq!(
            live.hours_in_week(W, berlin, t("2026-11-28T10:00:00+01:00")),
            10.0
        );
        assert_eq!(
            live.hours_in_week(W, berlin, t("2026-12-01T10:00:00+01:00")),
            4.0
        );
        // In Shanghai (+08:00) the Sunday evening booking lies wholly in the next week.
        let shanghai: Tz = "Asia/Shanghai".parse().unwrap();
        assert_eq!(
            live.hours_in_week(W, shanghai, t("2026-11-28T10:00:00+08:00")),
            6.0
        );
    }

    #[test]
    fn a_week_with_a_dst_change_has_its_real_length() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let wk = week_of(berlin, t("2026-03-28T12:00:00Z"));
        assert_eq!(wk.duration(), Duration::hours(167));
        assert_eq!(wk.start(), t("2026-03-23T00:00:00+01:00"));
    }

    #[test]
    fn suspensions_end_at_their_time() {
        let mut live = LiveState::new();
        live.suspend(W, t("2026-11-28T00:00:00Z"));
        assert!(live.is_suspended(W, t("2026-11-27T23:59:59Z")));
        assert!(!live.is_suspended(W, t("2026-11-28T00:00:00Z")));
        live.suspend(W, t("2026-12-28T00:00:00Z"));
        live.lift_suspension(W);
        assert!(!live.is_suspended(W, t("2026-11-27T00:00:00Z")));
    }

    #[test]
    fn favourites_blocks_and_client_experience_are_per_client() {
        let mut live = LiveState::new();
        let a = AgencyId::new(1);
        live.set_favourite(a, "acme", W, true);
        live.set_blocked(a, "globex", W, true);
        assert!(live.is_favourite(a, "acme", W));
        assert!(!live.is_favourite(a, "globex", W));
        assert!(!live.is_favourite(AgencyId::new(2), "acme", W));
        assert!(live.is_blocked(a, "globex", W));
        live.set_blocked(a, "globex", W, false);
        assert!(!live.is_blocked(a, "globex", W));
        live.record_completed(W, "acme");
        live.record_completed(W, "acme");
        assert_eq!(live.client_experience(W, "acme"), 2);
        assert_eq!(live.client_experience(W, "globex"), 0);
    }

    #[test]
    fn on_call_workers_are_found_by_window_and_radius_in_id_order() {
        let mut live = LiveState::new();
        let here = LatLon::new(31.2, 121.5).unwrap();
        let far = LatLon::new(39.9, 116.4).unwrap();
        let window = iv("2026-11-28T00:00:00Z", "2026-11-29T00:00:00Z");
        for (id, at) in [(9, here), (3, here), (5, far)] {
            live.add_on_call(
                WorkerId::new(id),
                OnCall {
                    interval: window,
                    center: at,
                    radius_km: 10.0,
                },
            );
        }
        let shift = iv("2026-11-28T09:00:00Z", "2026-11-28T17:00:00Z");
        assert_eq!(
            live.on_call_for(&shift, here),
            [WorkerId::new(3), WorkerId::new(9)]
        );
        live.expire_on_call(WorkerId::new(3), t("2026-11-29T00:00:00Z"));
        assert_eq!(live.on_call_for(&shift, here), [WorkerId::new(9)]);
    }

    /// Random bookings (short and long, overlapping, some removed again) against shifts and weeks all around
    /// them: the rest rule and the booked hours, found from the bookings' starts, equal a check of every
    /// booking.
    #[test]
    fn the_bookings_near_a_shift_answer_as_every_booking_would() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let base = t("2026-11-23T00:00:00Z");
        let at = |min: i64| base + Duration::minutes(min);
        let (mut conflicts, mut hours) = (0, 0);
        for round in 0..2_000 {
            let mut live = LiveState::new();
            for k in 0..rng.random_range(0..40u64) {
                let s = rng.random_range(0..60 * 1440);
                let len = if rng.random_bool(0.1) {
                    rng.random_range(600..1440)
                } else {
                    rng.random_range(30..600)
                };
                live.add_booking(
                    W,
                    Booking {
                        interval: Interval::new(at(s), at(s + len)).unwrap(),
                        order: OrderId::new(k),
                        role: Some(0),
                        client_ref: "c".parse().unwrap(),
                    },
                );
            }
            for k in 0..rng.random_range(0..5u64) {
                live.remove_booking(W, OrderId::new(k));
            }
            let all = live.bookings(W).to_vec();
            for _ in 0..20 {
                let s = rng.random_range(-1440..62 * 1440);
                let shift = Interval::new(at(s), at(s + rng.random_range(1..1440))).unwrap();
                let gap = Duration::minutes(rng.random_range(0..720));
                let naive = all.iter().any(|b| b.interval.within_gap(&shift, gap));
                assert_eq!(
                    live.conflicts(W, &shift, gap),
                    naive,
                    "{round} {shift:?} {gap:?}"
                );
                conflicts += usize::from(naive);
                let week = Interval::new(at(s), at(s + 7 * 1440)).unwrap();
                let secs: i64 = all
                    .iter()
                    .map(|b| b.interval.overlap(&week).num_seconds())
                    .sum();
                assert_eq!(live.hours_in(W, &week), secs as f64 / 3600.0);
                hours += usize::from(secs > 0);
            }
        }
        assert!(conflicts > 5_000 && hours > 20_000, "{conflicts} {hours}");
    }
}
