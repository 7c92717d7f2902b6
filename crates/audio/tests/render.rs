//! Rendering end to end: lengths, silence, pedal, bends, pan, determinism,
//! WAV round trips, SoundFonts (real and broken) and errors.

use fugue_audio::{
    limiter::THRESHOLD, read_wav, render, write_wav, Audio, AudioError, RenderOptions, SoundFont, Synth,
};
use fugue_score::midi::{read_midi, ReadOptions};
use fugue_score::{ControlChange, Note, Pedal, PitchBend, Score, Second, Track};
use std::path::PathBuf;
use std::time::Duration;

const SR: u32 = 44_100;

fn data() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
}

fn font_path() -> Option<PathBuf> {
    let p = data().join("soundfonts/TimGM6mb.sf2");
    if p.exists() {
        Some(p)
    } else {
        println!("skipped: {} not found (../shared/data is absent)", p.display());
        None
    }
}

/// A score in seconds with one track of `notes` (onset, length, pitch).
fn score(program: u8, notes: &[(f64, f64, u8)]) -> Score<Second> {
    let mut s = Score::<Second>::new(480);
    let mut t = Track::new("t", program, 0);
    for &(time, dur, pitch) in notes {
        t.notes.push(Note::new(time, dur, pitch, 90));
    }
    s.tracks.push(t);
    s
}

fn builtin() -> RenderOptions {
    RenderOptions::default()
}

/// RMS of both channels between two times.
fn rms(a: &Audio, from: f64, to: f64) -> f64 {
    let f = |t: f64| ((t * f64::from(a.sample_rate)) as usize * 2).min(a.samples.len());
    let s = &a.samples[f(from)..f(to)];
    if s.is_empty() {
        return 0.0;
    }
    (s.iter().map(|&x| f64::from(x) * f64::from(x)).sum::<f64>() / s.len() as f64).sqrt()
}

fn seconds(a: &Audio) -> f64 {
    a.duration().as_secs_f64()
}

#[test]
fn a_note_sounds_where_it_is_and_nowhere_else() {
    let a = render(&score(0, &[(0.5, 1.0, 60), (4.0, 0.5, 67)]), &builtin()).unwrap();
    assert_eq!((a.sample_rate, a.channels), (SR, 2));
    // Exactly silent before the first onset.
    let onset = (0.5 * f64::from(SR)) as usize * 2;
    assert!(a.samples[..onset].iter().all(|&x| x == 0.0));
    assert!(a.samples[onset + 200] != 0.0);
    assert!(rms(&a, 0.55, 1.45) > 0.01);
    // The damper has silenced the first note well before the second.
    assert!(rms(&a, 2.5, 3.9) < 1e-5, "{}", rms(&a, 2.5, 3.9));
    assert!(rms(&a, 4.05, 4.45) > 0.01);
    // The end: last note-off (4.5 s) plus a release tail that dies away.
    let len = seconds(&a);
    assert!(len > 4.6 && len < 4.5 + 2.0, "{len}");
    assert!(rms(&a, len - 0.05, len) < 1e-3 * rms(&a, 4.05, 4.45));
    assert!(a.peak() <= THRESHOLD);
}

#[test]
fn the_sustain_pedal_keeps_notes_sounding() {
    let dry = score(0, &[(0.0, 0.3, 60)]);
    let mut wet = dry.clone();
    wet.tracks[0].pedals.push(Pedal {
        time: 0.0,
        duration: 2.0,
    });
    let (d, w) = (render(&dry, &builtin()).unwrap(), render(&wet, &builtin()).unwrap());
    assert!(
        seconds(&w) > 2.0 && seconds(&d) < 1.5,
        "{} {}",
        seconds(&w),
        seconds(&d)
    );
    assert!(rms(&w, 1.0, 1.9) > 100.0 * rms(&d, 1.0, 1.9).max(1e-9));
    // The same through CC64 controls, which win over `pedals`.
    let mut cc = dry.clone();
    for (time, value) in [(0.0, 127), (2.0, 0)] {
        cc.tracks[0].controls.push(ControlChange {
            time,
            number: 64,
            value,
        });
    }
    let c = render(&cc, &builtin()).unwrap();
    assert_eq!(c, w);
}

#[test]
fn rendering_is_deterministic() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/features.rmi");
    let bytes = std::fs::read(path).unwrap();
    let s = read_midi(&bytes, &ReadOptions::default()).unwrap().score;
    assert!(s.tracks.iter().any(|t| t.is_drum));
    let a = render(&s, &builtin()).unwrap();
    let b = render(&s, &builtin()).unwrap();
    assert!(a.rms() > 1e-3);
    assert_eq!(a.samples.len(), b.samples.len());
    assert!(a
        .samples
        .iter()
        .zip(&b.samples)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
}

#[test]
fn a_pitch_bend_moves_the_pitch() {
    // A pipe (nearly a sine) at A4; +8191 with the default ±2 semitones is B4.
    let mut s = score(73, &[(0.0, 1.0, 69)]);
    s.tracks[0].pitch_bends.push(PitchBend { time: 0.5, value: 8191 });
    let a = render(&s, &builtin()).unwrap();
    let power = |from: f64, hz: f64| {
        let start = (from * f64::from(SR)) as usize;
        let (mut re, mut im) = (0.0, 0.0);
        for n in 0..8820 {
            let x = f64::from(a.samples[(start + n) * 2]);
            let ph = std::f64::consts::TAU * hz * n as f64 / f64::from(SR);
            re += x * ph.cos();
            im += x * ph.sin();
        }
        re * re + im * im
    };
    let b4 = 440.0 * 2f64.powf(2.0 / 12.0);
    assert!(power(0.2, 440.0) > 100.0 * power(0.2, b4));
    assert!(power(0.7, b4) > 100.0 * power(0.7, 440.0));
}

#[test]
fn pan_and_volume_controls_are_followed() {
    let mut s = score(0, &[(0.0, 0.5, 60)]);
    s.tracks[0].controls.push(ControlChange {
        time: 0.0,
        number: 10,
        value: 0,
    });
    let a = render(&s, &builtin()).unwrap();
    let (l, r) = a
        .samples
        .chunks(2)
        .fold((0.0, 0.0), |(l, r), f| (l + f[0].abs(), r + f[1].abs()));
    assert!(l > 50.0 * r, "{l} {r}");
    let mut quiet = score(0, &[(0.0, 0.5, 60)]);
    quiet.tracks[0].controls.push(ControlChange {
        time: 0.0,
        number: 7,
        value: 50,
    });
    let q = render(&quiet, &builtin()).unwrap();
    let loud = render(&score(0, &[(0.0, 0.5, 60)]), &builtin()).unwrap();
    assert!(q.rms() < 0.5 * loud.rms());
}

#[test]
fn every_family_and_the_drum_kit_sound_and_stay_under_the_ceiling() {
    for program in (0..128).step_by(8) {
        let chord: Vec<(f64, f64, u8)> = [48, 55, 60, 64, 67, 72].iter().map(|&p| (0.0, 0.4, p)).collect();
        let a = render(&score(program, &chord), &builtin()).unwrap();
        assert!(
            a.rms() > 1e-3 && a.peak() <= THRESHOLD,
            "program {program}: rms {} peak {}",
            a.rms(),
            a.peak()
        );
    }
    let mut drums = score(0, &[(0.0, 0.1, 36), (0.25, 0.1, 38), (0.5, 0.1, 42), (0.75, 0.1, 49)]);
    drums.tracks[0].is_drum = true;
    drums.tracks[0].channel = 9;
    let a = render(&drums, &builtin()).unwrap();
    assert!(rms(&a, 0.0, 0.2) > 1e-3 && rms(&a, 0.75, 1.0) > 1e-3);
}

#[test]
fn the_voice_limit_holds_under_a_cluster() {
    let cluster: Vec<(f64, f64, u8)> = (30..100).map(|p| (0.0, 1.0, p)).collect();
    let opts = RenderOptions {
        max_voices: 8,
        ..builtin()
    };
    let few = render(&score(48, &cluster), &opts).unwrap();
    let many = render(&score(48, &cluster), &builtin()).unwrap();
    assert!(few.rms() > 1e-3 && few.rms() < many.rms());
}

#[test]
fn empty_scores_give_empty_audio_and_limits_are_errors() {
    let a = render(&Score::<Second>::new(480), &builtin()).unwrap();
    assert!(a.samples.is_empty());
    let opts = RenderOptions {
        sample_rate: 1000,
        ..builtin()
    };
    assert!(matches!(
        render(&score(0, &[(0.0, 1.0, 60)]), &opts),
        Err(AudioError::SampleRate { rate: 1000, .. })
    ));
    let opts = RenderOptions {
        max_duration: Duration::from_secs(10),
        ..builtin()
    };
    let e = render(&score(0, &[(100.0, 1.0, 60)]), &opts).unwrap_err();
    assert!(matches!(e, AudioError::TooLong { .. }), "{e}");
}

#[test]
fn scores_in_ticks_and_seconds_render_alike() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../samples/bach_chorale.mid")).unwrap();
    let ticks = read_midi(&bytes, &ReadOptions::default()).unwrap().score;
    let a = render(&ticks, &builtin()).unwrap();
    let b = render(&ticks.to_second(), &builtin()).unwrap();
    assert_eq!(a, b);
    let end = ticks.duration_seconds();
    assert!(seconds(&a) > end && seconds(&a) < end + 2.0);
    // A four-voice chorale on piano: healthy level, no clipping.
    assert!(
        a.rms() > 0.02 && a.peak() <= THRESHOLD,
        "rms {} peak {}",
        a.rms(),
        a.peak()
    );
}

#[test]
fn wav_files_round_trip_and_are_not_overwritten() {
    let a = render(&score(0, &[(0.0, 0.5, 60), (0.2, 0.5, 64)]), &builtin()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.wav");
    write_wav(&path, &a, false).unwrap();
    let b = read_wav(&path).unwrap();
    assert_eq!((b.sample_rate, b.channels, b.samples.len()), (SR, 2, a.samples.len()));
    assert!(a
        .samples
        .iter()
        .zip(&b.samples)
        .all(|(x, y)| (x - y).abs() <= 1.0 / 32767.0));
    let spec = hound::WavReader::open(&path).unwrap().spec();
    assert_eq!(
        (spec.bits_per_sample, spec.sample_format),
        (16, hound::SampleFormat::Int)
    );
    let e = write_wav(&path, &a, false).unwrap_err();
    assert!(
        matches!(e, AudioError::Exists { .. }) && e.to_string().contains("out.wav"),
        "{e}"
    );
    write_wav(&path, &b, true).unwrap();
    let e = read_wav(dir.path().join("missing.wav")).unwrap_err();
    assert!(e.to_string().contains("missing.wav"), "{e}");
}

#[test]
fn missing_and_broken_soundfonts_are_errors_naming_the_file() {
    let e = SoundFont::load("/no/such/font.sf2").unwrap_err();
    assert!(
        matches!(e, AudioError::Io { .. }) && e.to_string().contains("/no/such/font.sf2"),
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sf2");
    std::fs::write(&bad, b"RIFF\x10\0\0\0WAVEfmt junk junk").unwrap();
    let e = SoundFont::load(&bad).unwrap_err();
    assert!(
        matches!(e, AudioError::SoundFont { .. }) && e.to_string().contains("bad.sf2"),
        "{e}"
    );
    let Some(real) = font_path() else {
        return;
    };
    let bytes = std::fs::read(real).unwrap();
    let e = SoundFont::from_bytes(&bytes[..bytes.len() / 2], "half.sf2").unwrap_err();
    assert!(
        e.to_string().contains("half.sf2") && e.to_string().contains("truncated"),
        "{e}"
    );
}

#[test]
fn damaged_soundfonts_never_panic_through_the_api() {
    let Some(real) = font_path() else {
        return;
    };
    let bytes = std::fs::read(real).unwrap();
    let mut s = Score::<Second>::new(480);
    for program in (0..128u8).step_by(4) {
        let mut t = Track::new("x", program, 0);
        t.notes.push(Note::new(0.0, 0.05, 36 + program % 48, 100));
        s.tracks.push(t);
    }
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng as usize
    };
    for case in 0..24 {
        let mut b = bytes.clone();
        // Damage the preset/instrument tables at the end of the file, or anywhere.
        let span = if case % 2 == 0 { 200_000 } else { b.len() };
        for _ in 0..10 {
            let at = b.len() - 1 - next() % span;
            b[at] = next() as u8;
        }
        if let Ok(font) = SoundFont::from_bytes(&b, "damaged.sf2") {
            let opts = RenderOptions {
                synth: Synth::SoundFont(font),
                sample_rate: 22_050,
                ..builtin()
            };
            let _ = render(&s, &opts);
        }
    }
}

#[test]
fn a_soundfont_renders_notes_pedal_drums_deterministically() {
    let Some(p) = font_path() else {
        return;
    };
    let font = SoundFont::load(&p).unwrap();
    assert!(font.preset_count() > 128);
    let opts = RenderOptions {
        synth: Synth::SoundFont(font),
        ..builtin()
    };
    let mut s = score(0, &[(0.5, 1.0, 60), (4.0, 0.5, 67)]);
    let mut drums = Track::new("drums", 0, 9);
    drums.notes.push(Note::new(0.5, 0.1, 36, 100));
    s.tracks.push(drums);
    let a = render(&s, &opts).unwrap();
    let b = render(&s, &opts).unwrap();
    assert_eq!(a, b);
    assert!(rms(&a, 0.0, 0.45) < 1e-6);
    assert!(rms(&a, 0.55, 1.4) > 1e-3);
    assert!(rms(&a, 4.05, 4.45) > 1e-3);
    let len = seconds(&a);
    assert!(len > 4.5 && len <= 4.5 + 5.1, "{len}");
    assert!(a.peak() <= THRESHOLD);
    let mut pedalled = s.clone();
    pedalled.tracks[0].pedals.push(Pedal {
        time: 0.0,
        duration: 3.5,
    });
    let p = render(&pedalled, &opts).unwrap();
    assert!(rms(&p, 2.0, 3.0) > 10.0 * rms(&a, 2.0, 3.0).max(1e-9));
}
