//! Loaders against the real corpora of `../shared/data` (skipped with a
//! printed reason when it is absent), and the error cases on made-up folders.

use fugue_data::jsb::JsbForm;
use fugue_data::{load, Content, DataError, DatasetRef, Known, LoadOptions, Meta, Split};
use std::path::{Path, PathBuf};

fn root() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        println!("skipped: {} is absent", p.display());
        None
    }
}

fn load_known(root: &Path, k: Known, opts: LoadOptions) -> fugue_data::Dataset {
    let ds = load(&DatasetRef::Known(k), root, &opts).unwrap();
    assert!(
        ds.warnings.iter().all(|w| !w.message.starts_with("skipped")),
        "{:?}",
        ds.warnings
    );
    ds
}

#[test]
fn boulanger_splits_and_frames_are_the_published_ones() {
    let Some(root) = root() else { return };
    let expected = [
        (Known::Jsb, [229, 76, 77], [13_807, 4_602, 4_725]),
        (Known::Nottingham, [694, 173, 170], [176_561, 45_513, 44_463]),
        (Known::MuseData, [524, 135, 124], [245_202, 82_755, 64_339]),
        (Known::PianoMidi, [87, 12, 25], [75_911, 8_540, 19_036]),
    ];
    for (k, pieces, frames) in expected {
        let ds = load_known(&root, k, LoadOptions::default());
        assert_eq!(ds.split_sizes(), pieces, "{}", k.name());
        assert_eq!(ds.split_frames(), frames, "{}", k.name());
        assert!(ds.pieces.iter().all(|p| matches!(&p.content, Content::Roll(r)
            if r.frames.iter().flatten().all(|q| (21..=108).contains(q)))));
    }
}

#[test]
fn jsb_16th_forms_have_the_coconet_split() {
    let Some(root) = root() else { return };
    let train_steps = [
        (JsbForm::Satb, 55_228),
        (JsbForm::Sixteenth, 55_228),
        (JsbForm::Eighth, 27_614),
        (JsbForm::Quarter, 13_807),
    ];
    for (form, steps) in train_steps {
        let ds = load_known(&root, Known::Jsb16th, LoadOptions { jsb_form: form });
        assert_eq!(ds.split_sizes(), [229, 76, 77], "{form:?}");
        assert_eq!(ds.split_frames()[0], steps, "{form:?}");
    }
    let satb = load_known(&root, Known::Jsb16th, LoadOptions::default());
    assert!(matches!(satb.pieces[0].content, Content::Grid(_)));
}

#[test]
fn js_fakes_has_1200_chorales_and_the_listening_test() {
    let Some(root) = root() else { return };
    let ds = load_known(&root, Known::JsFakes, LoadOptions::default());
    assert_eq!(ds.pieces.len() + ds.duplicates.len(), 1200);
    let annotated: Vec<_> = ds
        .pieces
        .iter()
        .filter_map(|p| match &p.meta {
            Meta::ListeningTest(rows) => Some(rows),
            _ => None,
        })
        .collect();
    let rows: usize = annotated.iter().map(|r| r.len()).sum();
    assert!(annotated.len() >= 495, "{}", annotated.len());
    assert_eq!(rows, annotated.len() * 7);
    let total: f64 = annotated
        .iter()
        .flat_map(|r| r.iter())
        .filter(|r| r.skill_level == "total")
        .map(|r| r.responses)
        .sum();
    assert!(total <= 4048.0 && total > 3900.0, "{total}");
    let [tr, va, te] = ds.split_sizes();
    assert!(tr > va && tr > te && va > 0 && te > 0);
}

#[test]
fn pop909_has_909_songs_with_annotations() {
    let Some(root) = root() else { return };
    let ds = load_known(&root, Known::Pop909, LoadOptions::default());
    assert_eq!(ds.pieces.len() + ds.duplicates.len(), 909);
    let first = ds.pieces.iter().find(|p| p.id == "001/001.mid").unwrap();
    let Meta::Pop909(a) = &first.meta else {
        panic!("no annotations")
    };
    assert_eq!(a.chords_audio[1].label, "B:maj7");
    assert_eq!(a.keys[0].label, "Gb:maj");
    assert!(a.beats_midi.iter().any(|b| b.downbeat));
    assert_eq!(a.beats_audio[0].beat_in_bar, 1);
    assert!(a.index.iter().any(|(k, v)| k == "name" && v == "123我爱你"));
    // Same corpus, same split.
    let again = load_known(&root, Known::Pop909, LoadOptions::default());
    assert_eq!(
        ds.pieces.iter().map(|p| (&p.id, p.split)).collect::<Vec<_>>(),
        again.pieces.iter().map(|p| (&p.id, p.split)).collect::<Vec<_>>()
    );
}

#[test]
fn piano_set_honours_maestro_and_keeps_versions_together() {
    let Some(root) = root() else { return };
    let ds = load_known(&root, Known::Piano, LoadOptions::default());
    assert_eq!(ds.pieces.len() + ds.duplicates.len(), 160);
    let maestro: Vec<_> = ds
        .pieces
        .iter()
        .filter(|p| matches!(p.meta, Meta::Maestro(_)))
        .collect();
    assert_eq!(maestro.len(), 49);
    assert!(maestro.iter().all(|p| p.split == Split::Test));
}

#[test]
fn a_midi_folder_dedupes_skips_corrupt_files_and_splits_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/bach_chorale.mid");
    let bytes = std::fs::read(&sample).unwrap();
    std::fs::create_dir_all(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("a.mid"), &bytes).unwrap();
    std::fs::write(dir.path().join("sub/copy.mid"), &bytes).unwrap();
    std::fs::write(dir.path().join("broken.mid"), b"MThd not really").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
    let ds = load(
        &DatasetRef::Folder(dir.path().to_path_buf()),
        Path::new("/nonexistent"),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(ds.pieces.len(), 1);
    assert_eq!(ds.pieces[0].id, "a.mid");
    assert_eq!(ds.duplicates, vec![("sub/copy.mid".to_string(), "a.mid".to_string())]);
    assert!(ds
        .warnings
        .iter()
        .any(|w| w.path == "broken.mid" && w.message.starts_with("skipped")));
    let digest = fugue_data::dataset::sha256(&bytes);
    assert_eq!(ds.pieces[0].split, fugue_data::dataset::hash_split(&digest));
    let Content::Midi(m) = &ds.pieces[0].content else {
        panic!()
    };
    assert_eq!(m.sha256, fugue_data::dataset::hex(&digest));
    assert!(m.notes > 100);

    // A MAESTRO CSV in the folder decides the split of the files it names.
    std::fs::write(
        dir.path().join("maestro-v2.0.0.csv"),
        "canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration\n\
         J. S. Bach,\"Chorale, \"\"x\"\"\",validation,2004,a.mid,a.wav,12.5\n",
    )
    .unwrap();
    let ds = load(
        &DatasetRef::Folder(dir.path().to_path_buf()),
        Path::new("."),
        &LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(ds.pieces[0].split, Split::Valid);
    let Meta::Maestro(row) = &ds.pieces[0].meta else {
        panic!()
    };
    assert_eq!(row.title, "Chorale, \"x\"");
}

#[test]
fn missing_and_corrupt_split_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = load(&DatasetRef::Known(Known::Jsb), dir.path(), &LoadOptions::default()).unwrap_err();
    let DataError::Missing { path, expected, .. } = &e else {
        panic!("{e}")
    };
    assert!(path.ends_with("boulanger2012/jsb_chorales.json"));
    assert!(expected.contains("jsb_chorales.json"));
    std::fs::create_dir_all(dir.path().join("boulanger2012")).unwrap();
    std::fs::write(
        dir.path().join("boulanger2012/jsb_chorales.json"),
        "{\"train\": [[[300]]]}",
    )
    .unwrap();
    let e = load(&DatasetRef::Known(Known::Jsb), dir.path(), &LoadOptions::default()).unwrap_err();
    assert!(matches!(e, DataError::Invalid { .. }), "{e}");
    let e = load(
        &DatasetRef::Folder(dir.path().join("nope")),
        dir.path(),
        &LoadOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("nope"), "{e}");
}

#[test]
fn nottingham_abc_has_one_piece_per_tune_and_a_stable_split() {
    let Some(root) = root() else { return };
    let dir = Known::NottinghamAbc.path(&root);
    if !dir.is_dir() {
        println!("skipped: {} is absent", dir.display());
        return;
    }
    // Tunes as `grep -c '^X:'` counts them: 1,034 in 14 tunebooks.
    let tunes: usize = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "abc"))
        .map(|e| {
            let bytes = std::fs::read(e.path()).unwrap();
            String::from_utf8_lossy(&bytes)
                .lines()
                .filter(|l| l.starts_with("X:"))
                .count()
        })
        .sum();
    assert_eq!(tunes, 1034);
    let t = std::time::Instant::now();
    let ds = load(&DatasetRef::Known(Known::NottinghamAbc), &root, &LoadOptions::default()).unwrap();
    let took = t.elapsed();
    let skipped = ds
        .warnings
        .iter()
        .filter(|w| w.message.starts_with("skipped: tune X:"))
        .count();
    println!(
        "nottingham-abc: {} of {tunes} tunes, {:?} train/valid/test, {skipped} skipped, {} warnings, in {took:?}",
        ds.pieces.len(),
        ds.split_sizes(),
        ds.warnings.len()
    );
    assert!((1031..=1034).contains(&ds.pieces.len()), "{:?}", ds.warnings);
    assert_eq!(ds.pieces.len() + skipped, tunes, "{:?}", ds.warnings);
    assert!(ds.warnings.iter().all(|w| w.path.ends_with(".abc")));
    let ids: std::collections::HashSet<&str> = ds.pieces.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids.len(), ds.pieces.len());
    assert!(ds
        .pieces
        .iter()
        .all(|p| matches!(&p.content, Content::Score(s) if s.note_count() > 0)
            && matches!(p.meta, Meta::AbcTune { x, .. } if p.id.ends_with(&format!("#X:{x}")))));
    let first = ds.pieces.iter().find(|p| p.id == "ashover.abc#X:1").unwrap();
    assert!(matches!(&first.meta, Meta::AbcTune { title: Some(t), .. } if t == "A and A's Waltz"));
    // The hash split of file name and X: number, fixed for all machines.
    let [train, valid, test] = ds.split_sizes();
    assert!(train > 780 && valid > 80 && test > 80, "{:?}", ds.split_sizes());
    assert_eq!(ds.split_sizes(), [820, 111, 103]);
    let again = load(&DatasetRef::Known(Known::NottinghamAbc), &root, &LoadOptions::default()).unwrap();
    assert_eq!(
        ds.pieces.iter().map(|p| (&p.id, p.split)).collect::<Vec<_>>(),
        again.pieces.iter().map(|p| (&p.id, p.split)).collect::<Vec<_>>()
    );
}

#[test]
fn bach_chorales_are_the_satb_scores_in_disjoint_hash_splits() {
    let Some(root) = root() else { return };
    let dir = Known::BachChorales.path(&root);
    if !dir.is_dir() {
        println!("skipped: {} is absent", dir.display());
        return;
    }
    let t = std::time::Instant::now();
    let ds = load(&DatasetRef::Known(Known::BachChorales), &root, &LoadOptions::default()).unwrap();
    let skipped: Vec<&fugue_data::DataWarning> = ds
        .warnings
        .iter()
        .filter(|w| w.message.starts_with("skipped"))
        .collect();
    println!(
        "bach-chorales: {} pieces, {:?} train/valid/test, {} skipped, {} warnings, in {:?}",
        ds.pieces.len(),
        ds.split_sizes(),
        skipped.len(),
        ds.warnings.len(),
        t.elapsed()
    );
    // MANIFEST §8: 412 scores (409 MusicXML + 3 .krn); 365 are Soprano,
    // Alto, Tenor, Bass; the rest have instrumental parts.
    assert_eq!(ds.pieces.len(), 365, "{:?}", ds.warnings);
    assert_eq!(skipped.len(), 412 - 365, "{skipped:?}");
    assert_eq!(skipped.iter().filter(|w| w.path.ends_with(".krn")).count(), 3);
    assert!(skipped
        .iter()
        .filter(|w| !w.path.ends_with(".krn"))
        .all(|w| w.message.contains("not four parts Soprano, Alto, Tenor, Bass")));
    for p in &ds.pieces {
        let Content::Score(s) = &p.content else {
            panic!("{}: not a score", p.id)
        };
        let names: Vec<&str> = s.tracks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Soprano", "Alto", "Tenor", "Bass"], "{}", p.id);
        assert!(s.tracks.iter().all(|t| !t.notes.is_empty()), "{}", p.id);
    }
    // Splits are disjoint, down to the versions of one chorale.
    let ids: std::collections::HashSet<&str> = ds.pieces.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids.len(), ds.pieces.len());
    let chorales = |s: Split| -> std::collections::HashSet<&str> {
        ds.split(s)
            .map(|p| fugue_data::bach_chorales::chorale_name(&p.id))
            .collect()
    };
    let [train, valid, test] = Split::ALL.map(chorales);
    assert!(train.is_disjoint(&valid) && train.is_disjoint(&test) && valid.is_disjoint(&test));
    let [tr, va, te] = ds.split_sizes();
    assert!(tr > 270 && va > 25 && te > 25, "{:?}", ds.split_sizes());
    // The hash of file names, fixed for all machines.
    assert_eq!(ds.split_sizes(), [290, 40, 35]);
}
