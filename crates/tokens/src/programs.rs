//! `Program` tokens: tracks that keep their instrument, MidiTok's
//! `use_programs` (REMI with programs and time signatures is REMI+: von
//! Rütte et al., "FIGARO: Generating Symbolic Music with Fine-Grained
//! Artistic Control", ICLR 2023).
//!
//! A track's program is its General MIDI program, or `-1` for drums (MidiTok's
//! convention; a drum track decodes with program 0 on channel 10). Three
//! layouts, chosen in [`BeatConfig`]:
//! - one stream (`one_token_stream_for_programs`, the default): every track
//!   in one sequence ordered by time, `Program_p` before each note's `Pitch`;
//! - one stream with `program_changes`: `Program_p` only before a note whose
//!   program differs from the previous note's (a MIDI program change);
//! - one sequence per track: `Program_p` before each note, or with
//!   `program_changes` once, as the sequence's first token.
//!
//! Preprocessing, as MidiTok's: tracks whose program is not in `programs`
//! are dropped; in one stream, tracks of one program are merged (their notes
//! sorted by time, duration, pitch, velocity, as symusic sorts) since the
//! tokens cannot tell them apart, and the tracks are ordered by their first
//! note (ties: the earlier track), the order in which decoding meets them.
//! Notes of different tracks at one time are written in the file's track
//! order, as MidiTok writes them, which that reordering loses: so `encode`
//! walks the tracks in file order ([`crate::beat_grid::Grid::preprocess_in_file_order`]) and
//! `encode_preprocessed` of the reordered score writes such ties in the
//! reordered track order. Both decode to `preprocess(s)`.
//! Names are dropped. Only REMI, TSD, Octuple and MMM take programs here; the
//! others refuse the setting by name (MidiTok also offers them for MIDI-Like,
//! Structured and CP-Word: not built yet).

use crate::beat_grid::{config_error, BeatConfig};
use crate::{Report, TokenError};
use fugue_score::{Tick, Track};

/// Check the program settings (called by [`crate::beat_grid::Grid::new`]).
pub(crate) fn validate(c: &BeatConfig) -> Result<(), TokenError> {
    if c.program_changes && !c.use_programs {
        return Err(config_error("program_changes", "needs use_programs"));
    }
    if c.use_programs && c.programs.is_empty() {
        return Err(config_error("programs", "no program while use_programs is on"));
    }
    if let Some(p) = c.programs.iter().find(|&&p| p < -1) {
        return Err(config_error("programs", format!("{p} is not in -1..=127")));
    }
    if c.max_bar_embedding == Some(0) {
        return Err(config_error("max_bar_embedding", "must be at least 1"));
    }
    Ok(())
}

/// Refuse program settings in a scheme that does not write `Program` tokens.
pub(crate) fn refuse(c: &BeatConfig, scheme: &str) -> Result<(), TokenError> {
    if c.use_programs {
        return Err(config_error(
            "use_programs",
            format!("{scheme} has no Program tokens here (REMI, TSD, Octuple and MMM have)"),
        ));
    }
    Ok(())
}

/// Refuse `max_bar_embedding` in a scheme other than Octuple.
pub(crate) fn refuse_bar_embedding(c: &BeatConfig, scheme: &str) -> Result<(), TokenError> {
    if c.max_bar_embedding.is_some() {
        return Err(config_error(
            "max_bar_embedding",
            format!("{scheme} does not number bars (only Octuple does)"),
        ));
    }
    Ok(())
}

/// A track's program as the tokens write it: `-1` for drums.
pub fn program_of(track: &Track<Tick>) -> i8 {
    if track.is_drum {
        -1
    } else {
        track.program.min(127) as i8
    }
}

/// The empty track a preprocessed part starts from: without programs every
/// track is program 0 (drums keep channel 10); with programs it keeps its
/// program (drums: program 0, channel 10).
pub(crate) fn part(c: &BeatConfig, tr: &Track<Tick>) -> Track<Tick> {
    let program = if c.use_programs && !tr.is_drum { tr.program } else { 0 };
    Track::new("", program, if tr.is_drum { 9 } else { 0 })
}

/// The track a decoder fills for a program (see [`part`]).
pub(crate) fn track_for(program: i8) -> Track<Tick> {
    if program < 0 {
        Track::new("", 0, 9)
    } else {
        Track::new("", program as u8, 0)
    }
}

/// Drop tracks of programs the configuration does not keep; in one stream,
/// merge the tracks of each program into the first of them.
pub(crate) fn merge_and_filter(c: &BeatConfig, tracks: &mut Vec<Track<Tick>>, report: &mut Report) {
    if !c.use_programs {
        return;
    }
    let before = tracks.len();
    tracks.retain(|t| c.programs.contains(&program_of(t)));
    report.tracks_dropped += before - tracks.len();
    if !c.one_token_stream_for_programs {
        return;
    }
    // (track, whether others were merged into it)
    let mut merged: Vec<(Track<Tick>, bool)> = Vec::with_capacity(tracks.len());
    for t in tracks.drain(..) {
        match merged.iter_mut().find(|m| program_of(&m.0) == program_of(&t)) {
            Some(m) => {
                m.0.notes.extend(t.notes);
                m.1 = true;
                report.tracks_merged += 1;
            }
            None => merged.push((t, false)),
        }
    }
    let merged = merged
        .into_iter()
        .map(|(mut m, any)| {
            if any {
                // symusic's note order; stable, so equal notes keep track order.
                m.notes.sort_by_key(|n| (n.time, n.duration, n.pitch, n.velocity));
            }
            m
        })
        .collect();
    *tracks = merged;
}

/// In one stream, order the tracks by their first note (decoding's order).
pub(crate) fn order(c: &BeatConfig, tracks: &mut [Track<Tick>]) {
    if c.use_programs && c.one_token_stream_for_programs {
        tracks.sort_by_key(|t| t.notes.first().map_or(i64::MAX, |n| n.time));
    }
}
