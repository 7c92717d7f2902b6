//! Batching properties: every token once per epoch in whole-piece mode,
//! masks, seeded order, resumable state, windows, frames, shard streaming.

use fugue_data::batch::{Example, InMemory, ShardStream};
use fugue_data::{Batch, BatchConfig, Batcher, BatcherState, FrameBatcher, Roll, Windowing};

/// Sequences whose ids are all distinct (id = running counter + 1, 0 = pad).
fn seqs() -> Vec<Vec<u32>> {
    let mut next = 1u32;
    [5usize, 1, 17, 3, 9, 30, 2, 8, 8, 13, 4, 21]
        .iter()
        .map(|&n| {
            (0..n)
                .map(|_| {
                    next += 1;
                    next
                })
                .collect()
        })
        .collect()
}

fn epoch<S: fugue_data::batch::Source<Item = Vec<u32>>>(b: &mut Batcher<S>) -> Vec<Batch> {
    let mut out = Vec::new();
    while let Some(x) = b.next_batch().unwrap() {
        out.push(x);
    }
    out
}

fn tokens(batches: &[Batch]) -> Vec<u32> {
    let mut t: Vec<u32> = batches
        .iter()
        .flat_map(|b| b.ids.iter().zip(&b.mask).filter(|(_, m)| **m == 1).map(|(i, _)| *i))
        .collect();
    t.sort_unstable();
    t
}

fn all_tokens() -> Vec<u32> {
    let mut t: Vec<u32> = seqs().into_iter().flatten().collect();
    t.sort_unstable();
    t
}

fn check_masks(b: &Batch, data: &[Vec<u32>], pad: u32) {
    assert_eq!(b.ids.len(), b.rows * b.len);
    assert_eq!(b.mask.len(), b.rows * b.len);
    for (r, e) in b.examples.iter().enumerate() {
        let row = &b.ids[r * b.len..(r + 1) * b.len];
        let mask = &b.mask[r * b.len..(r + 1) * b.len];
        assert_eq!(&row[..e.len], &data[e.seq][e.start..e.start + e.len]);
        assert!(mask[..e.len].iter().all(|m| *m == 1));
        assert!(mask[e.len..].iter().all(|m| *m == 0));
        assert!(row[e.len..].iter().all(|i| *i == pad));
    }
}

fn configs() -> Vec<BatchConfig> {
    let mut out = Vec::new();
    for bucket in [0, 2] {
        for max_len in [usize::MAX, 7] {
            for batch_size in [1, 3, 5] {
                out.push(BatchConfig {
                    batch_size,
                    windowing: Windowing::Whole { max_len },
                    pad_id: 0,
                    shuffle: true,
                    bucket,
                    drop_last: false,
                });
            }
        }
    }
    out
}

#[test]
fn whole_pieces_every_token_once_per_epoch_with_correct_masks() {
    for cfg in configs() {
        let mut b = Batcher::new(InMemory::new(seqs()), cfg, 11).unwrap();
        for e in 0..3 {
            let batches = epoch(&mut b);
            assert_eq!(tokens(&batches), all_tokens(), "{cfg:?} epoch {e}");
            for x in &batches {
                check_masks(x, &seqs(), 0);
                assert!(x.rows <= cfg.batch_size);
                if let Windowing::Whole { max_len } = cfg.windowing {
                    assert!(x.len <= max_len);
                }
                assert_eq!(x.len, x.examples.iter().map(|e| e.len).max().unwrap());
            }
            assert_eq!(b.state().epoch, e + 1);
        }
    }
}

#[test]
fn same_seed_same_order_other_seed_or_epoch_other_order() {
    let cfg = BatchConfig {
        batch_size: 2,
        ..BatchConfig::default()
    };
    let order = |seed| {
        let mut b = Batcher::new(InMemory::new(seqs()), cfg, seed).unwrap();
        let a: Vec<Vec<Example>> = epoch(&mut b).into_iter().map(|x| x.examples).collect();
        let c: Vec<Vec<Example>> = epoch(&mut b).into_iter().map(|x| x.examples).collect();
        (a, c)
    };
    let (a1, a2) = order(5);
    assert_eq!(order(5), (a1.clone(), a2.clone()));
    assert_ne!(a1, a2, "epochs differ");
    assert_ne!(order(6).0, a1, "seeds differ");
    let unshuffled = BatchConfig { shuffle: false, ..cfg };
    let mut b = Batcher::new(InMemory::new(seqs()), unshuffled, 5).unwrap();
    let first = epoch(&mut b);
    assert_eq!(first[0].examples[0].seq, 0);
    assert_eq!(first[0].examples[1].seq, 1);
}

#[test]
fn a_saved_state_resumes_the_rest_of_the_epoch() {
    for cfg in configs() {
        let mut full = Batcher::new(InMemory::new(seqs()), cfg, 99).unwrap();
        let _ = epoch(&mut full);
        let mut reference = epoch(&mut full);
        reference.extend(epoch(&mut full));
        for stop in [0, 1, 3] {
            let mut b = Batcher::new(InMemory::new(seqs()), cfg, 99).unwrap();
            let _ = epoch(&mut b);
            let mut before = Vec::new();
            for _ in 0..stop {
                if let Some(x) = b.next_batch().unwrap() {
                    before.push(x);
                }
            }
            let saved = serde_json::to_string(&b.state()).unwrap();
            let state: BatcherState = serde_json::from_str(&saved).unwrap();
            let mut r = Batcher::resume(InMemory::new(seqs()), cfg, state).unwrap();
            let mut rest = epoch(&mut r);
            rest.extend(epoch(&mut r));
            before.extend(rest);
            assert_eq!(before, reference, "{cfg:?} stop {stop}");
        }
    }
}

#[test]
fn windows_have_fixed_length_and_stride() {
    let data = vec![(1..=10).collect::<Vec<u32>>()];
    let cfg = BatchConfig {
        batch_size: 8,
        windowing: Windowing::Windows { len: 4, stride: 3 },
        pad_id: 999,
        shuffle: false,
        ..BatchConfig::default()
    };
    let mut b = Batcher::new(InMemory::new(data.clone()), cfg, 0).unwrap();
    let x = b.next_batch().unwrap().unwrap();
    assert_eq!(x.len, 4);
    assert_eq!(
        x.examples.iter().map(|e| (e.start, e.len)).collect::<Vec<_>>(),
        vec![(0, 4), (3, 4), (6, 4)]
    );
    check_masks(&x, &data, 999);
    let cfg = BatchConfig {
        windowing: Windowing::Windows { len: 4, stride: 4 },
        ..cfg
    };
    let mut b = Batcher::new(InMemory::new(data.clone()), cfg, 0).unwrap();
    let x = b.next_batch().unwrap().unwrap();
    assert_eq!(&x.ids[8..], &[9, 10, 999, 999]);
    assert_eq!(&x.mask[8..], &[1, 1, 0, 0]);
    assert!(Batcher::new(InMemory::new(data), BatchConfig { batch_size: 0, ..cfg }, 0).is_err());
}

#[test]
fn frame_batches_are_rows_time_pitches_with_masks() {
    let rolls = vec![
        Roll::new(vec![vec![21, 60], vec![], vec![108]], None),
        Roll::new(vec![vec![64]], None),
    ];
    let cfg = BatchConfig {
        batch_size: 2,
        shuffle: false,
        ..BatchConfig::default()
    };
    let state = BatcherState {
        seed: 1,
        epoch: 0,
        pool: 0,
        batch: 0,
    };
    let mut b = FrameBatcher::new(rolls.clone(), FrameBatcher::PIANO_88, cfg, state).unwrap();
    let x = b.next_batch().unwrap().unwrap();
    assert_eq!((x.rows, x.time, x.pitches), (2, 3, 88));
    assert_eq!(x.mask, vec![1, 1, 1, 1, 0, 0]);
    let at = |r: usize, t: usize, p: usize| x.frames[(r * 3 + t) * 88 + p - 21];
    assert_eq!((at(0, 0, 21), at(0, 0, 60), at(0, 2, 108), at(1, 0, 64)), (1, 1, 1, 1));
    assert_eq!(x.frames.iter().map(|v| u32::from(*v)).sum::<u32>(), 4);
    assert!(b.next_batch().unwrap().is_none());
    let mut wide = FrameBatcher::new(rolls, FrameBatcher::MIDI_128, cfg, state).unwrap();
    assert_eq!(wide.next_batch().unwrap().unwrap().pitches, 128);
    let low = vec![Roll::new(vec![vec![10]], None)];
    assert!(FrameBatcher::new(low, FrameBatcher::PIANO_88, cfg, state).is_err());
}

#[test]
fn shard_streaming_sees_every_token_once_and_resumes() {
    use fugue_data::shards::{write_shard, FileEntry, Manifest};
    let dir = tempfile::tempdir().unwrap();
    let data = seqs();
    let mut m = Manifest {
        scheme: "test".into(),
        files_per_shard: 3,
        ..Manifest::default()
    };
    for (si, chunk) in data.chunks(3).enumerate() {
        let files: Vec<Vec<Vec<u32>>> = chunk.iter().map(|s| vec![s.clone()]).collect();
        let (info, refs) = write_shard(dir.path(), si as u32, &files).unwrap();
        m.shards.push(info);
        for (i, r) in refs.into_iter().enumerate() {
            m.files.push(FileEntry {
                path: format!("{si}-{i}"),
                shard: si as u32,
                sequences: r,
                notes: 0,
            });
        }
    }
    m.save(dir.path()).unwrap();
    let cfg = BatchConfig {
        batch_size: 2,
        bucket: 1,
        windowing: Windowing::Whole { max_len: 6 },
        ..BatchConfig::default()
    };
    let open = || ShardStream::open(dir.path(), 2).unwrap();
    let mut b = Batcher::new(open(), cfg, 3).unwrap();
    let e0 = epoch(&mut b);
    let e1 = epoch(&mut b);
    assert_eq!(tokens(&e0), all_tokens());
    assert_eq!(tokens(&e1), all_tokens());
    assert_ne!(e0, e1);
    let mut b = Batcher::new(open(), cfg, 3).unwrap();
    let _ = epoch(&mut b);
    for _ in 0..4 {
        b.next_batch().unwrap();
    }
    let mut r = Batcher::resume(open(), cfg, b.state()).unwrap();
    assert_eq!(epoch(&mut r), e1[4..].to_vec());
    std::fs::write(dir.path().join("shard-00001.ids"), [0u8; 8]).unwrap();
    let mut bad = Batcher::new(open(), BatchConfig { shuffle: false, ..cfg }, 3).unwrap();
    let err = std::iter::from_fn(|| Some(bad.next_batch()))
        .find_map(Result::err)
        .unwrap();
    assert!(err.to_string().contains("checksum"), "{err}");
}
