//! Hand-built chorales for the unit tests of the training doors.

use fugue_data::{Dataset, Split};
use fugue_score::{KeySignature, Note, Score, Text, Tick, TimeSignature, Track};
use fugue_tokens::chorale::{FERMATA_MARKER, VOICE_NAMES};

/// A chorale in G major, 4/4: quarter chords, a held chord under a
/// fermata, the alto resting a beat.
pub fn chorale() -> Score<Tick> {
    let mut s = Score::new(480);
    s.time_signatures.push(TimeSignature::new(0, 4, 4));
    s.key_signatures.push(KeySignature {
        time: 0,
        key: 1,
        minor: false,
    });
    let parts: [&[(i64, i64, u8)]; 4] = [
        &[(0, 4, 67), (4, 4, 66), (8, 8, 67)],
        &[(0, 4, 62), (8, 8, 62)],
        &[(0, 4, 59), (4, 4, 57), (8, 8, 59)],
        &[(0, 4, 43), (4, 4, 50), (8, 8, 43)],
    ];
    for (v, notes) in parts.iter().enumerate() {
        let mut t = Track::new(VOICE_NAMES[v], 0, v as u8);
        t.notes = notes
            .iter()
            .map(|&(on, d, p)| Note::new(on * 120, d * 120, p, 80))
            .collect();
        s.tracks.push(t);
    }
    s.markers.push(Text {
        time: 8 * 120,
        text: FERMATA_MARKER.into(),
    });
    s
}

/// A dataset of these scores, named `0.mxl`, `1.mxl`, ...
pub fn dataset(scores: Vec<(Split, Score<Tick>)>) -> Dataset {
    let named = scores
        .into_iter()
        .enumerate()
        .map(|(i, (split, s))| (format!("{i}.mxl"), split, s));
    Dataset::from_scores("test", named)
}
