//! Property tests: random scores survive write → read; tick ↔ second
//! conversion round-trips under random tempo maps.

use fugue_score::midi::{pedals_from_controls, read_midi, write_midi, MidiFormat, ReadOptions};
use fugue_score::*;
use proptest::prelude::*;

fn arb_track(index: usize) -> impl Strategy<Value = Track<Tick>> {
    (
        prop::collection::vec((0i64..5000, 0i64..800, 0u8..128, 1u8..128), 1..60),
        prop::collection::vec((0i64..5000, 0u8..128, 0u8..128), 0..20),
        prop::collection::vec((0i64..5000, -8192i16..8192), 0..10),
        prop::collection::vec((0i64..5000, "[a-z]{1,6}"), 0..4),
        prop::collection::vec((0i64..5000, prop::collection::vec(0u8..128, 0..6)), 0..3),
        0u8..128,
        "[A-Za-z é]{0,10}",
    )
        .prop_map(move |(notes, ccs, bends, lyrics, sysex, program, name)| {
            let channel = (index % 16) as u8;
            let mut t = Track::new(name, program, channel);
            // Keep same-pitch notes from overlapping: MIDI cannot say which
            // note-off ends which note, so such overlaps are not representable.
            let mut notes: Vec<Note<Tick>> = notes.into_iter().map(|(a, d, p, v)| Note::new(a, d, p, v)).collect();
            notes.sort_by_key(|n| (n.time, n.pitch, n.duration, n.velocity));
            let mut busy_until = [i64::MIN; 128];
            for n in notes {
                if n.time >= busy_until[n.pitch as usize] {
                    busy_until[n.pitch as usize] = n.end().max(n.time + 1);
                    t.notes.push(n);
                }
            }
            // The reader's order: by onset, ties in note-on order.
            t.notes.sort_by_key(|n| n.time);
            let mut ccs = ccs;
            ccs.sort_by_key(|c| c.0);
            t.controls = ccs
                .into_iter()
                .map(|(time, number, value)| ControlChange { time, number, value })
                .collect();
            t.pedals = pedals_from_controls(&t.controls);
            let mut bends = bends;
            bends.sort_by_key(|b| b.0);
            t.pitch_bends = bends
                .into_iter()
                .map(|(time, value)| PitchBend { time, value })
                .collect();
            let mut lyrics = lyrics;
            lyrics.sort_by_key(|l| l.0);
            t.lyrics = lyrics.into_iter().map(|(time, text)| Text { time, text }).collect();
            let mut sysex = sysex;
            sysex.sort_by_key(|s| s.0);
            t.extra = sysex
                .into_iter()
                .map(|(time, d)| RawEvent {
                    time,
                    kind: RawKind::SysEx(d),
                })
                .collect();
            t
        })
}

fn arb_score() -> impl Strategy<Value = Score<Tick>> {
    (
        1u16..2000,
        (1usize..5).prop_flat_map(|n| (0..n).map(arb_track).collect::<Vec<_>>()),
        prop::collection::vec((0i64..6000, 1u32..0xFF_FFFF), 0..5),
        prop::collection::vec((0i64..6000, 1u8..13, 0u32..5), 0..3),
        prop::collection::vec((0i64..6000, -7i8..8, any::<bool>()), 0..3),
    )
        .prop_map(|(tpq, tracks, tempos, sigs, keys)| {
            let mut s = Score::new(tpq);
            s.tracks = tracks;
            s.tempos = tempos.into_iter().map(|(time, mspq)| Tempo { time, mspq }).collect();
            s.time_signatures = sigs
                .into_iter()
                .map(|(t, n, d)| TimeSignature::new(t, n, 1 << d))
                .collect();
            s.key_signatures = keys
                .into_iter()
                .map(|(time, key, minor)| KeySignature { time, key, minor })
                .collect();
            s.tempos.sort_by_key(|t| t.time);
            s.time_signatures.sort_by_key(|t| t.time);
            s.key_signatures.sort_by_key(|t| t.time);
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_scores_survive_write_then_read(s in arb_score()) {
        let bytes = write_midi(&s, MidiFormat::Type1).unwrap();
        let back = read_midi(&bytes, &ReadOptions { strict: true }).unwrap();
        prop_assert_eq!(&back.score, &s);
        prop_assert_eq!(write_midi(&back.score, MidiFormat::Type1).unwrap(), bytes);
    }

    #[test]
    fn ticks_to_seconds_and_back(
        tpq in 1u16..4000,
        tempos in prop::collection::vec((0i64..200_000, 1u32..0xFF_FFFF), 0..20),
        ticks in prop::collection::vec(0i64..400_000, 1..50),
    ) {
        let tempos: Vec<Tempo<Tick>> = tempos.into_iter().map(|(time, mspq)| Tempo { time, mspq }).collect();
        let map = TempoMap::new(tpq, &tempos);
        for t in ticks {
            prop_assert_eq!(map.second_to_tick(map.tick_to_second(t)), t);
        }
        // Whole scores too, through every unit.
        let mut s = Score::<Tick>::new(tpq);
        s.tempos = tempos;
        s.tempos.sort_by_key(|t| t.time);
        let mut tr = Track::new("", 0, 0);
        tr.notes = (0..20).map(|i| Note::new(i * 7919 % 300_000, i * 31, 60, 64)).collect();
        s.tracks.push(tr);
        prop_assert_eq!(&s.to_second().to_tick(), &s);
        prop_assert_eq!(&s.to_quarter().to_tick(), &s);
        prop_assert_eq!(&s.to_second().to_quarter().to_tick(), &s);
    }
}
