#!/usr/bin/env python3
"""music21's root and quality of chords given as MIDI numbers: the known
answers `fugue_tokens::music21_chord` is tested against.

TonicNet labelled its chords with `music21.chord.Chord([ints])`, `.root()`
and `.quality`; fugue reimplements that reading. This script asks music21
itself for a fixed, seeded set of chords (every SATB step of the JSB test
split when its .npz is given, then random chords of 1 to 6 pitches in
36..81, the order given kept) and writes one line per chord:

    MIDI,MIDI,...<TAB>root pitch class (or -)<TAB>quality

    pip install music21 numpy
    python3 bench/music21_chords.py [--jsb ../shared/data/jsb_chorales_coconet/Jsb16thSeparated.npz] \
        [--random 3000] > crates/tokens/tests/data/music21_chords.tsv
"""
import argparse, random, sys

import music21


def read(midi):
    chord = music21.chord.Chord(list(midi))
    try:
        root = chord.root().pitchClass
    except music21.chord.ChordException:
        return "-", "other"
    return str(root), chord.quality


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--jsb", help="Jsb16thSeparated.npz: add the distinct SATB steps of its test split")
    ap.add_argument("--random", type=int, default=3000, help="random chords to add")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    chords = []
    if args.jsb:
        import numpy as np

        d = np.load(args.jsb, allow_pickle=True, encoding="latin1")
        seen = set()
        for piece in d["test"]:
            for row in piece:
                midi = tuple(int(x) for x in row if not np.isnan(x) and x >= 36)
                if midi not in seen:
                    seen.add(midi)
                    chords.append(midi)
    rng = random.Random(args.seed)
    for _ in range(args.random):
        chords.append(tuple(rng.randint(36, 81) for _ in range(rng.randint(1, 6))))
    for midi in chords:
        root, quality = read(midi)
        sys.stdout.write(f"{','.join(map(str, midi))}\t{root}\t{quality}\n")
    print(f"{music21.__version__}: {len(chords)} chords", file=sys.stderr)


if __name__ == "__main__":
    main()
