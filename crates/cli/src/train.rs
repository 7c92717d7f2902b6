//! `fugue train` and `fugue eval`: a recipe (`run.json`) in a run folder,
//! the training loop of `fugue-train` with a progress bar, and the
//! likelihood of a split in the paper's unit.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use fugue_models::burn::module::Module;
use fugue_models::burn::tensor::Device;
use fugue_score::io::write_atomic;
use fugue_train::{checkpoint, evaluate, Event, Split, Task};
use indicatif::{ProgressBar, ProgressStyle};

use crate::recipe::{data_root, default_recipe, merge_json, AnyModel, AnyTask, ModelSpec, Recipe};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The network: music-transformer, vanilla-transformer, lstm, gru, rnn-nade, rnn-rbm, coconet, deepbach, tonicnet, harmonet, todd, bachprop, eck-schmidhuber.
    #[arg(long)]
    pub model: String,
    /// The dataset: jsb-16th (token models, coconet, deepbach, tonicnet, harmonet); bach-chorales (lstm, gru: BachBot); nottingham-abc (lstm, gru: Melody RNN; todd; eck-schmidhuber); bachprop reads bach-chorales, jsb-16th, nottingham-abc, js-fakes; piano or a folder of MIDI files (lstm, gru: Performance RNN; music-transformer); jsb, nottingham, musedata, piano-midi (rnn-nade, rnn-rbm).
    #[arg(long)]
    pub data: String,
    /// JSON merged over the default recipe (keys `model.config`, `data`, `train`).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The run folder (created; refused if it holds a run, unless --resume or --force).
    #[arg(short, long)]
    pub output: PathBuf,
    /// cpu, or cuda / vulkan (a GPU) when built with that feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Continue the run in OUTPUT from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Start over in an existing run folder.
    #[arg(long)]
    pub force: bool,
    /// Override the number of updates.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Override the seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where datasets live (else $FUGUE_DATA, else ../shared/data).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// No progress bar: one plain line per evaluation and checkpoint.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A run folder written by `fugue train`.
    pub run: PathBuf,
    /// train, valid or test.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Which checkpoint: best or last.
    #[arg(long, default_value = "best")]
    pub checkpoint: String,
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Coconet: the orderless estimate (random masks, as in validation)
    /// instead of the exact chronological NLL.
    #[arg(long)]
    pub orderless: bool,
    /// Coconet's chronological NLL on the split's first N pieces only (it
    /// runs one network pass per note: the whole JSB test set takes about
    /// an hour on 2 CPU cores with the small model).
    #[arg(long)]
    pub pieces: Option<usize>,
    /// TonicNet: also score every piece from N seeded random N(0, 1) start
    /// states, as TonicNet's evaluation starts them, and print the mean
    /// (the main figure starts from zeros).
    #[arg(long)]
    pub random_starts: Option<usize>,
    /// RNN-RBM: AIS chains per frame (default: the run's `ais_chains`, 50).
    #[arg(long)]
    pub ais_chains: Option<usize>,
    /// RNN-RBM: AIS intermediate distributions (default: the run's `ais_betas`, 500).
    #[arg(long)]
    pub ais_betas: Option<usize>,
}

/// Reads `run.json` of a run folder.
pub fn read_recipe(run: &Path) -> Result<Recipe> {
    let path = run.join("run.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{} is not a run folder: cannot read {}", run.display(), path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a valid run recipe", path.display()))
}

fn recipe_for(a: &TrainArgs) -> Result<Recipe> {
    let base = default_recipe(&a.model, &a.data)?;
    let mut value = serde_json::to_value(&base)?;
    if let Some(path) = &a.config {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
        let patch: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{}: not valid JSON", path.display()))?;
        merge_json(&mut value, patch);
    }
    let mut recipe: Recipe = serde_json::from_value(value)
        .with_context(|| format!("bad config {}", a.config.as_deref().unwrap_or(Path::new("")).display()))?;
    if let Some(steps) = a.steps {
        recipe.train.steps = steps;
        if let fugue_train::Schedule::WarmupCosine { total, .. } = &mut recipe.train.schedule {
            *total = steps;
        }
    }
    if let Some(seed) = a.seed {
        recipe.train.seed = seed;
    }
    recipe.train.validate()?;
    Ok(recipe)
}

/// The recipe of a run being resumed. Only `--steps` may change it: a
/// longer (or shorter) run goes on from its checkpoint, and the recipe on
/// disk is rewritten so that a later `--resume` or `eval` sees the new
/// length. A cosine schedule is stretched to the new total, which changes
/// the learning rate from here on (said on stderr). `--config` and
/// `--seed` would change what the checkpoint was trained under, so they
/// are refused rather than ignored.
fn resumed_recipe(a: &TrainArgs) -> Result<Recipe> {
    if a.config.is_some() || a.seed.is_some() {
        bail!("--resume continues the run's own recipe: --config and --seed cannot change it (only --steps can)");
    }
    let mut recipe = read_recipe(&a.output)?;
    if let Some(steps) = a.steps.filter(|&s| s != recipe.train.steps) {
        recipe.train.steps = steps;
        if let fugue_train::Schedule::WarmupCosine { total, .. } = &mut recipe.train.schedule {
            eprintln!("the cosine schedule is stretched from {total} to {steps} updates");
            *total = steps;
        }
        recipe.train.validate()?;
        write_atomic(&a.output.join("run.json"), &serde_json::to_vec_pretty(&recipe)?, true)?;
    }
    Ok(recipe)
}

pub fn run_train(a: TrainArgs) -> Result<()> {
    let mut recipe = if a.resume { resumed_recipe(&a)? } else { recipe_for(&a)? };
    if !a.resume && a.output.join("run.json").exists() && !a.force {
        bail!(
            "{} already holds a run (use --resume to continue it or --force to start over)",
            a.output.display()
        );
    }
    // The data is loaded before anything is written: a missing or broken
    // dataset must not leave a run folder behind that a corrected retry
    // would then refuse without `--force`.
    let device = fugue_models::device(&a.device, true)?;
    let task = recipe.data.load(&data_root(a.data_root.as_deref()))?;
    crate::recipe::check_vocab(&recipe.model, &task)?;
    // A DeepBach run records its training corpus' voice ranges (what its
    // sampling may draw) in the recipe, so the recipe is written once it
    // has them: at a new run's start, or on resume if the data's changed.
    let mut changed = false;
    if let Some(corpus) = crate::recipe::deepbach_corpus(&task) {
        let encoding = crate::recipe::Encoding::DeepBach { corpus: Some(corpus) };
        changed = recipe.data.encoding != encoding;
        recipe.data.encoding = encoding;
    }
    // A BachProp run records the vocabularies its ids index, and its
    // network is sized by them.
    if let crate::recipe::AnyTask::BachProp(_, vocab) = &task {
        let encoding = crate::recipe::Encoding::BachProp {
            vocab: Some(vocab.clone()),
        };
        changed |= recipe.data.encoding != encoding;
        recipe.data.encoding = encoding;
        if let crate::recipe::ModelSpec::BachProp(c) = &mut recipe.model {
            c.sizes = vocab.sizes();
        }
    }
    if !a.resume {
        if a.force {
            for name in [
                "last",
                "best",
                "last.old",
                "best.old",
                "last.tmp",
                "best.tmp",
                "metrics.jsonl",
            ] {
                let p = a.output.join(name);
                if p.is_dir() {
                    std::fs::remove_dir_all(&p).with_context(|| format!("cannot clear {}", p.display()))?;
                } else if p.exists() {
                    std::fs::remove_file(&p).with_context(|| format!("cannot clear {}", p.display()))?;
                }
            }
        }
        std::fs::create_dir_all(&a.output).with_context(|| format!("cannot create {}", a.output.display()))?;
    }
    if !a.resume || changed {
        write_atomic(&a.output.join("run.json"), &serde_json::to_vec_pretty(&recipe)?, true)?;
    }
    // Seed before building so that the same recipe gives the same initial weights.
    device.seed(recipe.train.seed);
    let model = recipe.model.build(&device)?;
    let bar = (!a.quiet).then(|| {
        let bar = ProgressBar::new(recipe.train.steps);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    });
    let mut observer = |e: &Event| match (e, &bar) {
        (
            Event::Step {
                step,
                loss,
                units_per_s,
                eta_s,
                ..
            },
            Some(bar),
        ) => {
            bar.set_position(*step);
            bar.set_message(format!("loss {loss:.4} · {units_per_s:.0}/s · ETA {:.0}s", eta_s));
        }
        (Event::Eval { step, valid, best, .. }, bar) => {
            let line = format!("step {step}: valid {valid:.4} (best {best:.4})");
            match bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        (Event::Resumed { step }, _) => eprintln!("resumed at step {step}"),
        (Event::EarlyStop { step }, _) => eprintln!("early stop at step {step}"),
        (Event::Checkpoint { step }, None) => eprintln!("checkpoint at step {step}"),
        _ => {}
    };
    let eval_batches = recipe.data.eval_batches;
    let (run, t) = (&a.output, &recipe.train);
    let state = match (model, task) {
        (AnyModel::Transformer(m), AnyTask::Tokens(task)) => {
            fugue_train::train(m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        (AnyModel::Lstm(m), AnyTask::Tokens(task)) => {
            fugue_train::train(m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        (AnyModel::Todd(m), AnyTask::Tokens(task)) => {
            fugue_train::train(m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        (AnyModel::BachProp(m), AnyTask::BachProp(task, _)) => {
            fugue_train::train(*m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        (AnyModel::EckSchmidhuber(m), AnyTask::Frames(task)) => {
            fugue_train::train(*m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        (AnyModel::Nade(m), AnyTask::Frames(task)) => {
            fugue_train::train(m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        (AnyModel::Rbm(m), AnyTask::Frames(task)) => {
            fugue_train::train(m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        (AnyModel::Coconet(m), AnyTask::Coconet(task)) => {
            fugue_train::train(m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        (AnyModel::DeepBach(m), AnyTask::DeepBach(task)) => {
            if m.window() != task.window() {
                bail!(
                    "deepbach: data.seq_len {} is not the model's window of {} ticks",
                    task.window(),
                    m.window()
                );
            }
            fugue_train::train(m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        (AnyModel::TonicNet(m), AnyTask::TonicNet(task)) => {
            fugue_train::train(m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        (AnyModel::Harmonet(m), AnyTask::Harmonet(task)) => {
            fugue_train::train(m, &task, t, run, &device, a.resume, eval_batches, &mut observer)?.state
        }
        _ => bail!("the recipe pairs a model with data it cannot read"),
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    println!(
        "trained {} steps in {:.0}s; best valid {} at step {} → {}",
        state.step,
        state.elapsed_s,
        state.best_valid.map_or("–".into(), |v| format!("{v:.4}")),
        state.best_step,
        a.output.display()
    );
    Ok(())
}

fn parse_split(s: &str) -> Result<Split> {
    Split::parse(s).with_context(|| format!("unknown split `{s}` (train, valid, test)"))
}

/// Loads a run's weights from checkpoint `which`.
pub fn load_run(run: &Path, which: &str, device: &Device) -> Result<(Recipe, AnyModel)> {
    let recipe = read_recipe(run)?;
    let dir = checkpoint::find(run, which)
        .with_context(|| format!("{} has no complete `{which}` checkpoint", run.display()))?;
    let model = match recipe.model.build(device)? {
        AnyModel::Transformer(m) => AnyModel::Transformer(checkpoint::load_model(&dir, m)?),
        AnyModel::Lstm(m) => AnyModel::Lstm(checkpoint::load_model(&dir, m)?),
        AnyModel::Nade(m) => AnyModel::Nade(checkpoint::load_model(&dir, m)?),
        AnyModel::Rbm(m) => AnyModel::Rbm(checkpoint::load_model(&dir, m)?),
        AnyModel::Coconet(m) => AnyModel::Coconet(checkpoint::load_model(&dir, m)?),
        AnyModel::DeepBach(m) => AnyModel::DeepBach(checkpoint::load_model(&dir, m)?),
        AnyModel::TonicNet(m) => AnyModel::TonicNet(checkpoint::load_model(&dir, m)?),
        AnyModel::Harmonet(m) => AnyModel::Harmonet(checkpoint::load_model(&dir, m)?),
        AnyModel::Todd(m) => AnyModel::Todd(checkpoint::load_model(&dir, m)?),
        AnyModel::BachProp(m) => AnyModel::BachProp(Box::new(checkpoint::load_model(&dir, *m)?)),
        AnyModel::EckSchmidhuber(m) => AnyModel::EckSchmidhuber(Box::new(checkpoint::load_model(&dir, *m)?)),
    };
    Ok((recipe, model))
}

fn nll<M: Module, T: Task<M>>(m: &M, t: &T, split: Split, device: &Device) -> (f64, usize, &'static str) {
    let (v, n) = evaluate(m, t, split, device, None);
    (v, n, t.unit())
}

pub fn run_eval(a: EvalArgs) -> Result<()> {
    let split = parse_split(&a.split)?;
    let device = fugue_models::device(&a.device, false)?;
    let (recipe, mut model) = load_run(&a.run, &a.checkpoint, &device)?;
    // RNN-RBM's NLL is an AIS estimate: its settings, for the report.
    let mut ais: Option<(usize, usize)> = None;
    match &mut model {
        AnyModel::Rbm(m) => {
            m.ais_chains = a.ais_chains.unwrap_or(m.ais_chains);
            m.ais_betas = a.ais_betas.unwrap_or(m.ais_betas);
            if m.ais_chains == 0 || m.ais_betas == 0 {
                bail!("--ais-chains and --ais-betas must be positive");
            }
            ais = Some((m.ais_chains, m.ais_betas));
        }
        _ if a.ais_chains.is_some() || a.ais_betas.is_some() => {
            bail!("--ais-chains and --ais-betas apply to RNN-RBM only")
        }
        _ => {}
    }
    let task = recipe.data.load(&data_root(a.data_root.as_deref()))?;
    crate::recipe::check_vocab(&recipe.model, &task)?;
    if let (AnyModel::DeepBach(m), AnyTask::DeepBach(t)) = (&model, &task) {
        if a.pieces.is_some() || a.orderless {
            bail!("--pieces and --orderless apply to Coconet only");
        }
        return print_deepbach_eval(&a, &recipe, split, m, t, &device);
    }
    if let (AnyModel::Harmonet(m), AnyTask::Harmonet(t)) = (&model, &task) {
        if a.pieces.is_some() || a.orderless {
            bail!("--pieces and --orderless apply to Coconet only");
        }
        return print_harmonet_eval(&a, &recipe, split, m, t, &device);
    }
    if a.pieces.is_some() && (a.orderless || !matches!(task, AnyTask::Coconet(_))) {
        bail!("--pieces applies to Coconet's chronological NLL only");
    }
    if a.random_starts.is_some() && !matches!(task, AnyTask::TonicNet(_)) {
        bail!("--random-starts applies to TonicNet runs only");
    }
    // Coconet's chronological likelihood also has a per-frame figure
    // (all voices of a step), the unit of the paper's framewise table.
    let mut per_frame: Option<(f64, usize)> = None;
    // TonicNet's own figures: the mean over pieces of each piece's mean,
    // over note tokens (its test figure) and over every token (the
    // validation loss it logs while training).
    let mut piece_mean: Option<(f64, f64)> = None;
    // TonicNet from random start states: (draws, mean note figure).
    let mut random_start: Option<(usize, f64)> = None;
    let mut order = None;
    let (value, units, unit) = match (&model, &task, &recipe.model) {
        (AnyModel::Transformer(m), AnyTask::Tokens(t), _) => nll(m, t, split, &device),
        (AnyModel::Lstm(m), AnyTask::Tokens(t), _) => nll(m, t, split, &device),
        (AnyModel::Todd(m), AnyTask::Tokens(t), _) => nll(m, t, split, &device),
        (AnyModel::BachProp(m), AnyTask::BachProp(t, _), _) => nll(m.as_ref(), t, split, &device),
        (AnyModel::EckSchmidhuber(m), AnyTask::Frames(t), _) => nll(m.as_ref(), t, split, &device),
        (AnyModel::Nade(m), AnyTask::Frames(t), _) => nll(m, t, split, &device),
        (AnyModel::Rbm(m), AnyTask::Frames(t), _) => nll(m, t, split, &device),
        (AnyModel::Coconet(m), AnyTask::Coconet(t), _) if a.orderless => {
            order = Some("orderless");
            nll(m, t, split, &device)
        }
        (AnyModel::Coconet(m), AnyTask::Coconet(t), ModelSpec::Coconet(config)) => {
            order = Some("chronological");
            let pieces = t.split(split);
            let pieces = &pieces[..a.pieces.unwrap_or(pieces.len()).min(pieces.len())];
            let (total, notes) = fugue_train::chronological_nll(m, pieces, config.receptive_radius(), 64, &device);
            let frames: usize = pieces.iter().map(Vec::len).sum();
            per_frame = Some((total / frames.max(1) as f64, frames));
            (total / notes.max(1) as f64, notes, "note")
        }
        (AnyModel::TonicNet(m), AnyTask::TonicNet(t), _) => {
            use fugue_train::mean_of_piece_means as mean;
            let pieces = t.piece_nll(m, split, true, None, &device);
            piece_mean = Some((mean(&pieces), mean(&t.piece_nll(m, split, false, None, &device))));
            if let Some(draws) = a.random_starts.filter(|&d| d > 0) {
                let total: f64 = (0..draws as u64)
                    .map(|seed| mean(&t.piece_nll(m, split, true, Some(seed), &device)))
                    .sum();
                random_start = Some((draws, total / draws as f64));
            }
            let (total, notes) = pieces.iter().fold((0.0, 0), |(s, n), p| (s + p.0, n + p.1));
            (total / notes.max(1) as f64, notes, "note")
        }
        _ => bail!("the recipe pairs a model with data it cannot read"),
    };
    if a.json {
        let mut out = serde_json::json!({"run": a.run, "dataset": recipe.data.name, "split": split.name(), "nll": value, "unit": format!("nats/{unit}"), "count": units});
        if let Some(order) = order {
            out["order"] = order.into();
        }
        if let Some(n) = a.pieces {
            out["pieces"] = n.into();
        }
        if let Some((nll, frames)) = per_frame {
            out["frame_nll"] = nll.into();
            out["frames"] = frames.into();
        }
        if let Some((notes, all)) = piece_mean {
            out["piece_mean_nll"] = notes.into();
            out["piece_mean_all_tokens_nll"] = all.into();
        }
        if let Some((draws, nll)) = random_start {
            out["random_starts"] = draws.into();
            out["piece_mean_nll_random_start"] = nll.into();
        }
        if let Some((chains, betas)) = ais {
            out["estimator"] = "ais".into();
            out["ais_chains"] = chains.into();
            out["ais_betas"] = betas.into();
        }
        println!("{out}");
    } else {
        let order = match (order, ais) {
            (Some(o), _) => format!(" ({o})"),
            (None, Some((chains, betas))) => format!(" (AIS estimate, {chains} chains × {betas} β)"),
            (None, None) => String::new(),
        };
        println!(
            "{} {} NLL{order} {value:.4} nats/{unit} over {units} {unit}s",
            recipe.data.name,
            split.name()
        );
        if let Some((nll, frames)) = per_frame {
            println!("  = {nll:.4} nats/frame over {frames} frames");
        }
        if let Some((notes, all)) = piece_mean {
            println!("  = {notes:.4} nats/note as TonicNet averages (the mean of each piece's mean)");
            println!("  {all:.4} nats/token over every token, chords and `end` too (per-piece mean, as TonicNet's training log)");
        }
        if let Some((draws, nll)) = random_start {
            println!(
                "  {nll:.4} nats/note as TonicNet averages, from random N(0, 1) start states (mean of {draws} draws)"
            );
        }
        if ais.is_some() {
            println!("  AIS's log Z is biased low in expectation, so this NLL is slightly optimistic");
        }
    }
    Ok(())
}

/// HARMONET's figures: the harmony net's NLL per quarter beat and the
/// accuracy of its most likely label, with Bach's harmonies as the history
/// (teacher forcing), and how well the label set fits the split's beats.
fn print_harmonet_eval(
    a: &EvalArgs,
    recipe: &Recipe,
    split: Split,
    model: &fugue_models::harmonet::Harmonet,
    task: &fugue_train::HarmonetTask,
    device: &Device,
) -> Result<()> {
    // The function alone: root and triad, without inversion and seventh.
    let function = |id: u32| fugue_tokens::harmonet::Harmony::from_id(id).map_or(u32::MAX, |h| h.function() as u32);
    let scores = fugue_train::harmony_scores(model, task, split, device, &function);
    let dataset = fugue_data::load(
        &fugue_data::DatasetRef::parse(&recipe.data.name)?,
        &data_root(a.data_root.as_deref()),
        &fugue_data::LoadOptions::default(),
    )?;
    let cover = crate::harmonet::coverage(&dataset, split, &recipe.data.name)?;
    let fit = cover.fitting as f64 / cover.beats.max(1) as f64;
    if a.json {
        let top: Vec<_> = cover.top.iter().map(|(n, c)| serde_json::json!([n, c])).collect();
        let out = serde_json::json!({"run": a.run, "dataset": recipe.data.name, "split": split.name(),
            "nll": scores.nll, "unit": "nats/beat", "accuracy": scores.accuracy,
            "function_accuracy": scores.coarse_accuracy, "count": scores.beats,
            "labels_fitting_onset": fit,
            "soprano_in_label": cover.soprano_in_label as f64 / cover.struck.max(1) as f64, "distinct_labels": cover.distinct, "top_labels": top});
        println!("{out}");
        return Ok(());
    }
    println!(
        "{} {}: HARMONET harmony net NLL {:.4} nats/beat, accuracy {:.1}% over {} beats (Bach's harmonies as history)",
        recipe.data.name,
        split.name(),
        scores.nll,
        100.0 * scores.accuracy,
        scores.beats
    );
    println!(
        "  function alone (root and triad, inversion and seventh aside): accuracy {:.1}%",
        100.0 * scores.coarse_accuracy
    );
    println!(
        "  labels: {} distinct; {:.1}% of {} beats have an onset sonority made of their label's chord tones",
        cover.distinct,
        100.0 * fit,
        cover.beats
    );
    println!(
        "  {:.1}% of {} beats where the soprano strikes have its note in their label",
        100.0 * cover.soprano_in_label as f64 / cover.struck.max(1) as f64,
        cover.struck
    );
    let top: Vec<String> = cover.top.iter().map(|(n, c)| format!("{n} {c}")).collect();
    println!("  most frequent: {}", top.join(", "));
    Ok(())
}

/// DeepBach's figures, as its reference code reports them: per voice, the
/// NLL (nats per tick) and the accuracy of the most likely token at every
/// tick of the split, untransposed; "overall" is their mean (nats/note).
fn print_deepbach_eval(
    a: &EvalArgs,
    recipe: &Recipe,
    split: Split,
    model: &fugue_models::deepbach::DeepBach,
    task: &fugue_train::DeepBachTask,
    device: &Device,
) -> Result<()> {
    use fugue_tokens::chorale::VOICE_NAMES;
    if model.window() != task.window() {
        bail!(
            "deepbach: data.seq_len {} is not the model's window of {} ticks",
            task.window(),
            model.window()
        );
    }
    let scores = fugue_train::voice_scores(model, task, split, device);
    let (nll, accuracy) = scores.overall();
    if a.json {
        let voices: serde_json::Map<String, serde_json::Value> = VOICE_NAMES
            .iter()
            .enumerate()
            .map(|(v, name)| {
                let entry = serde_json::json!({"nll": scores.nll[v], "accuracy": scores.accuracy[v]});
                (name.to_ascii_lowercase(), entry)
            })
            .collect();
        let out = serde_json::json!({"run": a.run, "dataset": recipe.data.name, "split": split.name(),
            "nll": nll, "accuracy": accuracy, "unit": "nats/note", "count": 4 * scores.ticks,
            "ticks": scores.ticks, "voices": voices});
        println!("{out}");
        return Ok(());
    }
    println!(
        "{} {}: DeepBach per-voice NLL and accuracy over {} ticks",
        recipe.data.name,
        split.name(),
        scores.ticks
    );
    for (v, name) in VOICE_NAMES.iter().enumerate() {
        println!(
            "  {name:<8} {:.4} nats  {:5.1}%",
            scores.nll[v],
            100.0 * scores.accuracy[v]
        );
    }
    println!("  {:<8} {nll:.4} nats/note  {:5.1}%", "overall", 100.0 * accuracy);
    Ok(())
}
