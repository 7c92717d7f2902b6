//! Prepared datasets round-trip: the tokens of a prepared split decode back
//! to the preprocessed pieces; a prepared folder resumes and refuses to be
//! overwritten by another run without `force`.

use fugue_data::prepare::{write_shards, ShardJob};
use fugue_data::shards::Manifest;
use fugue_data::{load, DataError, Dataset, DatasetRef, Known, LoadOptions, Piece, Split};
use fugue_tokens::beat_grid::BeatConfig;
use fugue_tokens::remi::Remi;
use fugue_tokens::tsd::Tsd;
use fugue_tokens::Tokenizer;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

fn prepare_split(ds: &Dataset, split: Split, tok: &dyn Tokenizer, out: &Path, force: bool) -> Result<usize, DataError> {
    let pieces: Vec<&Piece> = ds.split(split).collect();
    let names: Vec<String> = pieces.iter().map(|p| p.id.clone()).collect();
    let config = serde_json::json!({"test": true});
    let seen = AtomicUsize::new(0);
    let run = write_shards(
        &ShardJob {
            out,
            tokenizer: tok,
            config: &config,
            files_per_shard: 16,
            force,
        },
        &names,
        |i| pieces[i].score().map_err(|e| e.to_string()),
        || {
            seen.fetch_add(1, Ordering::Relaxed);
        },
    )?;
    assert_eq!(seen.load(Ordering::Relaxed), names.len());
    assert!(run.manifest.failed.is_empty(), "{:?}", run.manifest.failed);
    Ok(run.resumed)
}

fn assert_round_trip(ds: &Dataset, split: Split, tok: &dyn Tokenizer, out: &Path) {
    let m = Manifest::load(out).unwrap().unwrap();
    let pieces: Vec<&Piece> = ds.split(split).collect();
    assert_eq!(m.files.len(), pieces.len());
    for (f, p) in m.files.iter().zip(&pieces) {
        assert_eq!(f.path, p.id);
        let ids: Vec<Vec<u32>> = (0..f.sequences.len())
            .map(|i| m.read_sequence(out, f, i).unwrap())
            .collect();
        let back = tok.decode_ids(&ids).unwrap();
        let want = tok.preprocess(&p.score().unwrap()).score;
        assert_eq!(back, want, "{}", p.id);
    }
}

#[test]
fn a_prepared_midi_folder_decodes_back_and_resumes() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let ds = load(&DatasetRef::Folder(samples), Path::new("."), &LoadOptions::default()).unwrap();
    let tok = Remi::new(BeatConfig::default()).unwrap();
    let out = tempfile::tempdir().unwrap();
    for split in Split::ALL {
        let dir = out.path().join(split.name());
        assert_eq!(prepare_split(&ds, split, &tok, &dir, false).unwrap(), 0);
        assert_round_trip(&ds, split, &tok, &dir);
        // Same run again: everything resumed.
        assert_eq!(
            prepare_split(&ds, split, &tok, &dir, false).unwrap(),
            ds.split(split).count()
        );
    }
    let tsd = Tsd::new(BeatConfig::default()).unwrap();
    let train = out.path().join("train");
    assert!(matches!(
        prepare_split(&ds, Split::Train, &tsd, &train, false),
        Err(DataError::OtherRun { .. })
    ));
    prepare_split(&ds, Split::Train, &tsd, &train, true).unwrap();
    assert_round_trip(&ds, Split::Train, &tsd, &train);
}

#[test]
fn prepared_corpora_decode_back_to_their_preprocessed_pieces() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if !root.is_dir() {
        println!("skipped: {} is absent", root.display());
        return;
    }
    let tok = Remi::new(BeatConfig::default()).unwrap();
    for k in [Known::Jsb, Known::Jsb16th, Known::JsFakes] {
        let ds = load(&DatasetRef::Known(k), &root, &LoadOptions::default()).unwrap();
        let out = tempfile::tempdir().unwrap();
        prepare_split(&ds, Split::Valid, &tok, out.path(), false).unwrap();
        assert_round_trip(&ds, Split::Valid, &tok, out.path());
    }
}
