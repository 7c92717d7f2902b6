//! Todd's sequential network (P. M. Todd, "A Connectionist Approach to
//! Algorithmic Composition", Computer Music Journal 13(4), 1989): the
//! Jordan-style recurrent melody net that predicts a melody one time slice
//! at a time.
//!
//! What makes it Todd's and not an RNN of the later kind: the only memory is
//! a layer of **context units** that receive the network's own output of the
//! previous slice (the melody as played so far; in training the true melody,
//! "teacher forcing") and **decay**, `c_t = decay · c_{t−1} + v_t`, so the
//! context is an exponentially fading trace of the whole melody. One hidden
//! layer of logistic units reads the context; the output layer gives the
//! next slice. Todd's output for a slice is a pitch (one unit per pitch, none
//! for a rest) plus a **note-begin** unit that tells a new attack from a
//! held note; `v_t` here is exactly that: the one-hot pitch sounding in the
//! slice and the note-begin bit, derived from the melody events the
//! network reads (`fugue-tokens`' `melody`: `__`, `NOTE_OFF`, pitches).
//!
//! Differences, stated: Todd's output units were independent logistic
//! units; fugue reads out one softmax over the next melody event (the same
//! information: which pitch, whether it starts, or silence) so that the
//! network gets a likelihood comparable with the other melody models.
//! Todd's **plan units** (a fixed input naming which training melody to
//! play, varied to compose new ones) are left out: a corpus model of
//! unseen tunes has no plan for a test melody. The decay and the hidden
//! width are configuration (the paper's values could not be read).

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::sigmoid;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::layers::fused_linear::forward as linear;
use crate::{ModelError, TokenLm};

/// Hyperparameters. The event layout is the melody encoding's: ids
/// `0` = no event, `1` = note off, `first_pitch..first_pitch + pitches` =
/// the pitches, anything else (`START`) = silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToddConfig {
    /// Output classes (the melody encoding's vocabulary).
    pub vocab_size: usize,
    /// Id of the lowest pitch.
    pub first_pitch: usize,
    /// Pitches in the range.
    pub pitches: usize,
    /// Logistic hidden units.
    pub hidden: usize,
    /// How much of the context survives a slice, in [0, 1).
    pub decay: f64,
}

impl ToddConfig {
    /// For Magenta's melody events (38 classes + `START`): 128 hidden units,
    /// decay 0.5 (of 0.3, 0.5, 0.7 and 0.9 on the Nottingham tunes, 0.5
    /// validated best: the last slices matter most).
    pub fn melody(vocab_size: usize) -> Self {
        Self {
            vocab_size,
            first_pitch: 2,
            pitches: vocab_size.saturating_sub(3),
            hidden: 128,
            decay: 0.5,
        }
    }

    /// For tests.
    pub fn tiny(vocab_size: usize) -> Self {
        Self {
            hidden: 8,
            ..Self::melody(vocab_size)
        }
    }

    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |field, why: String| Err(ModelError::Config { field, why });
        if self.hidden == 0 || self.pitches == 0 {
            return bad("hidden", "hidden units and pitches must be positive".into());
        }
        if self.first_pitch + self.pitches > self.vocab_size {
            return bad(
                "pitches",
                format!(
                    "ids {}..{} run past vocab_size {}",
                    self.first_pitch,
                    self.first_pitch + self.pitches,
                    self.vocab_size
                ),
            );
        }
        if !(0.0..1.0).contains(&self.decay) {
            return bad("decay", format!("{} is not in [0, 1)", self.decay));
        }
        Ok(())
    }

    pub fn init(&self, device: &Device) -> Result<Todd, ModelError> {
        self.validate()?;
        Ok(Todd {
            hidden: LinearConfig::new(self.pitches + 1, self.hidden).init(device),
            output: LinearConfig::new(self.hidden, self.vocab_size).init(device),
            first_pitch: self.first_pitch,
            pitches: self.pitches,
            decay: self.decay,
        })
    }
}

/// The network.
#[derive(Module, Debug)]
pub struct Todd {
    /// Context → hidden.
    pub hidden: Linear,
    /// Hidden → next event.
    pub output: Linear,
    first_pitch: usize,
    pitches: usize,
    decay: f64,
}

/// One sequence's context while decoding: the context units and the pitch
/// sounding now (a `__` holds it).
#[derive(Debug, Clone)]
pub struct ContextTrace {
    context: Vec<f32>,
    sounding: Option<usize>,
}

/// The decoding state: one trace per sequence.
pub type ToddState = Vec<ContextTrace>;

impl Todd {
    /// Context width: the pitches and the note-begin unit.
    fn width(&self) -> usize {
        self.pitches + 1
    }

    /// Feeds one event into a trace: decay, then add the slice's pitch and
    /// note-begin units.
    fn push(&self, trace: &mut ContextTrace, id: i64) {
        let decay = self.decay as f32;
        trace.context.iter_mut().for_each(|c| *c *= decay);
        let pitch = (id as usize)
            .checked_sub(self.first_pitch)
            .filter(|&p| p < self.pitches);
        match (id, pitch) {
            (_, Some(p)) => {
                trace.sounding = Some(p);
                trace.context[self.pitches] += 1.0;
            }
            (0, None) => {}
            _ => trace.sounding = None,
        }
        if let Some(p) = trace.sounding {
            trace.context[p] += 1.0;
        }
    }

    fn read_out(&self, context: Tensor<3>) -> Tensor<3> {
        linear(&self.output, sigmoid(linear(&self.hidden, context)))
    }
}

impl TokenLm for Todd {
    type State = ToddState;

    fn logits(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [b, t] = ids.dims();
        let device = ids.device();
        let rows: Vec<i64> = ids.to_data().convert::<i64>().try_into_vec::<i64>().unwrap_or_default();
        let w = self.width();
        let mut context = Vec::with_capacity(b * t * w);
        for row in rows.chunks(t.max(1)) {
            let mut trace = self.start(1, &device).remove(0);
            for &id in row {
                self.push(&mut trace, id);
                context.extend_from_slice(&trace.context);
            }
        }
        self.read_out(Tensor::<3>::from_data(TensorData::new(context, [b, t, w]), &device))
    }

    fn start(&self, batch: usize, _device: &Device) -> ToddState {
        vec![
            ContextTrace {
                context: vec![0.0; self.width()],
                sounding: None,
            };
            batch
        ]
    }

    fn step(&self, state: &mut ToddState, ids: Tensor<1, Int>) -> Tensor<2> {
        let device = ids.device();
        let [b] = ids.dims();
        let values: Vec<i64> = ids.to_data().convert::<i64>().try_into_vec::<i64>().unwrap_or_default();
        let mut context = Vec::with_capacity(b * self.width());
        for (trace, &id) in state.iter_mut().zip(&values) {
            self.push(trace, id);
            context.extend_from_slice(&trace.context);
        }
        let x = Tensor::<3>::from_data(TensorData::new(context, [b, 1, self.width()]), &device);
        let logits = self.read_out(x);
        let v = logits.dims()[2];
        logits.reshape([b, v])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stepping_equals_the_whole_sequence() {
        let model = ToddConfig::tiny(9)
            .init(&Device::flex())
            .unwrap_or_else(|e| panic!("{e}"));
        crate::assert_stepping_matches(&model, vec![8, 3, 0, 0, 1, 4, 5, 0], [2, 4], 1e-5);
    }

    #[test]
    fn the_context_is_a_decaying_trace_of_pitch_and_note_begin() {
        let model = ToddConfig {
            decay: 0.5,
            ..ToddConfig::tiny(9)
        }
        .init(&Device::flex())
        .unwrap_or_else(|e| panic!("{e}"));
        // Pitches are ids 2..8 (6 of them); units 0..6 pitch, 6 note-begin.
        let mut trace = model.start(1, &Device::flex()).remove(0);
        model.push(&mut trace, 3); // pitch 1 starts
        assert_eq!(trace.context, vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
        model.push(&mut trace, 0); // held: pitch 1 again, no attack
        assert_eq!(trace.context, vec![0.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.5]);
        model.push(&mut trace, 1); // note off: silence
        assert_eq!(trace.context, vec![0.0, 0.75, 0.0, 0.0, 0.0, 0.0, 0.25]);
        model.push(&mut trace, 0); // silence goes on
        assert_eq!(trace.context, vec![0.0, 0.375, 0.0, 0.0, 0.0, 0.0, 0.125]);
        model.push(&mut trace, 8); // START (not a pitch): silence
        assert_eq!(trace.sounding, None);
    }

    #[test]
    fn config_errors_name_the_field() {
        for (c, field) in [
            (
                ToddConfig {
                    decay: 1.0,
                    ..ToddConfig::tiny(9)
                },
                "decay",
            ),
            (
                ToddConfig {
                    pitches: 9,
                    ..ToddConfig::tiny(9)
                },
                "pitches",
            ),
        ] {
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains(field), "{e}");
        }
    }
}
