//! MusicXML reading and writing: hand-written snippets for each rule of the
//! module docs, damaged inputs that must give errors (never panics), and the
//! Bach chorale corpus of `../shared/data` (every file reads; write → read
//! gives the same notes).

use fugue_score::musicxml::{
    read_musicxml, read_musicxml_file, write_musicxml, write_mxl, GraceNotes, ReadOptions, WriteOptions, FERMATA_MARKER,
};
use fugue_score::{Score, ScoreError, Text, Tick};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A partwise document with one part `P1` ("Voice") holding `measures`.
fn doc(measures: &str) -> String {
    doc_with(
        r#"<score-part id="P1"><part-name>Voice</part-name></score-part>"#,
        &format!(r#"<part id="P1">{measures}</part>"#),
    )
}

fn doc_with(part_list: &str, parts: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 3.0 Partwise//EN" "http://www.musicxml.org/dtds/partwise.dtd">
<score-partwise version="3.0"><part-list>{part_list}</part-list>{parts}</score-partwise>"#
    )
}

const ATTR: &str = "<attributes><divisions>2</divisions><key><fifths>0</fifths></key>\
                    <time><beats>4</beats><beat-type>4</beat-type></time></attributes>";

fn n(step: &str, octave: i32, dur: u32, extra: &str) -> String {
    format!("<note><pitch><step>{step}</step><octave>{octave}</octave></pitch><duration>{dur}</duration>{extra}</note>")
}

fn read(x: &str) -> Score<Tick> {
    let r = read_musicxml(x.as_bytes(), &ReadOptions::default()).unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    r.score
}

/// (onset, duration, pitch) of a track's notes, in quarters.
fn q(s: &Score<Tick>, track: usize) -> Vec<(f64, f64, u8)> {
    let tpq = f64::from(s.ticks_per_quarter);
    s.tracks[track]
        .notes
        .iter()
        .map(|n| (n.time as f64 / tpq, n.duration as f64 / tpq, n.pitch))
        .collect()
}

#[test]
fn pitches_durations_and_rests() {
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}{}<note><rest/><duration>2</duration></note>{}{}</measure>"#,
        n("C", 4, 2, ""),
        n("F", 4, 1, "<accidental>sharp</accidental>").replace("<octave>", "<alter>1</alter><octave>"),
        n("B", 3, 3, "").replace("<octave>", "<alter>-1</alter><octave>"),
    ));
    let s = read(&x);
    assert_eq!(s.ticks_per_quarter, 480);
    assert_eq!(s.tracks.len(), 1);
    assert_eq!(s.tracks[0].name, "Voice");
    assert_eq!(q(&s, 0), vec![(0.0, 1.0, 60), (2.0, 0.5, 66), (2.5, 1.5, 58)]);
    assert_eq!(s.time_signatures.len(), 1);
    assert_eq!(
        (s.time_signatures[0].numerator, s.time_signatures[0].denominator),
        (4, 4)
    );
    assert_eq!(s.key_signatures.len(), 1);
}

#[test]
fn ties_join_across_the_barline_and_chords_share_an_onset() {
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}{}{}{}</measure><measure number="2">{}{}</measure>"#,
        n("C", 4, 6, ""),
        n("G", 4, 2, r#"<tie type="start"/>"#),
        n("E", 4, 2, r#"<chord/>"#),
        n("G", 4, 4, r#"<tie type="stop"/>"#),
        n("A", 4, 4, ""),
    ));
    let s = read(&x);
    assert_eq!(
        q(&s, 0),
        vec![(0.0, 3.0, 60), (3.0, 1.0, 64), (3.0, 3.0, 67), (6.0, 2.0, 69)]
    );
}

#[test]
fn backup_and_forward_make_voices() {
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}{}{}<backup><duration>8</duration></backup><forward><duration>2</duration></forward>{}{}</measure>"#,
        n("E", 5, 4, "<voice>1</voice>"),
        n("D", 5, 4, "<voice>1</voice>"),
        n("C", 4, 2, "<voice>2</voice>"),
        n("G", 3, 4, "<voice>2</voice>"),
    ));
    let s = read(&x);
    assert_eq!(
        q(&s, 0),
        vec![(0.0, 2.0, 76), (1.0, 1.0, 60), (2.0, 2.0, 55), (2.0, 2.0, 74)]
    );
}

#[test]
fn tuplets_are_exact_ticks() {
    // divisions 3: eighth-note triplets last one division each.
    let trip = "<time-modification><actual-notes>3</actual-notes><normal-notes>2</normal-notes></time-modification>";
    let x = doc(&format!(
        r#"<measure number="1"><attributes><divisions>3</divisions></attributes>{}{}{}{}</measure>"#,
        n("C", 4, 1, trip),
        n("D", 4, 1, trip),
        n("E", 4, 1, trip),
        n("F", 4, 3, ""),
    ));
    let s = read(&x);
    assert_eq!(s.ticks_per_quarter, 480);
    let t: Vec<(i64, i64)> = s.tracks[0].notes.iter().map(|n| (n.time, n.duration)).collect();
    assert_eq!(t, vec![(0, 160), (160, 160), (320, 160), (480, 480)]);
    // Divisions that do not divide 480 raise the resolution to stay exact.
    let x = doc(&format!(
        r#"<measure number="1"><attributes><divisions>7</divisions></attributes>{}</measure>"#,
        n("C", 4, 1, "")
    ));
    let s = read(&x);
    assert_eq!(s.ticks_per_quarter, 3360);
    assert_eq!(s.tracks[0].notes[0].duration, 480);
}

#[test]
fn grace_notes_are_dropped_or_kept_short() {
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}<note><grace slash="yes"/><pitch><step>D</step><octave>4</octave></pitch><type>eighth</type></note>{}{}</measure>"#,
        n("C", 4, 2, ""),
        n("E", 4, 2, ""),
    ));
    assert_eq!(q(&read(&x), 0), vec![(0.0, 1.0, 60), (1.0, 1.0, 64)]);
    let opts = ReadOptions {
        grace: GraceNotes::Short,
        ..ReadOptions::default()
    };
    let s = read_musicxml(x.as_bytes(), &opts).unwrap().score;
    assert_eq!(q(&s, 0), vec![(0.0, 1.0, 60), (0.0, 0.125, 62), (1.0, 1.0, 64)]);
}

#[test]
fn repeats_and_voltas_are_played_out() {
    let m = |num: u32, body: &str| format!(r#"<measure number="{num}">{body}</measure>"#);
    let x = doc(&[
        m(1, &format!("{}{}", ATTR.replace("<beats>4", "<beats>1"), n("C", 4, 2, ""))),
        m(
            2,
            &format!(
                r#"<barline location="left"><repeat direction="forward"/></barline>{}"#,
                n("D", 4, 2, "")
            ),
        ),
        m(
            3,
            &format!(
                r#"<barline location="left"><ending number="1" type="start"/></barline>{}<barline location="right"><ending number="1" type="stop"/><repeat direction="backward"/></barline>"#,
                n("E", 4, 2, "")
            ),
        ),
        m(
            4,
            &format!(
                r#"<barline location="left"><ending number="2" type="start"/></barline>{}<barline location="right"><ending number="2" type="discontinue"/></barline>"#,
                n("F", 4, 2, "")
            ),
        ),
        m(5, &n("G", 4, 2, "")),
    ]
    .concat());
    let pitches: Vec<u8> = read(&x).tracks[0].notes.iter().map(|n| n.pitch).collect();
    assert_eq!(pitches, vec![60, 62, 64, 62, 65, 67]);
    let s = read(&x);
    assert_eq!(s.tracks[0].notes[5].time, 5 * 480);
    // Without expansion: measures as written.
    let opts = ReadOptions {
        expand_repeats: false,
        ..ReadOptions::default()
    };
    let s = read_musicxml(x.as_bytes(), &opts).unwrap().score;
    let pitches: Vec<u8> = s.tracks[0].notes.iter().map(|n| n.pitch).collect();
    assert_eq!(pitches, vec![60, 62, 64, 65, 67]);
}

#[test]
fn mid_measure_time_signature_change() {
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}{}<attributes><time><beats>3</beats><beat-type>8</beat-type></time></attributes>{}</measure>"#,
        n("C", 4, 4, ""),
        n("D", 4, 3, ""),
    ));
    let s = read(&x);
    let ts: Vec<(i64, u8, u8)> = s
        .time_signatures
        .iter()
        .map(|t| (t.time, t.numerator, t.denominator))
        .collect();
    assert_eq!(ts, vec![(0, 4, 4), (960, 3, 8)]);
}

#[test]
fn unpitched_percussion_becomes_gm_drums() {
    let list = r#"<score-part id="P1"><part-name>Drums</part-name>
        <score-instrument id="P1-I36"><instrument-name>Bass Drum</instrument-name></score-instrument>
        <score-instrument id="P1-I39"><instrument-name>Snare</instrument-name></score-instrument>
        <midi-instrument id="P1-I36"><midi-channel>10</midi-channel><midi-unpitched>36</midi-unpitched></midi-instrument>
        <midi-instrument id="P1-I39"><midi-channel>10</midi-channel><midi-unpitched>39</midi-unpitched></midi-instrument>
        </score-part>"#;
    let unp = |step: &str, oct: u32, inst: &str| {
        format!(
            r#"<note><unpitched><display-step>{step}</display-step><display-octave>{oct}</display-octave></unpitched><duration>2</duration><instrument id="{inst}"/></note>"#
        )
    };
    let x = doc_with(
        list,
        &format!(
            r#"<part id="P1"><measure number="1">{ATTR}{}{}</measure></part>"#,
            unp("F", 4, "P1-I36"),
            unp("C", 5, "P1-I39")
        ),
    );
    let s = read(&x);
    assert!(s.tracks[0].is_drum);
    assert_eq!(s.tracks[0].channel, 9);
    assert_eq!(q(&s, 0), vec![(0.0, 1.0, 35), (1.0, 1.0, 38)]);
}

#[test]
fn lyrics_take_the_verse_of_the_pass() {
    let lyr = |v: u32, t: &str| format!(r#"<lyric number="{v}"><syllabic>single</syllabic><text>{t}</text></lyric>"#);
    let x = doc(&format!(
        r#"<measure number="1">{}{}<barline location="right"><repeat direction="backward"/></barline></measure>"#,
        ATTR.replace("<beats>4", "<beats>1"),
        n("C", 4, 2, &format!("{}{}", lyr(1, "one"), lyr(2, "two"))),
    ));
    let s = read(&x);
    let l: Vec<(i64, &str)> = s.tracks[0].lyrics.iter().map(|l| (l.time, l.text.as_str())).collect();
    assert_eq!(l, vec![(0, "one"), (480, "two")]);
}

#[test]
fn harmony_becomes_a_chord_track() {
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}<harmony><root><root-step>C</root-step></root><kind text="">major</kind></harmony>{}<harmony><root><root-step>A</root-step></root><kind text="m7">minor-seventh</kind><bass><bass-step>G</bass-step></bass></harmony>{}</measure>"#,
        n("E", 5, 4, ""),
        n("C", 5, 4, ""),
    ));
    let s = read(&x);
    assert_eq!(s.tracks.len(), 2);
    let c = &s.tracks[1];
    assert_eq!(c.name, "Chords");
    let l: Vec<(i64, &str)> = c.lyrics.iter().map(|l| (l.time, l.text.as_str())).collect();
    assert_eq!(l, vec![(0, "C"), (960, "Am7")]);
    let at0: Vec<u8> = c.notes.iter().filter(|n| n.time == 0).map(|n| n.pitch).collect();
    assert_eq!(at0, vec![48, 52, 55]);
    let at2: Vec<u8> = c.notes.iter().filter(|n| n.time == 960).map(|n| n.pitch).collect();
    assert_eq!(at2, vec![43, 57, 60, 64, 67]);
    assert!(c.notes.iter().all(|n| n.duration == 960));
}

#[test]
fn tempo_from_sound_and_metronome() {
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}<direction><direction-type><metronome><beat-unit>half</beat-unit><beat-unit-dot/><per-minute>40</per-minute></metronome></direction-type></direction>{}<direction><direction-type><words>faster</words></direction-type><sound tempo="150"/></direction>{}</measure>"#,
        n("C", 4, 4, ""),
        n("D", 4, 4, ""),
    ));
    let s = read(&x);
    let t: Vec<(i64, f64)> = s.tempos.iter().map(|t| (t.time, t.qpm())).collect();
    assert_eq!(t, vec![(0, 120.0), (960, 150.0)]);
}

#[test]
fn timewise_reads_like_partwise() {
    let part = doc(&format!(
        r#"<measure number="1">{ATTR}{}</measure><measure number="2">{}</measure>"#,
        n("C", 4, 8, ""),
        n("D", 4, 8, "")
    ));
    let time = format!(
        r#"<?xml version="1.0"?><score-timewise version="3.0"><part-list><score-part id="P1"><part-name>Voice</part-name></score-part></part-list><measure number="1"><part id="P1">{ATTR}{}</part></measure><measure number="2"><part id="P1">{}</part></measure></score-timewise>"#,
        n("C", 4, 8, ""),
        n("D", 4, 8, "")
    );
    let r = read_musicxml(time.as_bytes(), &ReadOptions::default()).unwrap();
    assert!(r.timewise);
    assert_eq!(r.score, read(&part));
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data) in entries {
        z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap().into_inner()
}

#[test]
fn compressed_and_utf16_files_read() {
    let x = doc(&format!(r#"<measure number="1">{ATTR}{}</measure>"#, n("C", 4, 8, "")));
    let plain = read(&x);
    let container =
        br#"<?xml version="1.0"?><container><rootfiles><rootfile full-path="music/s.xml"/></rootfiles></container>"#;
    let z = zip_of(&[("META-INF/container.xml", container), ("music/s.xml", x.as_bytes())]);
    let r = read_musicxml(&z, &ReadOptions::default()).unwrap();
    assert!(r.compressed && r.warnings.is_empty());
    assert_eq!(r.score, plain);
    // No container: the first .xml entry, with a warning.
    let z = zip_of(&[("s.xml", x.as_bytes())]);
    let r = read_musicxml(&z, &ReadOptions::default()).unwrap();
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.score, plain);
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(
        x.replace("UTF-8", "UTF-16")
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes()),
    );
    assert_eq!(read_musicxml(&utf16, &ReadOptions::default()).unwrap().score, plain);
}

fn error_of(bytes: &[u8]) -> String {
    match read_musicxml(bytes, &ReadOptions::default()) {
        Ok(_) => panic!("read a broken file"),
        Err(e) => e.with_path("broken.musicxml").to_string(),
    }
}

#[test]
fn broken_inputs_are_errors_naming_the_element() {
    let e = error_of(b"<score-partwise><part-list></score-partwise>");
    assert!(e.starts_with("broken.musicxml: ") && e.contains("XML document"), "{e}");
    let e = error_of(doc(&format!(r#"<measure number="7">{}</measure>"#, n("C", 4, 2, ""))).as_bytes());
    assert!(
        e.contains("part P1 (Voice), measure 7, <note>") && e.contains("<divisions>"),
        "{e}"
    );
    let e = error_of(&zip_of(&[("readme.txt", b"hello")]));
    assert!(e.contains("zip archive") && e.contains("no MusicXML score"), "{e}");
    let container = br#"<container><rootfiles><rootfile full-path="missing.xml"/></rootfiles></container>"#;
    let e = error_of(&zip_of(&[("META-INF/container.xml", container)]));
    assert!(e.contains("missing.xml"), "{e}");
    let e = error_of(b"<html><body/></html>");
    assert!(e.contains("<html>"), "{e}");
    let e = error_of(b"PK\x03\x04garbage");
    assert!(e.contains("zip archive"), "{e}");
    let e = error_of(&[0xC3, 0x28, b'<']);
    assert!(e.contains("UTF-8"), "{e}");
    // Lenient problems are warnings, errors under strict.
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}<note><pitch><step>H</step><octave>4</octave></pitch><duration>2</duration></note></measure>"#
    ));
    let r = read_musicxml(x.as_bytes(), &ReadOptions::default()).unwrap();
    assert_eq!(r.warnings.len(), 1);
    assert!(r.warnings[0].message.contains("measure 1"), "{:?}", r.warnings);
    let strict = ReadOptions {
        strict: true,
        ..ReadOptions::default()
    };
    assert!(matches!(
        read_musicxml(x.as_bytes(), &strict),
        Err(ScoreError::Strict { .. })
    ));
}

#[test]
fn write_then_read_gives_the_same_music() {
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}<direction><sound tempo="96"/></direction>{}{}{}<backup><duration>8</duration></backup>{}</measure><measure number="2">{}<note><rest/><duration>4</duration></note></measure>"#,
        n("C", 4, 3, r#"<lyric number="1"><text>la</text></lyric>"#),
        n("E", 4, 3, "<chord/>"),
        n("G", 4, 5, r#"<tie type="start"/>"#),
        n("C", 3, 8, "<voice>2</voice>"),
        n("G", 4, 4, r#"<tie type="stop"/>"#),
    ));
    let first = read(&x);
    for opts in [
        WriteOptions::default(),
        WriteOptions {
            divisions: 480,
            ..WriteOptions::default()
        },
    ] {
        let text = write_musicxml(&first, &opts).unwrap();
        let again = read(&text);
        assert_eq!(q(&again, 0), q(&first, 0), "{text}");
        assert_eq!(again.tempos, first.tempos);
        assert_eq!(again.time_signatures, first.time_signatures);
        assert_eq!(again.key_signatures, first.key_signatures);
        assert_eq!(again.tracks[0].lyrics, first.tracks[0].lyrics);
        let velocities: Vec<u8> = again.tracks[0].notes.iter().map(|n| n.velocity).collect();
        assert!(velocities.iter().all(|v| *v == 64));
        let z = write_mxl(&first, &opts).unwrap();
        assert_eq!(read_musicxml(&z, &ReadOptions::default()).unwrap().score, again);
    }
}

fn chorales() -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/bach_chorales_musicxml");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} is absent", dir.display());
        return None;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "mxl" || e == "xml"))
        .collect();
    files.sort();
    Some(files)
}

#[test]
fn every_chorale_reads_and_round_trips() {
    let Some(files) = chorales() else { return };
    assert_eq!(files.len(), 409);
    let mut notes = 0;
    for f in &files {
        let r = read_musicxml_file(f, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        let s = &r.score;
        assert!(s.note_count() > 0, "{}", f.display());
        assert!(
            !s.time_signatures.is_empty() && !s.key_signatures.is_empty(),
            "{}",
            f.display()
        );
        notes += s.note_count();
        // Write at the score's own resolution (exact) and read back.
        let opts = WriteOptions {
            divisions: u32::from(s.ticks_per_quarter),
            ..WriteOptions::default()
        };
        let text = write_musicxml(s, &opts).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let back = read_musicxml(text.as_bytes(), &ReadOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", f.display()))
            .score;
        assert_eq!(back.ticks_per_quarter, s.ticks_per_quarter, "{}", f.display());
        assert_eq!(back.tracks.len(), s.tracks.len(), "{}", f.display());
        for (i, (a, b)) in s.tracks.iter().zip(&back.tracks).enumerate() {
            // The writer keeps one of two notes of one pitch at one time (unisons in a part).
            let key = |t: &fugue_score::Track<Tick>| {
                let mut v: Vec<(i64, i64, u8)> = t.notes.iter().map(|n| (n.time, n.duration, n.pitch)).collect();
                v.dedup();
                v
            };
            assert_eq!(key(a), key(b), "{} track {i}", f.display());
            assert_eq!(a.name, b.name);
        }
        assert_eq!(back.tempos, s.tempos, "{}", f.display());
        assert_eq!(back.key_signatures, s.key_signatures, "{}", f.display());
        assert_eq!(back.markers, s.markers, "{}", f.display());
    }
    // The corpus has 111,412 notes as written; playing repeats out adds more.
    assert!(notes > 111_412, "{notes}");
}

/// Found by the fuzzer: a zero-length note (a `<duration>0</duration>`)
/// cannot be notated; the writer gives it one grid step, as documented.
#[test]
fn zero_length_notes_are_written_one_grid_step_long() {
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}{}{}</measure>"#,
        n("C", 4, 0, ""),
        n("D", 4, 2, "")
    ));
    let s = read(&x);
    assert_eq!(q(&s, 0), vec![(0.0, 0.0, 60), (0.0, 1.0, 62)]);
    let opts = WriteOptions {
        divisions: 480,
        ..WriteOptions::default()
    };
    let back = read(&write_musicxml(&s, &opts).unwrap());
    assert_eq!(back.tracks[0].notes[0].duration, 1);
    assert_eq!(q(&back, 0)[1], (0.0, 1.0, 62));
}

const FERMATA: &str = r#"<notations><fermata type="upright"/></notations>"#;

/// Marker (time in quarters, text) pairs.
fn markers(s: &Score<Tick>) -> Vec<(f64, String)> {
    let tpq = f64::from(s.ticks_per_quarter);
    s.markers
        .iter()
        .map(|m| (m.time as f64 / tpq, m.text.clone()))
        .collect()
}

fn fermatas_at(quarters: &[f64]) -> Vec<(f64, String)> {
    quarters.iter().map(|&t| (t, FERMATA_MARKER.to_owned())).collect()
}

/// Two parts; a fermata on a note inside a repeated bar, on every note of a
/// chord, on a rest, and on the other part's note at the same times.
fn fermata_doc() -> String {
    let p1 = format!(
        r#"<measure number="1">{ATTR}<barline location="left"><repeat direction="forward"/></barline>{}{}<barline location="right"><repeat direction="backward"/></barline></measure><measure number="2">{}{}{}<note><rest/><duration>2</duration>{FERMATA}</note><note><rest/><duration>4</duration></note></measure>"#,
        n("C", 5, 4, ""),
        n("D", 5, 4, FERMATA),
        n("E", 4, 2, FERMATA),
        n("G", 4, 2, &format!("<chord/>{FERMATA}")),
        n("C", 5, 2, &format!("<chord/>{FERMATA}")),
    );
    let p2 = format!(
        r#"<measure number="1">{ATTR}{}{}</measure><measure number="2">{}{}</measure>"#,
        n("C", 3, 4, ""),
        // A fermata of another shape, at the same time as part 1's.
        n(
            "G",
            2,
            4,
            r#"<notations><fermata type="inverted">normal</fermata></notations>"#
        ),
        n("C", 3, 4, FERMATA),
        n("C", 3, 4, ""),
    );
    doc_with(
        r#"<score-part id="P1"><part-name>Soprano</part-name></score-part><score-part id="P2"><part-name>Bass</part-name></score-part>"#,
        &format!(r#"<part id="P1">{p1}</part><part id="P2">{p2}</part>"#),
    )
}

#[test]
fn fermatas_become_one_marker_per_time_on_every_pass() {
    let s = read(&fermata_doc());
    // Bar 1 is played twice (D5 at 2 and 6 quarters), the chord at 8, the rest at 9.
    assert_eq!(markers(&s), fermatas_at(&[2.0, 6.0, 8.0, 9.0]));
    assert_eq!(
        q(&s, 0)[..4],
        [(0.0, 2.0, 72), (2.0, 2.0, 74), (4.0, 2.0, 72), (6.0, 2.0, 74)]
    );
    // Not expanded: bar 1 once.
    let opts = ReadOptions {
        expand_repeats: false,
        ..ReadOptions::default()
    };
    let s = read_musicxml(fermata_doc().as_bytes(), &opts).unwrap().score;
    assert_eq!(markers(&s), fermatas_at(&[2.0, 4.0, 5.0]));
}

#[test]
fn barline_fermatas_lie_at_the_barline() {
    let x = doc(&format!(
        r#"<measure number="1">{ATTR}{}<barline location="right"><fermata type="upright"/></barline></measure><measure number="2"><barline location="left"><fermata/></barline>{}<barline location="middle"><fermata/></barline>{}<barline><fermata/></barline></measure>"#,
        n("C", 4, 8, ""),
        n("D", 4, 4, ""),
        n("E", 4, 4, ""),
    ));
    // The end of bar 1 and the start of bar 2 are one time; the middle
    // barline is ignored; the final barline is at the end of the music.
    assert_eq!(markers(&read(&x)), fermatas_at(&[4.0, 8.0]));
}

#[test]
fn fermata_markers_survive_write_then_read() {
    let mut first = read(&fermata_doc());
    let expected = markers(&first);
    // Other markers are not written; a fermata where nothing starts is dropped.
    first.markers.push(Text {
        time: 480,
        text: "Verse 2".into(),
    });
    first.markers.push(Text {
        time: 240,
        text: FERMATA_MARKER.into(),
    });
    for divisions in [12, 480] {
        let opts = WriteOptions {
            divisions,
            ..WriteOptions::default()
        };
        let text = write_musicxml(&first, &opts).unwrap();
        // D5 (twice), the chord's three notes and the rest in part 1; G2
        // (twice) and C3 in part 2 (its C3 still sounds at the rest's time).
        assert_eq!(
            text.matches(r#"<fermata type="upright"/>"#).count(),
            2 + 3 + 1 + 2 + 1,
            "{text}"
        );
        let again = read(&text);
        assert_eq!(markers(&again), expected, "{text}");
        assert_eq!(q(&again, 0), q(&first, 0));
        assert_eq!(q(&again, 1), q(&first, 1));
        // And once more: stable.
        assert_eq!(read(&write_musicxml(&again, &opts).unwrap()).markers, again.markers);
    }
}

#[test]
fn chorale_fermatas_are_read() {
    let Some(files) = chorales() else {
        println!("skipped: the Bach chorale corpus is absent");
        return;
    };
    let mut with = 0;
    let mut total = 0;
    for f in &files {
        let s = read_musicxml_file(f, &ReadOptions::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .score;
        assert!(s.markers.iter().all(|m| m.text == FERMATA_MARKER), "{}", f.display());
        assert!(s.markers.windows(2).all(|w| w[0].time < w[1].time), "{}", f.display());
        with += usize::from(!s.markers.is_empty());
        total += s.markers.len();
    }
    println!(
        "{with} of {} chorales have fermatas, {total} fermata markers",
        files.len()
    );
    // The corpus notes fermatas in 404 of its 409 files.
    assert!(with >= 400, "{with}");
}
