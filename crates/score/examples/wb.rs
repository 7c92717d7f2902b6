use fugue_score::midi::*;
use std::time::Instant;
fn main() {
    let files: Vec<String> = std::fs::read_to_string("/tmp/pop.txt").unwrap().lines().map(String::from).collect();
    let (mut enc, mut fw, mut rd) = (vec![], vec![], vec![]);
    for f in &files[..300] {
        let b = std::fs::read(f).unwrap();
        let s = read_midi(&b, &ReadOptions::default()).unwrap().score;
        let (mut be, mut bf, mut br) = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..5 {
            let t = Instant::now(); let _ = read_midi(&b, &ReadOptions::default()).unwrap(); br = br.min(t.elapsed().as_secs_f64()*1e6);
            let t = Instant::now(); let e = write_midi(&s, MidiFormat::Type1).unwrap(); be = be.min(t.elapsed().as_secs_f64()*1e6);
            let t = Instant::now(); std::fs::write("/dev/shm/x.mid", &e).unwrap(); bf = bf.min(t.elapsed().as_secs_f64()*1e6);
        }
        enc.push(be); fw.push(bf); rd.push(br);
    }
    let med = |v: &mut Vec<f64>| { v.sort_by(|a,b| a.partial_cmp(b).unwrap()); v[v.len()/2] };
    println!("parse-only {:.1} encode {:.1} filewrite {:.1}", med(&mut rd), med(&mut enc), med(&mut fw));
}
