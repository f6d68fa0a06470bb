//! The behaviour model: how a generated worker and a client act on what the engine does. Each function is a
//! pure draw from the worker's hidden [`Traits`] and a random stream the caller owns, so a seed gives the same
//! week every time.
//!
//! - an offer gets a reaction time and a decision: accept (likelier when the venue is near and the pay good),
//!   decline, or ignore it until it expires;
//! - an on-call invitation is accepted with probability `0.5 × acceptance`, within minutes to hours;
//! - a confirmed shift may be cancelled ahead of time, with some notice (the worker's `cancel_rate`);
//! - on the day the worker does not come (probability `1 − reliability`), or arrives around the start, late
//!   with probability `1 − punctuality`, and checks in from a GPS fix a few tens of metres off, now and then
//!   outside the geofence (the app then retries from closer);
//! - at the end the worker checks out (a few forget, and the shift's end checks them out), and the client
//!   may rate the work around the worker's `quality`;
//! - with re-confirmation and pre-shift signals on ([`signals`]): a worker who will come confirms the request
//!   a day ahead with probability 0.97, one who will not (or will cancel) with 0.25, a few hours after it
//!   arrives; 70% of workers opt in to pre-shift signals: one who will come sends "on my way" 30 to 90 minutes
//!   before the start from a point they can reach by their arrival (at 80% of the agency's plausible speed),
//!   one who will not come sends nothing, or (30%) a position too far away to arrive in time.

use chrono::Duration;

use super::rng::Rng;
use super::traits::Traits;

/// What a worker does with an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Takes the shift (or the standby).
    Accept,
    /// Says no.
    Decline,
    /// Never answers; the offer expires.
    Ignore,
}

/// A reaction to an offer: the decision and how long after the offer it is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reaction {
    /// The decision.
    pub decision: Decision,
    /// Time from the offer to the answer.
    pub after: Duration,
}

/// What the worker sees of an offer when deciding.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OfferSight {
    /// Distance from home to the venue, km.
    pub distance_km: f64,
    /// Pay of the role divided by the typical pay of the week (1.0 is typical).
    pub pay_ratio: f64,
    /// Whether it is an urgent replacement offer (short TTL, answered quickly or not at all).
    pub urgent: bool,
    /// Whether it is a standby offer (paid less, a little less attractive).
    pub standby: bool,
}

/// The probability of accepting: the worker's willingness, falling with distance (halved about every 12 km)
/// and rising with pay.
pub fn acceptance_probability(t: &Traits, o: &OfferSight) -> f64 {
    let distance = (-o.distance_km / 17.0).exp();
    let pay = o.pay_ratio.clamp(0.5, 2.0).powf(1.5);
    let kind = if o.standby { 0.85 } else { 1.0 };
    let base = 0.35 + 0.65 * t.acceptance;
    (base * distance * pay * kind).clamp(0.0, 0.97)
}

/// Draws the reaction to an offer.
pub fn react(rng: &mut Rng, t: &Traits, o: &OfferSight) -> Reaction {
    let accept = rng.bernoulli(acceptance_probability(t, o));
    let decision = if accept {
        Decision::Accept
    } else if rng.bernoulli(0.3) {
        Decision::Ignore
    } else {
        Decision::Decline
    };
    // Answers come in minutes; urgent ones faster (a phone that rings).
    let median_s = if o.urgent { 70.0 } else { 240.0 };
    let secs = (median_s * (0.9 * rng.std_normal()).exp()).clamp(10.0, 6.0 * 3600.0);
    Reaction {
        decision,
        after: Duration::seconds(secs as i64),
    }
}

/// Draws the answer to an on-call invitation: accepted with probability half the worker's willingness to
/// take offers (`0.5 × acceptance`: being on call is a promise without a shift yet), otherwise declined or,
/// as often, left unanswered until it expires. Invitations are not urgent: answers come from minutes to hours
/// later (median 40 minutes, at most 8 hours).
pub fn invite_reaction(rng: &mut Rng, t: &Traits) -> Reaction {
    let decision = if rng.bernoulli(0.5 * t.acceptance) {
        Decision::Accept
    } else if rng.bernoulli(0.5) {
        Decision::Ignore
    } else {
        Decision::Decline
    };
    let secs = (2400.0 * (1.2 * rng.std_normal()).exp()).clamp(60.0, 8.0 * 3600.0);
    Reaction {
        decision,
        after: Duration::seconds(secs as i64),
    }
}

/// Whether a confirmed shift will be cancelled, and when, as a share of the time between confirmation and the
/// start (0 right away, 1 at the start).
pub fn cancellation(rng: &mut Rng, t: &Traits) -> Option<f64> {
    rng.bernoulli(t.cancel_rate)
        .then(|| rng.uniform().powf(0.7).min(0.97))
}

/// How a worker turns up for a shift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrival {
    /// Does not come.
    NoShow,
    /// Checks in this long after the start (negative: before), from this far off the venue.
    Comes {
        /// Minutes after the start (negative when early).
        offset_min: f64,
        /// Metres between the GPS fix and the venue.
        gps_off_m: f64,
    },
}

/// Draws the arrival for a shift. `replacement` arrivals (a promoted standby, an urgent replacement) are
/// measured from the moment of confirmation instead of the start, and come within minutes.
pub fn arrival(rng: &mut Rng, t: &Traits, geofence_m: f64, replacement: bool) -> Arrival {
    if !rng.bernoulli(t.reliability) {
        return Arrival::NoShow;
    }
    let offset_min = if replacement {
        rng.range_f64(2.0, 9.0)
    } else if rng.bernoulli(t.punctuality) {
        -rng.range_f64(1.0, 25.0)
    } else {
        // Late: mostly a few minutes, now and then beyond the grace.
        (7.0 * (0.8 * rng.std_normal()).exp()).min(120.0)
    };
    let gps_off_m = gps_offset(rng, geofence_m);
    Arrival::Comes {
        offset_min,
        gps_off_m,
    }
}

/// A GPS fix's distance from the venue: a few tens of metres, one time in twenty outside the geofence.
pub fn gps_offset(rng: &mut Rng, geofence_m: f64) -> f64 {
    if rng.bernoulli(0.05) {
        geofence_m * rng.range_f64(1.1, 2.0)
    } else {
        (rng.std_normal() * 35.0).abs().min(geofence_m * 0.8)
    }
}

/// Minutes before the end the worker checks out, or `None` when the worker forgets (the shift's end then checks
/// the worker out).
pub fn check_out_before_end(rng: &mut Rng) -> Option<f64> {
    (!rng.bernoulli(0.08)).then(|| rng.range_f64(0.5, 12.0))
}

/// Whether the client rates the work, and the stars: around the worker's quality.
pub fn rating(rng: &mut Rng, t: &Traits) -> Option<i64> {
    rng.bernoulli(0.6)
        .then(|| rng.normal(t.quality, 0.6).round().clamp(1.0, 5.0) as i64)
}

/// Probability that a worker who will come confirms a re-confirmation request.
pub const RECONFIRM_IF_COMING: f64 = 0.97;
/// Probability that a worker who will not come (a no-show or a cancellation ahead) confirms it anyway.
pub const RECONFIRM_IF_NOT_COMING: f64 = 0.25;
/// Share of workers who opt in to pre-shift signals.
pub const SIGNALS_OPT_IN: f64 = 0.7;
/// Share of opted-in workers who will not come and still send a position (too far to arrive).
pub const FAR_SIGNAL_IF_NOT_COMING: f64 = 0.3;

/// What a worker does with re-confirmation and pre-shift signals for one booking, drawn from the booking's
/// fate (whether the worker will come, and when) so that signals foretell it as well as real ones would.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Signals {
    /// Hours after the request the worker confirms, if they do.
    pub reconfirm_after_h: Option<f64>,
    /// A pre-shift signal: minutes before the start it is sent and how far from the venue (km), if any.
    pub signal: Option<(f64, f64)>,
    /// The direction of the position from the venue, radians.
    pub angle: f64,
}

/// Draws a booking's signals. `arrives_after_start_min` is the arrival draw (minutes after the start,
/// negative when early), `None` for a worker who will not come; `grace_min` is the order's no-show grace,
/// `speed_kmh` the agency's plausible speed and `answer_within_h` the hours from the re-confirmation request to
/// its deadline.
pub fn signals(
    rng: &mut Rng,
    arrives_after_start_min: Option<f64>,
    grace_min: f64,
    speed_kmh: f64,
    answer_within_h: f64,
) -> Signals {
    let coming = arrives_after_start_min.is_some();
    let p = if coming {
        RECONFIRM_IF_COMING
    } else {
        RECONFIRM_IF_NOT_COMING
    };
    let confirms = rng.bernoulli(p);
    // A worker who confirms does so at a glance at the phone some time in the first three quarters of the span
    // the request gives them.
    let after_h = rng.range_f64(0.02, 0.75) * answer_within_h;
    let opted_in = rng.bernoulli(SIGNALS_OPT_IN);
    let before_min = rng.range_f64(30.0, 90.0);
    let far = rng.bernoulli(FAR_SIGNAL_IF_NOT_COMING);
    let angle = rng.range_f64(0.0, std::f64::consts::TAU);
    let signal = match (opted_in, arrives_after_start_min) {
        (false, _) => None,
        (true, Some(arrives)) => {
            // Reachable by the arrival (never later than the grace allows), a little faster than judged.
            let travel_min = (before_min + arrives.min(grace_min - 1.0)).max(0.0);
            Some((before_min, 0.8 * speed_kmh * travel_min / 60.0))
        }
        (true, None) if far => {
            // Farther than the start and the grace allow, by half an hour to two hours of travel.
            let travel_min = before_min + grace_min + rng.range_f64(30.0, 120.0);
            Some((before_min, speed_kmh * travel_min / 60.0))
        }
        (true, None) => None,
    };
    Signals {
        reconfirm_after_h: confirms.then_some(after_h),
        signal,
        angle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traits(acceptance: f64, reliability: f64) -> Traits {
        Traits {
            reliability,
            punctuality: 0.9,
            acceptance,
            cancel_rate: 0.02,
            quality: 4.2,
        }
    }

    fn sight(distance_km: f64, pay_ratio: f64) -> OfferSight {
        OfferSight {
            distance_km,
            pay_ratio,
            urgent: false,
            standby: false,
        }
    }

    #[test]
    fn acceptance_falls_with_distance_and_rises_with_pay() {
        let t = traits(0.6, 0.95);
        let near = acceptance_probability(&t, &sight(2.0, 1.0));
        let far = acceptance_probability(&t, &sight(25.0, 1.0));
        let well_paid = acceptance_probability(&t, &sight(2.0, 1.3));
        assert!(near > far, "{near} {far}");
        assert!(well_paid > near, "{well_paid} {near}");
        assert!((0.0..=1.0).contains(&far));
    }

    #[test]
    fn an_unreliable_worker_misses_shifts_about_as_often_as_the_trait_says() {
        let t = traits(0.6, 0.7);
        let mut rng = Rng::new(9);
        let n = 20_000;
        let missed = (0..n)
            .filter(|_| arrival(&mut rng, &t, 300.0, false) == Arrival::NoShow)
            .count() as f64
            / n as f64;
        assert!((0.27..0.33).contains(&missed), "{missed}");
    }

    #[test]
    fn gps_fixes_are_mostly_inside_the_geofence_but_not_always() {
        let mut rng = Rng::new(4);
        let n = 20_000;
        let outside = (0..n)
            .filter(|_| gps_offset(&mut rng, 200.0) > 200.0)
            .count() as f64
            / n as f64;
        assert!((0.03..0.07).contains(&outside), "{outside}");
    }

    #[test]
    fn signals_foretell_a_no_show_more_often_than_not() {
        let mut rng = Rng::new(12);
        let n = 20_000;
        let coming: Vec<Signals> = (0..n)
            .map(|_| signals(&mut rng, Some(-5.0), 15.0, 25.0, 4.0))
            .collect();
        let absent: Vec<Signals> = (0..n)
            .map(|_| signals(&mut rng, None, 15.0, 25.0, 4.0))
            .collect();
        let share = |v: &[Signals], f: &dyn Fn(&Signals) -> bool| {
            v.iter().filter(|s| f(s)).count() as f64 / v.len() as f64
        };
        let confirmed = |s: &Signals| s.reconfirm_after_h.is_some();
        assert!((0.96..0.98).contains(&share(&coming, &confirmed)));
        assert!((0.23..0.27).contains(&share(&absent, &confirmed)));
        // A worker who will come is never placed too far to arrive; one who will not sends a far position
        // about 0.7 × 0.3 of the time.
        let too_far = |s: &Signals| {
            s.signal
                .is_some_and(|(before, km)| km / 25.0 * 60.0 > before + 15.0)
        };
        assert_eq!(share(&coming, &too_far), 0.0);
        assert!((0.19..0.23).contains(&share(&absent, &too_far)));
        assert!((0.68..0.72).contains(&share(&coming, &|s| s.signal.is_some())));
    }

    #[test]
    fn ratings_are_stars_around_the_quality() {
        let mut rng = Rng::new(5);
        let stars: Vec<i64> = (0..5_000)
            .filter_map(|_| rating(&mut rng, &traits(0.5, 0.9)))
            .collect();
        assert!(stars.iter().all(|s| (1..=5).contains(s)));
        let mean = stars.iter().sum::<i64>() as f64 / stars.len() as f64;
        assert!((3.9..4.4).contains(&mean), "{mean}");
    }
}
