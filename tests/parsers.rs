//! Every parser of outside input, fed random and mutated input: request bodies (workers, orders, patches,
//! agencies), NDJSON import lines, times, time zones, coordinates, cursors and limits, `If-Match`, rate
//! settings. None may panic, and each either accepts the input or names what is wrong with it. (The HTTP suite's
//! `mutated_bodies_and_queries_never_get_a_server_error` sends the same kind of input through the server.)

use proptest::prelude::*;

#[path = "common/mutate.rs"]
mod mutate;
use mutate::{Edit, NASTY, apply};

use crewcall::domain::{AgencyId, LatLon, OrderId, WorkerId};
use crewcall::wire::order::OrderBody;
use crewcall::wire::worker::{WorkerBody, parse_line, parse_worker};
use crewcall::wire::{ParseError, parse};

const ORDER: &str = include_str!("../data/order-sample.json");

fn worker_line() -> &'static str {
    include_str!("../data/workers-sample.ndjson")
        .lines()
        .next()
        .expect("a sample worker")
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), 0..NASTY.len()).prop_map(|(a, t)| Edit::Insert(a, t)),
        (any::<usize>(), 0usize..16).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), 0..NASTY.len()).prop_map(|(a, t)| Edit::Replace(a, t)),
    ]
}

/// A parse result is sound when it is a value, or a problem that says something: a syntax error with a
/// message, or field errors each with a message.
fn sound<T>(r: &Result<T, ParseError>) -> bool {
    match r {
        Ok(_) => true,
        Err(ParseError::Malformed(m)) => !m.is_empty(),
        Err(ParseError::Invalid(es)) => !es.is_empty() && es.iter().all(|e| !e.message.is_empty()),
    }
}

fn check_order(text: &str) {
    let r = parse::<OrderBody>(text.as_bytes());
    assert!(sound(&r));
    if let Ok(body) = r {
        // Validation either builds an order or names every bad field.
        if let Err(es) = body.parse(OrderId::new(1), AgencyId::new(1)) {
            assert!(!es.is_empty() && es.iter().all(|e| !e.message.is_empty()));
        }
    }
}

fn check_worker(text: &str) {
    let r = parse::<WorkerBody>(text.as_bytes());
    assert!(sound(&r));
    if let Ok(body) = r
        && let Err(es) = parse_worker(&body, WorkerId::new(1), AgencyId::new(1))
    {
        assert!(!es.is_empty());
    }
    if let Err(m) = parse_line(text) {
        assert!(!m.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutated_orders_parse_or_name_the_problem(edits in proptest::collection::vec(edit(), 1..5)) {
        check_order(&apply(ORDER, &edits));
    }

    #[test]
    fn mutated_workers_parse_or_name_the_problem(edits in proptest::collection::vec(edit(), 1..5)) {
        check_worker(&apply(worker_line(), &edits));
    }

    #[test]
    fn random_bytes_are_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        assert!(sound(&parse::<OrderBody>(&bytes)));
        assert!(sound(&parse::<WorkerBody>(&bytes)));
        assert!(sound(&parse::<serde_json::Map<String, serde_json::Value>>(&bytes)));
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = parse_line(text);
        }
    }

    #[test]
    fn times_and_time_zones_parse_or_name_the_problem(raw in ".{0,40}", digits in "[0-9T:+Z.-]{0,32}") {
        for s in [raw.as_str(), digits.as_str()] {
            if let Err(e) = crewcall::domain::time::parse_instant(s) {
                prop_assert!(!e.message.is_empty());
            }
            if let Err(e) = crewcall::domain::time::parse_tz(s) {
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn coordinates_are_checked_whatever_the_numbers(lat in any::<f64>(), lon in any::<f64>()) {
        match LatLon::new(lat, lon) {
            Ok(p) => prop_assert!((-90.0..=90.0).contains(&p.lat()) && (-180.0..=180.0).contains(&p.lon())),
            Err(es) => prop_assert!(!es.is_empty()),
        }
    }

    #[test]
    fn cursors_limits_tags_and_rates_parse_or_refuse(raw in ".{0,40}", n in any::<i64>()) {
        let _ = crewcall::http::pagination::decode(Some(&raw));
        match crewcall::http::pagination::limit(Some(n)) {
            Ok(l) => prop_assert!((1..=500).contains(&l)),
            Err(e) => prop_assert!(!e.message.is_empty()),
        }
        let _ = raw.parse::<crewcall::http::limits::RateSetting>();
        if let Ok(v) = axum::http::HeaderValue::from_str(&raw) {
            let mut h = axum::http::HeaderMap::new();
            h.insert(axum::http::header::IF_MATCH, v);
            let _ = crewcall::http::versions::if_match(&h);
        }
    }
}

#[test]
fn the_samples_parse_cleanly() {
    check_order(ORDER);
    let body = parse::<OrderBody>(ORDER.as_bytes()).expect("the sample order parses");
    assert!(body.parse(OrderId::new(1), AgencyId::new(1)).is_ok());
    assert!(parse_line(worker_line()).is_ok());
}
