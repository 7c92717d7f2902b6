"""Build fugue's small embedded MIDI samples (dev-time script, not a runtime dependency).

    pip install mido && python3 bench/make_samples.py [--data ../shared/data]

- samples/bach_chorale.mid: the first chorale of the JSB Chorales test split
  (Boulanger-Lewandowski split, Coconet 16th-note SATB encoding), one track per
  voice. Bach's music is in the public domain; held notes are joined.
- samples/features_type0.mid: written here, public domain (CC0). One type-0
  track exercising what a reader must handle: several channels and programs,
  a program change mid-piece, drums, running status, note-on velocity 0 as
  note-off, overlapping notes of one pitch, a note never ended, sustain pedal,
  pitch bends, aftertouch, sysex, lyrics, markers, text, copyright,
  sequencer-specific and unknown meta events, tempo, time- and key-signature changes.
- samples/features.rmi: the same file wrapped in RIFF RMID.
- samples/smpte.mid: a short melody with SMPTE time division (25 fps x 40).
"""
import argparse, json, os, struct
import mido

ap = argparse.ArgumentParser()
ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "samples"))
args = ap.parse_args()
os.makedirs(args.out, exist_ok=True)
M, MM = mido.Message, mido.MetaMessage

def chorale():
    with open(os.path.join(args.data, "jsb_chorales_coconet", "Jsb16thSeparated.json")) as f:
        piece = json.load(f)["test"][0]
    tpq, step = 480, 120
    mf = mido.MidiFile(type=1, ticks_per_beat=tpq)
    cond = mido.MidiTrack([MM("track_name", name="J.S. Bach, chorale (JSB test 0)"),
                           MM("set_tempo", tempo=mido.bpm2tempo(80)),
                           MM("time_signature", numerator=4, denominator=4)])
    mf.tracks.append(cond)
    for v, name in enumerate(["Soprano", "Alto", "Tenor", "Bass"]):
        notes, cur, start = [], None, 0
        for i, frame in enumerate(piece + [[-1] * 4]):
            p = int(frame[v])
            if p != cur:
                if cur is not None and cur >= 0:
                    notes.append((start * step, i * step, cur))
                cur, start = p, i
        tr = mido.MidiTrack([MM("track_name", name=name), M("program_change", channel=v, program=0)])
        ev = sorted([(s, 1, p) for s, _, p in notes] + [(e, 0, p) for _, e, p in notes])
        last = 0
        for t, on, p in ev:
            tr.append(M("note_on", channel=v, note=p, velocity=80 if on else 0, time=t - last))
            last = t
        mf.tracks.append(tr)
    mf.save(os.path.join(args.out, "bach_chorale.mid"))

def features():
    evs = []  # (abs tick, message)
    def at(t, m): evs.append((t, m))
    at(0, MM("copyright", text="Public domain (CC0), written for fugue's tests"))
    at(0, MM("track_name", name="Features"))
    at(0, MM("set_tempo", tempo=500000)); at(0, MM("time_signature", numerator=3, denominator=4))
    at(0, MM("key_signature", key="Eb")); at(0, mido.Message("sysex", data=[0x7E, 0x7F, 0x09, 0x01]))
    at(0, MM("sequencer_specific", data=[0x00, 0x00, 0x41, 0x01])); at(0, MM("text", text="hello"))
    at(0, MM("marker", text="A")); at(0, M("program_change", channel=0, program=40))
    at(0, M("program_change", channel=1, program=32))
    # violin melody with lyrics, a bend and aftertouch
    for i, p in enumerate([67, 69, 71, 72, 74, 72]):
        at(i * 240, M("note_on", channel=0, note=p, velocity=70 + i * 5))
        at(i * 240 + 200, M("note_off", channel=0, note=p, velocity=40))
        at(i * 240, MM("lyrics", text=["la", "li", "lo", "lu", "le", "la"][i]))
    at(300, M("pitchwheel", channel=0, pitch=1024)); at(400, M("pitchwheel", channel=0, pitch=0))
    at(500, M("aftertouch", channel=0, value=50)); at(520, M("polytouch", channel=0, note=71, value=30))
    # bass with overlapping same-pitch notes, then a program change
    at(0, M("note_on", channel=1, note=43, velocity=90)); at(120, M("note_on", channel=1, note=43, velocity=60))
    at(480, M("note_on", channel=1, note=43, velocity=0)); at(600, M("note_off", channel=1, note=43))
    at(720, M("program_change", channel=1, program=33))
    at(720, M("note_on", channel=1, note=36, velocity=90)); at(1200, M("note_on", channel=1, note=36, velocity=0))
    # piano with sustain pedal
    at(0, M("control_change", channel=2, control=64, value=127))
    for i, p in enumerate([60, 64, 67, 72]):
        at(i * 120, M("note_on", channel=2, note=p, velocity=60)); at(i * 120 + 60, M("note_on", channel=2, note=p, velocity=0))
    at(700, M("control_change", channel=2, control=64, value=0))
    # drums
    for i in range(12):
        at(i * 120, M("note_on", channel=9, note=42 if i % 2 else 36, velocity=100)); at(i * 120 + 30, M("note_off", channel=9, note=42 if i % 2 else 36))
    at(720, MM("marker", text="B")); at(720, MM("time_signature", numerator=6, denominator=8))
    at(720, MM("key_signature", key="F#m")); at(720, MM("set_tempo", tempo=400000))
    at(1000, M("note_on", channel=3, note=79, velocity=50))  # never ended
    at(1440, MM("cue_marker", text="end"))
    evs.sort(key=lambda e: e[0])
    tr, last = mido.MidiTrack(), 0
    for t, m in evs:
        tr.append(m.copy(time=t - last)); last = t
    mf = mido.MidiFile(type=0, ticks_per_beat=240); mf.tracks.append(tr)
    path = os.path.join(args.out, "features_type0.mid"); mf.save(path)
    # an unknown meta type (0x4F) spliced in before end-of-track, by hand
    raw = bytearray(open(path, "rb").read())
    eot = raw.rfind(b"\xff\x2f\x00")
    raw[eot - 1:eot - 1] = b"\x00\xff\x4f\x02\xab\xcd"
    raw[18:22] = struct.pack(">I", struct.unpack(">I", raw[18:22])[0] + 6)
    open(path, "wb").write(raw)
    riff = b"RMID" + b"data" + struct.pack("<I", len(raw)) + bytes(raw) + (b"\0" if len(raw) % 2 else b"")
    open(os.path.join(args.out, "features.rmi"), "wb").write(b"RIFF" + struct.pack("<I", len(riff)) + riff)

def smpte():
    body = bytearray()
    for i, p in enumerate([60, 62, 64, 65, 67]):
        body += bytes([0x00, 0x90, p, 80])  # note on, delta 0
        body += bytes([0x83, 0x74, 0x80, p, 0])  # 500 ticks = 0.5 s at 1000 ticks/s
    body += bytes([0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20])  # tempo (ignored under SMPTE)
    body += b"\x00\xff\x2f\x00"
    div = struct.pack(">bB", -25, 40)
    data = b"MThd" + struct.pack(">IHH", 6, 0, 1) + div + b"MTrk" + struct.pack(">I", len(body)) + body
    open(os.path.join(args.out, "smpte.mid"), "wb").write(data)

chorale(); features(); smpte()
print("wrote", sorted(os.listdir(args.out)))
