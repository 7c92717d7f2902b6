//! MMM — Ens & Pasquier, "MMM: Exploring Conditional Multi-Track Music
//! Generation with the Transformer" (2020), as MidiTok 3 writes it.
//!
//! Each track is encoded on its own by a base scheme (REMI by default, or
//! TSD) and the tracks are concatenated into one sequence, each as
//! `Track_Start Program_p <base tokens> Track_End` (MidiTok's `MMM` with
//! `use_programs`, `program_changes` on and one sequence per track, which
//! this scheme sets whatever the configuration says; tracks are not merged).
//! Like MidiTok, notes are `Pitch Velocity Duration` (the paper's
//! `NOTE_OFF` tokens decode worse), and bars are the base scheme's `Bar`
//! tokens (the paper's `BAR_START`/`BAR_END`).
//!
//! **Infilling** (the paper's bar-level inpainting, in the spelling of
//! MidiTok-based MMM code): [`Mmm::infill_sequence`] replaces each masked bar
//! of a track (from its `Bar` token to the next bar or the end of the track)
//! by one `Infill_Bar` token and appends, for each masked bar in order,
//! `FillBar_Start <the bar's tokens> FillBar_End`. A model sees everything up
//! to a `FillBar_Start` and writes the bar and its `FillBar_End`;
//! [`Mmm::splice`] puts generated bars back in place of the placeholders,
//! giving an ordinary MMM sequence to decode. Track-level infilling moves the
//! track to generate to the end ([`Mmm::track_last`]), so the model writes
//! it after `Track_Start Program_p`. Bar infilling needs `Bar` tokens, so it
//! works over the REMI base only.

use crate::beat_grid::BeatConfig;
use crate::remi::Remi;
use crate::tsd::Tsd;
use crate::{Grammar, Preprocessed, TokSeq, Token, TokenError, TokenType, Tokenizer, Vocab};
use fugue_score::{Score, Tick};
use serde::{Deserialize, Serialize};

/// The scheme each track is written in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MmmBase {
    /// REMI (bars and positions); bar infilling works.
    #[default]
    Remi,
    /// TSD (time shifts); no bar infilling.
    Tsd,
}

/// MMM's settings: the base scheme and its beat-grid configuration (whose
/// program settings MMM fixes, see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MmmConfig {
    /// The base scheme (MidiTok's `base_tokenizer`; default REMI).
    pub base: MmmBase,
    /// The beat grid (MidiTok's `TokenizerConfig`, 3.x defaults).
    pub beat: BeatConfig,
}

#[derive(Clone, Debug)]
enum Base {
    Remi(Remi),
    Tsd(Tsd),
}

impl Base {
    fn tok(&self) -> &dyn Tokenizer {
        match self {
            Base::Remi(t) => t,
            Base::Tsd(t) => t,
        }
    }
}

/// The MMM tokenizer.
#[derive(Clone, Debug)]
pub struct Mmm {
    base: Base,
    vocab: Vocab,
}

/// MMM's own tokens, after the base vocabulary.
const MMM_TOKENS: [Token; 5] = [
    Token::TrackStart,
    Token::TrackEnd,
    Token::InfillBar,
    Token::FillBarStart,
    Token::FillBarEnd,
];

fn bad(index: usize, t: Option<&Token>, message: impl Into<String>) -> TokenError {
    TokenError::Decode {
        index,
        token: t.map(|t| t.to_string()).unwrap_or_default(),
        message: message.into(),
    }
}

impl Mmm {
    /// A tokenizer for a configuration (validated).
    pub fn new(config: MmmConfig) -> Result<Self, TokenError> {
        let beat = BeatConfig {
            use_programs: true,
            program_changes: true,
            one_token_stream_for_programs: false,
            ..config.beat
        };
        let base = match config.base {
            MmmBase::Remi => Base::Remi(Remi::new(beat)?),
            MmmBase::Tsd => Base::Tsd(Tsd::new(beat)?),
        };
        let mut tokens = base.tok().vocab().tokens().to_vec();
        tokens.extend(MMM_TOKENS);
        let vocab = Vocab::new(tokens)?;
        Ok(Mmm { base, vocab })
    }

    /// The tracks of an MMM sequence: the tokens between each `Track_Start`
    /// and its `Track_End`, with the index of the `Track_Start`.
    pub fn tracks<'a>(&self, seq: &'a [Token]) -> Result<Vec<(usize, &'a [Token])>, TokenError> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < seq.len() {
            match seq[i] {
                Token::TrackStart => {
                    let len = seq[i + 1..]
                        .iter()
                        .position(|t| *t == Token::TrackEnd)
                        .ok_or_else(|| bad(i, seq.get(i), "a Track_Start without its Track_End"))?;
                    out.push((i, &seq[i + 1..i + 1 + len]));
                    i += len + 2;
                }
                Token::FillBarStart => break, // the fill section follows the tracks
                Token::Pad | Token::Bos | Token::Eos | Token::Mask => i += 1,
                _ => return Err(bad(i, seq.get(i), "outside any track")),
            }
        }
        Ok(out)
    }

    /// The bars of one track's tokens: the range from each `Bar` (or
    /// `Infill_Bar`) to the next one or the end.
    fn bars(track: &[Token]) -> Vec<std::ops::Range<usize>> {
        let starts: Vec<usize> = track
            .iter()
            .enumerate()
            .filter(|(_, t)| matches!(t, Token::Bar | Token::InfillBar))
            .map(|(i, _)| i)
            .collect();
        starts
            .iter()
            .enumerate()
            .map(|(k, &s)| s..starts.get(k + 1).copied().unwrap_or(track.len()))
            .collect()
    }

    /// The infilling layout of an MMM sequence (module docs): in track
    /// `track`, each bar of `bars` (0 = the track's first `Bar`) becomes
    /// `Infill_Bar`, and its tokens follow the tracks between `FillBar_Start`
    /// and `FillBar_End`, in bar order. The prompt a model continues is the
    /// result up to and including the first `FillBar_Start`.
    pub fn infill_sequence(&self, seq: &[Token], track: usize, bars: &[usize]) -> Result<Vec<Token>, TokenError> {
        if !matches!(self.base, Base::Remi(_)) {
            return Err(TokenError::Config {
                field: "base".into(),
                message: "bar infilling needs Bar tokens: use the REMI base".into(),
            });
        }
        let tracks = self.tracks(seq)?;
        let &(start, body) = tracks
            .get(track)
            .ok_or_else(|| TokenError::Encode(format!("track {track} does not exist ({} tracks)", tracks.len())))?;
        let ranges = Self::bars(body);
        let mut masked: Vec<usize> = bars.to_vec();
        masked.sort_unstable();
        masked.dedup();
        if let Some(&b) = masked.iter().find(|&&b| b >= ranges.len()) {
            return Err(TokenError::Encode(format!(
                "bar {b} does not exist in track {track} ({} bars)",
                ranges.len()
            )));
        }
        let body_at = start + 1;
        let mut out = Vec::with_capacity(seq.len() + 3 * masked.len());
        out.extend_from_slice(&seq[..body_at]);
        let mut at = 0;
        for &b in &masked {
            let r = &ranges[b];
            out.extend_from_slice(&body[at..r.start]);
            out.push(Token::InfillBar);
            at = r.end;
        }
        out.extend_from_slice(&seq[body_at + at..]);
        for &b in &masked {
            out.push(Token::FillBarStart);
            out.extend_from_slice(&body[ranges[b].clone()]);
            out.push(Token::FillBarEnd);
        }
        Ok(out)
    }

    /// Put filled bars back: the k-th `FillBar_Start … FillBar_End` block
    /// after the tracks replaces the k-th `Infill_Bar`; the result is an
    /// ordinary MMM sequence.
    pub fn splice(&self, seq: &[Token]) -> Result<Vec<Token>, TokenError> {
        let fill_at = seq.iter().position(|t| *t == Token::FillBarStart).unwrap_or(seq.len());
        let mut fills: Vec<&[Token]> = Vec::new();
        let mut i = fill_at;
        while i < seq.len() {
            if seq[i] != Token::FillBarStart {
                return Err(bad(i, seq.get(i), "expected FillBar_Start"));
            }
            let len = seq[i + 1..]
                .iter()
                .position(|t| *t == Token::FillBarEnd)
                .ok_or_else(|| bad(i, seq.get(i), "a FillBar_Start without its FillBar_End"))?;
            fills.push(&seq[i + 1..i + 1 + len]);
            i += len + 2;
        }
        let holes = seq[..fill_at].iter().filter(|t| **t == Token::InfillBar).count();
        if holes != fills.len() {
            return Err(TokenError::Decode {
                index: fill_at,
                token: String::new(),
                message: format!("{holes} Infill_Bar placeholders but {} filled bars", fills.len()),
            });
        }
        let mut fills = fills.into_iter();
        let mut out = Vec::with_capacity(seq.len());
        for t in &seq[..fill_at] {
            match t {
                Token::InfillBar => out.extend_from_slice(fills.next().unwrap_or_default()),
                _ => out.push(*t),
            }
        }
        Ok(out)
    }

    /// The sequence with track `track` moved to the end (track-level
    /// infilling: a model given the result up to that track's program writes
    /// the track).
    pub fn track_last(&self, seq: &[Token], track: usize) -> Result<Vec<Token>, TokenError> {
        let tracks = self.tracks(seq)?;
        if track >= tracks.len() {
            return Err(TokenError::Encode(format!(
                "track {track} does not exist ({} tracks)",
                tracks.len()
            )));
        }
        let mut out = Vec::with_capacity(seq.len());
        for (_, (_, body)) in tracks.iter().enumerate().filter(|(i, _)| *i != track) {
            out.push(Token::TrackStart);
            out.extend_from_slice(body);
            out.push(Token::TrackEnd);
        }
        out.push(Token::TrackStart);
        out.extend_from_slice(tracks[track].1);
        out.push(Token::TrackEnd);
        Ok(out)
    }
}

impl Tokenizer for Mmm {
    fn name(&self) -> &'static str {
        "mmm"
    }
    fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    fn grammar(&self) -> Grammar {
        use TokenType::*;
        let mut g = self.base.tok().grammar();
        // Wherever the base may end a bar or a track, MMM's markers may come.
        let ends = [TrackEnd, InfillBar, FillBarEnd];
        for v in g.next.values_mut() {
            v.extend(ends);
        }
        // A track opens with its program (a score without tracks: the time
        // signature straight away).
        g.next.insert(TrackStart, vec![Program, Bar, TimeSig, TrackEnd]);
        g.next.insert(TrackEnd, vec![TrackStart, FillBarStart]);
        g.next.insert(InfillBar, vec![Bar, InfillBar, TrackEnd]);
        g.next.insert(FillBarStart, vec![Bar]);
        g.next.insert(FillBarEnd, vec![FillBarStart]);
        g.first = vec![TrackStart];
        g
    }

    fn preprocess(&self, score: &Score<Tick>) -> Preprocessed {
        self.base.tok().preprocess(score)
    }

    fn encode_preprocessed(&self, score: &Score<Tick>) -> Result<Vec<TokSeq>, TokenError> {
        let seqs = if score.tracks.is_empty() && score.time_signatures.len() < 2 {
            // MidiTok writes a lone event of a score without tracks as is,
            // with no time tokens: `Track_Start TimeSig_4/4 Track_End`.
            let tokens: Vec<Token> = score
                .time_signatures
                .iter()
                .map(|t| Token::TimeSig(t.numerator, t.denominator))
                .collect();
            let ticks = score.time_signatures.iter().map(|t| t.time).collect();
            vec![TokSeq {
                ids: self.vocab.encode(&tokens)?,
                tokens,
                ticks,
                width: 1,
            }]
        } else {
            self.base.tok().encode_preprocessed(score)?
        };
        let n: usize = seqs.iter().map(|s| s.tokens.len() + 2).sum();
        let (mut tokens, mut ticks) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for s in seqs {
            tokens.push(Token::TrackStart);
            ticks.push(0);
            let last = s.ticks.last().copied().unwrap_or(0);
            tokens.extend(s.tokens);
            ticks.extend(s.ticks);
            tokens.push(Token::TrackEnd);
            ticks.push(last);
        }
        let ids = self.vocab.encode(&tokens)?;
        Ok(vec![TokSeq {
            tokens,
            ids,
            ticks,
            width: 1,
        }])
    }

    fn decode(&self, seqs: &[Vec<Token>]) -> Result<Score<Tick>, TokenError> {
        let mut tracks: Vec<Vec<Token>> = Vec::new();
        for seq in seqs {
            let spliced;
            let seq = if seq.contains(&Token::FillBarStart) || seq.contains(&Token::InfillBar) {
                spliced = self.splice(seq)?;
                &spliced
            } else {
                seq
            };
            tracks.extend(self.tracks(seq)?.into_iter().map(|(_, t)| t.to_vec()));
        }
        self.base.tok().decode(&tracks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Score<Tick> {
        let bytes = include_bytes!("../../../samples/bach_chorale.mid");
        fugue_score::midi::read_midi(bytes, &Default::default()).unwrap().score
    }

    #[test]
    fn tracks_are_framed_and_round_trip() {
        let tok = Mmm::new(MmmConfig::default()).unwrap();
        let (seqs, _) = tok.encode(&sample()).unwrap();
        assert_eq!(seqs.len(), 1);
        let t = &seqs[0].tokens;
        assert!(seqs[0].text().starts_with("Track_Start Program_"), "{}", seqs[0].text());
        assert_eq!(tok.tracks(t).unwrap().len(), 4);
        assert_eq!(
            tok.decode(std::slice::from_ref(t)).unwrap(),
            tok.preprocess(&sample()).score
        );
        assert!(tok.grammar().violations(t).is_empty());
    }

    #[test]
    fn infilling_masks_bars_and_splices_them_back() {
        let tok = Mmm::new(MmmConfig::default()).unwrap();
        let (seqs, _) = tok.encode(&sample()).unwrap();
        let t = &seqs[0].tokens;
        let infill = tok.infill_sequence(t, 1, &[2, 0, 5]).unwrap();
        assert_eq!(infill.iter().filter(|x| **x == Token::InfillBar).count(), 3);
        assert_eq!(infill.iter().filter(|x| **x == Token::FillBarStart).count(), 3);
        // The first fill is bar 0 of track 1: it starts with its Bar token.
        let f = infill.iter().position(|x| *x == Token::FillBarStart).unwrap();
        assert_eq!(infill[f + 1], Token::Bar);
        assert!(tok.grammar().violations(&infill).is_empty());
        assert_eq!(&tok.splice(&infill).unwrap(), t);
        // The infilling layout decodes too (spliced on the way).
        assert_eq!(
            tok.decode(std::slice::from_ref(&infill)).unwrap(),
            tok.decode(std::slice::from_ref(t)).unwrap()
        );
        // A generated bar replaces the placeholder.
        let mut generated: Vec<Token> = infill[..=f].to_vec();
        generated.extend([Token::Bar, Token::TimeSig(4, 4), Token::FillBarEnd]);
        assert!(tok.splice(&generated).is_err(), "three holes, one fill");
        assert!(tok.infill_sequence(t, 9, &[0]).is_err());
        assert!(tok.infill_sequence(t, 0, &[10_000]).is_err());
        let tsd = Mmm::new(MmmConfig {
            base: MmmBase::Tsd,
            ..Default::default()
        })
        .unwrap();
        let e = tsd.infill_sequence(t, 0, &[0]).unwrap_err();
        assert!(e.to_string().contains("base"), "{e}");
    }

    #[test]
    fn a_track_moves_last() {
        let tok = Mmm::new(MmmConfig::default()).unwrap();
        let (seqs, _) = tok.encode(&sample()).unwrap();
        let t = &seqs[0].tokens;
        let moved = tok.track_last(t, 0).unwrap();
        let a = tok.tracks(t).unwrap();
        let b = tok.tracks(&moved).unwrap();
        assert_eq!(a[0].1, b[3].1);
        assert_eq!(a[1].1, b[0].1);
    }
}
