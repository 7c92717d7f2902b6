//! WAV files through `hound`: 16-bit PCM out, 16/24/32-bit PCM or float in.
//!
//! Writing encodes into memory first (hound needs a seekable writer to fill
//! in the header's lengths), then hands the bytes to `fugue-score`'s atomic
//! writer: temporary file, fsync, rename, and no overwrite unless asked.
//! Samples are rounded to the nearest 16-bit value (no dither, so the same
//! audio always gives the same file) and clamped at full scale.

use crate::error::{AudioError, Result};
use crate::Audio;
use std::io::Cursor;
use std::path::Path;

fn memory() -> &'static Path {
    Path::new("<memory>")
}

/// The bytes of a 16-bit PCM WAV file holding `audio`.
pub fn wav_bytes(audio: &Audio) -> Result<Vec<u8>> {
    wav_bytes_named(audio, memory())
}

fn wav_bytes_named(audio: &Audio, path: &Path) -> Result<Vec<u8>> {
    if audio.channels == 0 || audio.sample_rate == 0 {
        return Err(AudioError::InvalidAudio(format!(
            "{} channels at {} Hz",
            audio.channels, audio.sample_rate
        )));
    }
    let spec = hound::WavSpec {
        channels: audio.channels,
        sample_rate: audio.sample_rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let wav = |source| AudioError::Wav {
        path: path.to_path_buf(),
        source,
    };
    if !audio.samples.len().is_multiple_of(usize::from(audio.channels)) {
        return Err(AudioError::InvalidAudio(format!(
            "{} samples do not make whole frames of {} channels",
            audio.samples.len(),
            audio.channels
        )));
    }
    if audio.samples.len() as u64 * 2 > u64::from(u32::MAX) - 64 {
        return Err(AudioError::InvalidAudio(
            "too long for a WAV file (over 4 GiB of samples)".into(),
        ));
    }
    let mut cursor = Cursor::new(Vec::with_capacity(44 + audio.samples.len() * 2));
    {
        let mut w = hound::WavWriter::new(&mut cursor, spec).map_err(wav)?;
        // In slices, so hound's staging buffer stays small.
        for chunk in audio.samples.chunks(1 << 16) {
            let mut w16 = w.get_i16_writer(chunk.len() as u32);
            for &s in chunk {
                w16.write_sample(to_i16(s));
            }
            w16.flush().map_err(wav)?;
        }
        w.finalize().map_err(wav)?;
    }
    Ok(cursor.into_inner())
}

/// A sample in -1..1 as a 16-bit integer (rounded, clamped; NaN is 0).
pub(crate) fn to_i16(s: f32) -> i16 {
    if s.is_nan() {
        return 0;
    }
    // Half away from zero, like `f32::round`, but without a libm call: `as`
    // truncates towards zero (and saturates).
    let y = s * 32767.0;
    let r = if y >= 0.0 { y + 0.5 } else { y - 0.5 };
    (r as i32).clamp(-32768, 32767) as i16
}

/// Write `audio` as a 16-bit PCM WAV file, atomically; an existing file is
/// replaced only with `overwrite`.
pub fn write_wav(path: impl AsRef<Path>, audio: &Audio, overwrite: bool) -> Result<()> {
    let path = path.as_ref();
    if !overwrite && path.exists() {
        return Err(AudioError::Exists {
            path: path.to_path_buf(),
        });
    }
    let bytes = wav_bytes_named(audio, path)?;
    fugue_score::io::write_atomic(path, &bytes, overwrite).map_err(|e| AudioError::from_write(e, path))
}

/// Read a WAV file (PCM 8/16/24/32-bit or 32-bit float) as samples in -1..1.
pub fn read_wav(path: impl AsRef<Path>) -> Result<Audio> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| AudioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_wav_bytes(&bytes, path)
}

/// Read WAV bytes; `name` is used in errors.
pub fn read_wav_bytes(bytes: &[u8], name: impl AsRef<Path>) -> Result<Audio> {
    let path = name.as_ref();
    let wav = |source| AudioError::Wav {
        path: path.to_path_buf(),
        source,
    };
    let reader = hound::WavReader::new(Cursor::new(bytes)).map_err(wav)?;
    let spec = reader.spec();
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.into_samples::<f32>().collect::<Result<_, _>>().map_err(wav)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .into_samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(wav)?
        }
    };
    Ok(Audio {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversion_rounds_and_clamps() {
        assert_eq!(to_i16(0.0), 0);
        assert_eq!(to_i16(1.0), 32767);
        assert_eq!(to_i16(-1.5), -32768);
        assert_eq!(to_i16(f32::NAN), 0);
        assert_eq!(to_i16(0.5 / 32767.0 + 1e-9), 1);
    }

    #[test]
    fn garbage_is_an_error_naming_the_source() {
        let e = read_wav_bytes(b"RIFF1234WAVEjunk", "bad.wav").unwrap_err();
        assert!(e.to_string().starts_with("bad.wav: WAV"), "{e}");
    }
}
