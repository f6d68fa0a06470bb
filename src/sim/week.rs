//! A week of a city's staffing driven through the real engine with a manual clock.
//!
//! A discrete-event loop over a queue of simulated events ordered by (time, sequence): orders posted at their
//! `posted_at`, answers to offers, cancellations, check-ins (with geofence retries), check-outs, ratings, the
//! fill of each order measured at `start + grace`, and an hourly sample for the chart. Before each event the
//! engine's clock is moved to its time, which fires every engine timer due on the way (offer expiry, no-shows,
//! standby promotion, order start and end). After each engine call the loop reads the offers and assignments
//! created since the last ones it saw and gives each its future from the behaviour model.
//!
//! Everything is drawn from random streams keyed by (seed, id), and the queue is ordered, so a seed gives the
//! same week, and the same event log, every time.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::behaviour::{self, Arrival, Decision, OfferSight};
use super::forecast::SimForecast;
use super::kpi::{self, Kpis, OrderMeasure};
use super::place::offset_km;
use super::rng::Rng;
use super::svg::Sample;
use super::traits::{Traits, traits};
use super::{City, OrderSpec};
use crate::domain::{AgencyId, AssignmentId, LatLon, OfferId, WorkerId};
use crate::engine::sim_support::{AssignmentSeen, OfferSeen, all_events};
use crate::engine::{Actor, Engine};
use crate::error::Error;

/// Stream salts, one per kind of draw.
const SALT_OFFER: u64 = 0x0ff3_5a17;
const SALT_ASSIGNMENT: u64 = 0xa551_6a17;
const SALT_GPS: u64 = 0x6b5_0ff5;
const SALT_RATING: u64 = 0x5ba5_0001;
const SALT_SIGNALS: u64 = 0x5169_a150;

/// The agency's re-confirmation lead and deadline and its plausible speed when the run turns signals on
/// (the defaults of the agency settings).
const SIGNAL_SPEED_KMH: f64 = 25.0;
const SALT_INVITE: u64 = 0x1471_7e00;

/// With `reserve`, the peak threshold of the morning's invitations, in slots at one hour.
pub const RESERVE_MIN_EXPECTED: f64 = 3.0;
/// With `reserve`, the share of a peak's busiest-hour slots invited (at least one worker a peak).
pub const RESERVE_SHARE: f64 = 0.1;
/// With `reserve`, the local hour each morning's invitations go out, for the next [`RESERVE_AHEAD_H`] hours.
pub const RESERVE_HOUR: u32 = 8;
/// With `reserve`, the hours ahead each morning's invitations cover.
pub const RESERVE_AHEAD_H: i64 = 36;

/// Which standby policy every order of the run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandbyPolicy {
    /// As the generator drew it per order (a mix).
    AsGenerated,
    /// No standbys.
    None,
    /// Exactly this many per order.
    Fixed(u32),
    /// The engine's probability-sized standby (`"auto"`).
    Auto,
    /// Floaters of the area's on-call pool, shared by the orders of an area and block of the day
    /// (`"pooled"`).
    Pooled,
}

impl StandbyPolicy {
    /// Parses `auto`, `pooled`, `none`, `fixed:N` or `generated`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "auto" => Ok(Self::Auto),
            "pooled" => Ok(Self::Pooled),
            "none" => Ok(Self::None),
            "generated" => Ok(Self::AsGenerated),
            other => other
                .strip_prefix("fixed:")
                .and_then(|n| n.parse().ok())
                .map(Self::Fixed)
                .ok_or_else(|| {
                    format!(
                        "a standby policy is auto, pooled, none, fixed:N or generated, not {other}"
                    )
                }),
        }
    }

    /// The policy as written on the command line.
    pub fn name(&self) -> String {
        match self {
            Self::AsGenerated => "generated".into(),
            Self::None => "none".into(),
            Self::Fixed(n) => format!("fixed:{n}"),
            Self::Auto => "auto".into(),
            Self::Pooled => "pooled".into(),
        }
    }

    /// The order body's `standby` under this policy, or `None` to keep the generated one.
    fn body_value(&self) -> Option<Value> {
        match self {
            Self::AsGenerated => None,
            Self::None => Some(json!(0)),
            Self::Fixed(n) => Some(json!(n)),
            Self::Auto => Some(json!("auto")),
            Self::Pooled => Some(json!("pooled")),
        }
    }
}

/// With `signals`, how long before a shift the agency asks its workers to confirm again, in hours.
pub const SIGNALS_RECONFIRM_LEAD_H: i64 = 6;
/// With `signals`, the deadline of that request, in hours before the shift.
pub const SIGNALS_RECONFIRM_DEADLINE_H: i64 = 2;

/// What to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeekConfig {
    /// Workers in the city.
    pub workers: usize,
    /// Orders over the week.
    pub orders: usize,
    /// The seed of everything.
    pub seed: u64,
    /// The standby policy of every order.
    pub standby: StandbyPolicy,
    /// Whether the agency turns re-confirmation and pre-shift signals on (their default terms), and the
    /// simulated workers answer and send them (see [`behaviour::signals`]).
    pub signals: bool,
    /// Whether the agency reserves on-call workers ahead of the forecast's peaks: each morning at
    /// [`RESERVE_HOUR`] local it invites workers for the peaks of the next [`RESERVE_AHEAD_H`] hours (see
    /// `behaviour::invite_reaction` for how they answer).
    pub reserve: bool,
}

/// What a simulated week produced.
#[derive(Debug, Clone)]
pub struct WeekOutcome {
    /// The figures.
    pub kpis: Kpis,
    /// Hourly slots wanted and filled, for the chart.
    pub samples: Vec<Sample>,
    /// The instant of the samples' hour 0 (the first shift's start).
    pub samples_from: DateTime<Utc>,
    /// Each order's measure.
    pub measures: Vec<OrderMeasure>,
    /// The demand forecast fitted on eight generated weeks before this one, and its error on this week.
    pub forecast: SimForecast,
    /// On-call invitations made and answered (all zero without `reserve`).
    pub reserve: ReserveFigures,
}

/// What reserving on-call workers did over the week.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReserveFigures {
    /// Mornings invitations went out.
    pub rounds: u32,
    /// Peaks invited for.
    pub peaks: u32,
    /// Invitations made.
    pub invites: u32,
    /// Invitations accepted (workers who joined the on-call pool).
    pub accepted: u32,
    /// Invitations declined.
    pub declined: u32,
}

impl ReserveFigures {
    /// One line for the KPI printout.
    pub fn line(&self) -> String {
        format!(
            "on-call reservation: {} mornings, {} peaks, {} invitations, {} accepted, {} declined\n",
            self.rounds, self.peaks, self.invites, self.accepted, self.declined
        )
    }

    /// The figures as JSON.
    pub fn to_json(&self) -> Value {
        json!({"rounds": self.rounds, "peaks": self.peaks, "invites": self.invites,
               "accepted": self.accepted, "declined": self.declined})
    }
}

/// A simulated event.
#[derive(Debug, Clone, Copy)]
enum Ev {
    Post(usize),
    Answer {
        offer: i64,
        worker: i64,
        accept: bool,
    },
    Cancel {
        assignment: i64,
        worker: i64,
    },
    CheckIn {
        assignment: i64,
        worker: i64,
        order: i64,
        attempt: u64,
        off_m: f64,
    },
    CheckOut {
        assignment: i64,
        worker: i64,
        order: i64,
    },
    Rate {
        assignment: i64,
        stars: i64,
    },
    Reconfirm {
        assignment: i64,
        worker: i64,
    },
    Signal {
        assignment: i64,
        worker: i64,
        order: i64,
        on_my_way: bool,
        km: f64,
        angle: f64,
    },
    Measure {
        order: i64,
    },
    Sample {
        hour: i64,
    },
    Reserve,
    InviteAnswer {
        invite: i64,
        worker: i64,
        accept: bool,
    },
}

/// The state of the loop.
struct Week<'a> {
    engine: &'a Engine,
    cfg: WeekConfig,
    agency: AgencyId,
    specs: Vec<OrderSpec>,
    homes: Vec<LatLon>,
    traits: Vec<Traits>,
    median_pay: f64,
    queue: BTreeMap<(i64, u64), Ev>,
    seq: u64,
    /// The last event of the log the simulation has seen.
    last_seq: i64,
    /// The engine's write epoch when the loop last looked for new offers and assignments.
    seen_epoch: i64,
    /// Database order id → index into `specs`.
    orders: BTreeMap<i64, usize>,
    measures: BTreeMap<i64, OrderMeasure>,
    samples: Vec<Sample>,
    forecast: SimForecast,
    reserve: ReserveFigures,
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Runs a week over an engine started on a fresh database with a manual clock standing before the first
/// posting (see [`start_time`]). `progress(done, total)` is called with simulated minutes.
pub async fn run(
    engine: &Engine,
    cfg: WeekConfig,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> crate::Result<WeekOutcome> {
    let city = City::metropolis(cfg.seed);
    let week_start = super::workers::default_week_start();
    let agency = engine.create_agency("Simulated staffing agency").await?.id;
    if cfg.signals {
        use crate::wire::pay::{PreShiftBody, ReconfirmBody, SettingsBody};
        let on = SettingsBody {
            // Most of the week's bookings are made within a day of their shift (orders are posted 1 to 240 hours
            // ahead, log-uniformly): asking 6 hours ahead reaches about two thirds of them and leaves 4 hours
            // to replace one who does not answer by 2 hours before the start.
            reconfirm: Some(ReconfirmBody {
                enabled: Some(true),
                lead_h: Some(SIGNALS_RECONFIRM_LEAD_H),
                deadline_h: Some(SIGNALS_RECONFIRM_DEADLINE_H),
                ..Default::default()
            }),
            pre_shift: Some(PreShiftBody {
                enabled: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        };
        engine.patch_agency_settings(agency, &on).await?;
    }
    let mut specs = super::orders(&city, cfg.orders, cfg.seed, agency, week_start);
    specs.sort_by_key(|s| (s.posted_at, s.order.id));
    let forecast = super::forecast::fit(&city, cfg.orders, cfg.seed, agency, week_start, &specs);
    // The clients buy service levels: in client_ref order, one in six is P0, two are P1, three are P2 (the
    // agency's default tiers), so their orders are dispatched and watched by their tier.
    let mut clients: Vec<&str> = specs.iter().map(|s| s.order.client_ref.as_str()).collect();
    clients.sort_unstable();
    clients.dedup();
    for (i, client) in clients.iter().enumerate() {
        let tier = match i % 6 {
            0 => "P0",
            1 | 2 => "P1",
            _ => "P2",
        };
        engine.set_client_tier(agency, client, Some(tier)).await?;
    }
    // The agency's pool is recruited for the work it gets: its skills and weekly patterns follow the week's
    // order book.
    let mix = super::Mix::for_orders(&specs);
    let workers = super::workers_with_mix(&city, cfg.workers, cfg.seed, agency, week_start, &mix);
    for chunk in workers.chunks(5_000) {
        let text: Vec<String> = chunk.iter().map(super::ndjson::worker_line).collect();
        let r = engine.import_workers(agency, &text.join("\n")).await?;
        if !r.errors.is_empty() {
            return Err(Error::Internal(format!(
                "generated workers refused: {:?}",
                &r.errors[..r.errors.len().min(3)]
            )));
        }
    }
    // A fresh database numbers the workers in import order, as the generator did.
    for w in [workers.first(), workers.last()].into_iter().flatten() {
        let stored = engine.indexed_worker(WorkerId::new(w.id.get()));
        if stored.is_none_or(|s| s.external_ref != w.external_ref) {
            return Err(Error::Conflict(
                "the simulation needs a fresh database (worker ids do not line up)".into(),
            ));
        }
    }
    let mut pays: Vec<f64> = specs
        .iter()
        .flat_map(|s| s.order.roles.iter().filter_map(|r| r.pay_per_hour))
        .collect();
    pays.sort_by(f64::total_cmp);
    let median_pay = kpi::quantile(&pays, 0.5).unwrap_or(1.0).max(0.01);
    let t0 = specs
        .iter()
        .map(|s| s.order.shift.start())
        .min()
        .unwrap_or(week_start);
    let t_end = specs
        .iter()
        .map(|s| s.order.shift.end())
        .max()
        .unwrap_or(week_start);
    let mut week = Week {
        engine,
        cfg,
        agency,
        homes: workers.iter().map(|w| w.home).collect(),
        traits: workers.iter().map(|w| traits(cfg.seed, w.id)).collect(),
        specs,
        median_pay,
        queue: BTreeMap::new(),
        seq: 0,
        last_seq: 0,
        seen_epoch: i64::MIN,
        orders: BTreeMap::new(),
        measures: BTreeMap::new(),
        samples: Vec::new(),
        forecast,
        reserve: ReserveFigures::default(),
    };
    for i in 0..week.specs.len() {
        let at = week.specs[i].posted_at;
        week.push(at, Ev::Post(i));
    }
    let hours = (t_end - t0).num_hours() + 1;
    for h in 0..=hours {
        week.push(t0 + Duration::hours(h), Ev::Sample { hour: h });
    }
    let first = engine.now();
    if cfg.reserve {
        // Each morning from the day before the week to its last day, in the city's timezone.
        let tz = week.specs.first().map_or(chrono_tz::UTC, |s| s.tz);
        let monday = week.forecast.as_of.with_timezone(&tz).date_naive();
        for d in -1..7 {
            let day = monday + Duration::days(d);
            let at = crate::domain::time::resolve_local(
                tz,
                day.and_hms_opt(RESERVE_HOUR, 0, 0).expect("an hour"),
            );
            if at > first && at < t_end {
                week.push(at, Ev::Reserve);
            }
        }
    }
    let total = (t_end - first).num_minutes().max(1) as u64;
    while let Some((&(at_ms, _), _)) = week.queue.first_key_value() {
        let at = crate::engine::from_ms(at_ms);
        // Timers due before the next event fire one instant at a time, and the people see what each caused
        // (the next offer of a waterfall after an expiry) before time moves on.
        if engine.step_clock(at).await?.is_some() {
            week.observe().await?;
            continue;
        }
        let Some((_, ev)) = week.queue.pop_first() else {
            break;
        };
        week.handle(ev).await?;
        week.observe().await?;
        progress(((at - first).num_minutes().max(0) as u64).min(total), total);
    }
    let close = engine.now().max(t_end) + Duration::minutes(1);
    engine.advance_clock(close).await?;
    progress(total, total);
    let events = all_events(engine.store()).await?;
    let measures: Vec<OrderMeasure> = week.measures.values().copied().collect();
    let mut kpis = kpi::compute(&events, &measures);
    let sla = engine
        .sla_report(
            agency,
            first - Duration::days(366),
            close + Duration::days(1),
        )
        .await?;
    kpis.sla = sla
        .by_tier
        .iter()
        .map(|(t, f)| kpi::SlaTierKpi::of(t, f))
        .collect();
    Ok(WeekOutcome {
        kpis,
        samples: week.samples,
        samples_from: t0,
        measures,
        forecast: week.forecast,
        reserve: week.reserve,
    })
}

/// Where the manual clock should stand when the week starts: a minute before the first posting.
pub fn start_time(cfg: &WeekConfig) -> DateTime<Utc> {
    let city = City::metropolis(cfg.seed);
    let week_start = super::workers::default_week_start();
    super::orders(&city, cfg.orders, cfg.seed, AgencyId::new(1), week_start)
        .iter()
        .map(|s| s.posted_at)
        .min()
        .unwrap_or(week_start)
        - Duration::minutes(1)
}

/// Whether an engine error is a refusal the simulated person simply lives with (too late, already full,
/// outside the geofence), as opposed to a failure of the run.
fn refused(e: &Error) -> bool {
    matches!(
        e,
        Error::Conflict(_) | Error::Refused { .. } | Error::NotFound(_)
    )
}

impl Week<'_> {
    fn push(&mut self, at: DateTime<Utc>, ev: Ev) {
        self.seq += 1;
        self.queue.insert((ms(at), self.seq), ev);
    }

    fn spec_of(&self, order: i64) -> Option<&OrderSpec> {
        self.orders.get(&order).map(|i| &self.specs[*i])
    }

    fn worker_index(&self, worker: i64) -> Option<usize> {
        let i = (worker as usize).checked_sub(1)?;
        (i < self.traits.len()).then_some(i)
    }

    async fn handle(&mut self, ev: Ev) -> crate::Result<()> {
        let e = self.engine;
        let outcome = match ev {
            Ev::Post(i) => self.post(i).await,
            Ev::Answer {
                offer,
                worker,
                accept,
            } => {
                let (w, o) = (WorkerId::new(worker as u64), OfferId::new(offer as u64));
                if accept {
                    e.accept_offer(w, o).await.map(|_| ())
                } else {
                    e.decline_offer(w, o).await
                }
            }
            Ev::Cancel { assignment, worker } => e
                .cancel_assignment(
                    Actor::Worker(WorkerId::new(worker as u64)),
                    AssignmentId::new(assignment as u64),
                )
                .await
                .map(|_| ()),
            Ev::CheckIn {
                assignment,
                worker,
                order,
                attempt,
                off_m,
            } => {
                self.check_in(assignment, worker, order, attempt, off_m)
                    .await
            }
            Ev::CheckOut {
                assignment,
                worker,
                order,
            } => {
                let Some(venue) = self.spec_of(order).map(|s| s.order.venue.location) else {
                    return Ok(());
                };
                e.check_out(
                    Actor::Worker(WorkerId::new(worker as u64)),
                    AssignmentId::new(assignment as u64),
                    venue,
                    None,
                )
                .await
                .map(|_| ())
            }
            Ev::Rate { assignment, stars } => e
                .rate(
                    self.agency,
                    AssignmentId::new(assignment as u64),
                    stars,
                    String::new(),
                )
                .await
                .map(|_| ()),
            Ev::Reconfirm { assignment, worker } => e
                .reconfirm(
                    WorkerId::new(worker as u64),
                    AssignmentId::new(assignment as u64),
                )
                .await
                .map(|_| ()),
            Ev::Signal {
                assignment,
                worker,
                order,
                on_my_way,
                km,
                angle,
            } => {
                let Some(venue) = self.spec_of(order).map(|s| s.order.venue.location) else {
                    return Ok(());
                };
                let at = offset_km(venue, km * angle.cos(), km * angle.sin());
                e.pre_shift_signal(
                    WorkerId::new(worker as u64),
                    AssignmentId::new(assignment as u64),
                    if on_my_way { "on_my_way" } else { "location" },
                    crate::engine::SignalAt::Position(at),
                )
                .await
                .map(|_| ())
            }
            Ev::Measure { order } => {
                let filled = e.staffed_now(order).await?;
                if let Some(m) = self.measures.get_mut(&order) {
                    m.filled_at_start = filled.min(m.slots);
                }
                Ok(())
            }
            Ev::Sample { hour } => self.sample(hour).await,
            Ev::Reserve => self.reserve().await,
            Ev::InviteAnswer {
                invite,
                worker,
                accept,
            } => {
                let w = WorkerId::new(worker as u64);
                let r = if accept {
                    e.accept_invite(w, invite).await.map(|_| ())
                } else {
                    e.decline_invite(w, invite).await.map(|_| ())
                };
                if r.is_ok() {
                    if accept {
                        self.reserve.accepted += 1;
                    } else {
                        self.reserve.declined += 1;
                    }
                }
                r
            }
        };
        match outcome {
            Err(err) if refused(&err) => Ok(()),
            other => other,
        }
    }

    async fn post(&mut self, i: usize) -> crate::Result<()> {
        let spec = &self.specs[i];
        let mut body: Value = serde_json::from_str(&spec.json())
            .map_err(|e| Error::Internal(format!("generated order: {e}")))?;
        if let Some(v) = self.cfg.standby.body_value() {
            body["standby"] = v;
        }
        let body = serde_json::from_value(body)
            .map_err(|e| Error::Internal(format!("generated order: {e}")))?;
        let st = self.engine.post_order(self.agency, body).await?;
        let id = st.row.id;
        // How thin the pool is for this order: slots no eligible worker could take at posting.
        // A role whose post already involved as many workers as it has slots cannot be short, whatever the
        // ranking says, so it is ranked again only when that is not the case (ranking is most of a post's time).
        let mut short_at_post = 0;
        for (r, role) in st.order.roles.iter().enumerate() {
            let involved = st
                .offers
                .iter()
                .filter(|o| o.role_idx as usize == r && o.kind == "shift")
                .count()
                + st.assignments
                    .iter()
                    .filter(|a| a.role_idx as usize == r && a.kind == "shift")
                    .count();
            if involved >= role.headcount as usize {
                continue;
            }
            let (_, _, ranking) = self
                .engine
                .order_candidates(self.agency, st.order.id, Some(&role.name), 0)
                .await?;
            short_at_post += role
                .headcount
                .saturating_sub((ranking.eligible + involved) as u32);
        }
        let spec = &self.specs[i];
        let order = &spec.order;
        let measure = OrderMeasure {
            order_id: id,
            posted_ms: ms(self.engine.now()),
            start_ms: ms(order.shift.start()),
            end_ms: ms(order.shift.end()),
            slots: order.headcount(),
            filled_at_start: 0,
            short_at_post,
        };
        let at = order.no_show_at();
        self.orders.insert(id, i);
        self.measures.insert(id, measure);
        self.push(at, Ev::Measure { order: id });
        Ok(())
    }

    async fn check_in(
        &mut self,
        assignment: i64,
        worker: i64,
        order: i64,
        attempt: u64,
        off_m: f64,
    ) -> crate::Result<()> {
        let Some(spec) = self.spec_of(order) else {
            return Ok(());
        };
        let (venue, geofence, end) = (
            spec.order.venue.location,
            spec.order.venue.geofence_m,
            spec.order.shift.end(),
        );
        let mut rng = Rng::stream(
            self.cfg.seed ^ SALT_GPS,
            ((assignment as u64) << 8) | (attempt & 0xff),
        );
        let angle = rng.range_f64(0.0, std::f64::consts::TAU);
        let at = offset_km(
            venue,
            off_m / 1000.0 * angle.cos(),
            off_m / 1000.0 * angle.sin(),
        );
        let r = self
            .engine
            .check_in(
                Actor::Worker(WorkerId::new(worker as u64)),
                AssignmentId::new(assignment as u64),
                at,
                None,
            )
            .await;
        match r {
            Ok(_) => {
                let Some(wi) = self.worker_index(worker) else {
                    return Ok(());
                };
                let t = self.traits[wi];
                let mut rng = Rng::stream(self.cfg.seed ^ SALT_RATING, assignment as u64);
                if let Some(before) = behaviour::check_out_before_end(&mut rng) {
                    let when =
                        (end - Duration::seconds((before * 60.0) as i64)).max(self.engine.now());
                    self.push(
                        when,
                        Ev::CheckOut {
                            assignment,
                            worker,
                            order,
                        },
                    );
                }
                if let Some(stars) = behaviour::rating(&mut rng, &t) {
                    let later = Duration::minutes(rng.int_in(30, 20 * 60));
                    self.push(end + later, Ev::Rate { assignment, stars });
                }
                Ok(())
            }
            Err(Error::Refused { .. }) if attempt < 3 => {
                // Outside the geofence: the app asks again from closer a few minutes later.
                let later = self.engine.now() + Duration::seconds(rng.int_in(60, 240));
                let off_m = behaviour::gps_offset(&mut rng, geofence).min(geofence * 0.5);
                self.push(
                    later,
                    Ev::CheckIn {
                        assignment,
                        worker,
                        order,
                        attempt: attempt + 1,
                        off_m,
                    },
                );
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// The morning's invitations: the peaks of the next hours by the simulation's forecast, handed to the
    /// engine's invitation command; each invited worker answers by `behaviour::invite_reaction`.
    async fn reserve(&mut self) -> crate::Result<()> {
        let now = self.engine.now();
        let to = now + Duration::hours(RESERVE_AHEAD_H);
        let needs = self.forecast.peaks(now, to, RESERVE_MIN_EXPECTED);
        let params = crate::engine::InviteParams {
            min_expected: RESERVE_MIN_EXPECTED,
            share: RESERVE_SHARE,
            ..crate::engine::InviteParams::for_range(now, to)
        };
        let answer = self
            .engine
            .invite_for_peaks(self.agency, &params, &needs)
            .await?;
        self.reserve.rounds += 1;
        self.reserve.peaks += answer.peaks.len() as u32;
        self.reserve.invites += answer.invites.len() as u32;
        for inv in &answer.invites {
            let (Ok(invite), Ok(worker)) =
                (inv.id.parse::<i64>(), inv.worker_id.parse::<WorkerId>())
            else {
                continue;
            };
            let Some(wi) = self.worker_index(worker.get() as i64) else {
                continue;
            };
            let mut rng = Rng::stream(self.cfg.seed ^ SALT_INVITE, invite as u64);
            let r = behaviour::invite_reaction(&mut rng, &self.traits[wi]);
            if r.decision == Decision::Ignore {
                continue;
            }
            self.push(
                now + r.after,
                Ev::InviteAnswer {
                    invite,
                    worker: worker.get() as i64,
                    accept: r.decision == Decision::Accept,
                },
            );
        }
        Ok(())
    }

    async fn sample(&mut self, hour: i64) -> crate::Result<()> {
        let now = ms(self.engine.now());
        let live: Vec<(i64, u32)> = self
            .measures
            .values()
            .filter(|m| m.start_ms <= now && now < m.end_ms)
            .map(|m| (m.order_id, m.slots))
            .collect();
        let (mut wanted, mut filled) = (0, 0);
        for (order, slots) in live {
            wanted += slots;
            filled += self.engine.staffed_now(order).await?.min(slots);
        }
        self.samples.push(Sample {
            hour,
            wanted,
            filled,
        });
        Ok(())
    }

    /// Gives every offer and assignment created since the last look its future.
    async fn observe(&mut self) -> crate::Result<()> {
        let epoch = self.engine.applied_seq();
        if epoch == self.seen_epoch {
            return Ok(());
        }
        self.seen_epoch = epoch;
        let news = self.engine.news_after(self.last_seq).await?;
        self.last_seq = news.last_seq;
        for o in news.offers.iter().filter(|o| o.status == "pending") {
            self.react(o);
        }
        for a in news
            .assignments
            .iter()
            .filter(|a| a.kind == "shift" && a.status == "confirmed")
        {
            self.plan(a);
        }
        Ok(())
    }

    fn react(&mut self, o: &OfferSeen) {
        let (Some(spec), Some(wi)) = (self.spec_of(o.order_id), self.worker_index(o.worker_id))
        else {
            return;
        };
        let role = &spec.order.roles[o.role_idx as usize];
        let sight = OfferSight {
            distance_km: self.homes[wi].distance_km(spec.order.venue.location),
            pay_ratio: role.pay_per_hour.unwrap_or(self.median_pay) / self.median_pay,
            urgent: o.urgent,
            standby: o.kind == "standby",
        };
        let mut rng = Rng::stream(self.cfg.seed ^ SALT_OFFER, o.id as u64);
        let r = behaviour::react(&mut rng, &self.traits[wi], &sight);
        let at = o.created_at + r.after.num_milliseconds();
        if r.decision == Decision::Ignore || at >= o.expires_at {
            return;
        }
        self.push(
            crate::engine::from_ms(at),
            Ev::Answer {
                offer: o.id,
                worker: o.worker_id,
                accept: r.decision == Decision::Accept,
            },
        );
    }

    fn plan(&mut self, a: &AssignmentSeen) {
        let (Some(spec), Some(wi)) = (self.spec_of(a.order_id), self.worker_index(a.worker_id))
        else {
            return;
        };
        let (start, geofence) = (spec.order.shift.start(), spec.order.venue.geofence_m);
        let t = self.traits[wi];
        let created = crate::engine::from_ms(a.created_at);
        let mut rng = Rng::stream(self.cfg.seed ^ SALT_ASSIGNMENT, a.id as u64);
        let replacement = created >= start;
        if !replacement && let Some(share) = behaviour::cancellation(&mut rng, &t) {
            let lead_ms = (start - created).num_milliseconds() as f64;
            let at = created + Duration::milliseconds((lead_ms * share) as i64);
            self.push(
                at,
                Ev::Cancel {
                    assignment: a.id,
                    worker: a.worker_id,
                },
            );
            self.plan_signals(a, None);
            return;
        }
        let Arrival::Comes {
            offset_min,
            gps_off_m,
        } = behaviour::arrival(&mut rng, &t, geofence, replacement)
        else {
            self.plan_signals(a, None);
            return;
        };
        self.plan_signals(a, Some(offset_min));
        let base = if replacement { created } else { start };
        let at = (base + Duration::seconds((offset_min * 60.0) as i64))
            .max(start - Duration::minutes(55))
            .max(created + Duration::seconds(30));
        self.push(
            at,
            Ev::CheckIn {
                assignment: a.id,
                worker: a.worker_id,
                order: a.order_id,
                attempt: 0,
                off_m: gps_off_m,
            },
        );
    }

    /// The re-confirmation and pre-shift signals of a booking made ahead of its shift, drawn from its fate
    /// (`arrives`: minutes after the start, `None` when the worker will not come) on a stream of their own, so
    /// the rest of the week's draws are the same with signals on or off.
    fn plan_signals(&mut self, a: &AssignmentSeen, arrives: Option<f64>) {
        let Some(spec) = self.spec_of(a.order_id) else {
            return;
        };
        let (start, grace) = (spec.order.shift.start(), spec.order.no_show_grace_min);
        let created = crate::engine::from_ms(a.created_at);
        if !self.cfg.signals || created >= start {
            return;
        }
        let mut rng = Rng::stream(self.cfg.seed ^ SALT_SIGNALS, a.id as u64);
        let s = behaviour::signals(
            &mut rng,
            arrives,
            f64::from(grace),
            SIGNAL_SPEED_KMH,
            (SIGNALS_RECONFIRM_LEAD_H - SIGNALS_RECONFIRM_DEADLINE_H) as f64,
        );
        let asked = start - Duration::hours(SIGNALS_RECONFIRM_LEAD_H);
        if let Some(after_h) = s.reconfirm_after_h
            && created <= asked
        {
            let at = asked + Duration::seconds((after_h * 3600.0) as i64);
            self.push(
                at,
                Ev::Reconfirm {
                    assignment: a.id,
                    worker: a.worker_id,
                },
            );
        }
        if let Some((before_min, km)) = s.signal {
            let at = start - Duration::seconds((before_min * 60.0) as i64);
            if at > created {
                self.push(
                    at,
                    Ev::Signal {
                        assignment: a.id,
                        worker: a.worker_id,
                        order: a.order_id,
                        on_my_way: arrives.is_some(),
                        km,
                        angle: s.angle,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standby_policies_parse_and_print_back() {
        for s in ["auto", "pooled", "none", "fixed:2", "generated"] {
            assert_eq!(StandbyPolicy::parse(s).unwrap().name(), s);
        }
        assert!(StandbyPolicy::parse("fixed:x").is_err());
        assert!(StandbyPolicy::parse("always").is_err());
    }
}
