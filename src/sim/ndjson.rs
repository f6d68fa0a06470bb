//! The API's JSON shapes for generated data: one worker a line for `POST /v1/workers/import`, and an order
//! body for `POST /v1/orders`. Built with `serde_json::json!` so the core types stay free of serde.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::domain::availability::format_hhmm;
use crate::domain::{DispatchMode, Order, Role, SkillReq, StandbySpec, Worker};

/// An instant in `tz`, RFC 3339 with its local offset (`2026-11-28T09:00:00+08:00`).
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// A worker as a JSON value in the API's worker shape, plus the `history` extension (the track record an
/// agency brings along when it migrates its workers).
pub fn worker_value(w: &Worker) -> Value {
    let tz = w.availability.tz();
    let s = &w.stats;
    json!({
        "external_ref": w.external_ref,
        "name": w.name,
        "home": {"lat": w.home.lat(), "lon": w.home.lon()},
        "max_travel_km": w.max_travel_km.km(),
        "skills": w.skills.iter()
            .map(|k| json!({"name": k.name.as_str(), "level": k.level.get()}))
            .collect::<Vec<_>>(),
        "languages": w.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        "certifications": w.certifications.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "timezone": tz.name(),
        "availability": w.availability.windows().iter()
            .map(|win| json!({
                "days": win.days().names(),
                "from": format_hhmm(win.from_min()),
                "to": format_hhmm(win.to_min()),
            }))
            .collect::<Vec<_>>(),
        "blackouts": w.blackouts.iter()
            .map(|b| json!({"start": local_time(b.start(), tz), "end": local_time(b.end(), tz)}))
            .collect::<Vec<_>>(),
        "max_hours_per_week": w.max_hours_per_week,
        "bio": w.bio,
        "history": {
            "completed_shifts": s.completed_shifts,
            "no_shows": s.no_shows,
            "late_arrivals": s.late_arrivals,
            "cancellations": s.cancellations,
            "rating_avg": s.rating_avg(),
            "rating_count": s.rating_count,
        },
    })
}

/// One NDJSON line (without the newline) for a worker.
pub fn worker_line(w: &Worker) -> String {
    worker_value(w).to_string()
}

/// A required skill: its bare name at level 1, `{"name", "level"}` above.
fn skill_req(r: &SkillReq) -> Value {
    if r.min_level.get() <= 1 {
        json!(r.name.as_str())
    } else {
        json!({"name": r.name.as_str(), "level": r.min_level.get()})
    }
}

fn role_value(r: &Role) -> Value {
    let mut v = json!({
        "name": r.name,
        "headcount": r.headcount,
        "skills": r.skills.iter().map(skill_req).collect::<Vec<_>>(),
    });
    let m = v.as_object_mut().expect("an object");
    if !r.languages.is_empty() {
        m.insert(
            "languages".into(),
            json!(r.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>()),
        );
    }
    if !r.certifications.is_empty() {
        m.insert(
            "certifications".into(),
            json!(
                r.certifications
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
            ),
        );
    }
    if !r.preferred_skills.is_empty() {
        m.insert(
            "preferred_skills".into(),
            json!(
                r.preferred_skills
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
            ),
        );
    }
    if r.min_stars.get() > 0.0 {
        m.insert("min_stars".into(), json!(r.min_stars.get()));
    }
    if let Some(p) = r.pay_per_hour {
        m.insert("pay_per_hour".into(), json!(p));
    }
    if let Some(b) = r.bill_per_hour {
        m.insert("bill_per_hour".into(), json!(b));
    }
    v
}

/// An order as a JSON value in the API's order shape, with times in `tz` (the venue's timezone).
pub fn order_value(o: &Order, tz: Tz) -> Value {
    let mut v = json!({
        "client_ref": o.client_ref,
        "title": o.title,
        "venue": {
            "name": o.venue.name,
            "lat": o.venue.location.lat(),
            "lon": o.venue.location.lon(),
            "geofence_m": o.venue.geofence_m,
        },
        "start": local_time(o.shift.start(), tz),
        "end": local_time(o.shift.end(), tz),
        "roles": o.roles.iter().map(role_value).collect::<Vec<_>>(),
        "standby": match o.standby {
            StandbySpec::Fixed(n) => json!(n),
            StandbySpec::Auto => json!("auto"),
            StandbySpec::AutoTarget(_) => json!({"auto": o.standby.auto_target()}),
            StandbySpec::Pooled(9700) => json!("pooled"),
            StandbySpec::Pooled(_) => json!({"pooled": o.standby.pool_target()}),
        },
        "priority": o.priority.as_str(),
        "dispatch": {
            "mode": match o.dispatch.mode {
                DispatchMode::Assign => "assign",
                DispatchMode::Offer => "offer",
            },
            "offer_ttl_s": o.dispatch.offer_ttl_s,
            "fanout": o.dispatch.fanout,
        },
        "no_show_grace_min": o.no_show_grace_min,
    });
    if let Some(km) = o.max_travel_km {
        v.as_object_mut()
            .expect("an object")
            .insert("max_travel_km".into(), json!(km.km()));
    }
    v
}

/// An order as one line of JSON, with times in the venue's timezone `tz`.
pub fn order_json(o: &Order, tz: Tz) -> String {
    order_value(o, tz).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AgencyId;
    use crate::sim::orders::{OrderKind, order_of_kind, orders};
    use crate::sim::workers::{default_week_start, workers};
    use crate::sim::{City, Country};

    #[test]
    fn generated_lines_are_read_back_by_the_server_as_the_same_workers_and_orders() {
        use crate::wire::order::OrderBody;
        use crate::wire::worker::{parse_line, parse_worker};
        let agency = AgencyId::new(1);
        let city = City::metropolis(3);
        let country = Country::germany();
        let mut all = workers(&city, 300, 3, agency);
        all.extend(workers(&country, 300, 4, agency));
        for w in all {
            let mut expected = w.clone();
            let body = parse_line(&worker_line(&w)).unwrap();
            let back = parse_worker(&body, w.id, agency).unwrap();
            // The record travels as an average; the weight of cancellations is rebuilt from their number.
            expected.stats.cancellation_weight = f64::from(expected.stats.cancellations);
            assert_eq!(back, expected);
        }
        for spec in orders(&city, 100, 5, agency, default_week_start()) {
            let body: OrderBody = serde_json::from_str(&spec.json()).unwrap();
            let back = body.parse(spec.order.id, agency).unwrap();
            assert_eq!(back, spec.order);
        }
    }

    fn keys(v: &Value) -> Vec<&str> {
        let mut k: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        k.sort_unstable();
        k
    }

    #[test]
    fn a_worker_line_is_one_line_of_json_with_exactly_the_api_keys_and_history() {
        for w in workers(&City::metropolis(1), 200, 1, AgencyId::new(1)) {
            let line = worker_line(&w);
            assert!(!line.contains('\n'));
            let v: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(
                keys(&v),
                [
                    "availability",
                    "bio",
                    "blackouts",
                    "certifications",
                    "external_ref",
                    "history",
                    "home",
                    "languages",
                    "max_hours_per_week",
                    "max_travel_km",
                    "name",
                    "skills",
                    "timezone"
                ]
            );
            assert_eq!(keys(&v["home"]), ["lat", "lon"]);
            assert_eq!(
                keys(&v["history"]),
                [
                    "cancellations",
                    "completed_shifts",
                    "late_arrivals",
                    "no_shows",
                    "rating_avg",
                    "rating_count"
                ]
            );
            assert_eq!(v["timezone"], "Asia/Shanghai");
            for s in v["skills"].as_array().unwrap() {
                assert_eq!(keys(s), ["level", "name"]);
            }
            for a in v["availability"].as_array().unwrap() {
                assert_eq!(keys(a), ["days", "from", "to"]);
            }
            for b in v["blackouts"].as_array().unwrap() {
                assert!(b["start"].as_str().unwrap().ends_with("+08:00"));
            }
            let h = &v["history"];
            if w.stats.rating_count == 0 {
                assert!(h["rating_avg"].is_null());
            } else {
                // The server rebuilds the sum as round(avg × count): it must come back exactly.
                let avg = h["rating_avg"].as_f64().unwrap();
                let count = h["rating_count"].as_u64().unwrap() as f64;
                assert_eq!((avg * count).round() as u32, w.stats.rating_sum);
            }
        }
    }

    #[test]
    fn overnight_windows_and_times_are_written_as_the_api_reads_them() {
        let ws = workers(&Country::germany(), 300, 1, AgencyId::new(1));
        let night = ws
            .iter()
            .find(|w| {
                w.availability
                    .windows()
                    .iter()
                    .any(|x| x.crosses_midnight())
            })
            .expect("a night owl");
        let v = worker_value(night);
        let crossing = v["availability"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["to"].as_str() < a["from"].as_str())
            .expect("a window crossing midnight");
        assert_eq!(crossing["from"], "18:00");
        let t = chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 7, 1, 10, 0, 0).unwrap();
        assert_eq!(
            local_time(t, chrono_tz::Europe::Berlin),
            "2026-07-01T12:00:00+02:00"
        );
    }

    #[test]
    fn an_order_is_written_in_the_api_shape_with_local_offsets() {
        let city = City::metropolis(1);
        let o = order_of_kind(
            &city,
            OrderKind::Exhibition,
            1,
            42,
            AgencyId::new(1),
            default_week_start(),
        );
        let v: Value = serde_json::from_str(&o.json()).unwrap();
        for k in [
            "client_ref",
            "title",
            "venue",
            "start",
            "end",
            "roles",
            "standby",
            "priority",
            "dispatch",
            "no_show_grace_min",
        ] {
            assert!(v.get(k).is_some(), "{k}");
        }
        assert_eq!(keys(&v["venue"]), ["geofence_m", "lat", "lon", "name"]);
        assert_eq!(keys(&v["dispatch"]), ["fanout", "mode", "offer_ttl_s"]);
        assert!(v["start"].as_str().unwrap().ends_with("+08:00"));
        assert_eq!(v["roles"][0]["skills"][0], "promoter");
        let warehouse = orders(&city, 200, 1, AgencyId::new(1), default_week_start())
            .into_iter()
            .find(|o| {
                o.order
                    .roles
                    .iter()
                    .any(|r| r.skills[0].min_level.get() > 1)
            })
            .expect("a role asking for a level");
        let v = order_value(&warehouse.order, warehouse.tz);
        let leveled = v["roles"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["skills"].as_array().unwrap())
            .find(|s| s.is_object())
            .unwrap();
        assert_eq!(keys(leveled), ["level", "name"]);
    }
}
