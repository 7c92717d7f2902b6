//! The training loop's promises: every parameter learns, a tiny model
//! overfits a tiny batch, and a run stopped after a checkpoint and resumed
//! ends with exactly the weights of an uninterrupted run.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};
use fugue_models::bachprop::BachPropConfig;
use fugue_models::eck_schmidhuber::EckSchmidhuberConfig;
use fugue_models::lstm::{Cell, LstmLmConfig};
use fugue_models::music_transformer::MusicTransformerConfig;
use fugue_models::rnn_nade::{RnnNadeConfig, RnnRbmConfig};
use fugue_models::todd::ToddConfig;
use fugue_models::weights_to_bytes;
use fugue_train::{train, BachPropTask, FrameTask, OptimizerConfig, Schedule, Task, TokenTask, TrainConfig};

/// Every weight's values by name (the safetensors header may carry ids).
fn weight_values<M: Module>(model: &M) -> Vec<(String, Vec<u8>)> {
    let bytes = weights_to_bytes(model).unwrap_or_else(|e| panic!("{e}"));
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let mut out: Vec<(String, Vec<u8>)> = st.tensors().into_iter().map(|(n, v)| (n, v.data().to_vec())).collect();
    out.sort();
    assert!(!out.is_empty());
    out
}

/// burn's flex backend draws from one process-wide RNG, and the trainer
/// re-seeds it at every micro-step; tests that train in parallel threads
/// would interleave their draws. Each such test holds this lock.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn device() -> Device {
    Device::flex().autodiff()
}

fn pieces() -> Vec<Vec<u32>> {
    (0..6)
        .map(|i| (0..40).map(|j| 2 + ((i * 7 + j * 3) % 9) as u32).collect())
        .collect()
}

fn token_task(batch: usize, len: usize) -> TokenTask {
    TokenTask::new(pieces(), pieces()[..2].to_vec(), vec![], 1, 0, batch, len)
}

fn config(steps: u64) -> TrainConfig {
    TrainConfig {
        optimizer: OptimizerConfig::adamw(0.01),
        schedule: Schedule::Constant { lr: 3e-3 },
        steps,
        accumulate: 2,
        clip_norm: Some(1.0),
        eval_every: 3,
        patience: None,
        checkpoint_every: 4,
        seed: 11,
    }
}

/// Counts parameters whose gradient is missing or all zero.
struct GradCheck<'a> {
    grads: &'a GradientsParams,
    params: usize,
    without: Vec<String>,
    path: Vec<String>,
}

impl ModuleVisitor for GradCheck<'_> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.params += 1;
        let nonzero = self
            .grads
            .get::<D>(param.id)
            .is_some_and(|g| g.abs().sum().into_scalar::<f32>() > 0.0);
        if !nonzero {
            self.without.push(self.path.join("."));
        }
    }
}

fn assert_all_learn<M: Module, T: Task<M>>(model: &M, task: &T, name: &str) {
    let d = device();
    let batch = task.train_batch(1, 1);
    let (loss, _) = task.loss(model, &batch, &d);
    let grads = GradientsParams::from_grads(loss.backward(), model);
    let mut check = GradCheck {
        grads: &grads,
        params: 0,
        without: Vec::new(),
        path: Vec::new(),
    };
    model.visit(&mut check);
    assert!(check.params > 3, "{name}: too few parameters visited");
    assert!(check.without.is_empty(), "{name}: no gradient for {:?}", check.without);
}

#[test]
fn every_parameter_gets_a_gradient() {
    let _serial = serial();
    let d = device();
    let task = token_task(3, 12);
    let mt = MusicTransformerConfig::tiny(12)
        .init(&d)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_all_learn(&mt, &task, "music transformer");
    let vanilla = MusicTransformerConfig {
        relative: false,
        ..MusicTransformerConfig::tiny(12)
    }
    .init(&d)
    .unwrap_or_else(|e| panic!("{e}"));
    assert_all_learn(&vanilla, &task, "vanilla transformer");
    for cell in [Cell::Lstm, Cell::Gru] {
        let lm = LstmLmConfig {
            cell,
            ..LstmLmConfig::tiny(12)
        }
        .init(&d)
        .unwrap_or_else(|e| panic!("{e}"));
        assert_all_learn(&lm, &task, "lstm");
    }
    let todd = ToddConfig::tiny(12).init(&d).unwrap_or_else(|e| panic!("{e}"));
    assert_all_learn(&todd, &task, "todd");
    // BachProp: all four GRUs and all three heads learn from the joint loss.
    let notes: Vec<[u32; 3]> = (0..12).map(|i| [i % 3, (i * 2) % 4, (i * 5) % 6]).collect();
    let bp_task = BachPropTask::new(vec![notes.clone()], vec![notes], vec![], [3, 4, 6], 2, 8);
    let bp = BachPropConfig::tiny([4, 5, 7])
        .init(&d)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_all_learn(&bp, &bp_task, "bachprop");
    let rolls: Vec<Vec<Vec<u16>>> = (0..3)
        .map(|i| {
            (0..20)
                .map(|t| vec![((i + t) % 6) as u16, ((t * 5) % 6) as u16])
                .collect()
        })
        .collect();
    let frames = FrameTask::new(rolls.clone(), rolls, vec![], 6, 2, 10);
    let nade = RnnNadeConfig::tiny(6).init(&d).unwrap_or_else(|e| panic!("{e}"));
    assert_all_learn(&nade, &frames, "rnn-nade");
    // RNN-RBM's CD cost reaches all eight weights, the RNN's through the biases.
    let rbm = RnnRbmConfig::tiny(6).init(&d).unwrap_or_else(|e| panic!("{e}"));
    assert_all_learn(&rbm, &frames, "rnn-rbm");
    // Eck & Schmidhuber's LSTM on 3 chord + 3 melody units.
    let eck = EckSchmidhuberConfig {
        chord_units: 3,
        melody_units: 3,
        hidden: 5,
    }
    .init(&d)
    .unwrap_or_else(|e| panic!("{e}"));
    assert_all_learn(&eck, &frames, "eck-schmidhuber");
}

#[test]
fn a_tiny_transformer_overfits_one_sequence() {
    let _serial = serial();
    let d = device();
    let piece: Vec<u32> = (0..15).map(|j| 2 + (j * 5 % 9) as u32).collect();
    let task = TokenTask::new(vec![piece.clone()], vec![piece], vec![], 1, 0, 1, 16);
    let model = MusicTransformerConfig {
        d_model: 32,
        d_ff: 64,
        ..MusicTransformerConfig::tiny(12)
    }
    .init(&d)
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = TrainConfig {
        optimizer: OptimizerConfig::adam(),
        schedule: Schedule::Constant { lr: 1e-2 },
        steps: 200,
        accumulate: 1,
        clip_norm: None,
        eval_every: 200,
        patience: None,
        checkpoint_every: 200,
        seed: 3,
    };
    let out = train(model, &task, &cfg, dir.path(), &d, false, None, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let best = out.state.best_valid.unwrap_or(f64::NAN);
    assert!(best < 0.05, "validation NLL after overfitting: {best}");
}

#[test]
fn resuming_after_a_kill_gives_the_same_weights() {
    let _serial = serial();
    let d = device();
    let task = token_task(4, 12);
    // Seeded initialisation: both runs start from the same weights.
    let build = || {
        let d = device();
        d.seed(5);
        LstmLmConfig {
            dropout: 0.2,
            ..LstmLmConfig::tiny(12)
        }
        .init(&d)
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let whole = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let a = train(build(), &task, &config(12), whole.path(), &d, false, None, &mut |_| {})
        .unwrap_or_else(|e| panic!("{e}"));

    // The "killed" run stops right after its checkpoint at step 8, and a
    // half-written checkpoint folder is left behind as a kill would.
    let killed = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    train(build(), &task, &config(8), killed.path(), &d, false, None, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(killed.path().join("last.tmp")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(killed.path().join("last.tmp/model.safetensors"), b"partial").unwrap_or_else(|e| panic!("{e}"));
    // A fresh model with other initial weights is overwritten by the checkpoint.
    let other = {
        let d = device();
        d.seed(99);
        LstmLmConfig {
            dropout: 0.2,
            ..LstmLmConfig::tiny(12)
        }
        .init(&d)
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let mut resumed_at = 0;
    let b = train(other, &task, &config(12), killed.path(), &d, true, None, &mut |e| {
        if let fugue_train::Event::Resumed { step } = e {
            resumed_at = *step;
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resumed_at, 8);
    assert_eq!(b.state.step, 12);
    assert_eq!(
        weight_values(&a.model),
        weight_values(&b.model),
        "resumed weights differ from the uninterrupted run"
    );
    assert_eq!(a.state.best_valid, b.state.best_valid);
    // The metrics log has each step once.
    let log = std::fs::read_to_string(killed.path().join("metrics.jsonl")).unwrap_or_default();
    let train_lines = log.lines().filter(|l| l.contains("\"train\"")).count();
    assert_eq!(train_lines, 12);
}

#[test]
fn resume_without_a_checkpoint_is_an_error() {
    let _serial = serial();
    let d = device();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let model = LstmLmConfig::tiny(12).init(&d).unwrap_or_else(|e| panic!("{e}"));
    let err = train(
        model,
        &token_task(2, 8),
        &config(4),
        dir.path(),
        &d,
        true,
        None,
        &mut |_| {},
    )
    .err()
    .map(|e| e.to_string())
    .unwrap_or_default();
    assert!(err.contains("nothing to resume"), "{err}");
    let bad = TrainConfig {
        accumulate: 0,
        ..config(4)
    };
    let model = LstmLmConfig::tiny(12).init(&d).unwrap_or_else(|e| panic!("{e}"));
    let err = train(model, &token_task(2, 8), &bad, dir.path(), &d, false, None, &mut |_| {})
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("accumulate"), "{err}");
}

/// 8-pitch frames where pitch `a` in 0..4 is drawn uniformly each frame and
/// pitch `a + 4` always sounds with it: marginals cost 8 · H(1/4) = 4.50
/// nats per frame, the true entropy is ln 4 = 1.39. 256 training and 4
/// validation pieces of 32 frames, batches of 4 windows of 32.
fn paired_pitch_frames() -> FrameTask {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
    let mut piece = || -> Vec<Vec<u16>> {
        (0..32)
            .map(|_| {
                let a: u16 = rng.random_range(0..4);
                vec![a, a + 4]
            })
            .collect()
    };
    let train_set: Vec<_> = (0..256).map(|_| piece()).collect();
    let valid_set: Vec<_> = (0..4).map(|_| piece()).collect();
    FrameTask::new(train_set, valid_set, vec![], 8, 4, 32)
}

/// RNN-NADE must learn dependencies *inside* a frame, which no product of
/// per-pitch marginals can express: pitch `a` in 0..4 is drawn uniformly
/// each frame and pitch `a + 4` always sounds with it. The marginals cost
/// 8 · H(1/4) = 4.50 nats per frame; the true entropy is ln 4 = 1.39.
/// Frames are independent and the training set large, so the recurrent
/// part can neither help nor memorize: only the NADE can get below 4.50.
#[test]
fn rnn_nade_learns_what_the_marginals_cannot() {
    let _serial = serial();
    let d = device();
    d.seed(4);
    let task = paired_pitch_frames();
    let model = RnnNadeConfig {
        pitches: 8,
        rnn: vec![16],
        nade_hidden: 16,
        dropout: 0.0,
    }
    .init(&d)
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = TrainConfig {
        optimizer: OptimizerConfig::adam(),
        schedule: Schedule::Constant { lr: 1e-2 },
        steps: 400,
        accumulate: 1,
        clip_norm: Some(5.0),
        eval_every: 100,
        patience: None,
        checkpoint_every: 400,
        seed: 1,
    };
    let out = train(model, &task, &cfg, dir.path(), &d, false, None, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let best = out.state.best_valid.unwrap_or(f64::NAN);
    assert!(best < 2.0, "valid NLL {best} nats/frame (marginals: 4.50, truth: 1.39)");
}

/// RNN-RBM on the paired-pitch frames of the RNN-NADE test above (pitch
/// `a` in 0..4 uniform, `a + 4` with it; marginals 4.50 nats/frame, truth
/// ln 4 = 1.39): CD training takes the AIS-estimated validation NLL from the
/// untrained model's 8 ln 2 = 5.55 to below what the marginals reach, and
/// that AIS figure matches the exact NLL (log Z by enumerating all 2^8
/// frames) within 0.05 nats/frame.
#[test]
fn rnn_rbm_learns_and_its_ais_nll_is_the_exact_one() {
    let _serial = serial();
    let d = device();
    d.seed(4);
    let task = paired_pitch_frames();
    let model = RnnRbmConfig {
        hidden: 16,
        cd_steps: 5,
        ais_chains: 64,
        ais_betas: 300,
        ..RnnRbmConfig::tiny(8)
    }
    .init(&d)
    .unwrap_or_else(|e| panic!("{e}"));
    let (before, frames) = fugue_train::evaluate(&model, &task, fugue_train::Split::Valid, &d, None);
    assert_eq!(frames, 128);
    assert!((before - 8.0 * 2f64.ln()).abs() < 0.05, "untrained NLL {before}");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = TrainConfig {
        optimizer: OptimizerConfig::adam(),
        schedule: Schedule::Constant { lr: 1e-2 },
        steps: 300,
        accumulate: 1,
        clip_norm: None,
        eval_every: 0,
        patience: None,
        checkpoint_every: 300,
        seed: 1,
    };
    let out = train(model, &task, &cfg, dir.path(), &d, false, None, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
    let model = out.model.valid();
    let plain = Device::flex();
    let (after, _) = fugue_train::evaluate(&model, &task, fugue_train::Split::Valid, &d, None);
    assert!(
        after < 4.0,
        "valid NLL {after} nats/frame (untrained {before}, marginals 4.50, truth 1.39)"
    );
    // The same figure with log Z by enumeration.
    let mut exact = 0f64;
    for batch in <FrameTask as Task<fugue_models::rnn_nade::RnnRbm>>::eval_batches(&task, fugue_train::Split::Valid) {
        let frames = Tensor::<3>::from_data(
            burn::tensor::TensorData::new(batch.frames.clone(), [batch.batch, batch.len, 8]),
            &plain,
        );
        let rbm = model.rbm_frames(frames);
        for f in (0..batch.weights.len()).filter(|&f| batch.weights[f] > 0.0) {
            let (bv, bh) = (&rbm.bv[f * 8..(f + 1) * 8], &rbm.bh[f * 16..(f + 1) * 16]);
            let v = &batch.frames[f * 8..(f + 1) * 8];
            let log_z = fugue_train::ais::exact_log_partition(&rbm.w, 8, 16, bv, bh).unwrap_or(f64::NAN);
            exact += fugue_train::ais::free_energy(&rbm.w, 8, 16, bv, bh, v) + log_z;
        }
    }
    let exact = exact / 128.0;
    assert!((after - exact).abs() < 0.05, "AIS {after} vs exact {exact} nats/frame");
}
