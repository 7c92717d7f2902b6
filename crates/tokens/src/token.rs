//! Tokens as an enum, spelled as the papers' code spells them.
//!
//! A token is a value (`Token::Pitch(60)`), never a string inside fugue; its
//! `Display` gives the text form and `FromStr` parses it back. The MidiTok
//! family uses MidiTok's spelling (`Bar_None`, `Position_0`, `Pitch_60`,
//! `Velocity_63`, `Duration_1.0.8`, `TimeShift_0.4.8`, `TimeSig_3/4`...), so
//! token sequences can be compared with MidiTok's word for word. Performance
//! events use Magenta's names (`NOTE_ON_60`, `NOTE_OFF_60`, `TIME_SHIFT_10`
//! in 10 ms steps, `VELOCITY_32` as a bin). The chorale schemes use their
//! papers' code's spellings: DeepBach's `__`, `rest`, `START`, `END`;
//! BachBot's `(60, False)`, `|||`, `(.)`; TonicNet's `end`, `Rest`, and bare
//! MIDI numbers (`60`) for a voice's pitch.

use std::fmt;
use std::str::FromStr;

/// A duration on the beat grid, as MidiTok writes it: `beats.positions.resolution`,
/// i.e. `beats + positions / resolution` beats (a beat is the time signature's
/// denominator note).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Beats {
    /// Whole beats.
    pub beats: u16,
    /// Positions past the whole beats.
    pub pos: u16,
    /// Positions per beat.
    pub res: u16,
}

impl Beats {
    /// The duration in ticks at `ticks_per_beat`, as MidiTok computes it.
    pub fn ticks(&self, ticks_per_beat: i64) -> i64 {
        (i64::from(self.beats) * i64::from(self.res) + i64::from(self.pos)) * ticks_per_beat
            / i64::from(self.res.max(1))
    }
}

impl fmt::Display for Beats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.beats, self.pos, self.res)
    }
}

impl FromStr for Beats {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut it = s.split('.').map(|p| p.parse::<u16>());
        match (it.next(), it.next(), it.next(), it.next()) {
            (Some(Ok(beats)), Some(Ok(pos)), Some(Ok(res)), None) if res > 0 => Ok(Beats { beats, pos, res }),
            _ => Err(format!("'{s}' is not beats.positions.resolution")),
        }
    }
}

/// Every token of every scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Token {
    /// Padding.
    Pad,
    /// Beginning of sequence.
    Bos,
    /// End of sequence.
    Eos,
    /// Masked position (for infilling and masked-language training).
    Mask,
    /// A new bar.
    Bar,
    /// A position inside the bar, in beat-resolution steps.
    Position(u16),
    /// A pitched note's pitch.
    Pitch(u8),
    /// A drum note's pitch (MidiTok's `PitchDrum`).
    PitchDrum(u8),
    /// A note's velocity (a bin value, e.g. 63).
    Velocity(u8),
    /// A note's duration on the beat grid.
    Duration(Beats),
    /// Time moving forward on the beat grid.
    TimeShift(Beats),
    /// A note starts (MIDI-Like).
    NoteOn(u8),
    /// A note ends (MIDI-Like).
    NoteOff(u8),
    /// A drum note starts (MIDI-Like with drum tokens).
    DrumOn(u8),
    /// A drum note ends (MIDI-Like with drum tokens).
    DrumOff(u8),
    /// A time-signature change.
    TimeSig(u8, u8),
    /// CP-Word: the step is a metric one (bar or position).
    FamilyMetric,
    /// CP-Word: the step is a note.
    FamilyNote,
    /// CP-Word: a slot the step does not use.
    Ignore,
    /// Performance events: a note starts (Oore et al. 2018).
    PerfNoteOn(u8),
    /// Performance events: a note ends.
    PerfNoteOff(u8),
    /// Performance events: time moves by this many 10 ms steps (1..=100).
    PerfShift(u8),
    /// Performance events: the velocity bin (1..=32) of the following notes.
    PerfVelocity(u8),
    /// Chorale schemes: a voice's MIDI pitch, written as the bare number
    /// (`60`), as TonicNet's tokeniser keys are and as fugue writes DeepBach's
    /// note names.
    VoicePitch(u8),
    /// DeepBach: the previous note (or rest) of the voice goes on (`__`).
    Hold,
    /// DeepBach: the voice is silent (`rest`).
    Rest,
    /// DeepBach, BachBot: before the piece (`START`).
    Start,
    /// DeepBach, BachBot: after the piece (`END`).
    End,
    /// BachBot: a sounding note and whether it continues a note already
    /// sounding (`(60, True)`) or starts here (`(60, False)`).
    NoteTie(u8, bool),
    /// BachBot: the end of a 16th-note frame (`|||`).
    FrameEnd,
    /// BachBot: the frame is under a fermata (`(.)`).
    Fermata,
    /// TonicNet: the chord class of a step (0..=47 root + 12 × quality, 48
    /// other, 49 none), written `Chord_n`.
    Chord(u8),
    /// TonicNet: the end of the piece (`end`).
    TnEnd,
    /// TonicNet: a silent voice (`Rest`).
    TnRest,
    /// The MIDI program of the following notes (`Program_-1` is drums), as
    /// MidiTok writes it with `use_programs` (REMI+, Octuple, MMM).
    Program(i8),
    /// Octuple: the bar number of a note (`Bar_12`), up to `max_bar_embedding`.
    BarIndex(u16),
    /// MMM: a track's sequence begins (`Track_Start`).
    TrackStart,
    /// MMM: a track's sequence ends (`Track_End`).
    TrackEnd,
    /// MMM: a masked bar whose content comes after a `FillBar_Start` (`Infill_Bar`).
    InfillBar,
    /// MMM: the content of a masked bar begins (`FillBar_Start`).
    FillBarStart,
    /// MMM: the content of a masked bar ends (`FillBar_End`).
    FillBarEnd,
    /// Melody events (Magenta's Melody RNN): the sounding note stops and
    /// silence begins (`NOTE_OFF`, Magenta's −1). Its NO_EVENT (−2) is
    /// [`Token::Hold`], a note is [`Token::VoicePitch`].
    MelodyOff,
}

/// The kind of a token, for grammars and per-type statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenType {
    /// PAD, BOS, EOS, MASK.
    Special,
    /// `Bar`.
    Bar,
    /// `Position`.
    Position,
    /// `Pitch`.
    Pitch,
    /// `PitchDrum`.
    PitchDrum,
    /// `Velocity`.
    Velocity,
    /// `Duration`.
    Duration,
    /// `TimeShift`.
    TimeShift,
    /// `NoteOn`.
    NoteOn,
    /// `NoteOff`.
    NoteOff,
    /// `DrumOn`.
    DrumOn,
    /// `DrumOff`.
    DrumOff,
    /// `TimeSig`.
    TimeSig,
    /// `Family_Metric`.
    FamilyMetric,
    /// `Family_Note`.
    FamilyNote,
    /// `Ignore_None`.
    Ignore,
    /// Performance `NOTE_ON`.
    PerfNoteOn,
    /// Performance `NOTE_OFF`.
    PerfNoteOff,
    /// Performance `TIME_SHIFT`.
    PerfShift,
    /// Performance `VELOCITY`.
    PerfVelocity,
    /// A chorale voice's pitch.
    VoicePitch,
    /// DeepBach's `__`.
    Hold,
    /// A silent voice (`rest`, `Rest`).
    Rest,
    /// `START`.
    Start,
    /// `END`, TonicNet's `end`.
    End,
    /// BachBot's `(pitch, tie)`.
    NoteTie,
    /// BachBot's `|||`.
    FrameEnd,
    /// BachBot's `(.)`.
    Fermata,
    /// TonicNet's chord class.
    Chord,
    /// `Program`.
    Program,
    /// MMM's `Track_Start`.
    TrackStart,
    /// MMM's `Track_End`.
    TrackEnd,
    /// MMM's `Infill_Bar`.
    InfillBar,
    /// MMM's `FillBar_Start`.
    FillBarStart,
    /// MMM's `FillBar_End`.
    FillBarEnd,
}

impl Token {
    /// The token's type.
    pub fn kind(&self) -> TokenType {
        match self {
            Token::Pad | Token::Bos | Token::Eos | Token::Mask => TokenType::Special,
            Token::Bar | Token::BarIndex(_) => TokenType::Bar,
            Token::Position(_) => TokenType::Position,
            Token::Pitch(_) => TokenType::Pitch,
            Token::PitchDrum(_) => TokenType::PitchDrum,
            Token::Velocity(_) => TokenType::Velocity,
            Token::Duration(_) => TokenType::Duration,
            Token::TimeShift(_) => TokenType::TimeShift,
            Token::NoteOn(_) => TokenType::NoteOn,
            Token::NoteOff(_) => TokenType::NoteOff,
            Token::DrumOn(_) => TokenType::DrumOn,
            Token::DrumOff(_) => TokenType::DrumOff,
            Token::TimeSig(..) => TokenType::TimeSig,
            Token::FamilyMetric => TokenType::FamilyMetric,
            Token::FamilyNote => TokenType::FamilyNote,
            Token::Ignore => TokenType::Ignore,
            Token::PerfNoteOn(_) => TokenType::PerfNoteOn,
            Token::PerfNoteOff(_) => TokenType::PerfNoteOff,
            Token::PerfShift(_) => TokenType::PerfShift,
            Token::PerfVelocity(_) => TokenType::PerfVelocity,
            Token::VoicePitch(_) => TokenType::VoicePitch,
            Token::Hold => TokenType::Hold,
            Token::Rest | Token::TnRest => TokenType::Rest,
            Token::Start => TokenType::Start,
            Token::End | Token::TnEnd => TokenType::End,
            Token::NoteTie(..) => TokenType::NoteTie,
            Token::FrameEnd => TokenType::FrameEnd,
            Token::Fermata => TokenType::Fermata,
            Token::Chord(_) => TokenType::Chord,
            Token::Program(_) => TokenType::Program,
            Token::TrackStart => TokenType::TrackStart,
            Token::TrackEnd => TokenType::TrackEnd,
            Token::InfillBar => TokenType::InfillBar,
            Token::FillBarStart => TokenType::FillBarStart,
            Token::FillBarEnd => TokenType::FillBarEnd,
            Token::MelodyOff => TokenType::NoteOff,
        }
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Pad => f.write_str("PAD_None"),
            Token::Bos => f.write_str("BOS_None"),
            Token::Eos => f.write_str("EOS_None"),
            Token::Mask => f.write_str("MASK_None"),
            Token::Bar => f.write_str("Bar_None"),
            Token::Position(p) => write!(f, "Position_{p}"),
            Token::Pitch(p) => write!(f, "Pitch_{p}"),
            Token::PitchDrum(p) => write!(f, "PitchDrum_{p}"),
            Token::Velocity(v) => write!(f, "Velocity_{v}"),
            Token::Duration(d) => write!(f, "Duration_{d}"),
            Token::TimeShift(d) => write!(f, "TimeShift_{d}"),
            Token::NoteOn(p) => write!(f, "NoteOn_{p}"),
            Token::NoteOff(p) => write!(f, "NoteOff_{p}"),
            Token::DrumOn(p) => write!(f, "DrumOn_{p}"),
            Token::DrumOff(p) => write!(f, "DrumOff_{p}"),
            Token::TimeSig(n, d) => write!(f, "TimeSig_{n}/{d}"),
            Token::FamilyMetric => f.write_str("Family_Metric"),
            Token::FamilyNote => f.write_str("Family_Note"),
            Token::Ignore => f.write_str("Ignore_None"),
            Token::PerfNoteOn(p) => write!(f, "NOTE_ON_{p}"),
            Token::PerfNoteOff(p) => write!(f, "NOTE_OFF_{p}"),
            Token::PerfShift(s) => write!(f, "TIME_SHIFT_{s}"),
            Token::PerfVelocity(v) => write!(f, "VELOCITY_{v}"),
            Token::VoicePitch(p) => write!(f, "{p}"),
            Token::Hold => f.write_str("__"),
            Token::Rest => f.write_str("rest"),
            Token::Start => f.write_str("START"),
            Token::End => f.write_str("END"),
            Token::NoteTie(p, tie) => write!(f, "({p}, {})", if *tie { "True" } else { "False" }),
            Token::FrameEnd => f.write_str("|||"),
            Token::Fermata => f.write_str("(.)"),
            Token::Chord(c) => write!(f, "Chord_{c}"),
            Token::TnEnd => f.write_str("end"),
            Token::TnRest => f.write_str("Rest"),
            Token::Program(p) => write!(f, "Program_{p}"),
            Token::BarIndex(b) => write!(f, "Bar_{b}"),
            Token::TrackStart => f.write_str("Track_Start"),
            Token::TrackEnd => f.write_str("Track_End"),
            Token::InfillBar => f.write_str("Infill_Bar"),
            Token::FillBarStart => f.write_str("FillBar_Start"),
            Token::FillBarEnd => f.write_str("FillBar_End"),
            Token::MelodyOff => f.write_str("NOTE_OFF"),
        }
    }
}

/// A token's text did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a token: {reason}")]
pub struct ParseTokenError {
    /// The text.
    pub text: String,
    /// Why.
    pub reason: String,
}

impl FromStr for Token {
    type Err = ParseTokenError;
    fn from_str(s: &str) -> Result<Self, ParseTokenError> {
        let err = |reason: &str| ParseTokenError {
            text: s.to_string(),
            reason: reason.to_string(),
        };
        let num = |v: &str| v.parse::<u8>().map_err(|_| err("value is not a number in 0..=255"));
        // The chorale schemes' spellings have no `type_value` shape.
        match s {
            "__" => return Ok(Token::Hold),
            "rest" => return Ok(Token::Rest),
            "START" => return Ok(Token::Start),
            "END" => return Ok(Token::End),
            "|||" => return Ok(Token::FrameEnd),
            "(.)" => return Ok(Token::Fermata),
            "end" => return Ok(Token::TnEnd),
            "Rest" => return Ok(Token::TnRest),
            "NOTE_OFF" => return Ok(Token::MelodyOff),
            _ => {}
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Token::VoicePitch(num(s)?));
        }
        if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            let (p, tie) = inner.split_once(", ").ok_or_else(|| err("not (pitch, True|False)"))?;
            let tie = match tie {
                "True" => true,
                "False" => false,
                _ => return Err(err("tie flag is not True or False")),
            };
            return Ok(Token::NoteTie(num(p)?, tie));
        }
        for (prefix, make) in [
            ("NOTE_ON_", Token::PerfNoteOn as fn(u8) -> Token),
            ("NOTE_OFF_", Token::PerfNoteOff),
            ("TIME_SHIFT_", Token::PerfShift),
            ("VELOCITY_", Token::PerfVelocity),
        ] {
            if let Some(v) = s.strip_prefix(prefix) {
                return Ok(make(num(v)?));
            }
        }
        let (kind, value) = s.split_once('_').ok_or_else(|| err("no '_' between type and value"))?;
        let beats = |v: &str| v.parse::<Beats>().map_err(|e| err(&e));
        Ok(match (kind, value) {
            ("PAD", "None") => Token::Pad,
            ("BOS", "None") => Token::Bos,
            ("EOS", "None") => Token::Eos,
            ("MASK", "None") => Token::Mask,
            ("Bar", "None") => Token::Bar,
            ("Family", "Metric") => Token::FamilyMetric,
            ("Family", "Note") => Token::FamilyNote,
            ("Ignore", "None") => Token::Ignore,
            ("Track", "Start") => Token::TrackStart,
            ("Track", "End") => Token::TrackEnd,
            ("Infill", "Bar") => Token::InfillBar,
            ("FillBar", "Start") => Token::FillBarStart,
            ("FillBar", "End") => Token::FillBarEnd,
            ("Bar", v) => Token::BarIndex(v.parse().map_err(|_| err("bad bar number"))?),
            ("Program", v) => Token::Program(v.parse().map_err(|_| err("program is not in -128..=127"))?),
            ("Position", v) => Token::Position(v.parse().map_err(|_| err("bad position"))?),
            ("Pitch", v) => Token::Pitch(num(v)?),
            ("PitchDrum", v) => Token::PitchDrum(num(v)?),
            ("Velocity", v) => Token::Velocity(num(v)?),
            ("Duration", v) => Token::Duration(beats(v)?),
            ("TimeShift", v) => Token::TimeShift(beats(v)?),
            ("NoteOn", v) => Token::NoteOn(num(v)?),
            ("NoteOff", v) => Token::NoteOff(num(v)?),
            ("DrumOn", v) => Token::DrumOn(num(v)?),
            ("DrumOff", v) => Token::DrumOff(num(v)?),
            ("Chord", v) => Token::Chord(num(v)?),
            ("TimeSig", v) => {
                let (n, d) = v.split_once('/').ok_or_else(|| err("time signature is not n/d"))?;
                Token::TimeSig(num(n)?, num(d)?)
            }
            _ => return Err(err("unknown token type")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        let b = Beats {
            beats: 1,
            pos: 4,
            res: 8,
        };
        for t in [
            Token::Pad,
            Token::Bos,
            Token::Eos,
            Token::Mask,
            Token::Bar,
            Token::Position(31),
            Token::Pitch(60),
            Token::PitchDrum(36),
            Token::Velocity(63),
            Token::Duration(b),
            Token::TimeShift(b),
            Token::NoteOn(21),
            Token::NoteOff(108),
            Token::DrumOn(36),
            Token::DrumOff(36),
            Token::TimeSig(6, 8),
            Token::FamilyMetric,
            Token::FamilyNote,
            Token::Ignore,
            Token::PerfNoteOn(60),
            Token::PerfNoteOff(60),
            Token::PerfShift(100),
            Token::PerfVelocity(32),
            Token::VoicePitch(60),
            Token::Hold,
            Token::Rest,
            Token::Start,
            Token::End,
            Token::NoteTie(60, false),
            Token::NoteTie(127, true),
            Token::FrameEnd,
            Token::Fermata,
            Token::Chord(49),
            Token::TnEnd,
            Token::TnRest,
            Token::Program(-1),
            Token::Program(127),
            Token::BarIndex(59),
            Token::TrackStart,
            Token::TrackEnd,
            Token::InfillBar,
            Token::FillBarStart,
            Token::FillBarEnd,
            Token::MelodyOff,
        ] {
            let text = t.to_string();
            assert_eq!(text.parse::<Token>().unwrap(), t, "{text}");
        }
        assert_eq!(Token::Duration(b).to_string(), "Duration_1.4.8");
        assert_eq!(b.ticks(16), 24);
        assert!("Pitch_x".parse::<Token>().is_err());
        assert!("Duration_1.2".parse::<Token>().is_err());
        assert!("Nothing".parse::<Token>().is_err());
        assert_eq!(Token::NoteTie(60, true).to_string(), "(60, True)");
        assert!("(60, Maybe)".parse::<Token>().is_err());
        assert!("300".parse::<Token>().is_err());
        assert_eq!(Token::Program(-1).to_string(), "Program_-1");
        assert_eq!("Bar_None".parse::<Token>().unwrap(), Token::Bar);
        assert!("Program_200".parse::<Token>().is_err());
    }
}
