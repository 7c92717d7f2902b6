//! What the MidiTok-family encoders walk, and the note decoder they share.
//!
//! An encoder turns a preprocessed score into one or more event lists (one
//! per track, or one for all tracks when programs share a stream, see
//! [`crate::programs`]): the time signatures first, then the notes track by
//! track, stably sorted by time — MidiTok's order, which its token order
//! follows. [`ProgramTokens`] says where `Program` tokens go;
//! [`NoteDecoder`] rebuilds notes (and their tracks, by program) from
//! `Program Pitch Velocity Duration` tokens.

use crate::beat_grid::{BeatConfig, DEFAULT_VELOCITY};
use crate::programs::{program_of, track_for};
use crate::{Token, TokenError};
use fugue_score::{Note, Score, Tick, TimeSignature, Track};

/// The instrument of a note's track: program (`-1` drums) and drum flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    /// The program, `-1` for drums.
    pub program: i8,
    /// A drum track.
    pub drum: bool,
}

impl Part {
    /// The part of a track.
    pub fn of(track: &Track<Tick>) -> Part {
        Part {
            program: program_of(track),
            drum: track.is_drum,
        }
    }
}

/// What the MidiTok-family schemes write tokens for.
#[derive(Clone, Copy, Debug)]
pub enum GridEvent<'a> {
    /// A time-signature change (numerator, denominator).
    Sig(u8, u8),
    /// A note of a part.
    Note(&'a Note<Tick>, Part),
}

/// The tracks to encode: a score without tracks still gives one (empty)
/// sequence, as MidiTok does.
pub fn parts<'a>(score: &'a Score<Tick>, empty: &'a Track<Tick>) -> Vec<&'a Track<Tick>> {
    if score.tracks.is_empty() {
        vec![empty]
    } else {
        score.tracks.iter().collect()
    }
}

/// Events of some tracks as MidiTok orders them: the time signatures first,
/// then the notes in track order, stably sorted by time.
pub fn events_of<'a>(sigs: &[TimeSignature<Tick>], tracks: &[&'a Track<Tick>]) -> Vec<(i64, GridEvent<'a>)> {
    let notes: usize = tracks.iter().map(|t| t.notes.len()).sum();
    let mut events: Vec<(i64, GridEvent)> = Vec::with_capacity(sigs.len() + notes);
    events.extend(
        sigs.iter()
            .map(|t| (t.time, GridEvent::Sig(t.numerator, t.denominator))),
    );
    for tr in tracks {
        let part = Part::of(tr);
        events.extend(tr.notes.iter().map(|n| (n.time, GridEvent::Note(n, part))));
    }
    events.sort_by_key(|e| e.0);
    events
}

/// Events at their ticks, in the order an encoder writes them.
pub type Events<'a> = Vec<(i64, GridEvent<'a>)>;

/// The event lists of a score, one per output sequence: all tracks together
/// in one stream with programs, else one per track, with the track's part
/// (`None` for the empty sequence of a score without tracks).
pub fn sequences<'a>(
    c: &BeatConfig,
    sigs: &[TimeSignature<Tick>],
    score: &'a Score<Tick>,
    empty: &'a Track<Tick>,
) -> Vec<(Option<Part>, Events<'a>)> {
    let parts = parts(score, empty);
    let has_tracks = !score.tracks.is_empty();
    if c.use_programs && c.one_token_stream_for_programs {
        let first = parts.first().filter(|_| has_tracks).map(|t| Part::of(t));
        vec![(first, events_of(sigs, &parts))]
    } else {
        parts
            .into_iter()
            .map(|t| (Some(Part::of(t)).filter(|_| has_tracks), events_of(sigs, &[t])))
            .collect()
    }
}

/// Where `Program` tokens go (see [`crate::programs`]).
#[derive(Clone, Debug)]
pub struct ProgramTokens {
    before_each_note: bool,
    on_change: bool,
    previous: Option<i8>,
}

impl ProgramTokens {
    /// The placement for a configuration; with per-track program changes the
    /// sequence's first token, pushed here.
    pub fn start(c: &BeatConfig, part: Option<Part>, tokens: &mut Vec<Token>, ticks: &mut Vec<i64>) -> Self {
        let one_stream = c.one_token_stream_for_programs;
        if let Some(part) = part.filter(|_| c.use_programs && c.program_changes && !one_stream) {
            tokens.push(Token::Program(part.program));
            ticks.push(0);
        }
        ProgramTokens {
            before_each_note: c.use_programs && !c.program_changes,
            on_change: c.use_programs && c.program_changes && one_stream,
            previous: None,
        }
    }

    /// Push the `Program` token a note needs, if any.
    pub fn before_note(&mut self, part: Part, time: i64, tokens: &mut Vec<Token>, ticks: &mut Vec<i64>) {
        if self.before_each_note || (self.on_change && self.previous != Some(part.program)) {
            tokens.push(Token::Program(part.program));
            ticks.push(time);
        }
        self.previous = Some(part.program);
    }
}

/// Decoding state for the `[Program] Pitch [Velocity] Duration` notes shared
/// by REMI, TSD and Structured; with programs in one stream, one track per
/// program in the order they first appear.
pub struct NoteDecoder {
    pitch: Option<(u8, bool)>,
    velocity: u8,
    use_velocities: bool,
    use_programs: bool,
    one_stream: bool,
    program: i8,
    /// Per-track sequences: the first `Program` token gives the track's program.
    sequence_program: Option<i8>,
    tracks: Vec<(i8, Track<Tick>)>,
}

impl NoteDecoder {
    /// A decoder for one sequence.
    pub fn new(c: &BeatConfig) -> Self {
        NoteDecoder {
            pitch: None,
            velocity: DEFAULT_VELOCITY,
            use_velocities: c.use_velocities,
            use_programs: c.use_programs,
            one_stream: c.use_programs && c.one_token_stream_for_programs,
            program: 0,
            sequence_program: None,
            tracks: Vec::new(),
        }
    }

    /// Take a note token at `now` (a `Duration` completes a note at
    /// `ticks_per_beat`); returns whether the token was one.
    pub fn feed(&mut self, t: &Token, now: i64, ticks_per_beat: i64, index: usize) -> Result<bool, TokenError> {
        match *t {
            Token::Pitch(p) => self.pitch = Some((p, false)),
            Token::PitchDrum(p) => self.pitch = Some((p, true)),
            Token::Velocity(v) => self.velocity = v,
            Token::Program(p) if self.use_programs => {
                self.program = p;
                self.sequence_program.get_or_insert(p);
            }
            Token::Duration(d) => {
                let (p, drum) = self.pitch.take().ok_or_else(|| TokenError::Decode {
                    index,
                    token: t.to_string(),
                    message: "a Duration without its Pitch".into(),
                })?;
                let v = if self.use_velocities {
                    self.velocity
                } else {
                    DEFAULT_VELOCITY
                };
                self.push(Note::new(now, d.ticks(ticks_per_beat), p, v), drum);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Add a decoded note to its track.
    pub fn push(&mut self, note: Note<Tick>, drum: bool) {
        let key = if self.one_stream { self.program } else { 0 };
        let i = match self.tracks.iter().position(|t| t.0 == key) {
            Some(i) => i,
            None => {
                self.tracks.push((key, Track::new("", 0, 0)));
                self.tracks.len() - 1
            }
        };
        let track = &mut self.tracks[i].1;
        track.is_drum |= drum;
        track.notes.push(note);
    }

    /// The decoded tracks that have notes.
    pub fn finish(self) -> Vec<Track<Tick>> {
        let sequence_program = self.sequence_program.unwrap_or(0);
        let (use_programs, one_stream) = (self.use_programs, self.one_stream);
        self.tracks
            .into_iter()
            .filter_map(|(program, t)| {
                if !use_programs {
                    return finish_track(t);
                }
                let mut track = track_for(if one_stream { program } else { sequence_program });
                track.notes = t.notes;
                (!track.notes.is_empty()).then_some(track)
            })
            .collect()
    }
}

/// A decoded track as a score part: drums on channel 10; `None` when empty.
pub fn finish_track(mut track: Track<Tick>) -> Option<Track<Tick>> {
    if track.is_drum {
        track.channel = 9;
    }
    (!track.notes.is_empty()).then_some(track)
}
