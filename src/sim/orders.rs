//! Orders for one week: exhibitions (many promoters and hosts, some bilingual, often high priority), retail
//! promotions, warehouse shifts (forklifts with licences, overnight), catering (waiters, cooks with food
//! safety) and security, at venues of the right kind, at plausible local times, posted from days to an hour
//! ahead.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use rayon::prelude::*;

use super::ndjson::{local_time, order_json};
use super::place::{Locale, Place, VenueKind};
use super::rng::Rng;
use crate::domain::order::{RoleInput, SkillReqInput};
use crate::domain::time::resolve_local;
use crate::domain::{AgencyId, LatLon, Order, OrderId, OrderInput, StandbySpec};

/// The kinds of order an agency receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OrderKind {
    /// Trade fairs: promoters, hosts, bilingual staff; often high priority.
    Exhibition,
    /// Promotions in malls: promoters, sales, cashiers.
    Retail,
    /// Warehouse shifts: pickers and licensed forklift drivers, day or night.
    Warehouse,
    /// Banquets and receptions: waiters, cooks with food safety, bartenders.
    Catering,
    /// Guarding events and sites: licensed security, a first aider.
    Security,
}

/// Kinds with their shares of all orders.
pub const KINDS: [(OrderKind, f64); 5] = [
    (OrderKind::Exhibition, 0.25),
    (OrderKind::Retail, 0.25),
    (OrderKind::Warehouse, 0.2),
    (OrderKind::Catering, 0.2),
    (OrderKind::Security, 0.1),
];

/// A generated order with what the simulation needs beyond the order itself.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderSpec {
    /// The validated order.
    pub order: Order,
    /// What kind of order it is.
    pub kind: OrderKind,
    /// When the client posted it; the simulation replays orders at this time.
    pub posted_at: DateTime<Utc>,
    /// The venue's timezone, for local times in JSON.
    pub tz: Tz,
}

impl OrderSpec {
    /// The order as the body of `POST /v1/orders`, times in the venue's timezone.
    pub fn json(&self) -> String {
        order_json(&self.order, self.tz)
    }
}

/// `n` orders with ids 1..=n for `agency` in `place`, with shifts in the week that starts on the local date
/// of `week_start`, drawn from `seed`. Sorted by id.
pub fn orders(
    place: &impl Place,
    n: usize,
    seed: u64,
    agency: AgencyId,
    week_start: DateTime<Utc>,
) -> Vec<OrderSpec> {
    (1..=n as u64)
        .into_par_iter()
        .map(|id| {
            let mut rng = Rng::stream(seed ^ 0x0bde_5000, id);
            let kind = KINDS[rng.choose_weighted(&KINDS.map(|k| k.1))].0;
            generate(place, kind, &mut rng, id, agency, week_start)
        })
        .collect()
}

/// One order of a given kind (ids and seeds as in [`orders`]); the bundled sample is an exhibition order.
pub fn order_of_kind(
    place: &impl Place,
    kind: OrderKind,
    id: u64,
    seed: u64,
    agency: AgencyId,
    week_start: DateTime<Utc>,
) -> OrderSpec {
    let mut rng = Rng::stream(seed ^ 0x0bde_5001, id);
    generate(place, kind, &mut rng, id, agency, week_start)
}

/// A role as the generator writes it: name, headcount, skill (with a minimum level), languages,
/// certifications, preferred skills, minimum stars.
struct R<'a> {
    name: &'a str,
    headcount: i64,
    skill: &'a str,
    level: i64,
    languages: Vec<&'a str>,
    certifications: &'a [&'a str],
    preferred: &'a [&'a str],
    min_stars: Option<f64>,
}

fn r<'a>(name: &'a str, headcount: i64, skill: &'a str) -> R<'a> {
    R {
        name,
        headcount: headcount.clamp(1, 30),
        skill,
        level: 1,
        languages: Vec::new(),
        certifications: &[],
        preferred: &[],
        min_stars: None,
    }
}

fn generate(
    place: &impl Place,
    kind: OrderKind,
    rng: &mut Rng,
    id: u64,
    agency: AgencyId,
    week_start: DateTime<Utc>,
) -> OrderSpec {
    let layout = place.layout();
    let locale = layout.locale;
    let (venue_name, location, tz) = pick_venue(place, kind, rng);
    let monday: NaiveDate = week_start.with_timezone(&tz).date_naive();

    // Day of the week (Monday first), start hour, length in hours.
    let (day_w, start_h, hours): ([f64; 7], i64, i64) = match kind {
        OrderKind::Exhibition => (
            [0.5, 0.5, 1.0, 2.0, 3.0, 3.0, 2.0],
            rng.int_in(8, 10),
            rng.int_in(8, 10),
        ),
        OrderKind::Retail => (
            [1.0, 1.0, 1.0, 1.0, 2.0, 4.0, 4.0],
            rng.int_in(10, 12),
            rng.int_in(4, 8),
        ),
        OrderKind::Warehouse => {
            let (s, h) = match rng.choose_weighted(&[0.4, 0.3, 0.3]) {
                0 => (6, 8),
                1 => (14, 8),
                _ => (22, rng.int_in(6, 8)),
            };
            ([2.0, 2.0, 2.0, 2.0, 2.0, 1.5, 1.0], s, h)
        }
        OrderKind::Catering => {
            let (s, h) = if rng.bernoulli(0.35) {
                (10, 5)
            } else {
                (rng.int_in(16, 17), rng.int_in(6, 7))
            };
            ([1.0, 1.0, 1.0, 1.5, 3.0, 3.0, 1.5], s, h)
        }
        OrderKind::Security => {
            // Day shifts from the morning, night shifts from the evening, 8 to 12 hours.
            let s = *rng.choose(&[7, 8, 18, 19, 20]);
            ([0.5, 0.5, 0.5, 1.0, 2.0, 3.0, 2.0], s, rng.int_in(8, 12))
        }
    };
    let day = monday + Duration::days(rng.choose_weighted(&day_w) as i64);
    let start = resolve_local(tz, day.and_hms_opt(start_h as u32, 0, 0).expect("an hour"));
    let end = start + Duration::hours(hours);

    // Posted between ten days and one hour ahead, evenly on a log scale.
    let lead_h = (rng.uniform() * 240f64.ln()).exp();
    let posted_at = start - Duration::seconds((lead_h * 3600.0) as i64);

    let bilingual: Vec<&str> = match locale {
        Locale::Shanghai => vec![["en", "en", "en", "ja", "ko"][rng.below(5) as usize]],
        Locale::Germany => vec![["en", "en", "en", "tr", "ar"][rng.below(5) as usize]],
        Locale::Generic => vec!["es"],
    };
    let mut roles: Vec<R> = Vec::new();
    let (client, title) = match kind {
        OrderKind::Exhibition => {
            roles.push(r("promoter", rng.int_in(2, 20), "promoter"));
            if rng.bernoulli(0.6) {
                roles.push(r("hostess", rng.int_in(1, 8), "hostess"));
            }
            if rng.bernoulli(0.5) {
                let mut b = r("bilingual promoter", rng.int_in(1, 4), "promoter");
                b.languages = bilingual.clone();
                b.preferred = &["sales"];
                b.min_stars = rng.bernoulli(0.3).then_some(4.0);
                roles.push(b);
            }
            if rng.bernoulli(0.25) {
                roles.push(r("setup crew", rng.int_in(2, 8), "setup_crew"));
            }
            ("expo-organizer", "Trade fair crew")
        }
        OrderKind::Retail => {
            let skill = if rng.bernoulli(0.5) {
                "promoter"
            } else {
                "sales"
            };
            let mut p = r(skill, rng.int_in(1, 6), skill);
            p.preferred = if skill == "promoter" {
                &["sales"]
            } else {
                &["promoter"]
            };
            roles.push(p);
            if rng.bernoulli(0.3) {
                roles.push(r("cashier", rng.int_in(1, 3), "cashier"));
            }
            ("retail-brand", "In-store promotion")
        }
        OrderKind::Warehouse => {
            roles.push(r("picker", rng.int_in(2, 30), "warehouse_picker"));
            if rng.bernoulli(0.7) {
                let mut f = r("forklift driver", rng.int_in(1, 5), "forklift");
                f.certifications = &["forklift_license"];
                f.level = if rng.bernoulli(0.3) { 2 } else { 1 };
                roles.push(f);
            }
            ("logistics", "Warehouse shift")
        }
        OrderKind::Catering => {
            roles.push(r("waiter", rng.int_in(3, 20), "waiter"));
            let mut c = r("cook", rng.int_in(1, 4), "cook");
            c.certifications = &["food_safety"];
            roles.push(c);
            if rng.bernoulli(0.5) {
                roles.push(r("bartender", rng.int_in(1, 4), "bartender"));
            }
            if rng.bernoulli(0.4) {
                roles.push(r("kitchen porter", rng.int_in(1, 3), "kitchen_porter"));
            }
            ("caterer", "Banquet service")
        }
        OrderKind::Security => {
            let mut s = r("guard", rng.int_in(2, 20), "security");
            s.certifications = &["security_license"];
            roles.push(s);
            if rng.bernoulli(0.5) {
                let mut a = r("first aider", 1, "security");
                a.certifications = &["first_aid", "security_license"];
                roles.push(a);
            }
            ("security-firm", "Event security")
        }
    };

    let urgent = lead_h < 3.0 && rng.bernoulli(0.5);
    let priority = if urgent {
        "urgent"
    } else {
        let high = match kind {
            OrderKind::Exhibition => 0.5,
            OrderKind::Security => 0.3,
            OrderKind::Catering => 0.2,
            _ => 0.1,
        };
        if rng.bernoulli(high) {
            "high"
        } else {
            "normal"
        }
    };
    let standby = match rng.choose_weighted(&[0.3, 0.4, 0.3]) {
        0 => StandbySpec::Fixed(0),
        1 => StandbySpec::Fixed(rng.int_in(1, 3) as u32),
        _ => StandbySpec::Auto,
    };
    let assign = matches!(kind, OrderKind::Warehouse) && rng.bernoulli(0.5);
    let pay_base = match locale {
        Locale::Shanghai => rng.range_f64(25.0, 45.0),
        Locale::Germany => rng.range_f64(13.5, 18.0),
        Locale::Generic => rng.range_f64(15.0, 22.0),
    };
    let role_inputs: Vec<RoleInput> = roles
        .into_iter()
        .map(|x| {
            let premium =
                1.0 + 0.15 * x.languages.len() as f64 + 0.1 * x.certifications.len() as f64;
            RoleInput {
                name: x.name.to_string(),
                headcount: x.headcount,
                skills: vec![SkillReqInput {
                    name: x.skill.to_string(),
                    level: Some(x.level),
                }],
                languages: x.languages.iter().map(|l| l.to_string()).collect(),
                certifications: x.certifications.iter().map(|c| c.to_string()).collect(),
                preferred_skills: x.preferred.iter().map(|s| s.to_string()).collect(),
                min_stars: x.min_stars,
                pay_per_hour: Some((pay_base * premium * 2.0).round() / 2.0),
                // The agency's margin: a third on top of the pay, to the half unit.
                bill_per_hour: Some((pay_base * premium * 1.35 * 2.0).round() / 2.0),
                quotas: Vec::new(),
                workers: Vec::new(),
                min_reliability: None,
                min_completed_shifts: None,
                pool: None,
            }
        })
        .collect();

    let input = OrderInput {
        client_ref: format!("{client}-{}", 1 + rng.below(40)),
        title: format!("{title}, {venue_name}"),
        venue_name,
        venue_at: (location.lat(), location.lon()),
        geofence_m: Some(*rng.choose(&[200.0, 300.0, 300.0, 500.0])),
        start: local_time(start, tz),
        end: local_time(end, tz),
        roles: role_inputs,
        standby: Some(standby),
        max_travel_km: rng
            .bernoulli(0.3)
            .then(|| *rng.choose(&[10.0, 15.0, 20.0, 30.0])),
        priority: Some(priority.to_string()),
        dispatch_mode: Some(if assign { "assign" } else { "offer" }.to_string()),
        offer_ttl_s: Some(if urgent {
            300
        } else {
            *rng.choose(&[600, 900, 1800])
        }),
        // Orders posted at short notice go to more workers at once, as a dispatcher on the phone would.
        fanout: Some(if lead_h < 6.0 {
            rng.int_in(4, 8)
        } else {
            rng.int_in(1, 3)
        }),
        no_show_grace_min: Some(*rng.choose(&[10, 15, 15, 20])),
        widen: None,
        venue_timezone: None,
    };
    let order = input
        .validate(OrderId::new(id), agency)
        .expect("generated orders are valid");
    OrderSpec {
        order,
        kind,
        posted_at,
        tz,
    }
}

/// A venue suited to the kind (catering mostly in hotels, security at stadiums, halls and malls); any venue
/// when the place has none of that kind; the centre of a populous area when it has no venue at all.
fn pick_venue(place: &impl Place, kind: OrderKind, rng: &mut Rng) -> (String, LatLon, Tz) {
    let layout = place.layout();
    let kinds: &[(VenueKind, f64)] = match kind {
        OrderKind::Exhibition => &[(VenueKind::ExhibitionHall, 1.0)],
        OrderKind::Retail => &[(VenueKind::Mall, 1.0)],
        OrderKind::Warehouse => &[(VenueKind::Warehouse, 1.0)],
        OrderKind::Catering => &[(VenueKind::Hotel, 0.7), (VenueKind::ExhibitionHall, 0.3)],
        OrderKind::Security => &[
            (VenueKind::Stadium, 0.6),
            (VenueKind::ExhibitionHall, 0.2),
            (VenueKind::Mall, 0.2),
        ],
    };
    let want = kinds[rng.choose_weighted(&kinds.iter().map(|k| k.1).collect::<Vec<_>>())].0;
    let mut candidates = layout.venues_of(want);
    if candidates.is_empty() {
        candidates = layout.venues.iter().collect();
    }
    if candidates.is_empty() {
        let a = layout.pick_area(rng);
        return (format!("{} centre", a.name), a.center, a.tz);
    }
    let v = *rng.choose(&candidates);
    (v.name.clone(), v.location, layout.venue_tz(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Certification, Language, Priority, SkillName};
    use crate::sim::workers::default_week_start;
    use crate::sim::{City, Country};
    use chrono::{Datelike, Timelike};

    fn week() -> DateTime<Utc> {
        default_week_start()
    }

    #[test]
    fn the_same_seed_gives_the_same_orders_and_another_seed_others() {
        let city = City::metropolis(1);
        let a = orders(&city, 50, 4, AgencyId::new(1), week());
        assert_eq!(a, orders(&city, 50, 4, AgencyId::new(1), week()));
        assert_ne!(a, orders(&city, 50, 5, AgencyId::new(1), week()));
        assert_eq!(a[7].order.id, OrderId::new(8));
    }

    #[test]
    fn orders_fall_in_the_week_at_plausible_local_hours_and_are_posted_ahead() {
        let city = City::metropolis(1);
        let tz = chrono_tz::Asia::Shanghai;
        let monday = week().with_timezone(&tz).date_naive();
        for o in orders(&city, 500, 9, AgencyId::new(1), week()) {
            let s = o.order.shift.start().with_timezone(&tz);
            let days = (s.date_naive() - monday).num_days();
            assert!((0..7).contains(&days), "{s}");
            assert!((6..=22).contains(&s.hour()), "{s}");
            let h = o.order.shift.hours();
            assert!((4.0..=12.0).contains(&h), "{h}");
            let lead = (o.order.shift.start() - o.posted_at).num_minutes();
            assert!((59..=240 * 60).contains(&lead), "{lead}");
            for r in &o.order.roles {
                assert!((1..=30).contains(&r.headcount));
            }
            assert!(o.order.venue.location.distance_km(city.center()) < 90.0);
        }
    }

    #[test]
    fn each_kind_asks_for_what_it_needs() {
        let de = Country::germany();
        let os = orders(&de, 1000, 3, AgencyId::new(1), week());
        let count = |k: OrderKind| os.iter().filter(|o| o.kind == k).count();
        for (k, share) in KINDS {
            let got = count(k) as f64 / os.len() as f64;
            assert!((got - share).abs() < 0.05, "{k:?} {got}");
        }
        let fl = SkillName::new("forklift").unwrap();
        let lic = Certification::new("forklift_license").unwrap();
        let food = Certification::new("food_safety").unwrap();
        let mut overnight = 0;
        let mut bilingual = 0;
        for o in &os {
            for r in &o.order.roles {
                if r.skills.iter().any(|s| s.name == fl) {
                    assert!(r.certifications.contains(&lic));
                }
                if r.name == "cook" {
                    assert!(r.certifications.contains(&food));
                }
                if !r.languages.is_empty() {
                    bilingual += 1;
                    assert_eq!(o.kind, OrderKind::Exhibition);
                }
            }
            let local = o.order.shift.start().with_timezone(&o.tz);
            if o.order.shift.end().with_timezone(&o.tz).day() != local.day() {
                overnight += 1;
            }
        }
        assert!(overnight > 20, "{overnight}");
        assert!(bilingual > 50, "{bilingual}");
        let exhibitions_high = os
            .iter()
            .filter(|o| o.kind == OrderKind::Exhibition && o.order.priority != Priority::Normal)
            .count() as f64
            / count(OrderKind::Exhibition) as f64;
        assert!(exhibitions_high > 0.4, "{exhibitions_high}");
        let auto = os
            .iter()
            .filter(|o| o.order.standby == StandbySpec::Auto)
            .count();
        assert!(auto > 200, "{auto}");
    }

    #[test]
    fn bilingual_roles_in_shanghai_ask_for_foreign_languages() {
        let city = City::metropolis(1);
        let zh = Language::new("zh").unwrap();
        for o in orders(&city, 300, 2, AgencyId::new(1), week()) {
            for r in &o.order.roles {
                assert!(!r.languages.contains(&zh));
            }
        }
    }

    #[test]
    fn a_place_without_venues_still_gets_orders_at_its_centres() {
        let c =
            Country::from_csv("name,lat,lon,population,timezone\nTiny,50,8,100,Europe/Berlin\n")
                .unwrap();
        assert!(c.layout().venues.is_empty());
        let os = orders(&c, 5, 1, AgencyId::new(1), week());
        assert!(os.iter().all(|o| o.order.venue.name == "Tiny centre"));
    }
}
