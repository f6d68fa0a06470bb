//! The tantivy schema of a worker document and the one function that turns a profile into a document.
//!
//! The document is lean on purpose: nothing is stored (the profile lives in the roster), terms serve the
//! hard filters, and fast fields serve the checks the collector makes without touching stored fields.

use tantivy::TantivyDocument;
use tantivy::schema::{
    FAST, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::cells;
use crate::domain::{SkillName, Worker};

/// The fields of a worker document, looked up once when the schema is built.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    /// The worker id: indexed so an update can delete the old document by term, fast for search order.
    pub id: tantivy::schema::Field,
    /// The position of the worker in the roster; the collector maps documents to profiles through it.
    pub slot: tantivy::schema::Field,
    /// The agency, as a raw u64 term.
    pub agency: tantivy::schema::Field,
    /// `name@level` for every level from 1 to the worker's level, so `name@3` matches level 3 and above.
    pub skill: tantivy::schema::Field,
    /// Language tags, raw.
    pub language: tantivy::schema::Field,
    /// Certifications, raw.
    pub certification: tantivy::schema::Field,
    /// The home cell and its parents, tagged with the worker's travel band (see `cells`).
    pub reach: tantivy::schema::Field,
    /// The plain home cells at the search resolutions (see `cells`).
    pub cell: tantivy::schema::Field,
    /// Name and bio, tokenized, doc ids only (no positions: searches are all-words, never phrases).
    pub text: tantivy::schema::Field,
    /// Home latitude, for the exact distance check.
    pub lat: tantivy::schema::Field,
    /// Home longitude, for the exact distance check.
    pub lon: tantivy::schema::Field,
    /// The worker's own travel limit in km.
    pub travel: tantivy::schema::Field,
    /// Average rating, 0 when unrated.
    pub rating: tantivy::schema::Field,
    /// Attendance rate, 0 to 1.
    pub reliability: tantivy::schema::Field,
    /// Completed shifts.
    pub completed: tantivy::schema::Field,
}

/// Builds the schema and names its fields.
pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text_opts = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_index_option(IndexRecordOption::Basic),
    );
    let fields = Fields {
        id: b.add_u64_field("id", INDEXED | FAST),
        slot: b.add_u64_field("slot", FAST),
        agency: b.add_u64_field("agency", INDEXED),
        skill: b.add_text_field("skill", STRING),
        language: b.add_text_field("language", STRING),
        certification: b.add_text_field("certification", STRING),
        reach: b.add_u64_field("reach", INDEXED),
        cell: b.add_u64_field("cell", INDEXED),
        text: b.add_text_field("text", text_opts),
        lat: b.add_f64_field("lat", FAST),
        lon: b.add_f64_field("lon", FAST),
        travel: b.add_f64_field("travel", FAST),
        rating: b.add_f64_field("rating", FAST),
        reliability: b.add_f64_field("reliability", FAST),
        completed: b.add_u64_field("completed", FAST),
    };
    (b.build(), fields)
}

/// The indexed term for "has `name` at level `level` or above".
pub(crate) fn skill_term(name: &SkillName, level: u8) -> String {
    format!("{}@{}", name.as_str(), level)
}

/// The document of one worker at one roster slot.
pub(crate) fn document(f: &Fields, worker: &Worker, slot: u32) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_u64(f.id, worker.id.get());
    doc.add_u64(f.slot, u64::from(slot));
    doc.add_u64(f.agency, worker.agency.get());
    for s in &worker.skills {
        for level in 1..=s.level.get() {
            doc.add_text(f.skill, skill_term(&s.name, level));
        }
    }
    for l in &worker.languages {
        doc.add_text(f.language, l.as_str());
    }
    for c in &worker.certifications {
        doc.add_text(f.certification, c.as_str());
    }
    for t in cells::home_terms(worker.home, worker.max_travel_km.km()) {
        doc.add_u64(f.reach, t);
    }
    for c in cells::home_cells(worker.home) {
        doc.add_u64(f.cell, c);
    }
    doc.add_text(f.text, &worker.name);
    if !worker.bio.is_empty() {
        doc.add_text(f.text, &worker.bio);
    }
    doc.add_f64(f.lat, worker.home.lat());
    doc.add_f64(f.lon, worker.home.lon());
    doc.add_f64(f.travel, worker.max_travel_km.km());
    doc.add_f64(f.rating, worker.stats.rating_avg().unwrap_or(0.0));
    doc.add_f64(f.reliability, worker.stats.attendance_rate());
    doc.add_u64(f.completed, u64::from(worker.stats.completed_shifts));
    doc
}
