//! offers
