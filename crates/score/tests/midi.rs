//! MIDI reading and writing on the embedded samples and on damaged bytes.

use fugue_score::midi::*;
use fugue_score::*;
use std::path::{Path, PathBuf};

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples").join(name)
}

fn read(bytes: &[u8]) -> ReadResult {
    read_midi(bytes, &ReadOptions::default()).unwrap()
}

fn features() -> Vec<u8> {
    std::fs::read(sample("features_type0.mid")).unwrap()
}

#[test]
fn samples_round_trip_with_a_stable_event_stream() {
    for name in ["bach_chorale.mid", "features_type0.mid", "features.rmi", "smpte.mid"] {
        let first = read_midi_file(sample(name), &ReadOptions::default()).unwrap().score;
        let bytes = write_midi(&first, MidiFormat::Type1).unwrap();
        let second = read_midi(&bytes, &ReadOptions { strict: true }).unwrap().score;
        assert_eq!(first, second, "{name}");
        assert_eq!(bytes, write_midi(&second, MidiFormat::Type1).unwrap(), "{name}");
    }
}

#[test]
fn type0_file_splits_into_parts_by_channel_and_program() {
    let s = read(&features()).score;
    let parts: Vec<(u8, u8, bool, usize)> = s
        .tracks
        .iter()
        .map(|t| (t.channel, t.program, t.is_drum, t.notes.len()))
        .collect();
    assert_eq!(
        parts,
        vec![
            (0, 40, false, 6),
            (1, 32, false, 2),
            (1, 33, false, 1),
            (2, 0, false, 4),
            (3, 0, false, 1),
            (9, 0, true, 12)
        ]
    );
    assert!(s.tracks.iter().all(|t| t.name == "Features"));
    // The mid-piece program change is kept in the new part, at its tick.
    assert_eq!(
        s.tracks[2].extra[0],
        RawEvent {
            time: 720,
            kind: RawKind::ProgramChange(33)
        }
    );
}

#[test]
fn overlapping_same_pitch_notes_pair_first_in_first_out() {
    let s = read(&features()).score;
    // on@0, on@120, off (velocity-0 note-on)@480, off@600 → the first off ends the first note.
    assert_eq!(
        s.tracks[1].notes,
        vec![Note::new(0, 480, 43, 90), Note::new(120, 480, 43, 60)]
    );
}

#[test]
fn unclosed_note_is_closed_at_track_end_with_a_warning() {
    let r = read(&features());
    assert_eq!(r.score.tracks[4].notes, vec![Note::new(1000, 440, 79, 50)]);
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].at.track, Some(0));
    assert!(r.warnings[0].message.contains("never ended"));
    let strict = read_midi(&features(), &ReadOptions { strict: true }).unwrap_err();
    assert!(strict.to_string().contains("never ended"), "{strict}");
}

#[test]
fn controls_pedals_bends_lyrics_and_global_maps() {
    let s = read(&features()).score;
    let piano = &s.tracks[3];
    assert_eq!(piano.pedals, vec![Pedal { time: 0, duration: 700 }]);
    assert_eq!(piano.controls.len(), 2);
    let violin = &s.tracks[0];
    assert_eq!(
        violin.pitch_bends,
        vec![PitchBend { time: 300, value: 1024 }, PitchBend { time: 400, value: 0 }]
    );
    let lyrics: Vec<&str> = violin.lyrics.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(lyrics, ["la", "li", "lo", "lu", "le", "la"]);
    assert!(violin.extra.contains(&RawEvent {
        time: 500,
        kind: RawKind::ChannelPressure(50)
    }));
    assert!(violin.extra.contains(&RawEvent {
        time: 520,
        kind: RawKind::PolyPressure { key: 71, pressure: 30 }
    }));
    assert_eq!(
        s.tempos,
        vec![
            Tempo { time: 0, mspq: 500_000 },
            Tempo {
                time: 720,
                mspq: 400_000
            }
        ]
    );
    assert_eq!(
        s.time_signatures
            .iter()
            .map(|t| (t.time, t.numerator, t.denominator))
            .collect::<Vec<_>>(),
        vec![(0, 3, 4), (720, 6, 8)]
    );
    assert_eq!(
        s.key_signatures,
        vec![
            KeySignature {
                time: 0,
                key: -3,
                minor: false
            },
            KeySignature {
                time: 720,
                key: 3,
                minor: true
            }
        ]
    );
    assert_eq!(
        s.markers.iter().map(|m| (m.time, m.text.as_str())).collect::<Vec<_>>(),
        vec![(0, "A"), (720, "B")]
    );
}

#[test]
fn uninterpreted_events_are_kept() {
    let s = read(&features()).score;
    let kinds: Vec<&RawKind> = s.tracks[0].extra.iter().map(|e| &e.kind).collect();
    assert!(kinds.contains(&&RawKind::SysEx(vec![0x7E, 0x7F, 0x09, 0x01, 0xF7])));
    assert!(kinds.contains(&&RawKind::Meta {
        kind: 0x7F,
        data: vec![0, 0, 0x41, 1]
    }));
    assert!(kinds.contains(&&RawKind::Meta {
        kind: 0x01,
        data: b"hello".to_vec()
    }));
    assert!(kinds.contains(&&RawKind::Meta {
        kind: 0x4F,
        data: vec![0xAB, 0xCD]
    }));
    assert!(kinds.contains(&&RawKind::Meta {
        kind: 0x07,
        data: b"end".to_vec()
    }));
    assert!(kinds.iter().any(|k| matches!(k, RawKind::Meta { kind: 0x02, .. })));
}

#[test]
fn riff_wrapped_file_reads_like_the_plain_one() {
    let plain = read(&features()).score;
    let riff = read_midi_file(sample("features.rmi"), &ReadOptions::default())
        .unwrap()
        .score;
    assert_eq!(plain, riff);
}

#[test]
fn smpte_division_becomes_one_quarter_per_second() {
    let r = read_midi_file(sample("smpte.mid"), &ReadOptions::default()).unwrap();
    assert_eq!(r.smpte, Some((25, 40)));
    assert_eq!(r.score.ticks_per_quarter, 1000);
    assert_eq!(
        r.score.tempos,
        vec![Tempo {
            time: 0,
            mspq: 1_000_000
        }]
    );
    let sec = r.score.to_second();
    let onsets: Vec<f64> = sec.tracks[0].notes.iter().map(|n| n.time).collect();
    assert_eq!(onsets, vec![0.0, 0.5, 1.0, 1.5, 2.0]);
    assert!(r.warnings[0].message.contains("SMPTE"));
}

#[test]
fn type0_writing_keeps_the_music() {
    let s = read(&features()).score;
    let b = write_midi(&s, MidiFormat::Type0).unwrap();
    let back = read(&b);
    assert_eq!(back.format, 0);
    let notes = |s: &Score<Tick>| {
        let mut v: Vec<(u8, Note<Tick>)> = s
            .tracks
            .iter()
            .flat_map(|t| t.notes.iter().map(move |n| (t.channel, *n)))
            .collect();
        v.sort_by_key(|(c, n)| (*c, n.time, n.pitch, n.duration));
        v
    };
    assert_eq!(notes(&s), notes(&back.score));
    assert_eq!(s.tempos, back.score.tempos);
}

// ---- damaged input: errors and warnings name the place, never panic ----

#[test]
fn not_midi_is_an_error_at_offset_zero() {
    for bytes in [
        &b""[..],
        b"hello world, this is text",
        b"RIFF\x04\x00\x00\x00WAVE",
        b"MThd\x00\x00",
    ] {
        let e = read_midi(bytes, &ReadOptions::default()).unwrap_err();
        assert!(matches!(e, ScoreError::Midi { .. }), "{e}");
    }
    let e = read_midi_file(sample("../crates/score/Cargo.toml"), &ReadOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("Cargo.toml") && msg.contains("byte offset 0"), "{msg}");
}

#[test]
fn missing_file_names_the_path() {
    let e = read_midi_file("/nonexistent/x.mid", &ReadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/x.mid"));
}

#[test]
fn every_truncation_reads_or_fails_cleanly() {
    let full = features();
    for cut in 0..full.len() {
        if let Ok(r) = read_midi(&full[..cut], &ReadOptions::default()) {
            if cut > 22 && cut < full.len() - 4 {
                assert!(!r.warnings.is_empty(), "no warning for a file cut at {cut}");
            }
        }
    }
}

#[test]
fn chunk_length_past_the_end_is_a_warning_naming_the_track() {
    let mut b = features();
    // MTrk length field at bytes 18..22.
    b[18..22].copy_from_slice(&100_000u32.to_be_bytes());
    let r = read(&b);
    let w = &r.warnings[0];
    assert_eq!((w.at.track, w.at.offset), (Some(0), 18));
    assert!(w.message.contains("runs past the end"));
    assert_eq!(r.score.note_count(), 26);
    assert!(read_midi(&b, &ReadOptions { strict: true }).is_err());
}

#[test]
fn data_byte_over_127_is_reported_with_its_offset() {
    // One track: note on, then a control change whose value byte is 168.
    let body = [
        0x00, 0x90, 60, 100, 0x10, 0xB0, 7, 168, 0x10, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00,
    ];
    let mut b = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xE0MTrk".to_vec();
    b.extend_from_slice(&(body.len() as u32).to_be_bytes());
    b.extend_from_slice(&body);
    let r = read(&b);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert_eq!((r.warnings[0].at.track, r.warnings[0].at.offset), (Some(0), 26));
    assert!(r.warnings[0].message.contains("168"));
    assert_eq!(r.score.tracks[0].notes, vec![Note::new(0, 32, 60, 100)]);
    assert!(r.score.tracks[0].controls.is_empty());
    let strict = read_midi(&b, &ReadOptions { strict: true }).unwrap_err().to_string();
    assert!(strict.contains("track 0, byte offset 26"), "{strict}");
}

#[test]
fn malformed_event_stops_the_track_with_a_warning() {
    // A system-common status (0xF2) cannot appear in a file.
    let body = [0x00, 0x90, 60, 100, 0x10, 0xF2, 1, 2, 0x00, 0xFF, 0x2F, 0x00];
    let mut b = b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk".to_vec();
    b.extend_from_slice(&(body.len() as u32).to_be_bytes());
    b.extend_from_slice(&body);
    let r = read(&b);
    assert!(r
        .warnings
        .iter()
        .any(|w| w.message.contains("malformed") && w.at.offset == 26));
    assert_eq!(r.score.note_count(), 1);
}

// ---- writing ----

#[test]
fn writer_refuses_values_midi_cannot_hold() {
    let mut s = Score::<Tick>::new(480);
    let mut t = Track::new("x", 0, 0);
    t.notes.push(Note::new(0, 10, 60, 0));
    s.tracks.push(t);
    let e = write_midi(&s, MidiFormat::Type1).unwrap_err().to_string();
    assert!(e.contains("track 0 note 0") && e.contains("velocity"), "{e}");
    s.tracks[0].notes[0] = Note::new(-5, 10, 60, 10);
    assert!(write_midi(&s, MidiFormat::Type1)
        .unwrap_err()
        .to_string()
        .contains("negative"));
    s.tracks[0].notes[0] = Note::new(0, 10, 200, 10);
    assert!(write_midi(&s, MidiFormat::Type1).is_err());
    s.tracks[0].notes[0] = Note::new(0, 10, 60, 10);
    s.tracks[0].channel = 16;
    assert!(write_midi(&s, MidiFormat::Type1).is_err());
    s.tracks[0].channel = 0;
    s.time_signatures.push(TimeSignature::new(0, 3, 5));
    assert!(write_midi(&s, MidiFormat::Type1)
        .unwrap_err()
        .to_string()
        .contains("3/5"));
}

#[test]
fn pedals_without_cc64_are_written_as_cc64() {
    let mut s = Score::<Tick>::new(96);
    let mut t = Track::new("p", 0, 0);
    t.notes.push(Note::new(0, 96, 60, 80));
    t.pedals.push(Pedal { time: 10, duration: 50 });
    s.tracks.push(t);
    let back = read(&write_midi(&s, MidiFormat::Type1).unwrap()).score;
    assert_eq!(back.tracks[0].pedals, s.tracks[0].pedals);
    assert_eq!(back.tracks[0].controls.len(), 2);
}

#[test]
fn file_writes_are_atomic_and_never_overwrite_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.mid");
    let s = read(&features()).score;
    write_midi_file(&s, &path, &WriteOptions::default()).unwrap();
    let first = std::fs::read(&path).unwrap();
    std::fs::write(&path, b"user data").unwrap();
    let e = write_midi_file(&s, &path, &WriteOptions::default()).unwrap_err();
    assert!(matches!(e, ScoreError::Exists { .. }));
    assert_eq!(std::fs::read(&path).unwrap(), b"user data");
    write_midi_file(
        &s,
        &path,
        &WriteOptions {
            overwrite: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), first);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(left.len(), 1, "temporary files left behind");
    let e = write_midi_file(&s, dir.path().join("no/such/dir/x.mid"), &WriteOptions::default()).unwrap_err();
    assert!(e.to_string().contains("no/such/dir"), "{e}");
}
