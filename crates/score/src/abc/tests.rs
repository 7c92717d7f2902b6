//! Known values for each rule of the module docs: small ABC snippets to
//! exact notes and ticks (480 per quarter; with `L:1/8` an eighth is 240).

use super::*;
use crate::{Score, ScoreError, Tick};

fn read(text: &str) -> AbcTune {
    let mut tunes = read_abc_str(text, &ReadOptions::default()).unwrap();
    assert_eq!(tunes.len(), 1);
    tunes.remove(0)
}

/// A one-tune body with a header: 4/4, eighths, C major unless `head` says.
fn tune(head: &str, body: &str) -> AbcTune {
    read(&format!("X:1\nT:t\nM:4/4\nL:1/8\n{head}K:C\n{body}\n"))
}

/// (onset, duration, pitch) of the melody.
fn notes(s: &Score<Tick>) -> Vec<(i64, i64, u8)> {
    s.tracks[0]
        .notes
        .iter()
        .map(|n| (n.time, n.duration, n.pitch))
        .collect()
}

fn pitches(s: &Score<Tick>) -> Vec<u8> {
    s.tracks[0].notes.iter().map(|n| n.pitch).collect()
}

#[test]
fn pitches_octaves_and_lengths() {
    let t = tune("", "C c C, c' A2 A/2 A/ A3/2 A// z A|");
    assert_eq!(pitches(&t.score), [60, 72, 48, 84, 69, 69, 69, 69, 69, 69]);
    let n = notes(&t.score);
    let durs: Vec<i64> = n.iter().map(|n| n.1).collect();
    assert_eq!(durs, [240, 240, 240, 240, 480, 120, 120, 360, 60, 240]);
    // The rest takes its eighth: the last A starts at 8 eighths + 1440 ... summed.
    assert_eq!(n[9].0, 240 * 4 + 480 + 120 + 120 + 360 + 60 + 240);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(t.x, 1);
    assert_eq!(t.title.as_deref(), Some("t"));
}

#[test]
fn default_unit_length_follows_the_meter() {
    // The second note starts one unit after the first.
    let step = |text: &str| {
        let n = notes(&read(text).score);
        n[1].0 - n[0].0
    };
    assert_eq!(step("X:1\nM:2/4\nK:C\nA B|\n"), 120, "2/4 gives 1/16");
    assert_eq!(step("X:1\nM:6/8\nK:C\nA B|\n"), 240, "6/8 gives 1/8");
    assert_eq!(step("X:1\nK:C\nA B|\n"), 240, "no meter gives 1/8");
    assert_eq!(step("X:1\nM:3/4\nL:1/4\nK:C\nA B|\n"), 480);
}

#[test]
fn keys_modes_and_bar_accidentals() {
    // G major: F sharp.
    assert_eq!(pitches(&tune("", "[K:G] F f|").score), [66, 78]);
    // D dorian = C major signature; A mixolydian = D major signature.
    assert_eq!(pitches(&read("X:1\nK:Ddor\nF c|\n").score), [65, 72]);
    assert_eq!(pitches(&read("X:1\nK:A mix\nF c G|\n").score), [66, 73, 67]);
    assert_eq!(pitches(&read("X:1\nK:F#m\nF c G D|\n").score), [66, 73, 68, 62]);
    assert_eq!(pitches(&read("X:1\nK:Eb\nE A B|\n").score), [63, 68, 70]);
    assert_eq!(pitches(&read("X:1\nK:Bphr\nC F|\n").score), [60, 66]);
    assert_eq!(pitches(&read("X:1\nK:Flyd\nB|\n").score), [71]);
    assert_eq!(pitches(&read("X:1\nK:Bloc\nC F G|\n").score), [60, 65, 67]);
    assert_eq!(pitches(&read("X:1\nK:D =c\nF c|\n").score), [66, 72]);
    assert_eq!(pitches(&read("X:1\nK:none\nF c|\n").score), [65, 72]);
    assert_eq!(pitches(&read("X:1\nK:HP\nF c|\n").score), [65, 72]);
    assert_eq!(pitches(&read("X:1\nK:Hp\nF c G|\n").score), [66, 73, 67]);
    // Accidentals hold to the bar line, in every octave (ABC 2.1's default).
    assert_eq!(
        pitches(&tune("", "^F F f =F F | F ^^G __B").score),
        [66, 66, 78, 65, 65, 65, 69, 69]
    );
    let t = tune("%%propagate-accidentals octave\n", "^F f F|");
    assert_eq!(pitches(&t.score), [66, 77, 66]);
    let t = tune("I:propagate-accidentals not\n", "^F F|");
    assert_eq!(pitches(&t.score), [66, 65]);
    // A tie carries the accidental over the bar line.
    assert_eq!(notes(&tune("", "z6 ^F2-|F2").score), [(1440, 960, 66)]);
    // Key signatures: sharps/flats and minor.
    let s = read("X:1\nK:Em\nE|[K:Bb]B|[K:Amix]A|\n").score;
    let keys: Vec<(i64, i8, bool)> = s.key_signatures.iter().map(|k| (k.time, k.key, k.minor)).collect();
    assert_eq!(keys, [(0, 1, true), (240, -2, false), (480, 2, false)]);
}

#[test]
fn broken_rhythms_tuplets_and_chords() {
    let n = notes(&tune("", "A>B A<B A>>B z2|").score);
    let got: Vec<(i64, i64)> = n.iter().map(|n| (n.0, n.1)).collect();
    assert_eq!(
        got,
        [(0, 360), (360, 120), (480, 120), (600, 360), (960, 420), (1380, 60)]
    );
    // (3: three in the time of two; (p:q:r.
    let n = notes(&tune("", "(3ABc d (5:4:3ABc d z2|").score);
    let got: Vec<(i64, i64)> = n.iter().map(|n| (n.0, n.1)).collect();
    assert_eq!(got[..4], [(0, 160), (160, 160), (320, 160), (480, 240)]);
    assert_eq!(got[4..], [(720, 192), (912, 192), (1104, 192), (1296, 240)]);
    // In compound meter, (5 is five in the time of three.
    let t = read("X:1\nM:6/8\nL:1/8\nK:C\n(5ABcde f z2|\n");
    assert_eq!(notes(&t.score)[5].0, 720);
    // A chord: notes start together, the first note's length moves the time.
    let n = notes(&tune("", "[CEG]2 [C2E]A z3|").score);
    assert_eq!(
        n,
        [
            (0, 480, 60),
            (0, 480, 64),
            (0, 480, 67),
            (480, 480, 60),
            (480, 240, 64),
            (960, 240, 69)
        ]
    );
}

#[test]
fn rests_multibar_rests_ties_and_grace_notes() {
    let n = notes(&tune("", "Z2|A4- A2 {g}B x C|").score);
    assert_eq!(n, [(3840, 1440, 69), (5280, 240, 71), (5760, 240, 60)]);
    // A tie across a bar line.
    assert_eq!(notes(&tune("", "z4 A4-|A2").score), [(960, 1440, 69)]);
    // A tie with nothing to continue is kept, with a warning.
    let t = tune("", "A-B|");
    assert_eq!(notes(&t.score).len(), 2);
    assert!(t.warnings[0].message.contains("tie"), "{:?}", t.warnings);
    // Decorations, slurs and annotations are ignored cleanly.
    let t = tune("", ".A ~B !trill!c +fermata+d (ef) \"^text\"g Hz|");
    assert_eq!(pitches(&t.score), [69, 71, 72, 74, 76, 77, 79]);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
}

#[test]
fn fermatas_become_markers_at_their_notes_on_every_pass() {
    // `H` on a note, `!fermata!` on a chord, `+fermata+` on a rest; in a
    // repeated bar the marker comes back on the second pass.
    let t = tune("", "|: C HD :| !fermata![EG] z +fermata+z | [HCE]2 |");
    let at = |s: &Score<Tick>| -> Vec<i64> {
        s.markers
            .iter()
            .filter(|m| m.text == crate::musicxml::FERMATA_MARKER)
            .map(|m| m.time)
            .collect()
    };
    assert_eq!(pitches(&t.score), [60, 62, 60, 62, 64, 67, 60, 64]);
    // The two-eighth first bar is a pickup: the music starts at 1440.
    let on: Vec<i64> = notes(&t.score).iter().map(|n| n.0).collect();
    assert_eq!(on, [1440, 1680, 1920, 2160, 2400, 2400, 3120, 3120]);
    // D on both passes, the chord, the second rest (2880), the last chord.
    assert_eq!(at(&t.score), [1680, 2160, 2400, 2880, 3120]);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    // Other decorations still leave no mark.
    assert!(at(&tune("", "!trill!C ~D Te|").score).is_empty());
}

#[test]
fn repeats_and_endings_play_in_order() {
    // |: A :| B, with first and second endings.
    let t = tune("", "|: C D |1 E :|2 F || G|");
    assert_eq!(pitches(&t.score), [60, 62, 64, 60, 62, 65, 67]);
    let t = tune("", "C :| D [1 E :| [2 F |]");
    assert_eq!(pitches(&t.score), [60, 60, 62, 64, 62, 65]);
    // :: ends one repeat and starts the next; a :| with no |: goes back to
    // the end of the previous repeat.
    let t = tune("", "C :: D :| E :|");
    assert_eq!(pitches(&t.score), [60, 60, 62, 62, 64, 64]);
    // [1,2 ... :| [3: three passes.
    let t = tune("", "|: C [1,2 D :| [3 E |]");
    assert_eq!(pitches(&t.score), [60, 62, 60, 62, 60, 64]);
    let t = read("X:1\nL:1/8\nK:C\n|: C D :| E\n");
    let opts = ReadOptions {
        expand_repeats: false,
        ..ReadOptions::default()
    };
    let flat = read_abc_str("X:1\nL:1/8\nK:C\n|: C D :| E\n", &opts).unwrap();
    assert_eq!(pitches(&t.score).len(), 5);
    assert_eq!(pitches(&flat[0].score).len(), 3);
}

#[test]
fn parts_play_in_the_order_given() {
    let text = "X:1\nP:A2B\nL:1/4\nK:C\nP:A\nC|\nP:B\n|:D:|\n";
    let t = read(text);
    assert_eq!(pitches(&t.score), [60, 60, 62, 62]);
    let markers: Vec<(i64, &str)> = t.score.markers.iter().map(|m| (m.time, m.text.as_str())).collect();
    assert_eq!(markers, [(0, "A"), (480, "A"), (960, "B")]);
    // The Nottingham set: Y: is the order, a header P: labels the body.
    let t = read("X:1\nY:AA\nP:A\nL:1/4\nK:C\nC D|\n");
    assert_eq!(pitches(&t.score), [60, 62, 60, 62]);
    let t = read("X:1\nP:(AB)2\nL:1/4\nK:C\nP:A\nC|\nP:B\nD|\n");
    assert_eq!(pitches(&t.score), [60, 62, 60, 62]);
}

#[test]
fn mid_tune_changes_tempo_and_pickup() {
    let t = read("X:1\nM:4/4\nL:1/4\nQ:1/4=90\nK:C\nC|[M:3/4]D E F|\nM:2/4\nL:1/8\nG A|[Q:3/8=40]B\n");
    let s = &t.score;
    // The pickup (one quarter of 4/4) ends on the first bar line.
    assert_eq!(notes(s)[0], (1440, 480, 60));
    let ts: Vec<(i64, u8, u8)> = s
        .time_signatures
        .iter()
        .map(|x| (x.time, x.numerator, x.denominator))
        .collect();
    assert_eq!(ts, [(0, 4, 4), (1920, 3, 4), (3360, 2, 4)]);
    // After L:1/8, G is an eighth.
    assert_eq!(notes(s)[4], (3360, 240, 67));
    let tempos: Vec<(i64, u32)> = s
        .tempos
        .iter()
        .map(|x| (x.time, (x.qpm() * 100.0).round() as u32))
        .collect();
    assert_eq!(tempos, [(0, 9000), (3840, 6000)]);
    // No Q: means 120 quarters per minute.
    assert_eq!(tune("", "A").score.tempos[0].qpm(), 120.0);
}

#[test]
fn chord_symbols_make_a_chords_track() {
    let t = tune("", "\"Am\"A2 \"G7\"G2 \"D/f+\"D2 \"(E7)\"E2|");
    let s = &t.score;
    assert_eq!(s.tracks.len(), 2);
    let c = &s.tracks[1];
    assert_eq!(c.name, "Chords");
    let got: Vec<(i64, i64, u8)> = c.notes.iter().map(|n| (n.time, n.duration, n.pitch)).collect();
    assert_eq!(
        got,
        [
            (0, 480, 57),
            (0, 480, 60),
            (0, 480, 64),
            (480, 480, 55),
            (480, 480, 59),
            (480, 480, 62),
            (480, 480, 65),
            (960, 960, 42),
            (960, 960, 50),
            (960, 960, 54),
            (960, 960, 57),
        ]
    );
    let labels: Vec<&str> = c.lyrics.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(labels, ["Am", "G7", "D/f+"]);
    let t = tune("", "\"Cd\"C \"Ca\"C \"From here\"C|");
    let c = &t.score.tracks[1];
    assert_eq!(
        c.notes.iter().map(|n| n.pitch).collect::<Vec<_>>(),
        [48, 51, 54, 48, 52, 56]
    );
    assert_eq!(t.warnings.len(), 1, "{:?}", t.warnings);
    let off = ReadOptions {
        chord_track: false,
        ..ReadOptions::default()
    };
    assert_eq!(
        read_abc_str("X:1\nK:C\n\"C\"C\n", &off).unwrap()[0].score.tracks.len(),
        1
    );
}

#[test]
fn tunebooks_comments_continuations_and_fields() {
    let text = "%abc-2.1\nL:1/4\n\nX:1\nT:One % a comment\nS:src\nR:reel\nK:C\nC D|\\\n% comment line\nE|\n\n\
                free text between tunes\n\nX:7\nT:Two\nN:notes\nK:G\nw:lyrics are skipped\nF|\n";
    let tunes = read_abc_str(text, &ReadOptions::default()).unwrap();
    assert_eq!(tunes.len(), 2);
    assert_eq!((tunes[0].x, tunes[0].title.as_deref()), (1, Some("One")));
    assert_eq!(notes(&tunes[0].score), [(0, 480, 60), (480, 480, 62), (960, 480, 64)]);
    assert_eq!((tunes[1].x, pitches(&tunes[1].score)), (7, vec![66]));
    assert!(tunes.iter().all(|t| t.warnings.is_empty()));
}

#[test]
fn warnings_name_tune_line_and_column_and_strict_fails() {
    let text = "X:3\nK:C\nA B ? C|\n";
    let t = read(text);
    assert_eq!(t.warnings.len(), 1);
    assert!(
        t.warnings[0].message.starts_with("tune X:3, line 3, column 5:"),
        "{}",
        t.warnings[0].message
    );
    let strict = ReadOptions {
        strict: true,
        ..ReadOptions::default()
    };
    assert!(matches!(read_abc_str(text, &strict), Err(ScoreError::Strict { .. })));
    assert!(read_abc_str("X:3\nK:C\nA B C|\n", &strict).is_ok());
    assert!(matches!(
        read_abc_str("just some text\n", &ReadOptions::default()),
        Err(ScoreError::Abc { .. })
    ));
    // Latin-1 bytes read.
    let t = read_abc(b"X:1\nT:Caf\xe9\nK:C\nC\n", &ReadOptions::default()).unwrap();
    assert_eq!(t[0].title.as_deref(), Some("Café"));
}
