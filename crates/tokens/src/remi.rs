//! REMI (Huang & Yang 2020), MidiTok-compatible: to come.
