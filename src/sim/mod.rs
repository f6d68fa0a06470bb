//! Synthetic staffing data, deterministic by seed: places, workers, orders, and their NDJSON form.
//!
//! Layout:
//! - [`rng`]: our own xoshiro256** generator and its distributions, so a seed gives the same data forever;
//! - [`place`]: what generators need of a place (areas, venues, locale), shared by
//! - [`city`]: a Shanghai-like metropolis, and [`country`]: cities read from CSV (Germany bundled);
//! - [`names`]: people's names by locale;
//! - [`traits`]: each worker's hidden behaviour (reliability, punctuality, acceptance), the link between the
//!   generated track record and the simulation's behaviour model;
//! - [`workers`]: worker profiles with realistic mixes of skills, languages, availability and track records;
//! - [`orders`]: orders of several kinds (exhibitions, retail, warehouse, catering, security) for one week;
//! - [`ndjson`]: the API's JSON shapes for workers and orders, for import files and HTTP clients;
//! - [`sample`]: the bundled sample in `data/` and the test that keeps it fresh;
//! - [`behaviour`]: how workers and clients act (answers to offers, cancellations, arrivals, GPS, ratings);
//! - [`week`]: the discrete-event week behind `crewcall simulate`, driving the real engine with a manual clock;
//! - [`forecast`]: the simulated agency's history, its fitted demand forecast and its error on the week;
//! - [`kpi`]: the figures of a week, from the event log; [`svg`]: its chart.
//!
//! Every generator takes a seed and draws each item from its own stream (seed, id), so items come out the
//! same whatever the order or the parallelism; the week draws each reaction from a stream of (seed, offer or
//! assignment id) and orders its queue by (time, sequence), so a seed gives the same event log.

pub mod behaviour;
pub mod calibration;
pub mod city;
pub mod country;
pub mod forecast;
pub mod kpi;
pub mod names;
pub mod ndjson;
pub mod orders;
pub mod place;
pub mod rng;
pub mod sample;
pub mod svg;
pub mod traits;
pub mod week;
pub mod workers;

pub use city::City;
pub use country::Country;
pub use orders::{OrderKind, OrderSpec, order_of_kind, orders};
pub use place::{Area, Layout, Locale, Place, SimVenue, VenueKind};
pub use rng::Rng;
pub use traits::{Traits, traits};
pub use workers::{Mix, workers, workers_around, workers_with_mix};
