//! Worker profiles with the mixes an agency really has: job families of skills with levels skewed low,
//! languages by place, certifications that go with the skills, availability patterns (students, full-timers,
//! night owls, weekenders, the always-open), blackouts, travel limits, hours caps, a searchable bio, and a
//! track record drawn from a per-worker reliability.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use rayon::prelude::*;

use super::names::person_name;
use super::place::{Locale, Place};
use super::rng::Rng;
use super::traits::{Traits, traits};
use crate::domain::{
    AgencyId, Availability, Certification, Days, Interval, Language, Level, Skill, SkillName,
    TravelKm, WeeklyWindow, Worker, WorkerId, WorkerStats, WorkerStatus,
};

/// A job family: its name, its share of workers, and its skills with their weights inside the family.
pub type Family = (&'static str, f64, &'static [(&'static str, f64)]);

/// Skills a worker can have, by job family, each with how common it is inside the family. A worker mostly
/// stays in one family, with a chance of a skill from another.
pub const FAMILIES: [Family; 5] = [
    (
        "events",
        0.34,
        &[
            ("promoter", 4.0),
            ("hostess", 3.0),
            ("usher", 2.0),
            ("sales", 2.0),
            ("setup_crew", 1.5),
        ],
    ),
    (
        "hospitality",
        0.28,
        &[
            ("waiter", 4.0),
            ("bartender", 2.0),
            ("barista", 2.0),
            ("cook", 2.0),
            ("kitchen_porter", 1.5),
            ("cleaner", 1.5),
        ],
    ),
    (
        "logistics",
        0.2,
        &[
            ("warehouse_picker", 4.0),
            ("forklift", 2.0),
            ("driver", 2.0),
            ("setup_crew", 1.0),
            ("equipment_operation", 1.0),
        ],
    ),
    (
        "retail",
        0.1,
        &[
            ("cashier", 3.0),
            ("sales", 3.0),
            ("promoter", 2.0),
            ("cleaner", 1.0),
        ],
    ),
    (
        "security",
        0.08,
        &[("security", 5.0), ("usher", 2.0), ("driver", 1.0)],
    ),
];

/// The whole skill catalogue, sorted.
pub const SKILLS: [&str; 17] = [
    "barista",
    "bartender",
    "cashier",
    "cleaner",
    "cook",
    "driver",
    "equipment_operation",
    "forklift",
    "hostess",
    "kitchen_porter",
    "promoter",
    "sales",
    "security",
    "setup_crew",
    "usher",
    "waiter",
    "warehouse_picker",
];

/// Level weights 1 to 5: most workers are beginners, few are experts.
const LEVEL_WEIGHTS: [f64; 5] = [40.0, 30.0, 17.0, 9.0, 4.0];

/// How a worker's week looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pattern {
    /// Weekday evenings and weekends.
    Student,
    /// Weekday office hours.
    FullTimer,
    /// Late evenings into the night, Thursday to Saturday.
    NightOwl,
    /// Saturdays and Sundays only.
    Weekender,
    /// Every day, 06:00 to 24:00.
    Open,
    /// Nights, any day: 18:00 to 08:00 (warehouses, security).
    NightShift,
}

/// Pattern shares, in [`Pattern`] order.
const PATTERNS: [(Pattern, f64); 6] = [
    (Pattern::Student, 0.34),
    (Pattern::FullTimer, 0.2),
    (Pattern::NightOwl, 0.08),
    (Pattern::Weekender, 0.12),
    (Pattern::Open, 0.16),
    (Pattern::NightShift, 0.1),
];

/// The Monday blackouts are drawn around when the caller gives no week (the week the sample data is for).
pub fn default_week_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap()
}

/// `n` workers with ids 1..=n for `agency`, living in `place`, drawn from `seed`; blackouts fall around
/// [`default_week_start`].
pub fn workers(place: &impl Place, n: usize, seed: u64, agency: AgencyId) -> Vec<Worker> {
    workers_around(place, n, seed, agency, default_week_start())
}

/// The same with blackouts drawn in the weeks around `week_start`.
pub fn workers_around(
    place: &impl Place,
    n: usize,
    seed: u64,
    agency: AgencyId,
    week_start: DateTime<Utc>,
) -> Vec<Worker> {
    workers_with_mix(place, n, seed, agency, week_start, &Mix::General)
}

/// The same with the pool's mix of skills and weekly patterns given by `mix`.
pub fn workers_with_mix(
    place: &impl Place,
    n: usize,
    seed: u64,
    agency: AgencyId,
    week_start: DateTime<Utc>,
    mix: &Mix,
) -> Vec<Worker> {
    let catalogue = Catalogue::new();
    (1..=n as u64)
        .into_par_iter()
        .map(|id| worker(place, &catalogue, seed, id, agency, week_start, mix))
        .collect()
}

/// What a pool is made of.
#[derive(Debug, Clone, PartialEq)]
pub enum Mix {
    /// The general mix of a city's part-timers: [`FAMILIES`] and [`PATTERNS`] as they are.
    General,
    /// An agency's own pool, recruited for the work it gets (see [`Mix::for_orders`]).
    Recruited(Box<Recruited>),
}

/// A pool recruited for an order book.
#[derive(Debug, Clone, PartialEq)]
pub struct Recruited {
    /// Weight of each skill of [`SKILLS`] as a worker's main skill.
    main: [f64; SKILLS.len()],
    /// For each main skill, the weight of each pattern of [`PATTERNS`].
    patterns: [[f64; PATTERNS.len()]; SKILLS.len()],
}

/// Shares of workers holding a certification, by the skill it goes with.
const FOOD_SAFETY_COOKS: f64 = 0.7;
const FOOD_SAFETY_SERVICE: f64 = 0.25;
const FORKLIFT_LICENSED: f64 = 0.75;
const SECURITY_LICENSED: f64 = 0.8;
const FIRST_AID_SECURITY: f64 = 0.45;
const FIRST_AID_OTHERS: f64 = 0.07;

/// The share of workers whose main skill is `skill` who hold `cert` (the generator draws each
/// certification on its own).
fn certified_share(skill: &str, cert: &str) -> f64 {
    match (cert, skill) {
        ("food_safety", "cook") => FOOD_SAFETY_COOKS,
        ("food_safety", "waiter" | "bartender" | "barista" | "kitchen_porter") => {
            FOOD_SAFETY_SERVICE
        }
        ("forklift_license", "forklift") => FORKLIFT_LICENSED,
        ("security_license", "security") => SECURITY_LICENSED,
        ("first_aid", "security") => FIRST_AID_SECURITY,
        ("first_aid", _) => FIRST_AID_OTHERS,
        _ => 0.0,
    }
}

/// The share of a recruited pool drawn from the general mix of main skills, so it keeps some variety.
const RECRUITED_GENERAL_SHARE: f64 = 0.1;

/// A pattern's weight in a recruited pool never falls below this share of its general weight: not everyone
/// an agency recruits fits its busiest hours.
const RECRUITED_PATTERN_FLOOR: f64 = 0.1;

impl Mix {
    /// The pool an agency builds for the work it gets: each skill is a worker's main skill in proportion to
    /// the slot-hours that ask for it (roles asking for it as their first skill; more where the role also asks
    /// for certifications only some of them hold), and the weekly patterns of
    /// the workers of each main skill lean towards the ones whose windows cover those roles' shifts (a
    /// warehouse recruits people who work nights when its shifts are at night). A tenth of the pool follows
    /// the general mix of main skills.
    pub fn for_orders(orders: &[super::OrderSpec]) -> Mix {
        let mut main = [0.0; SKILLS.len()];
        let mut patterns = [[0.0; PATTERNS.len()]; SKILLS.len()];
        // Representative windows of each pattern (several draws, since a pattern's hours vary a little).
        let draws: Vec<Vec<Vec<WeeklyWindow>>> = PATTERNS
            .iter()
            .enumerate()
            .map(|(i, (p, _))| {
                (0..8)
                    .map(|d| windows(*p, &mut Rng::stream(0x9a77_e2a5 ^ i as u64, d)))
                    .collect()
            })
            .collect();
        for spec in orders {
            let hours = spec.order.shift.duration().num_minutes() as f64 / 60.0;
            for role in &spec.order.roles {
                let Some(first) = role.skills.first() else {
                    continue;
                };
                let Some(s) = SKILLS.iter().position(|k| *k == first.name.as_str()) else {
                    continue;
                };
                let weight = f64::from(role.headcount) * hours;
                let licensed: f64 = role
                    .certifications
                    .iter()
                    .map(|c| certified_share(first.name.as_str(), c.as_str()))
                    .product();
                main[s] += weight / licensed.max(0.05);
                for (p, ws) in draws.iter().enumerate() {
                    let covered = ws
                        .iter()
                        .filter(|w| {
                            Availability::new(spec.tz, (*w).clone()).covers(&spec.order.shift)
                        })
                        .count() as f64
                        / ws.len() as f64;
                    patterns[s][p] += weight * covered;
                }
            }
        }
        let demand: f64 = main.iter().sum();
        if demand <= 0.0 {
            return Mix::General;
        }
        let general = general_main_weights();
        for (s, m) in main.iter_mut().enumerate() {
            *m = (1.0 - RECRUITED_GENERAL_SHARE) * *m / demand
                + RECRUITED_GENERAL_SHARE * general[s];
            let covered: f64 = patterns[s].iter().sum();
            for (p, w) in patterns[s].iter_mut().enumerate() {
                let share = if covered > 0.0 { *w / covered } else { 0.0 };
                *w = share.max(RECRUITED_PATTERN_FLOOR * PATTERNS[p].1);
            }
        }
        Mix::Recruited(Box::new(Recruited { main, patterns }))
    }
}

/// How often each skill of [`SKILLS`] is the first skill drawn in the general mix: family share × the
/// skill's weight in the family.
fn general_main_weights() -> [f64; SKILLS.len()] {
    let mut out = [0.0; SKILLS.len()];
    for (_, share, members) in FAMILIES {
        let total: f64 = members.iter().map(|m| m.1).sum();
        for (name, w) in members {
            if let Some(s) = SKILLS.iter().position(|k| k == name) {
                out[s] += share * w / total;
            }
        }
    }
    out
}

/// Terms built once, so that a million workers do not validate the same names a million times.
struct Catalogue {
    skills: Vec<SkillName>,
    food_safety: Certification,
    forklift_license: Certification,
    security_license: Certification,
    first_aid: Certification,
}

impl Catalogue {
    fn new() -> Self {
        let c = |s: &str| Certification::new(s).expect("a valid certification");
        let mut skills: Vec<SkillName> = SKILLS
            .iter()
            .map(|s| SkillName::new(s).expect("a valid skill"))
            .collect();
        skills.sort();
        skills.dedup();
        Self {
            skills,
            food_safety: c("food_safety"),
            forklift_license: c("forklift_license"),
            security_license: c("security_license"),
            first_aid: c("first_aid"),
        }
    }

    fn skill(&self, name: &str) -> SkillName {
        let i = self
            .skills
            .binary_search_by(|s| s.as_str().cmp(name))
            .expect("a catalogue skill");
        self.skills[i].clone()
    }
}

fn worker(
    place: &impl Place,
    cat: &Catalogue,
    seed: u64,
    id: u64,
    agency: AgencyId,
    week_start: DateTime<Utc>,
    mix: &Mix,
) -> Worker {
    let layout = place.layout();
    let mut rng = Rng::stream(seed, id);
    let area = layout.pick_area(&mut rng);
    let home = area.scatter(&mut rng, area.radius_km * 0.5);
    let tz = area.tz;

    // Skills: one family, one to three of its skills, sometimes one from elsewhere. A recruited pool draws
    // the main skill first and takes the family that has it.
    let main = match mix {
        Mix::General => None,
        Mix::Recruited(r) => Some(rng.choose_weighted(&r.main)),
    };
    let fam = match main {
        None => rng.choose_weighted(&FAMILIES.map(|f| f.1)),
        Some(s) => FAMILIES
            .iter()
            .position(|f| f.2.iter().any(|m| m.0 == SKILLS[s]))
            .unwrap_or(0),
    };
    let (family, _, members) = FAMILIES[fam];
    let mut names: Vec<&str> = main.map(|s| SKILLS[s]).into_iter().collect();
    let k = 1 + rng.choose_weighted(&[0.45, 0.35, 0.2]);
    let member_weights: Vec<f64> = members.iter().map(|m| m.1).collect();
    for _ in names.len()..k {
        let s = members[rng.choose_weighted(&member_weights)].0;
        if !names.contains(&s) {
            names.push(s);
        }
    }
    if rng.bernoulli(0.2) {
        let s = *rng.choose(&SKILLS);
        if !names.contains(&s) {
            names.push(s);
        }
    }
    let mut skills: Vec<Skill> = names
        .iter()
        .map(|s| Skill {
            name: cat.skill(s),
            level: Level::new(1 + rng.choose_weighted(&LEVEL_WEIGHTS) as i64).expect("1 to 5"),
        })
        .collect();
    skills.sort_by(|a, b| a.name.cmp(&b.name));
    let has = |s: &str| names.contains(&s);

    // Certifications that go with the skills.
    let mut certifications = Vec::new();
    if (has("cook") && rng.bernoulli(FOOD_SAFETY_COOKS))
        || ((has("waiter") || has("bartender") || has("barista") || has("kitchen_porter"))
            && rng.bernoulli(FOOD_SAFETY_SERVICE))
    {
        certifications.push(cat.food_safety.clone());
    }
    if has("forklift") && rng.bernoulli(FORKLIFT_LICENSED) {
        certifications.push(cat.forklift_license.clone());
    }
    if has("security") && rng.bernoulli(SECURITY_LICENSED) {
        certifications.push(cat.security_license.clone());
    }
    let first_aid_rate = if has("security") {
        FIRST_AID_SECURITY
    } else {
        FIRST_AID_OTHERS
    };
    if rng.bernoulli(first_aid_rate) {
        certifications.push(cat.first_aid.clone());
    }
    certifications.sort();

    let languages = languages(layout.locale, &mut rng);

    let pattern = match (mix, main) {
        (Mix::Recruited(r), Some(s)) => PATTERNS[rng.choose_weighted(&r.patterns[s])].0,
        _ => PATTERNS[rng.choose_weighted(&PATTERNS.map(|p| p.1))].0,
    };
    let availability = Availability::new(tz, windows(pattern, &mut rng));

    let blackouts = blackouts(&mut rng, tz, week_start);
    let travel = *rng.choose(&[
        5.0, 8.0, 10.0, 12.0, 15.0, 15.0, 20.0, 20.0, 25.0, 30.0, 40.0,
    ]);
    let max_hours_per_week = match pattern {
        Pattern::Student if rng.bernoulli(0.6) => Some(20.0),
        _ if rng.bernoulli(0.25) => Some(*rng.choose(&[16.0, 25.0, 30.0, 40.0])),
        _ => None,
    };
    let stats = stats(&mut rng, &traits(seed, WorkerId::new(id)));
    let name = person_name(layout.locale, &mut rng);
    let bio = bio(&mut rng, family, &skills, pattern, &languages, &area.name);

    Worker {
        id: WorkerId::new(id),
        agency,
        external_ref: format!("W-{id:06}"),
        name,
        home,
        max_travel_km: TravelKm::new(travel).expect("a positive distance"),
        skills,
        languages,
        certifications,
        availability,
        blackouts,
        max_hours_per_week,
        bio,
        status: WorkerStatus::Active,
        stats,
    }
}

fn languages(locale: Locale, rng: &mut Rng) -> Vec<Language> {
    let (always, extra): (&[&str], &[(&str, f64)]) = match locale {
        Locale::Shanghai => (&["zh"], &[("en", 0.3), ("ja", 0.04), ("ko", 0.03)]),
        Locale::Germany => (
            &[],
            &[
                ("de", 0.94),
                ("en", 0.55),
                ("tr", 0.07),
                ("ru", 0.05),
                ("ar", 0.04),
                ("pl", 0.04),
            ],
        ),
        Locale::Generic => (&["en"], &[("es", 0.1), ("fr", 0.05)]),
    };
    let mut out: Vec<&str> = always.to_vec();
    for (l, p) in extra {
        if rng.bernoulli(*p) {
            out.push(l);
        }
    }
    if out.is_empty() {
        // Nobody speaks nothing: the newcomer without the local language speaks English.
        out.push("en");
    }
    out.sort_unstable();
    out.into_iter()
        .map(|l| Language::new(l).expect("a valid tag"))
        .collect()
}

const WEEKDAYS: u8 = 0b001_1111;
const WEEKEND: u8 = 0b110_0000;

fn windows(pattern: Pattern, rng: &mut Rng) -> Vec<WeeklyWindow> {
    let h = |hours: i64| (hours * 60) as u16;
    match pattern {
        Pattern::Student => {
            let from = h(rng.int_in(16, 18));
            vec![
                WeeklyWindow::new(Days::from_bits(WEEKDAYS), from, h(23)),
                WeeklyWindow::new(Days::from_bits(WEEKEND), h(rng.int_in(8, 10)), h(23)),
            ]
        }
        Pattern::FullTimer => {
            let from = rng.int_in(6, 9);
            let mut w = vec![WeeklyWindow::new(
                Days::from_bits(WEEKDAYS),
                h(from),
                h(from + rng.int_in(9, 11)),
            )];
            if rng.bernoulli(0.3) {
                w.push(WeeklyWindow::new(Days::from_bits(0b010_0000), h(8), h(18)));
            }
            w
        }
        Pattern::NightOwl => {
            // Friday and Saturday 18:00–02:00 (or later), sometimes Thursday too.
            let days = if rng.bernoulli(0.4) {
                0b011_1000
            } else {
                0b011_0000
            };
            vec![
                WeeklyWindow::new(Days::from_bits(days), h(18), h(rng.int_in(2, 6))),
                WeeklyWindow::new(Days::from_bits(0b100_0000), h(12), h(20)),
            ]
        }
        Pattern::Weekender => vec![WeeklyWindow::new(
            Days::from_bits(WEEKEND),
            h(rng.int_in(6, 9)),
            h(rng.int_in(20, 24)),
        )],
        Pattern::Open => vec![WeeklyWindow::new(Days::ALL, h(6), h(24))],
        Pattern::NightShift => vec![WeeklyWindow::new(Days::ALL, h(18), h(8))],
    }
}

/// Blackouts for about one worker in six: one or two periods of 1 to 10 whole local days, from a week
/// before `week_start` to eight weeks after.
fn blackouts(rng: &mut Rng, tz: chrono_tz::Tz, week_start: DateTime<Utc>) -> Vec<Interval> {
    if !rng.bernoulli(0.16) {
        return Vec::new();
    }
    let base: NaiveDate = week_start.with_timezone(&tz).date_naive();
    let mut out: Vec<Interval> = Vec::new();
    for _ in 0..1 + rng.below(2) {
        let first = base + Duration::days(rng.int_in(-7, 56));
        let last = first + Duration::days(rng.int_in(1, 10));
        let at = |d: NaiveDate| {
            crate::domain::time::resolve_local(tz, d.and_hms_opt(0, 0, 0).expect("midnight"))
        };
        let iv = Interval::new(at(first), at(last)).expect("at least a day long");
        if !out.iter().any(|o| o.overlaps(&iv)) {
            out.push(iv);
        }
    }
    out.sort();
    out
}

/// A track record drawn from the worker's traits: completed shifts heavy-tailed (a fifth are new), no-shows
/// from the reliability, late arrivals from the punctuality, cancellations from the cancel rate, and ratings
/// around the worker's quality.
fn stats(rng: &mut Rng, t: &Traits) -> WorkerStats {
    let reliability = t.reliability;
    let completed = if rng.bernoulli(0.2) {
        rng.below(3) as u32
    } else {
        (rng.normal(2.6, 1.2).exp().floor() as u32).min(2000)
    };
    let due = f64::from(completed) / reliability;
    let no_shows = (due - f64::from(completed) + rng.uniform()).floor() as u32;
    let late_arrivals = (f64::from(completed) * (1.0 - t.punctuality) + rng.uniform()) as u32;
    let cancellations = (f64::from(completed) * t.cancel_rate + rng.uniform()) as u32;
    let rated_share = rng.range_f64(0.3, 0.9);
    let rating_count = (f64::from(completed) * rated_share).round() as u32;
    // Each rating scatters around the worker's quality; the average of a few is noisier than of many.
    let spread = 0.6 / f64::from(rating_count.max(1)).sqrt();
    let avg = rng.normal(t.quality, spread).clamp(1.0, 5.0);
    let rating_sum =
        ((avg * f64::from(rating_count)).round() as u32).clamp(rating_count, 5 * rating_count);
    WorkerStats {
        completed_shifts: completed,
        no_shows,
        late_arrivals,
        cancellations,
        // As an import counts them: one for each cancellation, since their notice is not known.
        cancellation_weight: f64::from(cancellations),
        rating_sum,
        rating_count,
    }
}

/// Words a bio may use for a skill, so that free-text search finds people by what they have done.
fn skill_phrase(skill: &str) -> &'static [&'static str] {
    match skill {
        "promoter" => &["product sampling", "trade fair booths", "flyer campaigns"],
        "hostess" => &["guest reception", "VIP registration", "trade fair hosting"],
        "usher" => &["concert seating", "crowd guidance", "ticket scanning"],
        "sales" => &["retail sales", "upselling", "product demos"],
        "setup_crew" => &["stage setup", "booth construction", "load-in and load-out"],
        "waiter" => &["banquet service", "fine dining", "silver service"],
        "bartender" => &["cocktails", "high-volume bars", "wine service"],
        "barista" => &["latte art", "espresso machines", "coffee carts"],
        "cook" => &["line cooking", "banquet kitchens", "food prep"],
        "kitchen_porter" => &["dishwashing", "kitchen cleaning", "stock rotation"],
        "cleaner" => &["venue cleaning", "night cleaning", "hotel housekeeping"],
        "warehouse_picker" => &["order picking", "scanner picking", "packing"],
        "forklift" => &["reach trucks", "pallet handling", "loading docks"],
        "driver" => &["van deliveries", "shuttle driving", "courier runs"],
        "equipment_operation" => &["AV equipment", "lighting rigs", "scissor lifts"],
        "security" => &["access control", "crowd control", "night patrols"],
        "cashier" => &["POS systems", "cash handling", "checkout"],
        _ => &["general help"],
    }
}

fn bio(
    rng: &mut Rng,
    family: &str,
    skills: &[Skill],
    pattern: Pattern,
    languages: &[Language],
    area: &str,
) -> String {
    let mut s = String::with_capacity(160);
    let best = skills
        .iter()
        .max_by_key(|k| k.level)
        .expect("at least one skill");
    let years = match best.level.get() {
        1 => "new to".to_string(),
        l => format!("{} years in", u32::from(l) * 2 - 1 + rng.below(2) as u32),
    };
    s.push_str(&format!(
        "{} ({years} {family} work) based in {area}.",
        title_case(best.name.as_str())
    ));
    s.push_str(" Experience with ");
    let mut phrases: Vec<&str> = Vec::new();
    for k in skills {
        phrases.push(*rng.choose(skill_phrase(k.name.as_str())));
    }
    s.push_str(&phrases.join(", "));
    s.push('.');
    s.push_str(match pattern {
        Pattern::Student => " Student, free evenings and weekends.",
        Pattern::FullTimer => " Available on weekdays.",
        Pattern::NightOwl => " Prefers night shifts.",
        Pattern::Weekender => " Weekends only.",
        Pattern::Open => " Flexible, any day.",
        Pattern::NightShift => " Works nights.",
    });
    if languages.len() > 1 {
        s.push_str(" Speaks ");
        let names: Vec<&str> = languages
            .iter()
            .map(|l| language_name(l.as_str()))
            .collect();
        s.push_str(&names.join(" and "));
        s.push('.');
    }
    s
}

fn title_case(skill: &str) -> String {
    let mut out = skill.replace('_', " ");
    if let Some(f) = out.get_mut(0..1) {
        f.make_ascii_uppercase();
    }
    out
}

fn language_name(tag: &str) -> &'static str {
    match tag {
        "zh" => "Chinese",
        "en" => "English",
        "ja" => "Japanese",
        "ko" => "Korean",
        "de" => "German",
        "tr" => "Turkish",
        "ru" => "Russian",
        "ar" => "Arabic",
        "pl" => "Polish",
        "es" => "Spanish",
        "fr" => "French",
        _ => "another language",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::worker::{PeriodInput, SkillInput, WindowInput, WorkerInput};
    use crate::sim::{City, Country};

    fn share(ws: &[Worker], pred: impl Fn(&Worker) -> bool) -> f64 {
        ws.iter().filter(|w| pred(w)).count() as f64 / ws.len() as f64
    }

    #[test]
    fn the_same_seed_gives_the_same_workers_and_another_seed_others() {
        let city = City::metropolis(1);
        let a = workers(&city, 300, 7, AgencyId::new(1));
        let b = workers(&city, 300, 7, AgencyId::new(1));
        let c = workers(&city, 300, 8, AgencyId::new(1));
        assert_eq!(a, b);
        assert_ne!(a, c);
        // A worker depends on its id and the seed only, not on how many are generated.
        assert_eq!(a[..100], workers(&city, 100, 7, AgencyId::new(1))[..]);
    }

    #[test]
    fn ids_and_refs_run_from_one() {
        let ws = workers(&City::metropolis(1), 12, 1, AgencyId::new(3));
        assert_eq!(ws[0].id, WorkerId::new(1));
        assert_eq!(ws[11].external_ref, "W-000012");
        assert!(ws.iter().all(|w| w.agency == AgencyId::new(3)));
    }

    /// Feeding a generated worker back through the API's validation must give the same worker: every value
    /// passes the domain checks.
    #[test]
    fn every_generated_worker_passes_the_domain_checks() {
        let ws = workers(&Country::germany(), 500, 5, AgencyId::new(1));
        for w in ws {
            let tz = w.availability.tz();
            let input = WorkerInput {
                external_ref: w.external_ref.clone(),
                name: w.name.clone(),
                home: (w.home.lat(), w.home.lon()),
                max_travel_km: Some(w.max_travel_km.km()),
                skills: w
                    .skills
                    .iter()
                    .map(|s| SkillInput {
                        name: s.name.to_string(),
                        level: Some(i64::from(s.level.get())),
                    })
                    .collect(),
                languages: w.languages.iter().map(|l| l.to_string()).collect(),
                certifications: w.certifications.iter().map(|c| c.to_string()).collect(),
                timezone: tz.name().to_string(),
                availability: w
                    .availability
                    .windows()
                    .iter()
                    .map(|x| WindowInput {
                        days: x.days().names().iter().map(|d| d.to_string()).collect(),
                        from: crate::domain::availability::format_hhmm(x.from_min()),
                        to: crate::domain::availability::format_hhmm(x.to_min()),
                    })
                    .collect(),
                blackouts: w
                    .blackouts
                    .iter()
                    .map(|b| PeriodInput {
                        start: b.start().to_rfc3339(),
                        end: b.end().to_rfc3339(),
                    })
                    .collect(),
                max_hours_per_week: w.max_hours_per_week,
                bio: w.bio.clone(),
            };
            let mut back = input.validate(w.id, w.agency).expect("valid");
            back.stats = w.stats;
            assert_eq!(back, w);
            assert!(!w.skills.is_empty() && !w.languages.is_empty());
            assert!((5.0..=40.0).contains(&w.max_travel_km.km()));
            let s = w.stats;
            assert!(s.rating_sum >= s.rating_count && s.rating_sum <= 5 * s.rating_count);
        }
    }

    #[test]
    fn homes_lie_near_the_place() {
        let city = City::metropolis(1);
        let ws = workers(&city, 2000, 3, AgencyId::new(1));
        assert!(ws.iter().all(|w| w.home.distance_km(city.center()) < 100.0));
        let near = share(&ws, |w| w.home.distance_km(city.center()) < 30.0);
        assert!(near > 0.6, "{near}");
        let de = Country::germany();
        let ws = workers(&de, 2000, 3, AgencyId::new(1));
        let near_a_city = |w: &Worker| {
            de.layout()
                .areas
                .iter()
                .any(|a| w.home.distance_km(a.center) < 3.0 * a.radius_km)
        };
        assert!(ws.iter().all(near_a_city));
        let berlin = share(&ws, |w| {
            w.home.distance_km(de.layout().areas[0].center) < 30.0
        });
        assert!((0.03..0.12).contains(&berlin), "{berlin}");
    }

    #[test]
    fn the_mixes_come_out_roughly_as_designed() {
        let ws = workers(&City::metropolis(1), 20_000, 11, AgencyId::new(1));
        let skill = |name: &str| {
            let n = SkillName::new(name).unwrap();
            move |w: &Worker| w.skill_level(&n).is_some()
        };
        let promoters = share(&ws, skill("promoter"));
        assert!((0.1..0.25).contains(&promoters), "promoters {promoters}");
        let forklift = share(&ws, skill("forklift"));
        assert!((0.03..0.12).contains(&forklift), "forklift {forklift}");
        // Levels skew low.
        let levels: Vec<u8> = ws
            .iter()
            .flat_map(|w| w.skills.iter().map(|s| s.level.get()))
            .collect();
        let ones = levels.iter().filter(|l| **l == 1).count() as f64 / levels.len() as f64;
        let fives = levels.iter().filter(|l| **l == 5).count() as f64 / levels.len() as f64;
        assert!(ones > 0.35 && fives < 0.06, "{ones} {fives}");
        // Languages in Shanghai.
        let zh = Language::new("zh").unwrap();
        let en = Language::new("en").unwrap();
        assert_eq!(share(&ws, |w| w.speaks(&zh)), 1.0);
        let english = share(&ws, |w| w.speaks(&en));
        assert!((0.25..0.35).contains(&english), "{english}");
        // Forklift drivers mostly hold the licence; few others do.
        let lic = Certification::new("forklift_license").unwrap();
        let fk = SkillName::new("forklift").unwrap();
        let with = ws.iter().filter(|w| w.skill_level(&fk).is_some());
        let licensed =
            with.clone().filter(|w| w.certified(&lic)).count() as f64 / with.count() as f64;
        assert!(licensed > 0.6, "{licensed}");
        // Overnight windows for the night owls (8%) and night-shift workers (10%), some blackouts, some caps.
        let overnight = share(&ws, |w| {
            w.availability
                .windows()
                .iter()
                .any(|x| x.crosses_midnight())
        });
        assert!((0.13..0.23).contains(&overnight), "{overnight}");
        let blackouts = share(&ws, |w| !w.blackouts.is_empty());
        assert!((0.1..0.22).contains(&blackouts), "{blackouts}");
        // Track records: a fifth new, reliability mostly high, ratings around 4.2.
        let new = share(&ws, |w| w.stats.completed_shifts < 3);
        assert!((0.15..0.35).contains(&new), "{new}");
        let rated: Vec<f64> = ws.iter().filter_map(|w| w.stats.rating_avg()).collect();
        let mean = rated.iter().sum::<f64>() / rated.len() as f64;
        assert!((4.0..4.4).contains(&mean), "{mean}");
        let attendance =
            ws.iter().map(|w| w.stats.attendance_rate()).sum::<f64>() / ws.len() as f64;
        assert!((0.85..0.97).contains(&attendance), "{attendance}");
        let heavy = ws.iter().map(|w| w.stats.completed_shifts).max().unwrap();
        assert!(heavy > 200, "the tail is heavy: {heavy}");
    }

    #[test]
    fn german_workers_speak_german_and_bios_name_their_skills() {
        let ws = workers(&Country::germany(), 3000, 2, AgencyId::new(1));
        let de = Language::new("de").unwrap();
        let german = share(&ws, |w| w.speaks(&de));
        assert!((0.9..0.98).contains(&german), "{german}");
        let tr = Language::new("tr").unwrap();
        assert!(share(&ws, |w| w.speaks(&tr)) > 0.03);
        for w in &ws {
            let best = w.skills.iter().max_by_key(|k| k.level).unwrap();
            let word = best.name.as_str().replace('_', " ");
            assert!(w.bio.to_lowercase().contains(&word), "{}: {}", word, w.bio);
            assert_eq!(w.availability.tz(), chrono_tz::Europe::Berlin);
        }
    }

    #[test]
    fn the_track_record_follows_the_hidden_traits() {
        let ws = workers(&City::metropolis(1), 20_000, 4, AgencyId::new(1));
        let attendance = |pred: &dyn Fn(f64) -> bool| {
            let group: Vec<&Worker> = ws
                .iter()
                .filter(|w| w.stats.completed_shifts >= 20 && pred(traits(4, w.id).reliability))
                .collect();
            assert!(group.len() > 50, "{}", group.len());
            group.iter().map(|w| w.stats.attendance_rate()).sum::<f64>() / group.len() as f64
        };
        let shaky = attendance(&|r| r < 0.8);
        let solid = attendance(&|r| r > 0.95);
        assert!(shaky < 0.82 && solid > 0.94, "{shaky} {solid}");
    }
}
