//! The serialized four-voice chorale sequence that Music Transformer
//! (Huang et al. 2019, §4.1) and Coconet's "chronological" evaluation
//! read: the 16th-note SATB grid flattened step by step, soprano, alto,
//! tenor, bass at each step, one token per voice per step.
//!
//! Like the JSB grid it comes from (Boulanger-Lewandowski's 16th-note
//! release, `Jsb16thSeparated`), a held note is its pitch repeated at every
//! step; decoding turns a run of one pitch into one held note
//! ([`SatbGrid::from_pitches`]). The vocabulary: `PAD`, `START`, `REST`,
//! then one token per MIDI pitch of [`PITCH_LOW`]`..=`[`PITCH_HIGH`] (the
//! range of the JSB 16th set, 36..=81).

use crate::chorale::SatbGrid;
use crate::TokenError;

/// Lowest pitch with a token (C2).
pub const PITCH_LOW: u8 = 36;
/// Highest pitch with a token (A5).
pub const PITCH_HIGH: u8 = 81;
/// Padding (never a target).
pub const PAD: u32 = 0;
/// Start of a piece.
pub const START: u32 = 1;
/// A silent voice at a step.
pub const REST: u32 = 2;
/// Number of ids.
pub const VOCAB_SIZE: usize = 3 + (PITCH_HIGH - PITCH_LOW) as usize + 1;

/// The id of a cell.
pub fn cell_id(cell: Option<u8>) -> Result<u32, TokenError> {
    match cell {
        None => Ok(REST),
        Some(p) if (PITCH_LOW..=PITCH_HIGH).contains(&p) => Ok(3 + (p - PITCH_LOW) as u32),
        Some(p) => Err(TokenError::Encode(format!(
            "pitch {p} is outside the serialized SATB range {PITCH_LOW}..={PITCH_HIGH}"
        ))),
    }
}

/// The cell of an id (`None` for a rest); `Err` for `PAD`/`START` or an
/// id outside the vocabulary.
pub fn id_cell(id: u32) -> Result<Option<u8>, TokenError> {
    match id {
        REST => Ok(None),
        i if (3..VOCAB_SIZE as u32).contains(&i) => Ok(Some(PITCH_LOW + (i - 3) as u8)),
        other => Err(TokenError::Decode {
            index: 0,
            token: id_text(other),
            message: "not a rest or a pitch".into(),
        }),
    }
}

/// The text of an id, for printing.
pub fn id_text(id: u32) -> String {
    match id {
        PAD => "PAD".into(),
        START => "START".into(),
        REST => "REST".into(),
        i if (i as usize) < VOCAB_SIZE => format!("Pitch_{}", PITCH_LOW as u32 + i - 3),
        i => format!("?{i}"),
    }
}

/// Flattens a grid: `4 × steps` ids (no `START`).
pub fn encode(grid: &SatbGrid) -> Result<Vec<u32>, TokenError> {
    let mut ids = Vec::with_capacity(grid.len() * 4);
    for (t, step) in grid.steps.iter().enumerate() {
        for &cell in step {
            ids.push(cell_id(cell).map_err(|e| TokenError::Encode(format!("step {t}: {e}")))?);
        }
    }
    Ok(ids)
}

/// Rebuilds a grid from ids; a trailing partial step is dropped and
/// `PAD`/`START` ids are skipped (a sampler may emit them).
pub fn decode(ids: &[u32], steps_per_quarter: u32) -> SatbGrid {
    let cells: Vec<Option<u8>> = ids
        .iter()
        .filter(|&&i| i != PAD && i != START)
        .map(|&i| id_cell(i).ok().flatten())
        .collect();
    let steps = cells.chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect();
    SatbGrid::from_pitches(steps, steps_per_quarter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let grid = SatbGrid::from_pitches(
            vec![
                [Some(72), Some(67), Some(64), Some(48)],
                [Some(72), None, Some(36), Some(81)],
            ],
            4,
        );
        let ids = encode(&grid).unwrap_or_default();
        assert_eq!(ids, vec![39, 34, 31, 15, 39, 2, 3, 48]);
        assert_eq!(decode(&ids, 4), grid);
        assert!(encode(&SatbGrid::from_pitches(vec![[Some(90), None, None, None]], 4)).is_err());
        assert!(id_cell(VOCAB_SIZE as u32).is_err());
        assert_eq!(VOCAB_SIZE, 49);
        assert_eq!(id_text(39), "Pitch_72");
    }
}
