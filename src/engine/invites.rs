//! On-call invitations ahead of the forecast's peaks: the agency asks, the engine finds the peaks of a range
//! (`dispatch::forecast::peaks`), and for each invites the best fitting free workers near the area's centre
//! (the candidates pipeline of an order, run for a stand-in order of the peak). A worker who accepts joins the
//! on-call pool for the window through the same code path as `POST /v1/me/on-call`, so urgent replacements in
//! the area reach them first.
//!
//! Expiry needs no timer: a pending invitation past `expires_at` reads as `expired`, and accepting or declining
//! it is refused, both judged by the server's clock (the engine's `now`).
//!
//! Replay: the request is one input event, `on_call_invites_requested`, that carries the peaks with their
//! roles' requirements; the `on_call_invited` events that follow are the engine's decisions. Issuing the
//! request again with the same peaks at the same position of the log makes the same invitations.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use super::forecast::{area_centre, check_range, round};
use super::{Engine, from_ms, ms};
use crate::dispatch::forecast::{self, Peak};
use crate::dispatch::plan::candidates;
use crate::domain::time::{format_instant, parse_instant};
use crate::domain::{
    AgencyId, DispatchSpec, Interval, LatLon, Order, OrderId, Priority, Role, StandbySpec, Venue,
    WorkerId,
};
use crate::error::{Error, FieldError};
use crate::matching::MatchContext;
use crate::store::{self, invites::InviteRow};
use crate::wire::forecast::{ForecastArea, InviteView, InvitesAnswer, InvitesBody, PeakView};

/// The input event of an invitation request.
pub const REQUESTED_EVENT: &str = "on_call_invites_requested";

/// An invitation request, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct InviteParams {
    /// First hour looked at, unix ms (floored to the hour).
    pub from_ms: i64,
    /// End of the range, unix ms.
    pub to_ms: i64,
    /// The peak threshold, in slots.
    pub min_expected: f64,
    /// Workers invited per peak, as a share of its busiest hour's forecast.
    pub share: f64,
    /// Hours an invitation stays open.
    pub ttl_h: u32,
    /// The on-call radius around the area's centre.
    pub radius_km: f64,
    /// Hours the window reaches beyond the peak on each side.
    pub pad_h: u32,
}

impl InviteParams {
    /// The defaults for a range.
    pub fn for_range(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            from_ms: forecast::hour_floor(ms(from)),
            to_ms: ms(to),
            min_expected: 3.0,
            share: 0.1,
            ttl_h: 12,
            radius_km: 5.0,
            pad_h: 2,
        }
    }

    /// Workers to invite for a peak: the share of its busiest hour, rounded up, at least 1.
    pub fn wanted(&self, peak: &Peak) -> usize {
        ((self.share * peak.max_slots - 1e-9).ceil() as usize).max(1)
    }

    fn json(&self) -> Value {
        json!({"from": self.from_ms, "to": self.to_ms, "min_expected": self.min_expected,
               "share": self.share, "ttl_h": self.ttl_h, "radius_km": self.radius_km, "pad_h": self.pad_h})
    }
}

/// A peak with the requirements of its role (skills, languages, certifications), as the area's most recent
/// order of that role stated them.
#[derive(Debug, Clone)]
pub struct PeakNeed {
    /// The peak.
    pub peak: Peak,
    /// The role's requirements (its name is the peak's role).
    pub role: Role,
}

impl PeakNeed {
    /// A peak with the requirements of `role`; only skills, languages and certifications are kept (a peak's
    /// invitation is about being near and free, not about one client's pool, stars or named workers).
    pub fn new(peak: Peak, role: &Role) -> Self {
        let mut stand_in = stand_in_role(&peak.role);
        stand_in.skills = role.skills.clone();
        stand_in.languages = role.languages.clone();
        stand_in.certifications = role.certifications.clone();
        let role = stand_in;
        Self { peak, role }
    }

    fn json(&self) -> Value {
        let (cell, _, _) = area_centre(self.peak.area);
        json!({
            "area": cell, "role": self.peak.role, "start": self.peak.start_ms, "end": self.peak.end_ms,
            "max_slots": self.peak.max_slots, "slot_hours": self.peak.slot_hours,
            "skills": self.role.skills.iter()
                .map(|s| json!({"name": s.name.as_str(), "level": s.min_level.get()}))
                .collect::<Vec<_>>(),
            "languages": self.role.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
            "certifications": self.role.certifications.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        })
    }

    /// Reads a peak back from a request event (for replay).
    pub fn from_json(v: &Value) -> Option<Self> {
        let area = u64::from(v.get("area")?.as_str()?.parse::<h3o::CellIndex>().ok()?);
        let peak = Peak {
            area,
            role: v.get("role")?.as_str()?.to_string(),
            start_ms: v.get("start")?.as_i64()?,
            end_ms: v.get("end")?.as_i64()?,
            max_slots: v.get("max_slots")?.as_f64()?,
            slot_hours: v.get("slot_hours")?.as_f64()?,
        };
        let strings = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut skills = Vec::new();
        for s in v.get("skills")?.as_array()? {
            skills.push(crate::domain::SkillReq {
                name: crate::domain::SkillName::new(s.get("name")?.as_str()?).ok()?,
                min_level: crate::domain::Level::new(s.get("level")?.as_i64()?).ok()?,
            });
        }
        let languages = strings("languages")
            .iter()
            .map(|l| crate::domain::Language::new(l).ok())
            .collect::<Option<Vec<_>>>()?;
        let certifications = strings("certifications")
            .iter()
            .map(|c| crate::domain::Certification::new(c).ok())
            .collect::<Option<Vec<_>>>()?;
        let mut role = stand_in_role(&peak.role);
        role.skills = skills;
        role.languages = languages;
        role.certifications = certifications;
        Some(PeakNeed { peak, role })
    }
}

/// A role of one slot without requirements, which a peak's requirements are copied into.
fn stand_in_role(name: &str) -> Role {
    Role {
        name: name.to_string(),
        headcount: 1,
        skills: Vec::new(),
        languages: Vec::new(),
        certifications: Vec::new(),
        preferred_skills: Vec::new(),
        min_stars: crate::domain::MinStars::new(0.0).expect("0 is a valid minimum"),
        pay_per_hour: None,
        bill_per_hour: None,
        quotas: Vec::new(),
        min_reliability: 0.0,
        min_completed_shifts: 0,
        pool: None,
        workers: Vec::new(),
    }
}

/// An invitation as the API shows it, its status judged at `now`.
pub fn invite_view(r: &InviteRow, now: i64) -> InviteView {
    let status = if r.status == "pending" && r.expires_at <= now {
        "expired".to_string()
    } else {
        r.status.clone()
    };
    InviteView {
        id: r.id.to_string(),
        worker_id: WorkerId::new(r.worker_id as u64).to_string(),
        area: ForecastArea {
            cell: r.area.clone(),
            lat: r.lat,
            lon: r.lon,
        },
        radius_km: r.radius_km,
        role: r.role.clone(),
        start: format_instant(from_ms(r.start_at)),
        end: format_instant(from_ms(r.end_at)),
        expected: r.expected,
        status,
        created_at: format_instant(from_ms(r.created_at)),
        expires_at: format_instant(from_ms(r.expires_at)),
        on_call_id: r.on_call_id.map(|i| i.to_string()),
    }
}

/// Checks an invitation request's body against the clock (see [`InvitesBody`] for the rules and defaults).
pub fn parse_invites_body(b: &InvitesBody, now: DateTime<Utc>) -> crate::Result<InviteParams> {
    let mut errors = Vec::new();
    let mut instant = |name: &str, raw: &Option<String>| {
        raw.as_deref().and_then(|r| {
            parse_instant(r)
                .map_err(|e| errors.push(e.under(name)))
                .ok()
        })
    };
    let from = instant("from", &b.from);
    let to = instant("to", &b.to);
    let min_expected = b.min_expected.unwrap_or(3.0);
    if !(min_expected.is_finite() && min_expected > 0.0 && min_expected <= 10_000.0) {
        errors.push(FieldError::new(
            "min_expected",
            "must be above 0 and at most 10000",
        ));
    }
    let share = b.share.unwrap_or(0.1);
    if !(share.is_finite() && share > 0.0 && share <= 1.0) {
        errors.push(FieldError::new("share", "must be above 0 and at most 1"));
    }
    let ttl_h = b.ttl_h.unwrap_or(12);
    if !(1..=168).contains(&ttl_h) {
        errors.push(FieldError::new("ttl_h", "must be between 1 and 168"));
    }
    let radius_km = b.radius_km.unwrap_or(5.0);
    if !(radius_km.is_finite() && radius_km > 0.0 && radius_km <= 500.0) {
        errors.push(FieldError::new(
            "radius_km",
            "must be above 0 and at most 500",
        ));
    }
    let pad_h = b.pad_h.unwrap_or(2);
    if pad_h > 12 {
        errors.push(FieldError::new("pad_h", "must be between 0 and 12"));
    }
    if (b.from.is_some() && from.is_none()) || (b.to.is_some() && to.is_none()) {
        return Err(Error::Invalid(errors));
    }
    let range = check_range(now, from, to, Duration::hours(36));
    match range {
        Err(Error::Invalid(more)) => {
            errors.extend(more);
            Err(Error::Invalid(errors))
        }
        Err(e) => Err(e),
        Ok(_) if !errors.is_empty() => Err(Error::Invalid(errors)),
        Ok((from, to)) => Ok(InviteParams {
            min_expected,
            share,
            ttl_h,
            radius_km,
            pad_h,
            ..InviteParams::for_range(from, to)
        }),
    }
}

impl Engine {
    /// The peaks of the agency's forecast over `params`' range, each with its role's requirements.
    pub async fn forecast_peaks(
        &self,
        agency: AgencyId,
        params: &InviteParams,
    ) -> crate::Result<Vec<PeakNeed>> {
        let model = self.forecast_model(agency).await?;
        let as_of = forecast::hour_floor(ms(self.now()));
        let (history, roles) = self.demand_history(agency, &model, as_of).await?;
        let series = forecast::fit(&model, as_of, &history);
        Ok(
            forecast::peaks(&series, params.from_ms, params.to_ms, params.min_expected)
                .into_iter()
                .filter_map(|p| {
                    let role = roles.get(&(p.area, p.role.clone()))?;
                    Some(PeakNeed::new(p, role))
                })
                .collect(),
        )
    }

    /// `POST /v1/on-call/invites`: invites on-call workers ahead of the peaks of the agency's own forecast.
    #[tracing::instrument(skip(self))]
    pub async fn invite_on_call(
        &self,
        agency: AgencyId,
        params: &InviteParams,
    ) -> crate::Result<InvitesAnswer> {
        let needs = self.forecast_peaks(agency, params).await?;
        self.invite_for_peaks(agency, params, &needs).await
    }

    /// Invites workers for the given peaks (the agency's forecast's, or a caller's own, as the simulation's):
    /// per peak the best `params.wanted` candidates of the peak's role at the area's centre during the peak's
    /// hours — fitting, available by their weekly windows, not booked — who have no invitation yet for an
    /// overlapping window of the same area and role, and are not invited by this request to another
    /// overlapping window. Each gets a pending invitation for the peak's hours widened by `pad_h`, open
    /// `ttl_h` hours (never past the window's end).
    #[tracing::instrument(skip(self, needs))]
    pub async fn invite_for_peaks(
        &self,
        agency: AgencyId,
        params: &InviteParams,
        needs: &[PeakNeed],
    ) -> crate::Result<InvitesAnswer> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        store::events::append(&mut tx, ms(now), Some(agency.get()), REQUESTED_EVENT, &{
            let mut p = params.json();
            p["peaks"] = needs.iter().map(PeakNeed::json).collect();
            p
        })
        .await?;
        let pad = i64::from(params.pad_h) * forecast::HOUR_MS;
        // Windows given out by this request, per worker.
        let mut given: BTreeMap<WorkerId, Vec<(i64, i64)>> = BTreeMap::new();
        let mut peaks = Vec::new();
        let mut invites = Vec::new();
        for need in needs {
            let p = &need.peak;
            let (cell, lat, lon) = area_centre(p.area);
            let (start, end) = (p.start_ms - pad, p.end_ms + pad);
            let centre = LatLon::new(lat, lon).map_err(|_| {
                Error::Internal(format!("the centre of area {cell} is not a position"))
            })?;
            let mut exclude: HashSet<WorkerId> = store::invites::invited_for(
                tx.conn().await?,
                agency.get() as i64,
                &cell,
                &p.role,
                start,
                end,
            )
            .await?
            .into_iter()
            .map(|w| WorkerId::new(w as u64))
            .collect();
            exclude.extend(
                given
                    .iter()
                    .filter(|(_, ws)| ws.iter().any(|(s, e)| *s < end && start < *e))
                    .map(|(w, _)| *w),
            );
            let shift = Interval::new(from_ms(p.start_ms), from_ms(p.end_ms))
                .map_err(|e| Error::Invalid(vec![e]))?;
            let order = stand_in_order(agency, centre, shift, need.role.clone());
            let picks: Vec<WorkerId> = {
                let live = self.live.read().expect("live state lock");
                let ctx = MatchContext {
                    order: &order,
                    role: &order.roles[0],
                    live: &live,
                    policy: &self.policy,
                    now,
                    exclude: &exclude,
                };
                candidates(&self.index, &ctx, params.wanted(p))
                    .ranked
                    .into_iter()
                    .map(|s| s.worker.id)
                    .collect()
            };
            let expires = (ms(now) + i64::from(params.ttl_h) * forecast::HOUR_MS).min(end);
            for w in &picks {
                let row = store::invites::NewInvite {
                    agency: agency.get() as i64,
                    worker: w.get() as i64,
                    area: &cell,
                    role: &p.role,
                    start_at: start,
                    end_at: end,
                    lat,
                    lon,
                    radius_km: params.radius_km,
                    expected: round(p.max_slots),
                    created_at: ms(now),
                    expires_at: expires,
                };
                let id = store::invites::insert(&mut tx, &row).await?;
                store::events::append(
                    &mut tx,
                    ms(now),
                    Some(agency.get()),
                    "on_call_invited",
                    &json!({"invite": id, "worker": w.to_string(),
                            "window": {"start": start, "end": end},
                            "area": {"cell": cell, "lat": lat, "lon": lon},
                            "radius_km": params.radius_km, "role": p.role,
                            "expected": round(p.max_slots), "expires_at": expires}),
                )
                .await?;
                given.entry(*w).or_default().push((start, end));
                invites.push(InviteRow {
                    id,
                    agency_id: row.agency,
                    worker_id: row.worker,
                    area: cell.clone(),
                    role: p.role.clone(),
                    start_at: start,
                    end_at: end,
                    lat,
                    lon,
                    radius_km: params.radius_km,
                    expected: row.expected,
                    status: "pending".into(),
                    created_at: ms(now),
                    expires_at: expires,
                    answered_at: None,
                    on_call_id: None,
                });
            }
            peaks.push(PeakView {
                area: ForecastArea { cell, lat, lon },
                role: p.role.clone(),
                start: format_instant(from_ms(p.start_ms)),
                end: format_instant(from_ms(p.end_ms)),
                max_expected: round(p.max_slots),
                slot_hours: round(p.slot_hours),
                invited: picks.len() as u32,
            });
        }
        self.committed(tx).await?;
        Ok(InvitesAnswer {
            peaks,
            invites: invites.iter().map(|r| invite_view(r, ms(now))).collect(),
        })
    }

    /// The worker's pending invitations still open now, by window start.
    pub async fn my_invites(&self, worker: WorkerId) -> crate::Result<Vec<InviteView>> {
        let now = ms(self.now());
        Ok(
            store::invites::pending_of_worker(self.store.pool(), worker.get() as i64, now)
                .await?
                .iter()
                .map(|r| invite_view(r, now))
                .collect(),
        )
    }

    /// The agency's invitations whose window overlaps `[from, to)`, by id after `after`, at most `limit`.
    pub async fn agency_invites(
        &self,
        agency: AgencyId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        after: i64,
        limit: i64,
    ) -> crate::Result<Vec<InviteView>> {
        let now = ms(self.now());
        Ok(store::invites::of_agency(
            self.store.pool(),
            agency.get() as i64,
            ms(from),
            ms(to),
            after,
            limit,
        )
        .await?
        .iter()
        .map(|r| invite_view(r, now))
        .collect())
    }

    /// Accepts an invitation: only the worker's own (404 otherwise), only pending and not expired by the
    /// server's clock (409 otherwise). The worker joins the on-call pool for its window, around the area's
    /// centre, through the one code path of `POST /v1/me/on-call`.
    #[tracing::instrument(skip(self))]
    pub async fn accept_invite(&self, worker: WorkerId, id: i64) -> crate::Result<InviteView> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let row = own_invite(&mut tx, worker, id).await?;
        if !store::invites::answer(&mut tx, id, "accepted", ms(now)).await? {
            return Err(Error::Conflict(refusal(&row, ms(now))));
        }
        let agency = AgencyId::new(row.agency_id as u64);
        store::events::append(
            &mut tx,
            ms(now),
            Some(agency.get()),
            "on_call_invite_accepted",
            &json!({"invite": id, "worker": worker.to_string()}),
        )
        .await?;
        let centre = LatLon::new(row.lat, row.lon)
            .map_err(|_| Error::Internal(format!("invitation {id} has no valid centre")))?;
        let on_call = self
            .join_on_call_in(
                &mut tx,
                agency,
                worker,
                (from_ms(row.start_at), from_ms(row.end_at)),
                centre,
                row.radius_km,
                Some(id),
                now,
            )
            .await?;
        store::invites::set_on_call(&mut tx, id, on_call).await?;
        self.committed(tx).await?;
        Ok(invite_view(
            &InviteRow {
                status: "accepted".into(),
                answered_at: Some(ms(now)),
                on_call_id: Some(on_call),
                ..row
            },
            ms(now),
        ))
    }

    /// Declines an invitation (the worker's own, pending and not expired).
    #[tracing::instrument(skip(self))]
    pub async fn decline_invite(&self, worker: WorkerId, id: i64) -> crate::Result<InviteView> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let row = own_invite(&mut tx, worker, id).await?;
        if !store::invites::answer(&mut tx, id, "declined", ms(now)).await? {
            return Err(Error::Conflict(refusal(&row, ms(now))));
        }
        store::events::append(
            &mut tx,
            ms(now),
            Some(row.agency_id as u64),
            "on_call_invite_declined",
            &json!({"invite": id, "worker": worker.to_string()}),
        )
        .await?;
        self.committed(tx).await?;
        Ok(invite_view(
            &InviteRow {
                status: "declined".into(),
                answered_at: Some(ms(now)),
                ..row
            },
            ms(now),
        ))
    }
}

/// The worker's own invitation (404 for another's, as for none).
async fn own_invite(tx: &mut store::Tx, worker: WorkerId, id: i64) -> crate::Result<InviteRow> {
    store::invites::get(tx.conn().await?, id)
        .await?
        .filter(|r| r.worker_id == worker.get() as i64)
        .ok_or_else(|| Error::NotFound("on-call invitation".into()))
}

/// Why an invitation cannot be answered any more.
fn refusal(row: &InviteRow, now: i64) -> String {
    if row.status == "pending" && row.expires_at <= now {
        "the invitation has expired".into()
    } else {
        format!("the invitation is {}", row.status)
    }
}

/// The stand-in order a peak's candidates are ranked for: the peak's role at the area's centre during its
/// hours, no client (no favourites or blocks), no travel limit beyond each worker's own.
fn stand_in_order(agency: AgencyId, centre: LatLon, shift: Interval, role: Role) -> Order {
    Order {
        id: OrderId::new(0),
        agency,
        client_ref: String::new(),
        title: "forecast peak".into(),
        venue: Venue {
            name: "forecast peak".into(),
            location: centre,
            geofence_m: 300.0,
            timezone: None,
        },
        shift,
        roles: vec![role],
        standby: StandbySpec::Fixed(0),
        max_travel_km: None,
        priority: Priority::Normal,
        dispatch: DispatchSpec::default(),
        no_show_grace_min: 15,
        widen: None,
    }
}
