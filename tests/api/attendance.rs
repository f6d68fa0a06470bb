//! attendance
