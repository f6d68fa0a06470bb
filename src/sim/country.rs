//! A country as a list of cities (name, position, population, timezone) read from CSV, with venues placed by
//! population. The German table is bundled: `data/cities-DE.csv`, extracted from GeoNames.

use chrono_tz::Tz;

use super::city::venue_name;
use super::place::{Area, Layout, Locale, Place, SimVenue, VenueKind};
use super::rng::Rng;
use crate::domain::LatLon;
use crate::error::{Error, FieldError};

/// The bundled cities of Germany.
const CITIES_DE: &str = include_str!("../../data/cities-DE.csv");

/// The seed venues are placed with, fixed so that a country's venues do not depend on the caller.
const VENUE_SEED: u64 = 0xde_c0de;

/// People per venue, on average: a city of 600,000 gets about ten.
const PEOPLE_PER_VENUE: f64 = 60_000.0;

/// A country to generate workers and orders in.
#[derive(Debug, Clone)]
pub struct Country {
    layout: Layout,
}

impl Country {
    /// Germany, from the bundled GeoNames table.
    pub fn germany() -> Self {
        let mut c = Self::from_csv(CITIES_DE).expect("the bundled table is valid");
        c.layout.name = "Germany".into();
        c.layout.locale = Locale::Germany;
        c
    }

    /// Reads a table with the header `name,lat,lon,population,timezone` (columns in any order; others are
    /// ignored; fields may be quoted the CSV way). The locale is generic; see [`Country::with_locale`].
    pub fn from_csv(text: &str) -> Result<Self, Error> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines
            .next()
            .ok_or_else(|| Error::invalid("csv", "the table is empty"))?;
        let header = split_csv_line(header);
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h.trim() == name)
                .ok_or_else(|| Error::invalid("csv", format!("the header has no `{name}` column")))
        };
        let (ci_name, ci_lat, ci_lon, ci_pop, ci_tz) = (
            col("name")?,
            col("lat")?,
            col("lon")?,
            col("population")?,
            col("timezone")?,
        );
        let mut areas = Vec::new();
        let mut errors = Vec::new();
        for (i, line) in lines {
            let at = format!("line {}", i + 1);
            let fields = split_csv_line(line);
            let get = |c: usize| fields.get(c).map(|s| s.trim()).unwrap_or("");
            let lat = get(ci_lat).parse::<f64>();
            let lon = get(ci_lon).parse::<f64>();
            let pop = get(ci_pop).parse::<u64>();
            let tz = get(ci_tz).parse::<Tz>();
            let name = get(ci_name);
            let position = match (lat, lon) {
                (Ok(lat), Ok(lon)) => LatLon::new(lat, lon).ok(),
                _ => None,
            };
            match (position, pop, tz) {
                (Some(center), Ok(pop), Ok(tz)) if !name.is_empty() && pop > 0 => {
                    areas.push(Area {
                        name: name.to_string(),
                        center,
                        radius_km: city_radius_km(pop),
                        weight: pop as f64,
                        tz,
                    })
                }
                _ => errors.push(FieldError::new(
                    at,
                    "needs a name, a valid lat and lon, a positive population and an IANA timezone",
                )),
            }
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        if areas.is_empty() {
            return Err(Error::invalid("csv", "the table has no cities"));
        }
        let venues = place_venues(&areas);
        Ok(Self {
            layout: Layout::new("country", Locale::Generic, areas, venues),
        })
    }

    /// The same country with another locale (names, languages, pay).
    pub fn with_locale(mut self, locale: Locale) -> Self {
        self.layout.locale = locale;
        self
    }
}

impl Place for Country {
    fn layout(&self) -> &Layout {
        &self.layout
    }
}

/// A city's spread from its population: about 3.7 km for 10,000 people, 14 km for Berlin's 3.4 million.
fn city_radius_km(population: u64) -> f64 {
    (1.5 + 2.2 * (population as f64 / 100_000.0).sqrt()).clamp(2.0, 25.0)
}

/// Venues by population: malls and hotels everywhere, warehouses on the outskirts, exhibition halls in cities
/// above 200,000 people and stadiums above 100,000.
fn place_venues(areas: &[Area]) -> Vec<SimVenue> {
    let mut rng = Rng::new(VENUE_SEED);
    let mut venues = Vec::new();
    for (ai, a) in areas.iter().enumerate() {
        let expected = a.weight / PEOPLE_PER_VENUE;
        let count = expected.floor() as u32 + u32::from(rng.bernoulli(expected.fract()));
        let mut numbers = [0u8; 5];
        for _ in 0..count {
            let big = a.weight >= 200_000.0;
            let mid = a.weight >= 100_000.0;
            let weights = [
                if big { 8.0 } else { 0.0 },
                35.0,
                25.0,
                25.0,
                if mid { 7.0 } else { 0.0 },
            ];
            let k = rng.choose_weighted(&weights);
            let kind = [
                VenueKind::ExhibitionHall,
                VenueKind::Mall,
                VenueKind::Warehouse,
                VenueKind::Hotel,
                VenueKind::Stadium,
            ][k];
            numbers[k] = numbers[k].saturating_add(1);
            let sd = if kind == VenueKind::Warehouse {
                a.radius_km * 0.8
            } else {
                a.radius_km * 0.3
            };
            venues.push(SimVenue {
                name: venue_name(&a.name, kind, numbers[k]),
                kind,
                location: a.scatter(&mut rng, sd),
                area: ai,
            });
        }
    }
    venues
}

/// Splits one CSV line into fields: commas separate, double quotes enclose, `""` inside quotes is a quote.
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.is_empty() => quoted = true,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_may_be_quoted_and_hold_commas_and_quotes() {
        assert_eq!(split_csv_line("a,b,,c"), ["a", "b", "", "c"]);
        assert_eq!(
            split_csv_line(r#""Halle (Saale), Stadt",1,"say ""hi""""#),
            ["Halle (Saale), Stadt", "1", r#"say "hi""#]
        );
    }

    #[test]
    fn a_small_table_is_read_with_its_columns_in_any_order() {
        let c = Country::from_csv(
            "population,name,timezone,lat,lon\n\
             1000000,\"Big, City\",Europe/Berlin,50.0,8.0\n\
             \n\
             50000,Small,Europe/Berlin,51.0,9.0\n",
        )
        .unwrap();
        let l = c.layout();
        assert_eq!(l.areas.len(), 2);
        assert_eq!(l.areas[0].name, "Big, City");
        assert_eq!(l.areas[0].tz, chrono_tz::Europe::Berlin);
        assert!(l.areas[0].radius_km > l.areas[1].radius_km);
        assert!(l.venues.iter().filter(|v| v.area == 0).count() >= 16);
    }

    #[test]
    fn bad_rows_are_reported_by_line_number() {
        let err = Country::from_csv(
            "name,lat,lon,population,timezone\n\
             Good,50,8,1000,Europe/Berlin\n\
             Bad,95,8,1000,Europe/Berlin\n\
             Worse,50,8,1000,Mars/Base\n",
        )
        .unwrap_err();
        match err {
            Error::Invalid(es) => {
                let fields: Vec<&str> = es.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["line 3", "line 4"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(Country::from_csv("name,lat\nX,1").is_err());
        assert!(Country::from_csv("").is_err());
    }

    #[test]
    fn germany_is_bundled_with_berlin_first_and_venues_by_population() {
        let de = Country::germany();
        let l = de.layout();
        assert!(l.areas.len() > 1000, "{}", l.areas.len());
        assert_eq!(l.areas[0].name, "Berlin");
        assert_eq!(l.locale, Locale::Germany);
        let berlin = l.venues.iter().filter(|v| v.area == 0).count();
        assert!((45..=70).contains(&berlin), "{berlin}");
        assert!(!l.venues_of(VenueKind::ExhibitionHall).is_empty());
        assert!(!l.venues_of(VenueKind::Stadium).is_empty());
    }
}
